"""The optimizer pages: a lead launches with an estimate, everyone with review rights watches."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from judging.models import ModelEndpoint, PromptVersion
from judging.selectors import run_metrics
from labeling.numbers import metric
from optimizer.models import OptimizationRun


@pytest.fixture
def versions(demo_project):
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    return {
        "base": PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id"),
        "small": small,
        "reflector": ModelEndpoint.objects.get(model="sim/reflector"),
    }


def run_record(versions, **fields) -> OptimizationRun:
    """A run as the worker would have left it, without running a search."""
    return OptimizationRun.objects.create(
        project=versions["base"].project,
        base_version=versions["base"],
        target_endpoint=versions["small"],
        reflection_endpoint=versions["reflector"],
        **fields,
    )


def launch_data(versions, **overrides) -> dict:
    return {
        "regime": "disagreement",
        "algorithm": "gepa",
        "base_version": versions["base"].pk,
        "target_endpoint": versions["small"].pk,
        "reflection_endpoint": versions["reflector"].pk,
        "max_metric_calls": 200,
        "max_dollars": "",
        "score_threshold": "",
        "seed": 0,
        **overrides,
    }


def test_the_launch_form_shows_an_estimate_of_calls_and_dollars(client_for, lead, demo_project, versions):
    body = client_for(lead).get(reverse("optimizer:runs", args=[demo_project.slug])).content.decode()

    assert "Estimate, at most:" in body and "judge calls" in body and "$" in body
    assert "to judge base and best on the test split" in body


def test_the_estimate_follows_the_form(client_for, lead, demo_project, versions):
    url = reverse("optimizer:run_estimate", args=[demo_project.slug])
    small = client_for(lead).get(url, launch_data(versions, max_metric_calls=100), HTTP_HX_REQUEST="true")
    large = client_for(lead).get(url, launch_data(versions, max_metric_calls=1000), HTTP_HX_REQUEST="true")

    assert small.status_code == 200 and "Estimate, at most:" in small.content.decode()
    assert small.content != large.content


def test_a_lead_launches_a_gepa_run_and_lands_on_its_page_with_before_and_after(
    client_for, lead, demo_project, versions, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            reverse("optimizer:runs", args=[demo_project.slug]), launch_data(versions)
        )

    run = OptimizationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("optimizer:run", args=[run.pk])
    body = client_for(lead).get(response["Location"]).content.decode()
    run.refresh_from_db()
    assert run.status == "done"
    assert "Before / after on the test split" in body and "NMSE (0–100)" in body
    assert "What changed" in body  # the word diff of base → best
    assert 'data-plotly="progress-chart"' in body
    runs_page = client_for(lead).get(reverse("judging:runs", args=[demo_project.slug])).content.decode()
    assert f"<td>{lead.username} (optimizer run #{run.pk})</td>" in runs_page  # its test-split runs


def test_the_run_page_shows_base_and_best_with_intervals_and_their_paired_difference(
    client_for, lead, demo_project, versions, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(lead).post(reverse("optimizer:runs", args=[demo_project.slug]), launch_data(versions))
    run = OptimizationRun.objects.get()
    response = client_for(lead).get(reverse("optimizer:run", args=[run.pk]))
    comparison = response.context["comparison"]
    base = run_metrics(run.base_test_run)["test"]
    nmse = comparison["rows"][0]
    assert nmse["label"] == "NMSE (0–100)"
    assert re.fullmatch(rf"{re.escape(metric('nmse', base.nmse))} \([\d.]+–[\d.]+\)", nmse["before"])
    assert re.fullmatch(r"([+-][\d.]+|0\.00) \(([+-][\d.]+|0\.00) to ([+-][\d.]+|0\.00)\)", nmse["change"])
    assert [row["label"] for row in comparison["rows"]] == [
        "NMSE (0–100)",
        "Malformed rate",
        "Kappa (quadratic)",
        "MAE",
    ]
    assert comparison["paired_items"] == base.items
    assert "Change, paired (95% interval)" in response.content.decode()


def test_a_refused_launch_says_why_and_starts_nothing(client_for, lead, demo_project, versions):
    response = client_for(lead).post(
        reverse("optimizer:runs", args=[demo_project.slug]), launch_data(versions, regime="library")
    )

    assert response.status_code == 200
    assert "no active instruction yet" in response.content.decode()
    assert not OptimizationRun.objects.exists()


def test_only_a_lead_may_launch_cancel_or_resume(client_for, reviewer, demo_project, versions):
    client = client_for(reviewer)
    assert client.get(reverse("optimizer:runs", args=[demo_project.slug])).status_code == 200
    assert (
        client.post(reverse("optimizer:runs", args=[demo_project.slug]), launch_data(versions)).status_code
        == 403
    )
    run = run_record(
        versions,
    )
    assert client.post(reverse("optimizer:run_cancel", args=[run.pk])).status_code == 403
    assert client.post(reverse("optimizer:run_resume", args=[run.pk])).status_code == 403
    assert not OptimizationRun.objects.filter(cancel_requested=True).exists()


def test_an_annotator_cannot_see_optimizer_pages(client_for, annotator, demo_project):
    assert client_for(annotator).get(reverse("optimizer:runs", args=[demo_project.slug])).status_code == 403


def test_the_live_part_polls_while_running_and_stops_with_a_refresh_when_finished(
    client_for, lead, demo_project, versions
):
    run = run_record(
        versions,
        status="running",
        metric_calls_used=40,
        best_dev_score=0.71,
        progress=[[20, 0.6], [40, 0.71]],
    )
    url = reverse("optimizer:run", args=[run.pk]) + "?part=live"
    running = client_for(lead).get(url, HTTP_HX_REQUEST="true")
    assert running.status_code == 200 and "every 1s" in running.content.decode()
    assert "40 / 300" in running.content.decode() and "0.71" in running.content.decode()

    OptimizationRun.objects.filter(pk=run.pk).update(status="done", stop_reason="done")
    finished = client_for(lead).get(url, HTTP_HX_REQUEST="true")
    assert finished.status_code == 286 and finished["HX-Refresh"] == "true"


def test_a_flagged_candidate_shows_why_and_a_resume_button_appears_for_an_interrupted_run(
    client_for, lead, demo_project, versions
):
    run = run_record(versions, status="interrupted", stop_reason="crashed")
    flagged = PromptVersion.objects.create(
        project=demo_project,
        target_model=versions["small"],
        instructions="<script>alert(1)</script> copies",
        parent=versions["base"],
        status="candidate",
        guardrail_flags=[{"rule": "leakage", "detail": 'copies training text verbatim: "<b>x</b>"'}],
    )
    run.candidates.create(index=1, prompt_version=flagged, dev_score=0.9)

    body = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()

    assert "leakage: copies training text verbatim" in body and "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<b>x</b>" not in body
    assert reverse("optimizer:run_resume", args=[run.pk]) in body


def test_adapt_to_another_model_prefills_a_cross_model_run_from_the_production_version(
    client_for, lead, demo_project, versions
):
    PromptVersion.objects.filter(pk=versions["base"].pk).update(status="production")
    large = ModelEndpoint.objects.get(model="sim/judge-large")

    page = client_for(lead).get(reverse("judging:version", args=[versions["base"].pk])).content.decode()
    assert f"?adapt={versions['base'].pk}" in page
    body = (
        client_for(lead)
        .get(reverse("optimizer:runs", args=[demo_project.slug]), {"adapt": versions["base"].pk})
        .content.decode()
    )

    assert '<option value="cross_model" selected>' in body
    assert f'<option value="{large.pk}" selected>' in body
    assert "Estimate, at most:" in body


def test_the_first_estimate_prices_gepa_reflections_as_the_form_shows_gepa(
    client_for, lead, demo_project, versions
):
    first = client_for(lead).get(reverse("optimizer:runs", args=[demo_project.slug]))
    changed = client_for(lead).get(
        reverse("optimizer:run_estimate", args=[demo_project.slug]),
        launch_data(versions, max_metric_calls=300),
        HTTP_HX_REQUEST="true",
    )

    def reflection_calls(response) -> int:
        return int(re.search(r"(\d+)\s+reflection/proposal calls", response.content.decode())[1])

    assert '<option value="gepa" selected>' in first.content.decode()
    assert reflection_calls(first) > 0
    assert reflection_calls(first) == reflection_calls(changed)


def test_a_cancelled_run_says_cancelled_once(client_for, lead, demo_project, versions):
    run = run_record(versions, status="cancelled", stop_reason="cancelled")

    run_page = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()
    list_page = client_for(lead).get(reverse("optimizer:runs", args=[demo_project.slug])).content.decode()

    assert "cancelled: cancelled" not in run_page and "data-stop-reason" not in run_page
    assert "cancelled (cancelled)" not in list_page
    assert "the run was cancelled, so it spent nothing more" in run_page


@pytest.mark.parametrize(
    ("stop_reason", "says"),
    [("dollar_cap", "hit the dollar budget"), ("done", "finished its budget of metric calls")],
)
def test_a_finished_run_still_says_why_it_stopped(
    client_for, lead, demo_project, versions, stop_reason, says
):
    run = run_record(versions, status="done", stop_reason=stop_reason, metric_calls_used=300)

    body = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()

    assert f"done</strong>: <span data-stop-reason>{says}</span>" in body


def test_a_run_that_ended_short_of_its_budget_says_how_far_and_why(client_for, lead, versions):
    run = run_record(
        versions,
        status="done",
        stop_reason="done",
        metric_calls_used=206,
        estimate={"dev_sample": {"size": 40}},
    )

    body = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()

    assert "stopped at 206 of 300 metric calls: another iteration could need 46 more" in body
    assert "finished its budget" not in body


def test_the_live_count_of_candidates_and_the_candidates_table_are_redrawn_together(
    client_for, lead, demo_project, versions
):
    run = run_record(versions, status="running", metric_calls_used=40)
    for index in (1, 2):
        version = PromptVersion.objects.create(
            project=demo_project,
            target_model=versions["small"],
            instructions=f"Candidate {index} on the 1-5 scale.",
            parent=versions["base"],
            status="candidate",
        )
        run.candidates.create(index=index, prompt_version=version, dev_score=0.5 + index / 10)

    live = (
        client_for(lead)
        .get(reverse("optimizer:run", args=[run.pk]) + "?part=live", HTTP_HX_REQUEST="true")
        .content.decode()
    )

    assert '<section id="candidates" hx-swap-oob="true">' in live
    assert "No candidate yet" not in live
    assert live.count("<td>0.6</td>") == 1 and live.count("<td>0.7</td>") == 1


def test_the_candidate_count_says_how_many_the_guardrails_flagged(client_for, lead, demo_project, versions):
    run = run_record(versions, status="done", stop_reason="done")
    for index, flags in enumerate(([], [{"rule": "leakage", "detail": "copies a document"}]), start=1):
        version = PromptVersion.objects.create(
            project=demo_project,
            target_model=versions["small"],
            instructions=f"Candidate {index} on the 1-5 scale.",
            parent=versions["base"],
            status="candidate",
            guardrail_flags=flags,
        )
        run.candidates.create(index=index, prompt_version=version, dev_score=0.5)

    body = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()

    assert "candidates kept (1 flagged by the guardrails)" in body
    assert "accepted" not in body


def test_the_library_estimate_says_it_makes_no_reflection_call_rather_than_zero(
    client_for, lead, demo_project, versions
):
    response = client_for(lead).get(
        reverse("optimizer:run_estimate", args=[demo_project.slug]),
        launch_data(versions, regime="library"),
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert "no reflection/proposal call" in body
    assert not re.search(r"\b0\s+reflection/proposal calls", body)


def test_what_changed_is_a_highlighted_diff_and_a_promoted_best_is_not_offered_for_promotion(
    client_for, lead, demo_project, versions
):
    best = PromptVersion.objects.create(
        project=demo_project,
        target_model=versions["small"],
        parent=versions["base"],
        instructions=versions["base"].instructions + " Mind partial answers.",
        status=PromptVersion.Status.PRODUCTION,
    )
    run = run_record(versions, status="done", stop_reason="done", best_version=best)

    page = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()

    assert '<pre class="text diff">' in page
    assert "<ins>" in page
    assert f"v{best.pk} is in production" in page
    assert "to compare and promote" not in page
