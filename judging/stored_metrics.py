"""A judge run's progress counters and metrics per split (with their bootstrap intervals): computed from
its judgments while it is active, computed once and stored with the run when it finishes, forgotten
when its judgments change (every write of judgments goes through judging.runs._save_judgments, which
calls judge_run_metrics_forget; a resume clears them through JudgeRun.COLUMNS_ON), and computed anew
when the project's gold changed since (Project.gold_revision, which the database's triggers keep)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import Count, Exists, FloatField, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Cast

from judging import intervals
from judging.intervals import Interval
from judging.metrics import JudgeMetrics, judge_metrics
from judging.models import JudgeRun, Judgment
from labeling.gold import gold_array
from labeling.models import SPLITS, Item, Label, Project

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
    gold_revision: int = 0  # the project's gold_revision before gold was read: a later one makes them stale

    def as_json(self) -> dict:
        progress = {**self.progress, "cost": str(self.progress["cost"])}
        return {
            "format": FORMAT,
            "gold_revision": self.gold_revision,
            "progress": progress,
            "splits": {split: f.as_json() for split, f in self.splits.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> RunFigures:
        progress = {**data["progress"], "cost": Decimal(data["progress"]["cost"])}
        splits = {split: SplitFigures.from_json(f) for split, f in data["splits"].items()}
        return cls(progress=progress, splits=splits, gold_revision=data["gold_revision"])


def stored_figures_current(run: JudgeRun) -> bool:
    """Whether the figures stored with the run still hold: it is finished, they are of this format and
    they were computed at its project's gold revision. The project is read as loaded with the run (pages
    select_related it, a project's own runs share it): no query per run."""
    stored = run.metrics
    return bool(
        run.is_finished
        and stored
        and stored.get("format") == FORMAT
        and stored.get("gold_revision") == run.project.gold_revision
    )


def run_figures(run: JudgeRun) -> RunFigures:
    """The stored figures of a finished run; computed from its judgments for an active run. A finished
    run with none current (cancelled by liveness, its judgments or its project's gold changed since) has
    them stored now."""
    if stored_figures_current(run):
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
    """Judgments of the run changed: its stored figures no longer hold (computed again on next read).
    Every save of judgments calls it, so it is one prepared statement rather than a queryset to build
    (as costly as the insert itself)."""
    table, ops = JudgeRun._meta.db_table, connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ops.quote_name(table)} SET {ops.quote_name('metrics')} = NULL "
            f"WHERE {ops.quote_name('id')} = %s AND {ops.quote_name('metrics')} IS NOT NULL",
            [run_id],
        )


def run_figures_compute(run: JudgeRun) -> RunFigures:
    """Everything from the judgments and gold, in seven or eight plain queries whatever the run's size (one
    join, and no sorting but the project's items by id); the rest is numpy."""
    # First, as the totals: gold or judgments written after it are not counted, and make these stale.
    gold_revision = Project.objects.values_list("gold_revision", flat=True).get(pk=run.project_id)
    totals, last_judgment_id = _totals(run)
    # One float matrix: ids are exact in a double, and None (malformed, not reused) becomes NaN.
    rows = np.array(
        _plain_rows(
            run.judgments.filter(error_kind="")
            .order_by()
            .values_list("item_id", "score", "latency_ms", Cast("cost", FloatField()), "reused_from_id")
        ),
        dtype=float,
    ).reshape(-1, 5)
    item_ids, scores, latencies, costs, donors = rows.T
    item_ids = item_ids.astype(int)
    progress = _progress(run, totals, own_latencies=latencies[np.isnan(donors)])
    project = run.project
    splits = {}
    if len(rows):
        latencies, costs = _donor_figures(latencies.copy(), costs.copy(), donors)
        items = Item.objects.filter(project=project).order_by("id")
        ids, item_splits, adjudicated = (
            np.array(column)
            for column in zip(
                *_plain_rows(items.values_list("id", "split", "adjudicated_score")), strict=True
            )
        )
        labels = Label.objects.filter(item__project=project, item__adjudicated_score__isnull=True).order_by()
        gold = gold_array(ids, adjudicated.astype(float), _plain_rows(labels.values_list("item_id", "score")))
        at = np.searchsorted(ids, item_ids)  # every judged item is one of the project's
        item_splits, item_gold = item_splits[at], gold[at]
        has_gold = ~np.isnan(item_gold)
        scale = {"scale_min": project.scale_min, "scale_max": project.scale_max}
        for split in (*SPLITS, "all"):
            chosen = np.ones(len(item_ids), dtype=bool) if split == "all" else item_splits == split
            if (chosen & has_gold).any():
                splits[split] = _split_figures(
                    gold=item_gold[chosen & has_gold],
                    judged=scores[chosen & has_gold],
                    costs=costs[chosen],
                    latencies=latencies[chosen],
                    **scale,
                )
    # The run's project as these figures found it: a second read in the same request finds them current.
    run.project.gold_revision = gold_revision
    return RunFigures(
        progress=progress, splits=splits, last_judgment_id=last_judgment_id, gold_revision=gold_revision
    )


