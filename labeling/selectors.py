"""Read queries of the labeling app."""

from __future__ import annotations

from django.db.models import Count, Q

from labeling.models import SPLITS, Item, Label, Project


def project_split_counts(*, project: Project) -> list[dict]:
    """Items, labeled items and labels per split, in two queries whatever the project's size."""
    items = {
        row["split"]: row
        for row in Item.objects.filter(project=project)
        .values("split")
        .annotate(
            items=Count("id", distinct=True),
            labeled=Count("id", filter=Q(labels__isnull=False), distinct=True),
        )
    }
    labels = dict(
        Label.objects.filter(item__project=project).values_list("item__split").annotate(n=Count("id"))
    )
    return [
        {
            "split": split,
            "items": items.get(split, {}).get("items", 0),
            "labeled": items.get(split, {}).get("labeled", 0),
            "labels": labels.get(split, 0),
        }
        for split in SPLITS
    ]
