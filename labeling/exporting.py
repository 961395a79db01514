"""Streaming export of a project's items with their labels and gold, as CSV or JSON Lines.

labeling.importing reads both formats back: the export of one project imports into another as is (the
CSV's text cells are spreadsheet-safe, see labeling.spreadsheet_safe, and read back to the original).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import Prefetch

from labeling.gold import item_gold
from labeling.models import Item, Label, Project
from labeling.spreadsheet_safe import csv_row

EXPORT_FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ("external_id", "split", "query", "document", "metadata", "gold", "n_labels", "labels")
CHUNK_SIZE = 500


class _Echo:
    """A file-like object whose write() returns the text, so csv.writer can feed a generator."""

    def write(self, text: str) -> str:
        return text


def items_export_lines(*, project: Project, fmt: str) -> Iterator[str]:
    """The project's items, one text chunk per line (the CSV header first), in a flat amount of memory."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; the formats are {', '.join(EXPORT_FORMATS)}")
    records = (_item_record(item) for item in _items(project))
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"
        return
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for record in records:
        record["metadata"] = json.dumps(record["metadata"], ensure_ascii=False)
        record["labels"] = json.dumps(record["labels"], ensure_ascii=False)
        yield writer.writerow(csv_row(record[column] for column in CSV_COLUMNS))


def _items(project: Project) -> Iterator[Item]:
    labels = (
        Label.objects.select_related("annotator")
        .only("item_id", "score", "rationale", "annotator__username")
        .order_by("id")
    )
    return (
        Item.objects.filter(project=project)
        .order_by("id")
        .prefetch_related(Prefetch("labels", queryset=labels))
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _item_record(item: Item) -> dict[str, Any]:
    labels = [
        {"annotator": label.annotator.username, "score": label.score, "rationale": label.rationale}
        for label in item.labels.all()
    ]
    return {
        "external_id": item.external_id,
        "split": item.split,
        "query": item.query,
        "document": item.document,
        "metadata": item.metadata,
        "gold": item_gold(item.adjudicated_score, [label["score"] for label in labels]),
        "n_labels": len(labels),
        "labels": labels,
    }
