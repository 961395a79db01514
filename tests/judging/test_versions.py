"""Prompt version history (lineage, origin, status, flags, metrics per split), word-level diffs, hand
edits and the model comparison page."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from judging.models import ModelEndpoint, PromptVersion
from judging.promotion import version_promote
from judging.versions import version_measurements, word_diff
from labeling.numbers import dollars, metric
from tests.judging.versioning import baseline, child_of, measure

pytestmark = pytest.mark.django_db


def test_the_history_shows_lineage_origin_status_flags_and_metrics_per_split(
    client_for, reviewer, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    root = baseline(demo_project)
    middle = child_of(root, root.instructions + " Be strict.", origin="GEPA run #4")
    leaf = child_of(
        middle,
        middle.instructions + " Mind the rubric.",
        guardrail_flags=[{"rule": "length", "detail": "too long"}],
    )
    measure(middle, django_capture_on_commit_callbacks, item_set="labeled")

    response = client_for(reviewer).get(reverse("judging:versions", args=[demo_project.slug]))
    rows = {row.version.pk: row for row in response.context["rows"]}
    assert rows[leaf.pk].lineage == [middle.pk, root.pk]
    assert set(rows[middle.pk].measurements) == {"train", "dev", "test"}
    assert rows[root.pk].measurements == {}
    page = response.content.decode()
    assert "GEPA run #4" in page and "flagged" in page
    assert f"v{middle.pk}</a> ← <a" in page
    test_nmse = rows[middle.pk].measurements["test"].metrics.nmse
    assert metric("nmse", test_nmse) in page


def test_the_history_filters_by_target_model(client_for, reviewer, demo_project):
    small_version = baseline(demo_project)
    large = ModelEndpoint.objects.get(name="sim/judge-large")
    other = PromptVersion.objects.create(
        project=demo_project, target_model=large, instructions="Judge carefully."
    )
    client = client_for(reviewer)
    url = reverse("judging:versions", args=[demo_project.slug])
    only_large = client.get(url, {"model": large.pk}).context["rows"]
    assert [row.version for row in only_large] == [other]
    everything = client.get(url).context["rows"]
    assert {row.version for row in everything} == {other, small_version}


def test_the_newest_finished_run_of_each_split_wins(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = baseline(demo_project)
    everything = measure(version, django_capture_on_commit_callbacks, item_set="labeled")
    test_only = measure(version, django_capture_on_commit_callbacks, item_set="test")
    measured = version_measurements(version)
    assert measured["test"].run_id == test_only.pk
    assert measured["train"].run_id == measured["dev"].run_id == everything.pk
    assert measured["test"].dollars_per_1000 > 0  # reused judgments are priced at what their first call cost
    assert measured["test"].latency_p50_ms is not None


def test_a_word_diff_highlights_changed_words_and_escapes_everything():
    html = word_diff(
        "Score <b>strictly</b> & keep the scale.",
        "Score <script>alert(1)</script> leniently & keep the scale.",
    )
    assert "<script>" not in html and "<b>" not in html
    assert "<del>&lt;b&gt;strictly&lt;/b&gt;</del>" in html
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt; leniently</ins>" in html
    assert "&amp; keep the scale." in html


def test_the_diff_page_compares_any_two_versions(client_for, reviewer, demo_project):
    old = child_of(baseline(demo_project), "Judge the relevance of the document.")
    new = child_of(old, "Judge the usefulness of the document. <em>Never</em> guess.")
    response = client_for(reviewer).get(
        reverse("judging:version_diff", args=[demo_project.slug]), {"a": old.pk, "b": new.pk}
    )
    page = response.content.decode()
    assert "<del>relevance</del><ins>usefulness</ins>" in page
    assert "<ins> &lt;em&gt;Never&lt;/em&gt; guess.</ins>" in page
    assert "<em>Never</em>" not in page
    assert (response.context["removed"], response.context["added"]) == (1, 3)


def test_a_lead_writes_a_new_draft_from_any_version(client_for, lead, demo_project):
    archived = child_of(baseline(demo_project), "Old words.", status=PromptVersion.Status.ARCHIVED)
    demos = [{"query": "q", "document": "d", "reasoning": "because", "score": 4}]
    response = client_for(lead).post(
        reverse("judging:version_edit", args=[archived.pk]),
        {"instructions": "New words for the judge.", "demos": json.dumps(demos)},
    )
    draft = PromptVersion.objects.get(parent=archived)
    assert response.status_code == 302 and response["Location"] == reverse("judging:version", args=[draft.pk])
    assert (draft.status, draft.origin, draft.created_by) == ("draft", "hand-written", lead)
    assert draft.instructions == "New words for the judge." and draft.demos == demos
    assert (draft.project, draft.target_model) == (archived.project, archived.target_model)


def test_a_draft_with_a_demo_off_the_scale_is_not_saved(client_for, lead, demo_project):
    version = baseline(demo_project)
    bad = [{"query": "q", "document": "d", "reasoning": "r", "score": 9}]
    response = client_for(lead).post(
        reverse("judging:version_edit", args=[version.pk]),
        {"instructions": "Judge.", "demos": json.dumps(bad)},
    )
    assert response.status_code == 200
    assert "integer from 1 to 5" in response.content.decode()
    assert not version.children.exists()


def test_the_version_page_shows_a_lead_why_it_cannot_be_promoted(client_for, lead, demo_project):
    version = baseline(demo_project)
    page = client_for(lead).get(reverse("judging:version", args=[version.pk])).content.decode()
    assert "has no test-split metrics" in page
    assert reverse("judging:version_promote", args=[version.pk]) not in page


def test_a_version_measured_on_test_names_its_run_and_offers_to_judge_again(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = baseline(demo_project)
    url = reverse("judging:version", args=[version.pk])
    assert "Judge on the test split" in client_for(lead).get(url).content.decode()

    run = measure(version, django_capture_on_commit_callbacks, item_set="test")

    page = client_for(lead).get(url).content.decode()
    assert f'measured on test: <a href="{reverse("judging:run", args=[run.pk])}">run #{run.pk}</a>' in page
    assert "Judge again on the test split" in page and "Judge on the test split" not in page


def test_the_model_comparison_shows_each_models_production_version_with_cost_and_latency(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    small_version = baseline(demo_project)
    large = ModelEndpoint.objects.get(name="sim/judge-large")
    large_version = PromptVersion.objects.create(
        project=demo_project,
        target_model=large,
        parent=small_version,
        instructions=small_version.instructions,
    )
    for version in (small_version, large_version):
        measure(version, django_capture_on_commit_callbacks)
        version_promote(version=version, user=lead)

    response = client_for(lead).get(
        reverse("judging:model_comparison", args=[demo_project.slug]), {"show": "production"}
    )
    rows = {row["endpoint"].name: row for row in response.context["rows"]}
    assert rows["sim/judge-small"]["version"] == small_version
    assert rows["sim/judge-large"]["version"] == large_version
    small, big = rows["sim/judge-small"]["test"], rows["sim/judge-large"]["test"]
    assert big.dollars_per_1000 > small.dollars_per_1000  # the large model's prices are higher
    assert small.latency_p50_ms is not None
    page = response.content.decode()
    assert 'data-plotly="models-chart"' in page and 'id="models-chart"' in page
    assert metric("nmse", small.metrics.nmse) in page and dollars(big.dollars_per_1000) in page


@pytest.fixture
def candidate_on_another_model(demo_project, lead, eager_celery, django_capture_on_commit_callbacks):
    """Production on the small model; a candidate written for the large one, both measured on test."""
    production = baseline(demo_project)
    measure(production, django_capture_on_commit_callbacks)
    version_promote(version=production, user=lead)
    candidate = PromptVersion.objects.create(
        project=demo_project,
        target_model=ModelEndpoint.objects.get(name="sim/judge-large"),
        parent=production,
        instructions=production.instructions,
        origin="cross-model run #1",
        status=PromptVersion.Status.CANDIDATE,
    )
    measure(candidate, django_capture_on_commit_callbacks)
    return production, candidate


def test_the_models_page_compares_candidates_across_models_with_production(
    client_for, lead, demo_project, candidate_on_another_model
):
    production, candidate = candidate_on_another_model
    url = reverse("judging:model_comparison", args=[demo_project.slug])

    def shown(show: str) -> set[int]:
        return {row["version"].pk for row in client_for(lead).get(url, {"show": show}).context["rows"]}

    assert shown("all") == {production.pk, candidate.pk}
    assert shown("candidates") == {candidate.pk}
    assert shown("production") == {production.pk}
    page = client_for(lead).get(url).content.decode()
    assert f'data-version="{candidate.pk}"' in page and f'data-version="{production.pk}"' in page


def test_the_models_page_lists_judges_only_not_the_reflection_model(
    client_for, lead, demo_project, candidate_on_another_model
):
    response = client_for(lead).get(
        reverse("judging:model_comparison", args=[demo_project.slug]), {"show": "production"}
    )
    page = response.content.decode()

    assert "sim/reflector" not in page
    assert 'data-endpoint="sim/judge-large"' in page  # a judge, with no production version
    assert "no production version measured on the test split" in page


def test_every_numeric_chart_axis_rounds_its_ticks_as_the_pages_round_numbers():
    from judging.charts import models_chart, versions_chart
    from labeling.numbers import PLOTLY_TICKFORMAT

    assert PLOTLY_TICKFORMAT == ",.3~r"  # "22.3", not "22.34"; "1,500", not "1.5k"
    for figure in (versions_chart([]), models_chart([])):
        layout = figure["layout"]
        assert layout["yaxis"]["tickformat"] == layout["yaxis2"]["tickformat"] == PLOTLY_TICKFORMAT
