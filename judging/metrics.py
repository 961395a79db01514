"""Judge-vs-gold metrics, as DESIGN.md defines them. One module, shared by every page, command and
benchmark; vectorised with numpy, never row by row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class JudgeMetrics:
    items: int  # items with a gold score that the judge was asked about
    valid: int  # of those, items whose output parsed to a score on the scale
    malformed_rate: float
    nmse: float | None  # 0–100, over valid items
    mae: float | None
    exact: float | None  # share of valid items where judge == gold (gold rounded half up)
    within_one: float | None
    kappa: float | None  # quadratic-weighted Cohen's kappa
    spearman: float | None
    bias: float | None  # mean of judge − gold: above 0 means too lenient
    confusion: list[list[int]]  # rows: gold (rounded), columns: judge, both scale_min..scale_max

    def as_dict(self) -> dict:
        return asdict(self)


def round_half_up(values: np.ndarray) -> np.ndarray:
    """Gold can be a median between two points (2.5); categories need an integer, and 2.5 → 3."""
    return np.floor(np.asarray(values, dtype=float) + 0.5).astype(int)


def example_score(*, gold: float, judged: int | None, scale_min: int, scale_max: int) -> float:
    """The optimizer's per-example objective in [0, 1]: 1 − normalised squared error, and a malformed
    output counts as the worst possible error, so neither axis can be traded for the other."""
    if judged is None:
        return 0.0
    span = scale_max - scale_min
    return 1.0 - ((judged - gold) / span) ** 2


def judge_metrics(
    *, gold: Sequence[float], judged: Sequence[int | None], scale_min: int, scale_max: int
) -> JudgeMetrics:
    gold_all = np.asarray(gold, dtype=float)
    judged_all = np.array(judged, dtype=float)  # None (malformed) becomes NaN
    if gold_all.shape != judged_all.shape:
        raise ValueError("gold and judged must have the same length")
    on_scale = ~np.isnan(judged_all) & (judged_all >= scale_min) & (judged_all <= scale_max)
    n_items, n_valid = len(gold_all), int(on_scale.sum())
    k = scale_max - scale_min + 1
    confusion = np.zeros((k, k), dtype=int)
    malformed_rate = float(1 - n_valid / n_items) if n_items else 0.0
    if n_valid == 0:
        return JudgeMetrics(
            n_items, 0, malformed_rate, None, None, None, None, None, None, None, confusion.tolist()
        )

    g, j = gold_all[on_scale], judged_all[on_scale]
    diff = j - g
    g_cat = np.clip(round_half_up(g), scale_min, scale_max) - scale_min
    j_cat = j.astype(int) - scale_min
    np.add.at(confusion, (g_cat, j_cat), 1)
    return JudgeMetrics(
        items=n_items,
        valid=n_valid,
        malformed_rate=malformed_rate,
        nmse=float(100 * np.mean(diff**2) / (scale_max - scale_min) ** 2),
        mae=float(np.mean(np.abs(diff))),
        exact=float(np.mean(g_cat == j_cat)),
        within_one=float(np.mean(np.abs(g_cat - j_cat) <= 1)),
        kappa=quadratic_kappa(confusion),
        spearman=spearman(g, j),
        bias=float(np.mean(diff)),
        confusion=confusion.tolist(),
    )


def quadratic_kappa(confusion: np.ndarray) -> float | None:
    """Cohen's kappa with quadratic weights, from a square confusion matrix."""
    observed = np.asarray(confusion, dtype=float)
    total = observed.sum()
    k = observed.shape[0]
    if total == 0 or k < 2:
        return None
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    denominator = (weights * expected).sum()
    if denominator == 0:
        return None  # both raters used a single category: agreement beyond chance is undefined
    return float(1 - (weights * observed).sum() / denominator)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    boundaries = np.concatenate(([True], sorted_values[1:] != sorted_values[:-1], [True]))
    starts = np.flatnonzero(boundaries)
    # Ties share the mean of the ranks they span (1-based).
    group_ranks = (starts[:-1] + starts[1:] - 1) / 2 + 1
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(group_ranks, np.diff(starts))
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2:
        return None
    ra, rb = _average_ranks(np.asarray(a, dtype=float)), _average_ranks(np.asarray(b, dtype=float))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])
