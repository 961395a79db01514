"""The label counters (Item.label_count, Project.items_open, AnnotatorProgress) as they are stored, and as
COUNT(*) over the labels says they should be. The database keeps the stored ones, with triggers (see
migration 0007_label_counters); this module is how tests and operators check them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from labeling.models import AnnotatorProgress, Item, Label, Project


@dataclass(frozen=True)
class Counters:
    label_counts: dict[int, int]  # item id → labels
    items_open: int
    progress: dict[int, tuple[int, int]]  # annotator id → (labels, labels on open items)


def counters_stored(*, project: Project) -> Counters:
    rows = AnnotatorProgress.objects.filter(project=project).exclude(labels=0, labels_on_open_items=0)
    return Counters(
        label_counts=dict(Item.objects.filter(project=project).values_list("id", "label_count")),
        items_open=Project.objects.values_list("items_open", flat=True).get(pk=project.pk),
        progress={row.annotator_id: (row.labels, row.labels_on_open_items) for row in rows},
    )


def counters_counted(*, project: Project) -> Counters:
    target = Project.objects.values_list("labels_per_item", flat=True).get(pk=project.pk)
    items = Item.objects.filter(project=project).annotate(n=Count("labels")).values_list("id", "n")
    label_counts = dict(items)
    open_items = {item_id for item_id, n in label_counts.items() if n < target}
    progress: dict[int, tuple[int, int]] = {}
    for annotator_id, item_id in Label.objects.filter(item__project=project).values_list(
        "annotator_id", "item_id"
    ):
        labels, on_open = progress.get(annotator_id, (0, 0))
        progress[annotator_id] = (labels + 1, on_open + (item_id in open_items))
    return Counters(label_counts=label_counts, items_open=len(open_items), progress=progress)
