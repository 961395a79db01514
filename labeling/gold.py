"""The gold score of an item: one rule, shared by exports, metrics and pages."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def item_gold(adjudicated_score: int | None, label_scores: Iterable[int]) -> float | None:
    """The reviewer's adjudicated score where there is one, else the median of the labels (2.5 for 2
    and 3), else None for an unlabeled item."""
    if adjudicated_score is not None:
        return adjudicated_score
    scores = list(label_scores)
    if not scores:
        return None
    return statistics.median(scores)
