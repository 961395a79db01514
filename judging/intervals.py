"""95% bootstrap intervals of a run's metrics on one split, and of the paired difference of two versions
judged on the same items (the same resampled items for both). Metrics as DESIGN.md defines them: NMSE,
MAE, exact and within-one agreement and kappa over valid scores, the malformed rate over all items.
Vectorised with numpy: the resamples are count weights, so every metric is a weighted sum; items with
the same gold and answers are one kind, weighed by a multinomial count, so 100,000 items cost no more
than a hundred."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from judging.metrics import round_half_up
from judging.models import JudgeRun
from labeling import numbers
from labeling.gold import gold_scores
from labeling.models import Item

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
# Resamples are weighed in blocks so that 10,000 items never need more than a few tens of megabytes.
_BLOCK_CELLS = 2_000_000
# Up to this many kinds of item, resamples are drawn as counts of each kind (see _kinds).
_MAX_KINDS = 2_000
# Metrics whose intervals are computed, and whether lower is better.
LOWER_IS_BETTER = {
    "nmse": True,
    "malformed_rate": True,
    "mae": True,
    "exact": False,
    "within_one": False,
    "kappa": False,
}


@dataclass(frozen=True)
class Interval:
    estimate: float | None  # the metric on the items themselves
    low: float | None
    high: float | None

    @property
    def crosses_zero(self) -> bool:
        return self.low is None or self.high is None or self.low <= 0 <= self.high

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Scores:
    """One run's answers on some items: the gold score and the judge's (NaN when malformed)."""

    gold: np.ndarray
    judged: np.ndarray

    @classmethod
    def of(cls, gold: Sequence[float], judged: Sequence[int | None]) -> Scores:
        return cls(np.asarray(gold, dtype=float), np.array(judged, dtype=float))  # None becomes NaN


def _weights(n: int, resamples: int, seed: int):
    """Blocks of bootstrap count weights (resamples × n): how often each item was drawn. The first row
    of the first block is all ones, the items themselves, so the estimate comes out of the same sums."""
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK_CELLS // max(n, 1))
    yield np.ones((1, n))
    left = resamples
    while left > 0:
        size = min(rows, left)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(float)
        left -= size


def _kinds(runs: Sequence[Scores]) -> tuple[list[Scores], np.ndarray]:
    """The distinct kinds of item (gold and every run's answer alike) with how many items are of each.
    Scores are few on a scale (gold in half points, answers whole or malformed), so 100,000 items are a
    few dozen kinds, and drawing items is drawing kinds with their counts as probabilities."""
    columns = [runs[0].gold, *(np.nan_to_num(s.judged, nan=np.inf) for s in runs)]
    # One code per row from each column's own distinct values: sorting 1-D codes is far cheaper than
    # np.unique(axis=0) on rows.
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        values, inverse = np.unique(column, return_inverse=True)
        code = code * len(values) + inverse
    _, first, counts = np.unique(code, return_index=True, return_counts=True)
    kinds = [column[first] for column in columns]
    judged = [np.where(np.isinf(kind), np.nan, kind) for kind in kinds[1:]]
    return [Scores(kinds[0], j) for j in judged], counts


def _kind_weights(counts: np.ndarray, resamples: int, seed: int):
    """Bootstrap weights over kinds of item: the first row the counts themselves (the estimate), then one
    multinomial draw of n items per resample, the same distribution as drawing the items one by one."""
    rng = np.random.default_rng(seed)
    n = int(counts.sum())
    yield counts[None, :].astype(float)
    yield rng.multinomial(n, counts / n, size=resamples).astype(float)


def _metric_rows(
    weights: np.ndarray, scores: Scores, scale_min: int, scale_max: int
) -> dict[str, np.ndarray]:
    """Every metric under each row of weights (NaN where a resample has no valid score)."""
    judged = scores.judged
    valid = ~np.isnan(judged) & (judged >= scale_min) & (judged <= scale_max)
    valid_f = valid.astype(float)
    span = scale_max - scale_min
    diff = np.where(valid, np.nan_to_num(judged) - scores.gold, 0.0)
    k = span + 1
    gold_cat = np.clip(round_half_up(scores.gold), scale_min, scale_max) - scale_min
    judged_cat = np.where(valid, np.nan_to_num(judged), scale_min).astype(int) - scale_min
    total = weights.sum(axis=1)
    n_valid = weights @ valid_f
    with np.errstate(invalid="ignore", divide="ignore"):
        per_valid = {
            "nmse": 100 * (weights @ (diff**2)) / n_valid / span**2,
            "mae": (weights @ np.abs(diff)) / n_valid,
            "exact": (weights @ (valid & (gold_cat == judged_cat)).astype(float)) / n_valid,
            "within_one": (weights @ (valid & (np.abs(gold_cat - judged_cat) <= 1)).astype(float)) / n_valid,
        }
        cells = np.zeros((len(valid), k * k))
        cells[np.flatnonzero(valid), (gold_cat * k + judged_cat)[valid]] = 1
        confusion = (weights @ cells).reshape(-1, k, k)
        return {**per_valid, "malformed_rate": 1 - n_valid / total, "kappa": _kappa_rows(confusion)}


def _kappa_rows(confusion: np.ndarray) -> np.ndarray:
    """Quadratic-weighted kappa of each confusion matrix (as judging.metrics.quadratic_kappa)."""
    k = confusion.shape[1]
    if k < 2:
        return np.full(confusion.shape[0], np.nan)
    idx = np.arange(k)
    penalty = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    total = confusion.sum(axis=(1, 2))
    expected = confusion.sum(axis=2)[:, :, None] * confusion.sum(axis=1)[:, None, :] / total[:, None, None]
    denominator = (penalty * expected).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = 1 - (penalty * confusion).sum(axis=(1, 2)) / denominator
    return np.where(denominator > 0, kappa, np.nan)


def _interval(values: np.ndarray, estimate: float) -> Interval:
    estimate = None if np.isnan(estimate) else float(estimate)
    values = values[~np.isnan(values)]
    if estimate is None or not len(values):
        return Interval(estimate, None, None)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(estimate, float(low), float(high))


def _bootstrap(
    runs: Sequence[Scores], scale_min: int, scale_max: int, resamples: int, seed: int
) -> list[dict[str, np.ndarray]]:
    """The metrics of each run under the same resamples of items; the first entry is the estimate."""
    n = len(runs[0].gold)
    kinds, counts = _kinds(runs)
    if len(counts) <= _MAX_KINDS:
        runs, weights = kinds, _kind_weights(counts, resamples, seed)
    else:  # scores off any scale (not from a project): draw the items themselves
        weights = _weights(n, resamples, seed)
    blocks: list[list[dict[str, np.ndarray]]] = [[] for _ in runs]
    for block in weights:
        for found, scores in zip(blocks, runs, strict=True):
            found.append(_metric_rows(block, scores, scale_min, scale_max))
    return [
        {name: np.concatenate([block[name] for block in found]) for name in LOWER_IS_BETTER}
        for found in blocks
    ]


def metric_intervals(
    scores: Scores, *, scale_min: int, scale_max: int, resamples: int = RESAMPLES, seed: int = SEED
) -> dict[str, Interval]:
    """The 95% bootstrap interval of every metric of one run on its items."""
    if not len(scores.gold):
        return {name: Interval(None, None, None) for name in LOWER_IS_BETTER}
    (values,) = _bootstrap([scores], scale_min, scale_max, resamples, seed)
    return {name: _interval(v[1:], v[0]) for name, v in values.items()}


def paired_differences(
    before: Scores,
    after: Scores,
    *,
    scale_min: int,
    scale_max: int,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, Interval]:
    """after − before for every metric, both judged on the same items in the same order, with the 95%
    interval of the difference over resamples of those items (the same draws for both)."""
    if len(before.gold) != len(after.gold):
        raise ValueError("a paired difference needs the same items for both")
    if not len(before.gold):
        return {name: Interval(None, None, None) for name in LOWER_IS_BETTER}
    old, new = _bootstrap([before, after], scale_min, scale_max, resamples, seed)
    return {
        name: _interval(new[name][1:] - old[name][1:], new[name][0] - old[name][0])
        for name in LOWER_IS_BETTER
    }


def verdict(metric: str, difference: Interval) -> str:
    """ "better" or "worse" only when the whole 95% interval of the difference is on that side of 0,
    "uncertain" when it crosses 0 (whichever way the point estimate leans), "same" (no difference at all)
    or "unknown" (nothing to compare). Reports and the promotion gate both read this one verdict."""
    if difference.estimate is None:
        return "unknown"
    if difference.estimate == 0 and difference.low == difference.high == 0:
        return "same"
    if difference.crosses_zero:
        return "uncertain"
    change = -difference.estimate if LOWER_IS_BETTER[metric] else difference.estimate
    return "worse" if change < 0 else "better"


# Metrics shown as percentages on pages (shares of items); the others as plain numbers.
PERCENTAGES = numbers.SHARES


def readable(interval: Interval, metric: str, *, signed: bool = False) -> str:
    """For pages and commands, at the metric's precision (labeling/numbers.py), the interval at the same
    precision as the estimate: "16.72 (15.15–18.43)", "26.0% (23.7–28.2%)", signed differences
    "+0.27 (-0.74 to +1.32)"; "—" when there is nothing to show."""
    if interval.estimate is None:
        return "—"
    text = numbers.metric(metric, interval.estimate, signed=signed)
    if interval.low is not None and interval.high is not None:
        low = numbers.metric(metric, interval.low, signed=signed)
        high = numbers.metric(metric, interval.high, signed=signed)
        if signed or interval.low < 0:
            text += f" ({low.removesuffix('%')} to {high})"  # "-0.97–-0.15" reads as a typo
        else:
            text += f" ({low.removesuffix('%')}–{high})"  # "91.0% (88.2–94.1%)"
    return text


def shown_figures(found: dict[str, Interval]) -> dict[str, str]:
    """Every metric as "16.72 (15.15–18.43)", ready for a page."""
    return {name: readable(found[name], name) for name in LOWER_IS_BETTER}


def shown_difference(name: str, difference: Interval) -> str:
    """A paired difference of one metric, signed, at the metric's precision: "+0.27 (-0.74 to +1.32)"."""
    return readable(difference, name, signed=True)


# From the database


def run_split_scores(run: JudgeRun, split: str) -> dict[int, tuple[float, int | None]]:
    """Item id → (gold, judge score or None when malformed) for the run's answered items of one split
    ("all": every split) that have a gold score (as judging.selectors.run_metrics counts them)."""
    on_split = {} if split == "all" else {"split": split}
    rows = run.judgments.filter(error_kind="", **{f"item__{k}": v for k, v in on_split.items()}).values_list(
        "item_id", "score"
    )
    gold = gold_scores(Item.objects.filter(judgments__run=run, **on_split))
    return {item: (gold[item], score) for item, score in rows if item in gold}


def scores_of(found: dict[int, tuple[float, int | None]], items: Sequence[int] | None = None) -> Scores:
    items = sorted(found) if items is None else items
    return Scores.of([found[i][0] for i in items], [found[i][1] for i in items])


def paired_scores(
    before: dict[int, tuple[float, int | None]], after: dict[int, tuple[float, int | None]]
) -> tuple[Scores, Scores]:
    """Both runs on the items both answered, in the same order."""
    common = sorted(before.keys() & after.keys())
    return scores_of(before, common), scores_of(after, common)


def alpha_interval(
    scores: Scores, *, scale_min: int, scale_max: int, resamples: int = RESAMPLES, seed: int = SEED
) -> Interval:
    """Krippendorff's ordinal alpha between the judge and gold (gold rounded to the scale, a malformed
    answer a missing value), with its 95% bootstrap interval over resamples of the items. The alpha
    itself is labeling.agreement's, the one implementation; resampled rows keep their draws apart."""
    from labeling.agreement import ordinal_alpha

    scale = list(range(scale_min, scale_max + 1))
    gold = np.clip(round_half_up(scores.gold), scale_min, scale_max)
    matrix = np.vstack([gold, scores.judged])
    if not len(gold):
        return Interval(None, None, None)
    estimate = ordinal_alpha(matrix, scale)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        drawn = ordinal_alpha(matrix[:, rng.integers(0, len(gold), len(gold))], scale)
        if drawn is not None:
            values.append(drawn)
    return _interval(np.asarray(values, dtype=float), np.nan if estimate is None else estimate)
