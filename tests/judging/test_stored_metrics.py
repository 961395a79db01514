"""A finished run's metrics are computed once, stored with it, and computed anew when its judgments change."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from judging import runs, stored_metrics
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.program import JudgeOutcome
from judging.runs import judge_chunk_process, judge_run_resume, judge_run_start, run_items
from judging.selectors import run_metrics
from labeling import lifecycle, services
from labeling.models import Item, Label, Project
from labeling.numbers import metric

pytestmark = pytest.mark.django_db


def _start(project, *, item_set="labeled") -> JudgeRun:
    return judge_run_start(
        prompt_version=PromptVersion.objects.get(project=project, origin="hand-written"),
        endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
        item_set=item_set,
    )


@pytest.fixture
def finished_run(demo_project, eager_celery, django_capture_on_commit_callbacks) -> JudgeRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = _start(demo_project)
    run.refresh_from_db()
    return run


def _refuse(run):
    raise AssertionError(f"the metrics of {run} were computed again")


@pytest.fixture
def no_computing(monkeypatch):
    monkeypatch.setattr(stored_metrics, "run_figures_compute", _refuse)


def _cancelled_after_five(project) -> tuple[JudgeRun, list[int]]:
    """A dev run that judged five items before a lead cancelled it (no worker on it)."""
    run = _start(project, item_set="dev")
    ids = list(run_items(project=project, item_set="dev").values_list("id", flat=True))
    judge_chunk_process(run_id=run.pk, item_ids=ids[:5])
    lifecycle.run_cancel(JudgeRun, pk=run.pk)
    run.refresh_from_db()
    return run, ids


def test_a_finished_run_keeps_its_metrics_with_intervals(finished_run):
    stored = finished_run.metrics["splits"]
    assert set(stored) >= {"dev", "test", "all"}
    assert stored["all"]["metrics"]["items"] > 0
    assert stored["all"]["intervals"]["nmse"]["low"] < stored["all"]["intervals"]["nmse"]["high"]
    assert finished_run.metrics["progress"]["done"] == finished_run.total_items


def test_the_page_of_a_finished_run_shows_the_stored_metrics_without_computing_them(
    client_for, reviewer, finished_run, no_computing, django_assert_max_num_queries
):
    nmse = finished_run.metrics["splits"]["all"]["metrics"]["nmse"]
    client = client_for(reviewer)
    with django_assert_max_num_queries(8):  # session, user, run, role, …: none over judgments
        page = client.get(reverse("judging:run", args=[finished_run.pk])).content.decode()

    assert f"{metric('nmse', nmse)} (" in page
    assert 'data-plotly="confusion-chart"' in page


def test_the_versions_api_and_dashboard_read_the_stored_metrics(client_for, lead, finished_run, no_computing):
    project = finished_run.project
    for url in (
        reverse("judging:versions", args=[project.slug]),
        reverse("judging:version", args=[finished_run.prompt_version_id]),
        reverse("judging:runs", args=[project.slug]),
        reverse("labeling:project", args=[project.slug]),
        reverse("optimizer:counts", args=[project.slug]),
    ):
        assert client_for(lead).get(url).status_code == 200, url
    assert run_metrics(finished_run)["all"].nmse == finished_run.metrics["splits"]["all"]["metrics"]["nmse"]


def test_a_run_cancelled_without_its_worker_has_its_metrics_stored_when_first_read(
    demo_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run, _ = _cancelled_after_five(demo_project)
    assert run.status == "cancelled" and run.metrics is None

    figures = stored_metrics.run_figures(run)

    run.refresh_from_db()
    assert figures.progress["done"] == 5
    assert run.metrics["progress"]["done"] == 5


def test_resuming_a_run_forgets_its_metrics_and_its_finish_stores_them_for_every_item(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run, ids = _cancelled_after_five(demo_project)
    stored_metrics.run_figures(run)

    with django_capture_on_commit_callbacks(execute=False) as dispatch:
        judge_run_resume(run=run, include_cancelled=True)
    run.refresh_from_db()
    assert run.status == "queued" and run.metrics is None

    with django_capture_on_commit_callbacks(execute=True):
        for callback in dispatch:
            callback()
    run.refresh_from_db()
    assert run.status == "done"
    assert run.metrics["progress"]["done"] == len(ids)
    assert run.metrics["splits"]["dev"]["judgments"] == len(ids)


def test_a_judgment_saved_after_its_run_finished_makes_the_page_show_it(
    client_for, reviewer, demo_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run, ids = _cancelled_after_five(demo_project)
    stored_metrics.run_figures(run)
    late = JudgeOutcome(
        score=3,
        malformed=False,
        reasoning="A call that was in flight when the run was cancelled.",
        raw_output="3",
        error_kind="",
        error_message="",
        attempts=1,
        input_tokens=10,
        output_tokens=2,
        cost=Decimal(0),
        latency_ms=5,
        note="",
    )

    runs._save_judgments(run, {ids[5]: runs._outcome_fields("late", late)}, retrying=set())

    run.refresh_from_db()
    assert run.metrics is None
    page = client_for(reviewer).get(reverse("judging:run", args=[run.pk])).content.decode()
    assert "6 of" in page.replace("<span data-done>", "").replace("</span>", "")
    run.refresh_from_db()
    assert run.metrics["progress"]["done"] == 6


def test_the_stored_metrics_are_those_of_the_judgments_against_gold_with_adjudication(finished_run):
    from judging.metrics import judge_metrics
    from labeling.gold import gold_scores
    from labeling.models import Item

    judged = dict(finished_run.judgments.filter(item__split="dev").values_list("item_id", "score"))
    adjudicated = Item.objects.filter(pk__in=judged, labels__isnull=False).first()
    Item.objects.filter(pk=adjudicated.pk).update(adjudicated_score=finished_run.project.scale_max)
    gold = gold_scores(Item.objects.filter(pk__in=judged))
    expected = judge_metrics(
        gold=[gold[i] for i in sorted(gold)],
        judged=[judged[i] for i in sorted(gold)],
        scale_min=finished_run.project.scale_min,
        scale_max=finished_run.project.scale_max,
    )

    computed = stored_metrics.run_figures_compute(finished_run).splits["dev"].metrics

    assert gold[adjudicated.pk] == finished_run.project.scale_max
    assert computed == expected


# Gold changing after the run finished: the run page shows the figures against the gold of now.

RATIONALE = "Read again: the document says otherwise."


def _all_row(client, run: JudgeRun) -> str:
    """The run page's row of figures over all its gold items."""
    page = client.get(reverse("judging:run", args=[run.pk])).content.decode()
    return re.search(r'<tr data-split="all".*?</tr>', page, re.S).group(0)


