"""Label amplification: a run's machine labels, exported with the test-split metrics of the
(prompt version, model) that made them, so a consumer knows how far to trust them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from judging import intervals
from judging.models import JudgeRun
from judging.selectors import run_metrics
from labeling import numbers
from labeling.spreadsheet_safe import csv_cell

COLUMNS = [
    "external_id",
    "split",
    "query",
    "document",
    "score",
    "malformed",
    "reasoning",
    "prompt_version",
    "model",
    "test_items",
    "test_nmse",
    "test_malformed_rate",
    "test_kappa",
]


def test_run_for(*, prompt_version, endpoint) -> JudgeRun | None:
    """The latest finished run of the same (prompt version, model) that judged test items with gold."""
    runs = JudgeRun.objects.filter(
        prompt_version=prompt_version,
        endpoint=endpoint,
        status=JudgeRun.Status.DONE,
        judgments__item__split="test",
    ).distinct()
    for run in runs.order_by("-created_at", "-id"):
        if run_metrics(run).get("test") is not None:
            return run
    return None


def test_metrics_for(*, prompt_version, endpoint) -> dict:
    """The export's trust columns: exact, without binary float noise (0.07999999999999996 → 0.08)."""
    run = test_run_for(prompt_version=prompt_version, endpoint=endpoint)
    if run is None:
        return {"test_items": 0, "test_nmse": None, "test_malformed_rate": None, "test_kappa": None}
    test = run_metrics(run)["test"]
    return {
        "test_items": test.items,
        "test_nmse": numbers.exact(test.nmse),
        "test_malformed_rate": numbers.exact(test.malformed_rate),
        "test_kappa": numbers.exact(test.kappa),
    }


def expected_quality(*, prompt_version, endpoint) -> dict | None:
    """How far to trust the machine labels, for the run's page: the (version, model)'s test-split
    figures with their 95% intervals, rounded for people; None when it was never judged on test items."""
    run = test_run_for(prompt_version=prompt_version, endpoint=endpoint)
    if run is None:
        return None
    project = run.project
    found = intervals.metric_intervals(
        intervals.scores_of(intervals.run_split_scores(run, "test")),
        scale_min=project.scale_min,
        scale_max=project.scale_max,
    )
    return {
        "run": run,
        "items": run_metrics(run)["test"].items,
        **{
            name: intervals.readable(found[name], name)
            for name in ("within_one", "exact", "malformed_rate", "nmse")
        },
    }


def run_export_lines(*, run: JudgeRun, fmt: str) -> Iterator[str]:
    trust = test_metrics_for(prompt_version=run.prompt_version, endpoint=run.endpoint)
    judgments = run.judgments.filter(error_kind="").select_related("item").order_by("item_id")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        yield buffer.getvalue()
    for judgment in judgments.iterator(chunk_size=1000):
        item = judgment.item
        row = {
            "external_id": item.external_id,
            "split": item.split,
            "query": item.query,
            "document": item.document,
            "score": judgment.score,
            "malformed": judgment.malformed,
            "reasoning": judgment.reasoning,
            "prompt_version": run.prompt_version_id,
            "model": run.endpoint.name,
            **trust,
        }
        if fmt == "csv":
            buffer = io.StringIO()
            csv.DictWriter(buffer, fieldnames=COLUMNS).writerow(
                {key: csv_cell(value) for key, value in row.items()}
            )
            yield buffer.getvalue()
        else:
            yield json.dumps(row, ensure_ascii=False) + "\n"
