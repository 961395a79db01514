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
            .order_by()
            .values_list("item_id", "score")
        ),
        dtype=float,
    ).reshape(-1, 2)
    gold: dict[int, float] = {item_id: float(score) for item_id, score in adjudicated.items()}
    item_ids, medians = label_medians(pairs)
    gold.update(zip(item_ids.tolist(), medians.tolist(), strict=True))
    return gold


def gold_array(item_ids, adjudicated, label_pairs):
    """Gold of each of `item_ids` (NaN for an unlabeled item), vectorised: the adjudicated score where
    there is one (NaN where not), else the median of the (item id, score) label pairs."""
    import numpy as np

    gold = np.array(adjudicated, dtype=float)
    labeled, medians = label_medians(np.array(label_pairs, dtype=float).reshape(-1, 2))
    if len(labeled):
        at = np.clip(np.searchsorted(labeled, item_ids), 0, len(labeled) - 1)
        found = np.isnan(gold) & (labeled[at] == item_ids)
        gold[found] = medians[at[found]]
    return gold


def label_medians(pairs):
    """Item ids (ascending) and the median of their scores, from (item id, score) pairs in any order."""
    import numpy as np

    if not len(pairs):
        return np.array([], dtype=int), np.array([], dtype=float)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]  # by item, then score: cheaper here than in SQL
    item_ids, scores = pairs[:, 0].astype(int), pairs[:, 1]
    starts = np.flatnonzero(np.concatenate(([True], item_ids[1:] != item_ids[:-1])))
    counts = np.diff(np.append(starts, len(item_ids)))
    # Scores are sorted within each item: the median is the mean of the two middle ones.
    return item_ids[starts], (scores[starts + (counts - 1) // 2] + scores[starts + counts // 2]) / 2
