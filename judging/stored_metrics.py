"""A judge run's progress counters and metrics per split (with their bootstrap intervals): computed from
its judgments while it is active, computed once and stored with the run when it finishes, forgotten
when its judgments change (every write of judgments goes through judging.runs._save_judgments, which
calls judge_run_metrics_forget; a resume clears them through JudgeRun.COLUMNS_ON)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum

from judging import intervals
from judging.intervals import Interval
from judging.metrics import JudgeMetrics, judge_metrics
from judging.models import JudgeRun, Judgment
from labeling.gold import gold_scores
from labeling.models import SPLITS, Item

# Bumped when what is stored changes shape: an older store is computed anew on read.
FORMAT = 1


@dataclass(frozen=True)
class SplitFigures:
    """A run's figures on one split (or "all"), over its answered items that have a gold score."""

    metrics: JudgeMetrics
    intervals: dict[str, Interval]
    judgments: int  # answered judgments of the split (scored or malformed), gold or not
    disagreements: int  # scored items whose score differs from gold
    dollars_per_1000: Decimal | None  # what judging costs: a reused judgment costs what its original did
    latency_p50_ms: float | None

    def as_json(self) -> dict:
        return {
            "metrics": self.metrics.as_dict(),
            "intervals": {name: found.as_dict() for name, found in self.intervals.items()},
            "judgments": self.judgments,
            "disagreements": self.disagreements,
            "dollars_per_1000": None if self.dollars_per_1000 is None else str(self.dollars_per_1000),
            "latency_p50_ms": self.latency_p50_ms,
        }

    @classmethod
    def from_json(cls, data: dict) -> SplitFigures:
        dollars = data["dollars_per_1000"]
        return cls(
            metrics=JudgeMetrics(**data["metrics"]),
            intervals={name: Interval(**found) for name, found in data["intervals"].items()},
            judgments=data["judgments"],
            disagreements=data["disagreements"],
            dollars_per_1000=None if dollars is None else Decimal(dollars),
            latency_p50_ms=data["latency_p50_ms"],
        )


