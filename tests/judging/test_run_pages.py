"""The judge pages: who may open them, a run's progress and metrics, disagreements side by side."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.runs import judge_run_start
from judging.selectors import run_metrics
from judging.stored_metrics import run_shown_figures
from labeling.models import Item, Label

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_run(demo_project, eager_celery, django_capture_on_commit_callbacks) -> JudgeRun:
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_run_start(
            prompt_version=version,
            endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
            item_set="labeled",
        )
    run.refresh_from_db()
    return run


def test_a_lead_starts_a_judge_run_from_the_browser(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = PromptVersion.objects.get(project=demo_project)
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            reverse("judging:runs", args=[demo_project.slug]),
            {"prompt_version": version.pk, "endpoint": endpoint.pk, "item_set": "dev"},
        )
    run = JudgeRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("judging:run", args=[run.pk])
    run.refresh_from_db()
    assert run.status == "done" and run.created_by == lead


def test_a_reviewer_cannot_start_a_run_but_sees_the_list(client_for, reviewer, demo_project):
    client = client_for(reviewer)
    url = reverse("judging:runs", args=[demo_project.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, {"item_set": "dev"}).status_code == 403


def test_annotators_do_not_see_judge_scores(client_for, annotator, finished_run):
    """Blind labeling: the judge's opinion is for reviewers and leads."""
    client = client_for(annotator)
    for url in (
        reverse("judging:runs", args=[finished_run.project.slug]),
        reverse("judging:run", args=[finished_run.pk]),
        reverse("judging:disagreements", args=[finished_run.pk]),
        reverse("judging:run_export", args=[finished_run.pk, "csv"]),
    ):
        assert client.get(url).status_code == 403, url


def test_the_run_page_shows_progress_metrics_and_a_confusion_heatmap(client_for, reviewer, finished_run):
    page = client_for(reviewer).get(reverse("judging:run", args=[finished_run.pk])).content.decode()
    assert "NMSE" in page and "Kappa" in page
    assert 'data-plotly="confusion-chart"' in page
    assert "simulator" in page
    assert f"{finished_run.total_items} of {finished_run.total_items} items" in page.replace(
        "</span>", ""
    ).replace("<span data-done>", "")


def test_every_metric_on_the_run_page_carries_its_95_percent_interval(client_for, reviewer, finished_run):
    page = client_for(reviewer).get(reverse("judging:run", args=[finished_run.pk])).content.decode()
    row = re.search(r'<tr data-split="all".*?</tr>', page, re.DOTALL)[0]
    nmse = run_metrics(finished_run)["all"].nmse
    figures = run_shown_figures(finished_run, "all")
    assert figures["nmse"].startswith(f"{nmse:.2f} (") and figures["nmse"] in row
    for name in ("malformed_rate", "mae", "exact", "within_one", "kappa"):
        assert re.fullmatch(r"-?[\d.]+%? \(-?[\d.]+%?–-?[\d.]+%?\)", figures[name]), figures[name]
        assert figures[name] in row
    assert "95% bootstrap interval" in page


def test_the_progress_fragment_stops_polling_when_the_run_is_finished(client_for, reviewer, finished_run):
    response = client_for(reviewer).get(
        reverse("judging:run", args=[finished_run.pk]) + "?part=progress", headers={"HX-Request": "true"}
    )
    assert response.status_code == 286
    assert b"<h1>" not in response.content  # a fragment, not the page


def test_a_running_runs_fragment_keeps_polling(
    client_for, reviewer, demo_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = judge_run_start(
            prompt_version=PromptVersion.objects.get(project=demo_project),
            endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
            item_set="dev",
        )
    response = client_for(reviewer).get(
        reverse("judging:run", args=[run.pk]) + "?part=progress", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b'hx-trigger="every 1s"' in response.content


def test_disagreements_are_sorted_by_the_size_of_the_gap(client_for, reviewer, finished_run):
    response = client_for(reviewer).get(reverse("judging:disagreements", args=[finished_run.pk]))
    gaps = [abs(float(row["gap"])) for row in _rows(response.context["rows"])]
    assert gaps, "the sim judge disagrees with the demo labels somewhere"
    assert gaps == sorted(gaps, reverse=True)


def test_disagreements_filter_by_direction(client_for, reviewer, finished_run):
    client = client_for(reviewer)
    lenient = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "lenient"})
    strict = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "strict"})
    assert all(float(r["gap"]) > 0 for r in _rows(lenient.context["rows"]))
    assert all(float(r["gap"]) < 0 for r in _rows(strict.context["rows"]))
    both = client.get(reverse("judging:disagreements", args=[finished_run.pk]))
    assert lenient.context["total"] + strict.context["total"] == both.context["total"]


