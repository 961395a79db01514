"""`manage.py judge`: what it prints once a run ends."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from judging.models import JudgeRun

# The command waits for its run: on_commit must fire, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def judge(project, *args) -> str:
    out = StringIO()
    call_command("judge", project.slug, "--endpoint", "sim/judge-small", "--inline", *args, stdout=out)
    return out.getvalue()


def test_a_one_split_run_prints_its_split_once_without_a_repeated_all_line(demo_project):
    text = judge(demo_project, "--items", "dev")

    assert "    dev: " in text
    assert "    all: " not in text


def test_a_run_over_several_splits_also_prints_all_of_them_together(demo_project):
    text = judge(demo_project, "--items", "labeled")

    assert "    all: " in text and "   test: " in text


def test_a_run_that_reuses_every_judgment_says_why_it_cost_nothing(demo_project):
    judge(demo_project, "--items", "dev")
    again = judge(demo_project, "--items", "dev").splitlines()

    last_progress = [line for line in again if " judged, " in line][-1]
    assert "judgments reused from earlier runs: no model call" in last_progress


def test_the_run_list_says_a_run_was_started_from_the_command_line(demo_project, client_for, lead):
    judge(demo_project, "--items", "dev")

    page = client_for(lead).get(reverse("judging:runs", args=[demo_project.slug])).content.decode()
    row = re.search(r"<tr><td><a [^>]*>#\d+</a>.*?</tr>", page, re.DOTALL)[0]
    assert "<td>command line</td>" in row and "<td>—</td>" not in row


def test_the_page_of_a_run_that_reused_every_judgment_says_so_by_its_cost(demo_project, client_for, lead):
    judge(demo_project, "--items", "dev")
    judge(demo_project, "--items", "dev")
    run = JudgeRun.objects.order_by("-pk").first()

    page = client_for(lead).get(reverse("judging:run", args=[run.pk])).content.decode()
    assert "cost: every judgment reused, no model call" in page
