"""Score meanings: given on import (command and upload page) or on the project's settings, and named
when missing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandError
from django.urls import reverse

from labeling.models import Item, Project
from labeling.scale import scale_labels_parse, scale_labels_text
from tests.labeling.test_import_command import TREC_ARGS, run, trec_file  # noqa: F401

pytestmark = pytest.mark.django_db

NIST = "0=irrelevant;1=related;2=highly relevant;3=perfectly relevant"


def test_score_meanings_read_from_semicolons_in_any_order():
    assert scale_labels_parse("3=perfect; 0 = not relevant", scale_min=0, scale_max=3) == {
        "3": "perfect",
        "0": "not relevant",
    }
    assert scale_labels_parse("1: loosely related;\n2 – on topic;", scale_min=0, scale_max=3) == {
        "1": "loosely related",
        "2": "on topic",
    }


def test_a_meaning_wrapped_over_lines_as_in_the_readme_stays_one_meaning():
    wrapped = """0=irrelevant;1=related: on the topic of
        the query but does not answer it;2=highly relevant: answers the query, though not completely or not
        clearly;3=perfectly relevant"""

    meanings = scale_labels_parse(wrapped, scale_min=0, scale_max=3)

    assert meanings["1"] == "related: on the topic of the query but does not answer it"
    assert meanings["2"] == "highly relevant: answers the query, though not completely or not clearly"
    assert list(meanings) == ["0", "1", "2", "3"]


def test_meanings_one_per_line_without_semicolons_are_refused_rather_than_run_together():
    with pytest.raises(ValidationError, match='Separate score meanings with ";"'):
        scale_labels_parse("0=irrelevant\n3=perfectly relevant", scale_min=0, scale_max=3)


@pytest.mark.parametrize(
    ("text", "says"),
    [("4=too high", "not on the scale 0–3"), ("0=a;0=b", "two meanings"), ("relevant", "point=meaning")],
)
def test_score_meanings_off_the_scale_doubled_or_unreadable_are_refused_in_words(text, says):
    with pytest.raises(ValidationError, match=says):
        scale_labels_parse(text, scale_min=0, scale_max=3)


def test_stored_meanings_come_back_as_the_text_a_lead_wrote():
    meanings = scale_labels_parse(NIST, scale_min=0, scale_max=3)
    text = scale_labels_text(meanings, scale_min=0, scale_max=3)

    assert text.splitlines() == [f"{meaning};" for meaning in NIST.split(";")[:-1]] + [NIST.split(";")[-1]]
    assert scale_labels_parse(text, scale_min=0, scale_max=3) == meanings


def test_the_import_command_keeps_the_score_meanings_with_a_created_project(trec_file):  # noqa: F811
    out, _ = run(
        "import_items",
        "trec",
        str(trec_file),
        "--create-project",
        "--scale",
        "0-3",
        *TREC_ARGS,
        "--scale-labels",
        NIST,
    )
    project = Project.objects.get(slug="trec")
    assert [meaning for _, meaning in project.scale_rows()] == [
        "irrelevant",
        "related",
        "highly relevant",
        "perfectly relevant",
    ]
    assert "no meaning" not in out


def test_the_import_command_says_which_scores_have_no_meaning_and_how_to_give_them(trec_file):  # noqa: F811
    out, _ = run("import_items", "trec", str(trec_file), "--create-project", "--scale", "0-3", *TREC_ARGS)
    assert "has no meaning for 0, 1, 2, 3" in out
    assert '--scale-labels "0=…;1=…;2=…;3=…"' in out


def test_bad_score_meanings_import_nothing_and_create_no_project(trec_file):  # noqa: F811
    with pytest.raises(CommandError, match="5 is not on the scale 0–3"):
        run(
            "import_items",
            "trec",
            str(trec_file),
            "--create-project",
            "--scale",
            "0-3",
            *TREC_ARGS,
            "--scale-labels",
            "5=beyond",
        )
    assert not Project.objects.filter(slug="trec").exists()
    assert not Item.objects.exists()


def test_the_upload_page_sets_the_score_meanings_with_the_items(
    client_for, lead, eager_celery, django_capture_on_commit_callbacks
):
    project = Project.objects.create(name="TREC", slug="trec", rubric="r", scale_min=0, scale_max=3)
    line = {"external_id": "q1-d1", "query": "who is robert gray", "document": "Roy Roberts was an actor."}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            reverse("labeling:import", args=[project.slug]),
            {
                "file": SimpleUploadedFile("items.jsonl", (json.dumps(line) + "\n").encode()),
                "external_id": "external_id",
                "query": "query",
                "document": "document",
                "scale_labels": "0=irrelevant;\n3=perfectly relevant",
            },
        )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.scale_descriptions == {"0": "irrelevant", "3": "perfectly relevant"}
    assert project.items.count() == 1


def test_the_upload_page_refuses_meanings_off_the_projects_scale_next_to_the_field(client_for, lead):
    project = Project.objects.create(name="TREC", slug="trec", rubric="r", scale_min=0, scale_max=3)
    response = client_for(lead).post(
        reverse("labeling:import", args=[project.slug]),
        {"file": SimpleUploadedFile("items.jsonl", b"{}\n"), "scale_labels": "7=great"},
    )
    assert response.status_code == 200
    assert "7 is not on the scale 0–3" in response.content.decode()
    assert not project.import_jobs.exists()


def test_a_lead_edits_the_score_meanings_on_the_projects_settings(client_for, lead, project):
    page = client_for(lead).get(reverse("labeling:project_edit", args=[project.slug])).content.decode()
    assert "1=Irrelevant" in page and "5=Perfect answer" in page
    data = {
        "name": project.name,
        "slug": project.slug,
        "rubric": project.rubric,
        "scale_min": 1,
        "scale_max": 5,
        "score_meanings": "1=Irrelevant;\n3=Partly answers;\n5=Perfect answer",
        "guardrail_text": project.guardrail_text,
        "labels_per_item": 1,
        "rationale_min_length": 20,
        "adjudication_spread": 2,
        "queue_order": "id",
    }
    assert (
        client_for(lead).post(reverse("labeling:project_edit", args=[project.slug]), data).status_code == 302
    )
    project.refresh_from_db()
    assert project.scale_descriptions == {"1": "Irrelevant", "3": "Partly answers", "5": "Perfect answer"}


@pytest.fixture
def imported(db):
    """An imported TREC project: a 0–3 scale and no meanings, as a file without them leaves it."""
    project = Project.objects.create(name="TREC", slug="trec", rubric="r", scale_min=0, scale_max=3)
    Item.objects.create(project=project, external_id="q1-d1", query="q", document="d")
    return project


def test_the_dashboard_says_a_score_has_no_meaning_and_links_a_lead_to_the_settings(
    client_for, lead, imported
):
    page = client_for(lead).get(reverse("labeling:project", args=[imported.slug])).content.decode()

    assert page.count("no meaning given — ") == 4
    assert "<td>—</td>" not in page
    assert f'href="{reverse("labeling:project_edit", args=[imported.slug])}#id_score_meanings"' in page


def test_an_annotator_labeling_sees_no_meaning_given_rather_than_blank_buttons(
    client_for, annotator, imported
):
    page = client_for(annotator).get(reverse("labeling:label", args=[imported.slug])).content.decode()

    assert page.count("no meaning given — a lead can add them in settings") == 4
    assert reverse("labeling:project_edit", args=[imported.slug]) not in page


def test_a_point_with_a_meaning_keeps_it(client_for, lead, imported):
    imported.scale_descriptions = {"3": "perfectly relevant"}
    imported.save()

    page = client_for(lead).get(reverse("labeling:project", args=[imported.slug])).content.decode()

    assert "perfectly relevant" in page and page.count("no meaning given — ") == 3


def test_the_readmes_import_command_gives_all_four_meanings_as_pasted(trec_file):  # noqa: F811
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    pasted = re.search(r'--scale-labels "([^"]+)"\n', readme)[1]

    run(
        "import_items",
        "trec",
        str(trec_file),
        "--create-project",
        "--scale",
        "0-3",
        *TREC_ARGS,
        "--scale-labels",
        pasted,
    )

    meanings = [meaning for _, meaning in Project.objects.get(slug="trec").scale_rows()]
    assert meanings[1] == "related: on the topic of the query but does not answer it"
    assert all(meanings) and not any("\n" in meaning for meaning in meanings)
