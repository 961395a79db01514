"""The dashboard's flywheel: per prompt version the disagreements and open bullets of its latest run on
train or dev items (all labeled items, or the dev split as the README's loop judges it), and the test
metrics over versions as a chart with intervals."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from judging.models import JudgeRun
from judging.selectors import bullet_runs, latest_bullet_runs
from judging.trend import version_trend
from optimizer.bullets import bullets_generate_from_run
from optimizer.selectors import prompt_version_counts
from tests.optimizer.disagreements import Row, run_make, version_make

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ROWS = [
    Row("train", gold=1, judge=5),
    Row("train", gold=1, judge=4),
    Row("dev", gold=4, judge=2),
    Row("train", gold=3, judge=3),
    Row("test", gold=1, judge=5),
    Row("test", gold=2, judge=2),
    Row("test", gold=4, judge=4),
]
# What the optimizer's best version does on the same test items: every one right.
BETTER_ON_TEST = [*ROWS[:4], Row("test", gold=1, judge=1), ROWS[5], ROWS[6]]


@pytest.fixture
def optimized(project, annotator, reviewer):
    """v1 judged on all labeled items, its bullets made; then an optimization: v1 and its best version
    v2 measured on the test split only, after v1's full run."""
    v1_full = run_make(project, annotator, ROWS)
    bullets_generate_from_run(run=v1_full, user=reviewer)
    v2 = version_make(project, origin="GEPA run #1")
    run_make(project, annotator, ROWS, version=v1_full.prompt_version, item_set="test")
    run_make(project, annotator, BETTER_ON_TEST, version=v2, item_set="test")
    return v1_full, v2


def _flywheel(client):
    return client.get(reverse("optimizer:counts", args=["web"]), headers=HTMX).content.decode()


def _row(part: str, version_pk: int) -> str:
    return re.search(rf'<tr data-version="{version_pk}">(.*?)</tr>', part, re.S).group(1)


def test_the_counted_run_is_the_latest_finished_one_on_train_or_dev_items(project, annotator):
    full = run_make(project, annotator, ROWS)
    run_make(project, annotator, ROWS, version=full.prompt_version, item_set="train")
    dev = run_make(project, annotator, ROWS, version=full.prompt_version, item_set="dev")
    test = run_make(project, annotator, ROWS, version=full.prompt_version, item_set="test")
    running = run_make(project, annotator, ROWS, version=full.prompt_version)
    JudgeRun.objects.filter(pk=running.pk).update(status=JudgeRun.Status.RUNNING)

    assert test not in bullet_runs(project) and running not in bullet_runs(project)
    assert bullet_runs(project).first() == dev
    assert latest_bullet_runs(project) == {(full.prompt_version_id, full.endpoint_id): dev}


def test_a_version_judged_on_dev_then_test_counts_its_dev_disagreements_as_the_readme_loop_does(
    client_for, reviewer, project, annotator
):
    dev = run_make(project, annotator, ROWS, item_set="dev")
    bullets_generate_from_run(run=dev, user=reviewer)
    run_make(project, annotator, ROWS, version=dev.prompt_version, item_set="test")

    (row,) = prompt_version_counts(project)
    assert row.run == dev
    assert (row.disagreements, row.open_bullets) == (1, 1)
    shown = _row(_flywheel(client_for(reviewer)), dev.prompt_version_id)
    assert f'href="{reverse("judging:run", args=[dev.pk])}">#{dev.pk}</a> · dev split' in shown
    assert f'href="{reverse("judging:disagreements", args=[dev.pk])}">1</a>' in shown
    assert "no run on train or dev items yet" not in shown


def test_after_an_optimization_the_flywheel_still_counts_v1s_disagreements_from_its_full_run(
    project, optimized
):
    v1_full, v2 = optimized

    counts = {row.prompt_version.pk: row for row in prompt_version_counts(project)}

    v1 = counts[v1_full.prompt_version_id]
    assert v1.run == v1_full
    assert (v1.disagreements, v1.open_bullets) == (3, 3)
    assert counts[v2.pk].run is None and counts[v2.pk].disagreements is None


def test_the_flywheel_links_v1s_full_run_and_asks_for_one_for_the_optimized_version(
    client_for, reviewer, optimized
):
    v1_full, v2 = optimized

    part = _flywheel(client_for(reviewer))

    v1_row = _row(part, v1_full.prompt_version_id)
    assert f'href="{reverse("judging:disagreements", args=[v1_full.pk])}">3</a>' in v1_row
    assert f"#{v1_full.pk}</a> · all labeled items" in v1_row
    assert "no run on train or dev items yet" in _row(part, v2.pk)
    assert f'href="{reverse("judging:runs", args=["web"])}">judge the dev split</a>' in _row(part, v2.pk)


def test_the_trend_shows_each_versions_test_nmse_with_its_interval_oldest_first(project, optimized):
    v1_full, v2 = optimized

    trend = version_trend(project)

    assert [point.version.pk for point in trend] == [v1_full.prompt_version_id, v2.pk]
    v1, best = trend
    assert best.nmse.estimate == 0 < v1.nmse.estimate  # 100 · (4² / 3 items) / 4² = 33.3
    assert v1.nmse.estimate == pytest.approx(100 / 3)
    assert v1.nmse.low <= v1.nmse.estimate <= v1.nmse.high
    assert v1.malformed_rate.estimate == 0


def test_the_flywheel_draws_the_trend_as_a_plotly_chart_without_inline_script(
    client_for, reviewer, optimized
):
    v1_full, v2 = optimized

    part = _flywheel(client_for(reviewer))

    assert 'data-plotly="flywheel-trend"' in part
    figure = json.loads(
        re.search(r'<script id="flywheel-trend" type="application/json">(.*?)</script>', part).group(1)
    )
    nmse = figure["data"][0]
    assert nmse["x"] == [f"v{v1_full.prompt_version_id}", f"v{v2.pk}"]
    assert nmse["y"][0] == pytest.approx(100 / 3) and nmse["y"][1] == 0
    assert len(nmse["error_y"]["array"]) == 2
    assert figure["data"][1]["name"].startswith("malformed %") and figure["data"][1]["y"] == [0, 0]
    assert "<script>" not in part and "<script " not in part.replace(
        '<script id="flywheel-trend" type="application/json">', ""
    )
    assert "33.33 (" in _row(part, v1_full.prompt_version_id)  # the test NMSE with its interval


def test_the_flywheel_always_links_to_the_judge_runs(client_for, reviewer, project, annotator):
    client = client_for(reviewer)
    runs_link = f'href="{reverse("judging:runs", args=["web"])}">Judge runs</a>'
    assert runs_link in _flywheel(client)

    run_make(project, annotator, ROWS)

    assert runs_link in _flywheel(client)


def test_the_dashboard_loads_the_chart_scripts_for_reviewers_only(client_for, reviewer, annotator, project):
    url = reverse("labeling:project", args=[project.slug])

    assert "js/charts.js" in client_for(reviewer).get(url).content.decode()
    assert "js/charts.js" not in client_for(annotator).get(url).content.decode()