def _plain_rows(rows: QuerySet) -> list[tuple]:
    """The rows of a values_list of plain numbers and strings, straight from the cursor: Django's
    per-value converters cost a third of the time at 100,000 rows."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _donor_figures(latencies: np.ndarray, costs: np.ndarray, donors: np.ndarray):
    """A reused judgment cost nothing this time; what it costs to judge (dollars and latency) is what
    its original call cost."""
    reused = np.flatnonzero(~np.isnan(donors))
    if len(reused):
        found = {
            pk: (latency, cost)
            for pk, latency, cost in Judgment.objects.filter(pk__in=set(donors[reused].astype(int).tolist()))
            .order_by()
            .values_list("pk", "latency_ms", Cast("cost", FloatField()))
        }
        for at in reused.tolist():
            latencies[at], costs[at] = found.get(int(donors[at]), (latencies[at], costs[at]))
    return latencies, costs


def _split_figures(
    *,
    gold: np.ndarray,
    judged: np.ndarray,
    costs: np.ndarray,
    latencies: np.ndarray,
    scale_min: int,
    scale_max: int,
) -> SplitFigures:
    scale = {"scale_min": scale_min, "scale_max": scale_max}
    return SplitFigures(
        metrics=judge_metrics(gold=gold, judged=judged, **scale),
        intervals=intervals.metric_intervals(intervals.Scores(gold, judged), **scale),
        judgments=len(costs),
        disagreements=int(np.sum(~np.isnan(judged) & (judged != gold))),
        dollars_per_1000=Decimal(f"{1000 * costs.sum() / len(costs):.4f}"),
        latency_p50_ms=float(np.percentile(latencies, 50)),
    )


def _totals(run: JudgeRun) -> tuple[dict, int]:
    """The progress counters that the database sums, in one query, and the newest judgment counted."""
    by_kind = {f"errors_{kind}": Count("id", filter=Q(error_kind=kind)) for kind in Judgment.ErrorKind.values}
    totals = run.judgments.order_by().aggregate(
        last_id=Max("id"),
        done=Count("id"),
        scored=Count("id", filter=Q(score__isnull=False)),
        malformed=Count("id", filter=Q(malformed=True)),
        errors=Count("id", filter=~Q(error_kind="")),
        reused=Count("id", filter=Q(reused_from__isnull=False)),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        cost=Sum("cost"),
        **by_kind,
    )
    return totals, totals.pop("last_id") or 0


def _progress(run: JudgeRun, totals: dict, *, own_latencies: np.ndarray) -> dict:
    """Counters for the progress bar, with latency percentiles over the calls the run made itself."""
    errors_by_kind = {}
    for kind in Judgment.ErrorKind.values:
        if n := totals[f"errors_{kind}"]:
            errors_by_kind[Judgment.ErrorKind(kind).label] = n
    counts = {k: v or 0 for k, v in totals.items() if not k.startswith("errors_")}
    total = run.total_items or 0
    return {
        **counts,
        "cost": Decimal(counts["cost"]),
        "total": total,
        "percent": round(100 * counts["done"] / total) if total else 100,
        "errors_by_kind": errors_by_kind,
        "latency_p50": float(np.percentile(own_latencies, 50)) if len(own_latencies) else None,
        "latency_p95": float(np.percentile(own_latencies, 95)) if len(own_latencies) else None,
    }


def _live_progress(run: JudgeRun) -> dict:
    """The progress of an active run, in two queries (a page polls it every second)."""
    totals, _ = _totals(run)
    own = run.judgments.filter(reused_from__isnull=True, error_kind="").order_by()
    latencies = np.array(_plain_rows(own.values_list("latency_ms")), dtype=float).reshape(-1)
    return _progress(run, totals, own_latencies=latencies)


def run_progress_counts(run: JudgeRun) -> dict:
    """The progress counters: stored for a finished run, three quick queries for an active one (a page
    polls them every second, so they never wait for the metrics)."""
    if run.is_finished:
        return run_figures(run).progress
    return _live_progress(run)


def run_shown_figures(run: JudgeRun, split: str) -> dict[str, str]:
    """The run's metrics on one split, each with its 95% bootstrap interval, ready for a page."""
    return intervals.shown_figures(run_figures(run).splits[split].intervals)
