"""Bootstrap intervals of a run's metrics and of the paired difference of two versions."""

from __future__ import annotations

import numpy as np
import pytest

from judging import intervals
from judging.intervals import (
    Interval,
    Scores,
    alpha_interval,
    metric_intervals,
    paired_differences,
    readable,
    verdict,
)
from judging.metrics import judge_metrics


def sample(n: int, *, noise: float, malformed: float, seed: int) -> tuple[list[float], list[int | None]]:
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 4, n).astype(float)
    judged = np.clip(np.rint(gold + rng.normal(0, noise, n)), 0, 3).astype(int).tolist()
    for i in np.flatnonzero(rng.random(n) < malformed):
        judged[i] = None
    return gold.tolist(), judged


def test_the_estimates_are_the_metrics_module_figures_and_lie_inside_their_intervals():
    gold, judged = sample(400, noise=0.8, malformed=0.1, seed=1)
    metrics = judge_metrics(gold=gold, judged=judged, scale_min=0, scale_max=3)
    intervals = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)
    for name in ("nmse", "malformed_rate", "mae", "exact", "within_one", "kappa"):
        interval = intervals[name]
        assert np.isclose(interval.estimate, getattr(metrics, name)), name
        assert interval.low < interval.estimate < interval.high, name


def test_identical_versions_differ_by_exactly_zero():
    gold, judged = sample(300, noise=0.8, malformed=0.1, seed=2)
    scores = Scores.of(gold, judged)
    differences = paired_differences(scores, scores, scale_min=0, scale_max=3)
    nmse = differences["nmse"]
    assert (nmse.estimate, nmse.low, nmse.high) == (0.0, 0.0, 0.0)
    assert verdict("nmse", nmse) == "same"


def test_a_clearly_better_version_has_an_interval_that_excludes_zero():
    gold, worse = sample(300, noise=1.2, malformed=0.2, seed=3)
    _, better = sample(300, noise=0.3, malformed=0.0, seed=3)
    differences = paired_differences(
        Scores.of(gold, worse), Scores.of(gold, better), scale_min=0, scale_max=3
    )
    assert differences["nmse"].high < 0 and differences["malformed_rate"].high < 0
    assert verdict("nmse", differences["nmse"]) == "better"
    reverse = paired_differences(Scores.of(gold, better), Scores.of(gold, worse), scale_min=0, scale_max=3)
    assert reverse["nmse"].low > 0 and verdict("nmse", reverse["nmse"]) == "worse"


def test_a_small_change_on_few_items_is_uncertain():
    gold, judged = sample(40, noise=0.8, malformed=0.0, seed=4)
    changed = list(judged)
    changed[0] = 3 if judged[0] != 3 else 0  # one item, made worse or better
    changed[1] = gold[1]  # and one made right
    difference = paired_differences(
        Scores.of(gold, judged), Scores.of(gold, changed), scale_min=0, scale_max=3
    )["nmse"]
    assert difference.crosses_zero
    assert verdict("nmse", difference) == "uncertain"


def test_a_worse_point_estimate_whose_interval_crosses_zero_reads_uncertain_not_worse():
    leaning_worse = Interval(estimate=0.274, low=-0.736, high=1.32)
    assert verdict("nmse", leaning_worse) == "uncertain"
    assert verdict("kappa", Interval(estimate=-0.00143, low=-0.0332, high=0.0339)) == "uncertain"
    assert verdict("kappa", Interval(estimate=-0.05, low=-0.08, high=-0.02)) == "worse"


def test_the_same_input_gives_the_same_interval():
    gold, judged = sample(200, noise=0.8, malformed=0.1, seed=5)
    first = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)
    again = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)
    assert first == again


def test_ten_thousand_items_are_bootstrapped_with_every_metric_bounded():
    gold, judged = sample(10_000, noise=0.8, malformed=0.1, seed=6)
    differences = paired_differences(
        Scores.of(gold, judged), Scores.of(gold, judged[::-1]), scale_min=0, scale_max=3
    )
    for name, difference in differences.items():
        assert difference.low <= difference.estimate <= difference.high, name


def test_an_interval_reads_as_the_estimate_and_its_ends():
    gold, judged = sample(200, noise=0.8, malformed=0.1, seed=7)
    nmse = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)["nmse"]
    assert readable(nmse, "nmse") == f"{nmse.estimate:.2f} ({nmse.low:.2f}–{nmse.high:.2f})"


def test_krippendorffs_alpha_against_gold_carries_a_bootstrap_interval_and_is_one_for_a_perfect_judge():
    gold = [0, 1, 2, 3] * 10
    perfect = alpha_interval(Scores.of(gold, gold), scale_min=0, scale_max=3, resamples=200)
    noisy_judged = [g if n % 3 else min(3, g + 1) for n, g in enumerate(gold)]
    noisy_judged[0] = None  # a malformed answer is a missing value, not a crash
    noisy = alpha_interval(Scores.of(gold, noisy_judged), scale_min=0, scale_max=3, resamples=200)

    assert perfect.estimate == pytest.approx(1.0)
    assert noisy.low <= noisy.estimate <= noisy.high < 1.0
    assert noisy.estimate > 0.5


def test_drawing_kinds_of_item_gives_the_intervals_of_drawing_the_items_themselves(monkeypatch):
    gold, judged = sample(2_000, noise=0.8, malformed=0.1, seed=8)
    by_kind = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)
    monkeypatch.setattr(intervals, "_MAX_KINDS", 0)  # as for scores off any scale
    by_item = metric_intervals(Scores.of(gold, judged), scale_min=0, scale_max=3)
    for name, found in by_kind.items():
        width = by_item[name].high - by_item[name].low
        assert found.estimate == pytest.approx(by_item[name].estimate), name
        assert found.low == pytest.approx(by_item[name].low, abs=0.1 * width), name
        assert found.high == pytest.approx(by_item[name].high, abs=0.1 * width), name
