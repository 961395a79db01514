"""The metrics module agrees with scikit-learn and scipy, and with DESIGN.md's definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score, confusion_matrix, mean_absolute_error

from judging.metrics import example_score, judge_metrics


@pytest.mark.parametrize("seed", range(8))
def test_metrics_match_scikit_learn_and_scipy_on_random_judgments(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    gold = rng.integers(1, 6, n)
    judged = np.clip(gold + rng.integers(-2, 3, n), 1, 5)

    m = judge_metrics(gold=gold.tolist(), judged=judged.tolist(), scale_min=1, scale_max=5)

    assert m.kappa == pytest.approx(
        cohen_kappa_score(gold, judged, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )
    assert m.spearman == pytest.approx(spearmanr(gold, judged).statistic)
    assert m.mae == pytest.approx(mean_absolute_error(gold, judged))
    assert m.nmse == pytest.approx(100 * np.mean((judged - gold) ** 2) / 16)
    assert m.confusion == confusion_matrix(gold, judged, labels=[1, 2, 3, 4, 5]).tolist()
    assert m.exact == pytest.approx(np.mean(gold == judged))
    assert m.bias == pytest.approx(np.mean(judged - gold))


def test_malformed_outputs_count_in_the_rate_but_not_in_nmse():
    m = judge_metrics(gold=[0, 3, 2, 1], judged=[0, None, 2, 7], scale_min=0, scale_max=3)

    assert m.items == 4 and m.valid == 2
    assert m.malformed_rate == pytest.approx(0.5)  # None and the off-scale 7
    assert m.nmse == 0.0


def test_nmse_is_zero_to_one_hundred():
    worst = judge_metrics(gold=[1, 5], judged=[5, 1], scale_min=1, scale_max=5)
    assert worst.nmse == 100.0
    assert worst.bias == 0.0 and worst.within_one == 0.0


def test_a_fractional_gold_rounds_half_up_for_categories_but_not_for_errors():
    m = judge_metrics(gold=[2.5], judged=[3], scale_min=1, scale_max=5)
    assert m.exact == 1.0
    assert m.mae == pytest.approx(0.5)


def test_nothing_valid_gives_no_figures_rather_than_zeros():
    m = judge_metrics(gold=[1, 2], judged=[None, None], scale_min=1, scale_max=5)
    assert m.malformed_rate == 1.0
    assert m.nmse is None and m.kappa is None


def test_the_objective_punishes_a_malformed_output_as_the_worst_error():
    assert example_score(gold=3, judged=3, scale_min=1, scale_max=5) == 1.0
    assert example_score(gold=1, judged=5, scale_min=1, scale_max=5) == 0.0
    assert example_score(gold=1, judged=None, scale_min=1, scale_max=5) == 0.0
    assert example_score(gold=2, judged=3, scale_min=1, scale_max=5) == pytest.approx(1 - 1 / 16)
