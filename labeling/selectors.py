"""Read queries of the labeling app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from labeling.importing import LABEL_SOURCE_GROUP
from labeling.models import SPLITS, Item, Label, Project, Reservation, Skip


def project_split_counts(*, project: Project) -> list[dict]:
    """Items, labeled items, items at target (coverage) and labels per split, in one query whatever the
    project's size."""
    rows = {
        row["split"]: row
        for row in Item.objects.filter(project=project)
        .annotate(n_labels=F("label_count"))
        .values("split")
        .annotate(
            items=Count("id"),
            labeled=Count("id", filter=Q(n_labels__gt=0)),
            at_target=Count("id", filter=Q(n_labels__gte=project.labels_per_item)),
            labels=Sum("n_labels"),
        )
        .order_by()
    }
    result = []
    for split in SPLITS:
        row = rows.get(split, {})
        items = row.get("items", 0)
        result.append(
            {
                "split": split,
                "items": items,
                "labeled": row.get("labeled", 0),
                "at_target": row.get("at_target", 0),
                "coverage": _coverage(row.get("at_target", 0), items),
                "labels": row.get("labels") or 0,
            }
        )
    return result


def project_label_distribution(*, project: Project) -> list[tuple[int, int]]:
    """(number of labels, items with exactly that many) for every number some item has, fewest first, in
    one query: what the items really have beside the project's target."""
    return list(
        Item.objects.filter(project=project)
        .values_list("label_count")
        .annotate(items=Count("id"))
        .order_by("label_count")
    )


def split_counts_total(splits: list[dict]) -> dict:
    """The project_split_counts rows added up into one for the whole project."""
    totals = {key: sum(row[key] for row in splits) for key in ("items", "labeled", "at_target", "labels")}
    return {**totals, "coverage": _coverage(totals["at_target"], totals["items"])}


def _coverage(at_target: int, items: int) -> int:
    """Percent of items that have as many labels as the project wants."""
    return round(100 * at_target / items) if items else 0


def project_labels_today(*, project: Project) -> list[tuple[str, int]]:
    """(username, labels given today) for everyone who labeled in the project today, most first. A label
    source's labels (an import's "nist") are not anyone's work of the day."""
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return list(
        Label.objects.filter(item__project=project, created_at__gte=start_of_day)
        .exclude(annotator__groups__name=LABEL_SOURCE_GROUP)
        .values_list("annotator__username")
        .annotate(n=Count("id"))
        .order_by("-n", "annotator__username")
    )


def label_sources() -> frozenset[str]:
    """Usernames that stand for a label source (an import's labels_as, e.g. "nist"), not a person."""
    users = get_user_model().objects.filter(groups__name=LABEL_SOURCE_GROUP)
    return frozenset(users.values_list("username", flat=True))


def items_open_to(*, project: Project, annotator) -> QuerySet[Item]:
    """Items this annotator may still label: not labeled by them and short of the project's target."""
    mine = Label.objects.filter(item=OuterRef("pk"), annotator=annotator)
    return Item.objects.filter(project=project, label_count__lt=project.labels_per_item).filter(~Exists(mine))


# Queue orders that another app computes: Project.queue_order → a function giving an item's priority
# as a query expression over Item (higher comes first). judging registers "disagreement" from its
# judgments when it loads, so that labeling imports nothing of judging.
_QUEUE_PRIORITIES: dict[str, Callable[[], Expression]] = {}


def queue_priority_register(order: str, priority: Callable[[], Expression]) -> None:
    _QUEUE_PRIORITIES[order] = priority


def items_available_to(*, project: Project, annotator, now: datetime, skipped: bool) -> QuerySet[Item]:
    """The annotator's queue: open items nobody else holds right now, in the project's queue order.

    In id order it walks the (project, id) index and stops at the first match; each step reads the item's
    stored label_count and makes a few index probes (a label of theirs, a reservation, a skip), so finding
    the next item never loads the project.
    With a priority order (see queue_priority_register) the database ranks the open items by it, then
    by id, still in the same single query.
    With skipped=False the items this annotator skipped are left out; with skipped=True only those
    come back, the longest ago skipped first.
    """
    held_by_other = Reservation.objects.filter(item=OuterRef("pk"), expires_at__gt=now).exclude(
        annotator=annotator
    )
    items = items_open_to(project=project, annotator=annotator).filter(~Exists(held_by_other))
    if skipped:
        return items.filter(skips__annotator=annotator).order_by("skips__skipped_at", "id")
    items = items.filter(~Exists(Skip.objects.filter(item=OuterRef("pk"), annotator=annotator)))
    priority = _QUEUE_PRIORITIES.get(project.queue_order)
    if priority is None:
        return items.order_by("id")
    return items.alias(priority=priority()).order_by(F("priority").desc(), "id")


def annotator_reservations(*, project: Project, annotator, now: datetime) -> QuerySet[Reservation]:
    """The items this annotator holds in the project and has not labeled yet, the latest first."""
    mine = Label.objects.filter(item=OuterRef("item_id"), annotator=annotator)
    return (
        Reservation.objects.filter(annotator=annotator, item__project=project, expires_at__gt=now)
        .filter(~Exists(mine))
        .select_related("item")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Progress:
    done: int
    target: int

    @property
    def remaining(self) -> int:
        return self.target - self.done

    @property
    def percent(self) -> int:
        # 0 of 0 is an empty bar: nothing was done, however complete the project looks.
        return round(100 * self.done / self.target) if self.target else 0


# A fixed statement in plain SQL: building it with the ORM cost more CPU than running it, on every label.
_PROGRESS = (
    "SELECT p.items_open, COALESCE(a.labels, 0), COALESCE(a.labels_on_open_items, 0) "
    "FROM labeling_project p LEFT JOIN labeling_annotatorprogress a "
    "ON a.project_id = p.id AND a.annotator_id = %s WHERE p.id = %s"
)


def annotator_progress(*, project: Project, annotator) -> Progress:
    """The annotator's labels in the project out of what they can label in all (done + still open), from
    the stored counters in one query: the project's open items less those they labeled already."""
    with connection.cursor() as cursor:
        cursor.execute(_PROGRESS, [annotator.pk, project.pk])
        items_open, done, done_on_open = cursor.fetchone()
    return Progress(done=done, target=done + items_open - done_on_open)


def adjudication_queue(*, project: Project, include_done: bool = False) -> QuerySet[Item]:
    """Items whose labels spread by the project's adjudication_spread or more; without include_done,
    only those no reviewer has adjudicated yet."""
    items = (
        Item.objects.filter(project=project)
        .annotate(low=Min("labels__score"), high=Max("labels__score"), n_labels=Count("labels"))
        .filter(n_labels__gte=2)
        .alias(spread=F("high") - F("low"))
        .filter(spread__gte=project.adjudication_spread)
        .order_by("id")
    )
    if not include_done:
        items = items.filter(adjudicated_score__isnull=True)
    return items


def project_label_rows(*, project: Project) -> list[tuple[int, str, int, int | None]]:
    """(item id, annotator's username, score, the item's adjudicated score) for every label."""
    return list(
        Label.objects.filter(item__project=project)
        .order_by("item_id", "annotator__username")
        .values_list("item_id", "annotator__username", "score", "item__adjudicated_score")
    )