def _agreed_item(run: JudgeRun) -> tuple[Item, int]:
    """An item of the run with a single label that the judge agreed with, and a score far from both."""
    project = run.project
    for judgment in run.judgments.filter(
        item__label_count=1, item__adjudicated_score__isnull=True, score__isnull=False
    ).select_related("item"):
        (label,) = judgment.item.labels.all()
        if label.score == judgment.score:
            middle = (project.scale_min + project.scale_max) / 2
            return judgment.item, project.scale_max if label.score < middle else project.scale_min
    raise AssertionError("the demo run agrees with no single-labeled item")


@pytest.fixture
def reviewing(client_for, reviewer):
    return client_for(reviewer)


def test_a_label_added_after_the_run_finished_changes_the_run_page(reviewing, make_user, finished_run):
    item, far = _agreed_item(finished_run)
    before = _all_row(reviewing, finished_run)

    services.label_submit(item=item, annotator=make_user("late"), score=far, rationale=RATIONALE)

    assert _all_row(reviewing, finished_run) != before


def test_a_score_edited_after_the_run_finished_changes_the_run_page(reviewing, finished_run):
    item, far = _agreed_item(finished_run)
    before = _all_row(reviewing, finished_run)

    services.label_edit(label=item.labels.get(), score=far, rationale=RATIONALE)

    assert _all_row(reviewing, finished_run) != before


def test_a_label_undone_after_the_run_finished_changes_the_run_page_back(reviewing, make_user, finished_run):
    item, far = _agreed_item(finished_run)
    original = _all_row(reviewing, finished_run)
    hasty = make_user("hasty")
    services.label_submit(item=item, annotator=hasty, score=far, rationale=RATIONALE)
    with_the_label = _all_row(reviewing, finished_run)

    services.label_undo_last(project=finished_run.project, annotator=hasty)

    assert with_the_label != original
    assert _all_row(reviewing, finished_run) == original


def test_an_adjudication_after_the_run_finished_changes_the_run_page(reviewing, reviewer, finished_run):
    item, far = _agreed_item(finished_run)
    before = _all_row(reviewing, finished_run)

    services.item_adjudicate(item=item, reviewer=reviewer, score=far, note="The rubric says so.")

    assert _all_row(reviewing, finished_run) != before


def test_figures_computed_for_new_gold_are_stored_and_read_from_then_on(reviewing, finished_run, monkeypatch):
    item, far = _agreed_item(finished_run)
    Label.objects.filter(item=item).update(score=far)

    _all_row(reviewing, finished_run)
    monkeypatch.setattr(stored_metrics, "run_figures_compute", _refuse)
    _all_row(reviewing, finished_run)

    finished_run.refresh_from_db()
    project = Project.objects.get(pk=finished_run.project_id)
    assert finished_run.metrics["gold_revision"] == project.gold_revision
    assert stored_metrics.stored_figures_current(finished_run)


def test_runs_listed_with_their_project_read_its_gold_revision_without_a_query_each(
    finished_run, django_assert_num_queries
):
    runs_of_project = list(finished_run.project.judge_runs.all())

    with django_assert_num_queries(0):
        assert all(stored_metrics.stored_figures_current(run) for run in runs_of_project)
