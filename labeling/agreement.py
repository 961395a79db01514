"""Human–human agreement on a project: Krippendorff's alpha (ordinal) over all annotators, quadratic-
weighted Cohen's kappa for each pair, each annotator's mean bias against gold and their label counts.

The statistics come from the maintained libraries (krippendorff, scikit-learn); this module only
arranges the labels for them and says "undefined" (None) where they would divide by zero.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from labeling.gold import item_gold

# (item id, annotator, score, the item's adjudicated score or None): what selectors.project_label_rows gives.
LabelRow = tuple[int, str, int, int | None]


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    items: int  # items both labeled
    kappa: float | None  # None with fewer than two shared items or when chance agreement is total


@dataclass(frozen=True)
class AnnotatorSummary:
    annotator: str
    labels: int
    counts: list[int]  # labels per point of the scale, scale_min first
    bias_items: int
    bias: float | None  # mean of score − gold; above 0 means more lenient than gold


@dataclass(frozen=True)
class Agreement:
    scale_points: list[int]
    annotators: list[str]
    items: int  # items with a label
    shared_items: int  # items with two labels or more: the ones alpha can use
    alpha: float | None
    pairs: list[PairAgreement]
    summaries: list[AnnotatorSummary]
    # Label sources (an import's "nist"): their labels count toward gold, but they are nobody to agree with.
    sources: list[AnnotatorSummary] = field(default_factory=list)

    @property
    def has_bias(self) -> bool:
        return any(summary.bias is not None for summary in self.summaries)


def agreement_compute(
    *, rows: Iterable[LabelRow], scale_points: Sequence[int], sources: frozenset[str] = frozenset()
) -> Agreement:
    """Agreement among the people who labeled; the labels of `sources` (usernames that stand for a label
    source, not a person) count toward gold only."""
    by_item: dict[int, dict[str, int]] = defaultdict(dict)
    adjudicated: dict[int, int | None] = {}
    for item_id, annotator, score, adjudicated_score in rows:
        by_item[item_id][annotator] = score
        adjudicated[item_id] = adjudicated_score
    everyone = {name for scores in by_item.values() for name in scores}
    annotators = sorted(everyone - sources)
    item_ids = sorted(by_item)
    # Annotators × items, NaN where an annotator did not label the item.
    matrix = np.full((len(annotators), len(item_ids)), np.nan)
    row_of = {name: i for i, name in enumerate(annotators)}
    for column, item_id in enumerate(item_ids):
        for name, score in by_item[item_id].items():
            if name in row_of:
                matrix[row_of[name], column] = score
    # Gold made of one annotator's label alone says nothing about their bias: those items have none here.
    gold = {
        item_id: item_gold(adjudicated[item_id], scores.values())
        for item_id, scores in by_item.items()
        if adjudicated[item_id] is not None or len(scores) >= 2
    }

    return Agreement(
        scale_points=list(scale_points),
        annotators=annotators,
        items=len(item_ids),
        shared_items=int(((~np.isnan(matrix)).sum(axis=0) >= 2).sum()),
        alpha=ordinal_alpha(matrix, scale_points),
        pairs=[
            _pair(first, second, matrix[row_of[first]], matrix[row_of[second]], scale_points)
            for first, second in combinations(annotators, 2)
        ],
        summaries=[_summary(name, by_item, gold, scale_points) for name in annotators],
        sources=[_summary(name, by_item, gold, scale_points) for name in sorted(everyone & sources)],
    )


def ordinal_alpha(matrix: np.ndarray, scale_points: Sequence[int]) -> float | None:
    """Krippendorff's alpha for ordinal data over a coders × units matrix (NaN = no value); None when no
    unit has two values or every value is the same (no expected disagreement to compare with)."""
    pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
    if matrix.shape[0] < 2 or not pairable.any():
        return None
    values = matrix[:, pairable]
    if np.unique(values[~np.isnan(values)]).size < 2:
        return None
    alpha = krippendorff.alpha(
        reliability_data=values, level_of_measurement="ordinal", value_domain=list(scale_points)
    )
    return float(alpha) if math.isfinite(alpha) else None


def weighted_kappa(first: Sequence[int], second: Sequence[int], scale_points: Sequence[int]) -> float | None:
    """Cohen's kappa with quadratic weights between two annotators' scores on the same items."""
    if len(first) < 2:
        return None
    kappa = cohen_kappa_score(
        first, second, labels=list(scale_points), weights="quadratic", replace_undefined_by=np.nan
    )
    return float(kappa) if math.isfinite(kappa) else None


def _pair(
    first: str, second: str, a: np.ndarray, b: np.ndarray, scale_points: Sequence[int]
) -> PairAgreement:
    both = ~np.isnan(a) & ~np.isnan(b)
    return PairAgreement(
        first=first,
        second=second,
        items=int(both.sum()),
        kappa=weighted_kappa(a[both].astype(int).tolist(), b[both].astype(int).tolist(), scale_points),
    )


def _summary(
    annotator: str,
    by_item: dict[int, dict[str, int]],
    gold: dict[int, float],
    scale_points: Sequence[int],
) -> AnnotatorSummary:
    counts = dict.fromkeys(scale_points, 0)
    gaps = []
    for item_id, scores in by_item.items():
        if annotator not in scores:
            continue
        score = scores[annotator]
        counts[score] = counts.get(score, 0) + 1
        if item_id in gold:
            gaps.append(score - gold[item_id])
    return AnnotatorSummary(
        annotator=annotator,
        labels=sum(counts.values()),
        counts=[counts[point] for point in scale_points],
        bias_items=len(gaps),
        bias=float(np.mean(gaps)) if gaps else None,
    )
