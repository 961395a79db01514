"""Active labeling: the judge's runs tell the annotators' queue which unlabeled items to show first."""

from __future__ import annotations

from django.db.models import Case, Expression, IntegerField, Max, Min, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from judging.models import JudgeRun, Judgment


def item_disagreement_priority() -> Expression:
    """How likely humans are to disagree with the judge on an item, as an expression over Item: the spread
    (highest − lowest) of its scores across the finished runs' judgments, from different prompt versions
    and models, plus one when any of them came out malformed. 0 for an item they agree on or never judged.

    One correlated subquery on the judgments' item index; calls that failed (error_kind) say nothing.
    """
    judged = (
        Judgment.objects.filter(
            item=OuterRef("pk"), run__status__in=JudgeRun.FINISHED_STATUSES, error_kind=""
        )
        .order_by()
        .values("item")
        .annotate(
            priority=Coalesce(Max("score") - Min("score"), 0)
            + Max(Case(When(malformed=True, then=Value(1)), default=Value(0)))
        )
    )
    return Coalesce(Subquery(judged.values("priority"), output_field=IntegerField()), 0)