@dataclass(frozen=True)
class RunFigures:
    progress: dict  # run_progress's counters, but for how long the run has stalled
    splits: dict[str, SplitFigures]  # the splits (and "all") with at least one gold item, in order
    last_judgment_id: int = 0  # the newest judgment counted: a newer one makes these figures stale

    def as_json(self) -> dict:
        progress = {**self.progress, "cost": str(self.progress["cost"])}
        return {
            "format": FORMAT,
            "progress": progress,
            "splits": {split: f.as_json() for split, f in self.splits.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> RunFigures:
        progress = {**data["progress"], "cost": Decimal(data["progress"]["cost"])}
        splits = {split: SplitFigures.from_json(f) for split, f in data["splits"].items()}
        return cls(progress=progress, splits=splits)


def run_figures(run: JudgeRun) -> RunFigures:
    """The stored figures of a finished run; computed from its judgments for an active run. A finished
    run with none stored (cancelled by liveness, or its judgments changed since) has them stored now."""
    if run.is_finished and run.metrics and run.metrics.get("format") == FORMAT:
        return RunFigures.from_json(run.metrics)
    if not run.is_finished:
        return run_figures_compute(run)
    return judge_run_metrics_store(run=run)


def judge_run_metrics_store(*, run: JudgeRun) -> RunFigures:
    """Compute a finished run's figures and store them with it. A run that left the status it had when
    they were read (resumed meanwhile) keeps none: its own finish stores them."""
    figures = run_figures_compute(run)
    newer = Judgment.objects.filter(run=OuterRef("pk"), pk__gt=figures.last_judgment_id)
    stored = (
        JudgeRun.objects.filter(pk=run.pk, status=run.status, finished_at=run.finished_at)
        .exclude(Exists(newer))
        .update(metrics=figures.as_json())
    )
    if stored:
        run.metrics = figures.as_json()
    return figures


def judge_run_metrics_forget(*, run_id: int) -> None:
    """Judgments of the run changed: its stored figures no longer hold (computed again on next read)."""
    JudgeRun.objects.filter(pk=run_id, metrics__isnull=False).update(metrics=None)


def run_figures_compute(run: JudgeRun) -> RunFigures:
    """Everything from the judgments, in five queries whatever the run's size."""
    progress, last_judgment_id = _progress(run)  # first: what is written after it is not counted
    rows = list(
        run.judgments.filter(error_kind="").values_list(
            "item_id",
            "item__split",
            "score",
            "cost",
            "reused_from__cost",
            "latency_ms",
            "reused_from__latency_ms",
        )
    )
    gold = gold_scores(Item.objects.filter(judgments__run=run))
    project = run.project
    splits = {}
    for split in (*SPLITS, "all"):
        chosen = rows if split == "all" else [row for row in rows if row[1] == split]
        figures = _split_figures(chosen, gold, scale_min=project.scale_min, scale_max=project.scale_max)
        if figures is not None:
            splits[split] = figures
    return RunFigures(progress=progress, splits=splits, last_judgment_id=last_judgment_id)


def _split_figures(rows: list[tuple], gold: dict[int, float], *, scale_min: int, scale_max: int):
    with_gold = [(gold[row[0]], row[2]) for row in rows if row[0] in gold]
    if not with_gold:
        return None
    g, j = zip(*with_gold, strict=True)
    costs = [donor if donor is not None else own for _, _, _, own, donor, _, _ in rows]
    latencies = [donor if donor is not None else own for *_, own, donor in rows]
    scale = {"scale_min": scale_min, "scale_max": scale_max}
    return SplitFigures(
        metrics=judge_metrics(gold=g, judged=j, **scale),
        intervals=intervals.metric_intervals(intervals.Scores.of(g, j), **scale),
        judgments=len(rows),
        disagreements=sum(1 for gold_score, score in with_gold if score is not None and score != gold_score),
        dollars_per_1000=(sum(costs, Decimal(0)) * 1000 / len(rows)).quantize(Decimal("0.0001")),
        latency_p50_ms=float(np.percentile(latencies, 50)),
    )


def _progress(run: JudgeRun) -> tuple[dict, int]:
    """Counters for the progress bar, in three queries whatever the run's size, and the newest
    judgment they count."""
    totals = run.judgments.aggregate(
        last_id=Max("id"),
        done=Count("id"),
        scored=Count("id", filter=Q(score__isnull=False)),
        malformed=Count("id", filter=Q(malformed=True)),
        errors=Count("id", filter=~Q(error_kind="")),
        reused=Count("id", filter=Q(reused_from__isnull=False)),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        cost=Sum("cost"),
    )
    errors_by_kind = {
        Judgment.ErrorKind(kind).label: n
        for kind, n in run.judgments.exclude(error_kind="").values_list("error_kind").annotate(n=Count("id"))
    }
    latencies = np.array(
        list(
            run.judgments.filter(reused_from__isnull=True, error_kind="").values_list("latency_ms", flat=True)
        )
    )
    total = run.total_items or 0
    counts = {k: v or 0 for k, v in totals.items()}
    last_id = counts.pop("last_id")
    progress = {
        **counts,
        "cost": Decimal(counts["cost"]),
        "total": total,
        "percent": round(100 * totals["done"] / total) if total else 100,
        "errors_by_kind": errors_by_kind,
        "latency_p50": float(np.percentile(latencies, 50)) if len(latencies) else None,
        "latency_p95": float(np.percentile(latencies, 95)) if len(latencies) else None,
    }
    return progress, last_id


def run_progress_counts(run: JudgeRun) -> dict:
    """The progress counters: stored for a finished run, three quick queries for an active one (a page
    polls them every second, so they never wait for the metrics)."""
    if run.is_finished:
        return run_figures(run).progress
    return _progress(run)[0]


def run_shown_figures(run: JudgeRun, split: str) -> dict[str, str]:
    """The run's metrics on one split, each with its 95% bootstrap interval, ready for a page."""
    return intervals.shown_figures(run_figures(run).splits[split].intervals)
