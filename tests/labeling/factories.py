"""Small builders for labeling tests: items in a project and labels on them."""

from __future__ import annotations

from labeling.models import Item, Label, Project


def items_make(project: Project, count: int, *, start: int = 1, document: str = "A document.") -> list[Item]:
    return Item.objects.bulk_create(
        Item(
            project=project,
            external_id=f"i{n}",
            query=f"query {n}",
            document=f"{document} {n}",
            split="train",
        )
        for n in range(start, start + count)
    )


def label_make(
    item: Item, annotator, score: int, rationale: str = "Because of what the document says."
) -> Label:
    return Label.objects.create(item=item, annotator=annotator, score=score, rationale=rationale)
