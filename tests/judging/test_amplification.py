"""Label amplification: a run over unlabeled items says on its page how far its machine labels can be
trusted (the same prompt and model on test items, with intervals), and its export keeps exact numbers."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from judging import intervals
from judging.models import ModelEndpoint, PromptVersion
from judging.runs import judge_run_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def judge(demo_project, eager_celery, django_capture_on_commit_callbacks):
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")

    def run(item_set: str):
        with django_capture_on_commit_callbacks(execute=True):
            started = judge_run_start(prompt_version=version, endpoint=endpoint, item_set=item_set)
        started.refresh_from_db()
        return started

    return run


def test_the_amplification_page_states_the_expected_quality_with_its_interval(client_for, lead, judge):
    test_run = judge("test")
    unlabeled = judge("unlabeled")

    page = client_for(lead).get(reverse("judging:run", args=[unlabeled.pk])).content.decode()

    project = test_run.project
    found = intervals.metric_intervals(
        intervals.scores_of(intervals.run_split_scores(test_run, "test")),
        scale_min=project.scale_min,
        scale_max=project.scale_max,
    )
    within_one = intervals.readable(found["within_one"], "within_one")
    assert re.fullmatch(r"[\d.]+% \([\d.]+–[\d.]+%\)", within_one)
    assert f"was within one point of gold for <strong>{within_one}</strong>" in page
    assert f"judge run #{test_run.pk}" in page


def test_without_a_test_split_run_the_page_says_so_and_offers_to_judge_it(client_for, lead, judge):
    unlabeled = judge("unlabeled")

    page = client_for(lead).get(reverse("judging:run", args=[unlabeled.pk])).content.decode()

    assert "Not known yet" in page and "has not been judged on the test split" in page
    judge_test = reverse("judging:version_judge_test", args=[unlabeled.prompt_version_id])
    assert f'action="{judge_test}"' in page and "Judge on the test split" in page


def test_a_reviewer_is_told_who_can_judge_it_on_the_test_split(client_for, reviewer, judge):
    unlabeled = judge("unlabeled")

    page = client_for(reviewer).get(reverse("judging:run", args=[unlabeled.pk])).content.decode()

    assert "A lead can judge" in page
    assert reverse("judging:version_judge_test", args=[unlabeled.prompt_version_id]) not in page


def test_the_export_keeps_exact_numbers_without_float_noise(client_for, reviewer, judge):
    judge("test")
    unlabeled = judge("unlabeled")

    response = client_for(reviewer).get(reverse("judging:run_export", args=[unlabeled.pk, "jsonl"]))
    body = b"".join(response.streaming_content).decode()

    rows = [json.loads(line) for line in body.splitlines()]
    assert rows and all(row["test_items"] > 0 and row["test_malformed_rate"] is not None for row in rows)
    for row in rows:
        for name in ("test_nmse", "test_malformed_rate", "test_kappa"):
            assert len(repr(row[name]).split(".")[-1]) <= 6, (name, row[name])