def _rows(rows):
    return [{"gap": d.delta} for d, _ in rows]


def test_the_side_by_side_view_shows_labels_rationales_and_the_judges_reasoning(
    client_for, reviewer, finished_run
):
    label = Label.objects.filter(item__judgments__run=finished_run).select_related("item").first()
    page = client_for(reviewer).get(reverse("judging:run_item", args=[finished_run.pk, label.item_id]))
    content = page.content.decode()
    assert label.rationale[:30].replace("'", "&#x27;") in content
    judgment = finished_run.judgments.get(item_id=label.item_id)
    if judgment.reasoning:
        assert judgment.reasoning[:20].replace("'", "&#x27;") in content


def test_untrusted_text_in_a_document_is_escaped_on_the_side_by_side_view(client_for, reviewer, finished_run):
    judgment = finished_run.judgments.select_related("item").first()
    Item.objects.filter(pk=judgment.item_id).update(document="<script>alert('x')</script> payload")
    page = client_for(reviewer).get(reverse("judging:run_item", args=[finished_run.pk, judgment.item_id]))
    assert b"<script>alert" not in page.content
    assert b"&lt;script&gt;alert" in page.content


def test_machine_labels_export_carries_the_test_metrics_of_the_prompt_and_model(
    client_for, reviewer, finished_run
):
    response = client_for(reviewer).get(reverse("judging:run_export", args=[finished_run.pk, "jsonl"]))
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(rows) == finished_run.judgments.filter(error_kind="").count()
    assert {row["model"] for row in rows} == {"sim/judge-small"}
    assert all(row["test_items"] > 0 and row["test_nmse"] is not None for row in rows)


def test_the_endpoint_form_refuses_a_key_in_place_of_a_variable_name(client_for, lead, project):
    response = client_for(lead).post(
        reverse("judging:endpoint_new"),
        {
            "name": "gpt",
            "model": "openai/gpt-4.1-mini",
            "api_key_env": "sk-abc123def456",
            "temperature": 0,
            "max_tokens": 512,
            "concurrency": 4,
            "price_input_per_mtok": 0,
            "price_output_per_mtok": 0,
        },
    )
    assert response.status_code == 200
    assert not ModelEndpoint.objects.filter(name="gpt").exists()
    assert b"sk-abc123def456" not in response.content.replace(b'value="sk-abc123def456"', b"")


def test_the_test_button_makes_one_call_and_shows_the_answer(client_for, lead, demo_project):
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    response = client_for(lead).post(
        reverse("judging:endpoint_test", args=[endpoint.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"data-test-result" in response.content


def test_the_test_button_says_in_words_why_the_call_failed(client_for, lead, project, monkeypatch, settings):
    settings.FLYWHEEL_KEY_ENVS = ["ACME_TEST_KEY"]
    endpoint = ModelEndpoint.objects.create(
        name="nowhere",
        model="openai/gpt-4.1-mini",
        api_base="http://127.0.0.1:9/v1",
        api_key_env="ACME_TEST_KEY",
    )
    client = client_for(lead)
    missing = client.post(reverse("judging:endpoint_test", args=[endpoint.pk]))
    assert b"ACME_TEST_KEY is not set" in missing.content

    monkeypatch.setenv("ACME_TEST_KEY", "secret-value-123")
    unreachable = client.post(reverse("judging:endpoint_test", args=[endpoint.pk]))
    assert b"Failed" in unreachable.content
    assert b"secret-value-123" not in unreachable.content


def test_endpoint_pages_are_for_leads_only(client_for, reviewer, demo_project):
    endpoint = ModelEndpoint.objects.first()
    client = client_for(reviewer)
    assert client.get(reverse("judging:endpoints")).status_code == 403
    assert client.post(reverse("judging:endpoint_test", args=[endpoint.pk])).status_code == 403
