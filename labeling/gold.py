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


def gold_scores(items) -> dict[int, float]:
    """Gold for every item of a queryset that has one, in two queries and vectorised medians."""
    import numpy as np

    from labeling.models import Label

    adjudicated = dict(items.filter(adjudicated_score__isnull=False).values_list("id", "adjudicated_score"))
    pairs = np.array(
        list(
            Label.objects.filter(item__in=items.filter(adjudicated_score__isnull=True))
            .order_by("item_id", "score")
            .values_list("item_id", "score")
        ),
        dtype=float,
    ).reshape(-1, 2)
    gold: dict[int, float] = {item_id: float(score) for item_id, score in adjudicated.items()}
    if len(pairs):
        item_ids, scores = pairs[:, 0].astype(int), pairs[:, 1]
        starts = np.flatnonzero(np.concatenate(([True], item_ids[1:] != item_ids[:-1])))
        counts = np.diff(np.append(starts, len(item_ids)))
        # Scores are sorted within each item: the median is the mean of the two middle ones.
        medians = (scores[starts + (counts - 1) // 2] + scores[starts + counts // 2]) / 2
        gold.update(zip(item_ids[starts].tolist(), medians.tolist(), strict=True))
    return gold
