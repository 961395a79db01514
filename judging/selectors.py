"""Read queries of the judging app: run progress, metrics against gold, disagreements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import QuerySet

from judging import runs, stored_metrics
from judging.metrics import JudgeMetrics
from judging.models import JudgeRun, Judgment
from labeling.gold import gold_scores
from labeling.models import SPLITS, Item


def run_progress(run: JudgeRun) -> dict:
    """Counters for the live progress bar (stored with a finished run), and how long it has stalled."""
    return {**stored_metrics.run_progress_counts(run), "stalled_for_s": runs.judge_run_stalled_for(run)}


def run_metrics(run: JudgeRun) -> dict[str, JudgeMetrics]:
    """Metrics against gold for each split and for all gold items of the run (stored with a finished
    run). Items whose call failed (an error, not a malformed output) are left out: the model never
    answered them."""
    return {split: figures.metrics for split, figures in stored_metrics.run_figures(run).splits.items()}


def shown_splits(measured: Collection[str]) -> list[str]:
    """Of the splits a run was measured on (any mapping keyed by split), those a page or command lists, in
    order: "all" only when the run spans more than one split (for one split it repeats the same figures)."""
    splits = [split for split in SPLITS if split in measured]
    return [*splits, "all"] if len(splits) > 1 and "all" in measured else splits


@dataclass(frozen=True)
class Disagreement:
    judgment_id: int
    item_id: int
    score: int
    gold: float
    delta: float  # judge − gold: above 0 the judge was too lenient

    @property
    def direction(self) -> str:
        return "too lenient" if self.delta > 0 else "too strict"


def run_disagreements(
    run: JudgeRun, *, direction: str = "", splits: Collection[str] = (), query: str = ""
) -> list[Disagreement]:
    """Every judged item whose score differs from gold, the largest gap first. Light rows only: load the
    judgments of the page on show with `disagreement_judgments`."""
    judgments = run.judgments.filter(score__isnull=False)
    if splits:
        judgments = judgments.filter(item__split__in=splits)
    if query:
        judgments = judgments.filter(item__query__icontains=query)
    gold = gold_scores(Item.objects.filter(judgments__run=run))
    found = [
        Disagreement(
            judgment_id=pk, item_id=item_id, score=score, gold=gold[item_id], delta=score - gold[item_id]
        )
        for pk, item_id, score in judgments.values_list("id", "item_id", "score")
        if item_id in gold and score != gold[item_id]
    ]
    if direction == "lenient":
        found = [d for d in found if d.delta > 0]
    elif direction == "strict":
        found = [d for d in found if d.delta < 0]
    found.sort(key=lambda d: (-abs(d.delta), d.item_id))
    return found


@dataclass(frozen=True)
class Neighbours:
    """Where one item stands in a list of disagreements: its 1-based position and the items either side
    (None at an end); position None when the item is not in the list."""

    position: int | None
    total: int
    previous_item_id: int | None
    next_item_id: int | None


def disagreement_neighbours(rows: list[Disagreement], item_id: int) -> Neighbours:
    index = next((i for i, d in enumerate(rows) if d.item_id == item_id), None)
    if index is None:
        return Neighbours(None, len(rows), None, None)
    return Neighbours(
        position=index + 1,
        total=len(rows),
        previous_item_id=rows[index - 1].item_id if index > 0 else None,
        next_item_id=rows[index + 1].item_id if index + 1 < len(rows) else None,
    )


def disagreement_judgments(rows: list[Disagreement]) -> list[tuple[Disagreement, Judgment]]:
    by_id = Judgment.objects.select_related("item").in_bulk([d.judgment_id for d in rows])
    return [(d, by_id[d.judgment_id]) for d in rows]


# The run the flywheel counts for a (prompt version, model): its latest finished run over items bullets
# are made of (train and dev, see optimizer/bullets.py), started from the runs page or the `judge`
# command: all labeled items, or the train or dev split alone, as the README's own loop judges dev then
# test. A test-split run (which is all the optimizer starts, to measure base and best) and a run of
# unlabeled items have no such items, so they never count, however recent.
BULLET_RUN_ITEM_SETS = (JudgeRun.ItemSet.LABELED, JudgeRun.ItemSet.TRAIN, JudgeRun.ItemSet.DEV)


def bullet_runs(project) -> QuerySet[JudgeRun]:
    """The project's finished runs over train or dev items (see BULLET_RUN_ITEM_SETS), newest first."""
    return project.judge_runs.filter(status=JudgeRun.Status.DONE, item_set__in=BULLET_RUN_ITEM_SETS).order_by(
        "-created_at", "-id"
    )


def latest_bullet_runs(project) -> dict[tuple[int, int], JudgeRun]:
    """(prompt version id, endpoint id) → the newest finished bullet run of that pair, in one query."""
    latest: dict[tuple[int, int], JudgeRun] = {}
    for run in bullet_runs(project).select_related("prompt_version", "endpoint"):
        latest.setdefault((run.prompt_version_id, run.endpoint_id), run)
    return latest


def project_run_history(project) -> list[dict]:
    """Finished runs of the project, oldest first, with their metrics on all gold items: the chart of
    NMSE and malformed rate across prompt versions."""
    history = []
    runs = project.judge_runs.filter(status=JudgeRun.Status.DONE).select_related("prompt_version", "endpoint")
    for run in runs.order_by("created_at", "id"):
        metrics = run_metrics(run).get("all")
        if metrics is not None:
            history.append({"run": run, "metrics": metrics})
    return history
