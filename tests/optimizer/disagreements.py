"""A finished judge run built row by row, for the bullet and library tests: each row names the item's
split, its human score and rationale, and the judge's score and reasoning."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from labeling.models import Item, Label


@dataclass(frozen=True)
class Row:
    split: str
    gold: int
    judge: int
    rationale: str = "The document answers part of the question."
    reasoning: str = "The document mentions the query terms."
    query: str = ""
    document: str = ""


def endpoint_get() -> ModelEndpoint:
    return ModelEndpoint.objects.get_or_create(name="sim/judge-small", defaults={"model": "sim/judge-small"})[
        0
    ]


def version_make(project, *, origin: str = "hand-written") -> PromptVersion:
    return PromptVersion.objects.create(
        project=project,
        target_model=endpoint_get(),
        instructions="Rate the document from 1 to 5.",
        origin=origin,
    )


def run_make(
    project, annotator, rows: list[Row], *, version: PromptVersion | None = None, item_set: str = "labeled"
) -> JudgeRun:
    """A done run of `version` (a new hand-written one by default) over one item per row; items are
    created once per external id, so a second run with the same rows judges the same items. A run of one
    split (item_set="test", as the optimizer measures) judges only the rows of that split."""
    version = version or version_make(project)
    run = JudgeRun.objects.create(
        project=project,
        prompt_version=version,
        endpoint=endpoint_get(),
        item_set=item_set,
        status=JudgeRun.Status.DONE,
        total_items=len([row for row in rows if item_set in ("labeled", row.split)]),
        finished_at=timezone.now(),
    )
    for n, row in enumerate(rows, start=1):
        if item_set not in ("labeled", row.split):
            continue
        item, created = Item.objects.get_or_create(
            project=project,
            external_id=f"item-{n}",
            defaults={
                "query": row.query or f"question number {n}",
                "document": row.document or f"A document about question number {n}.",
                "split": row.split,
            },
        )
        if created:
            Label.objects.create(item=item, annotator=annotator, score=row.gold, rationale=row.rationale)
        Judgment.objects.create(
            run=run, item=item, score=row.judge, reasoning=row.reasoning, cache_key=f"{run.pk}-{n}"
        )
    return run
