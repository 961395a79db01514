"""Read queries of bullets and the instruction library: what the optimizer reads, what the pages show."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Abs

from judging import intervals
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.selectors import latest_bullet_runs
from judging.stored_metrics import run_figures
from judging.trend import TrendPoint, version_trend
from optimizer.bullets import BULLET_SPLITS, in_direction
from optimizer.models import Bullet, BulletChange, LibraryInstruction, OptimizationRun


def run_item_bullet(run: JudgeRun, item_id: int) -> Bullet | None:
    """The bullet made of this item for the run's (prompt version, model), whichever run made it."""
    return Bullet.objects.filter(
        prompt_version=run.prompt_version_id, endpoint=run.endpoint_id, item_id=item_id
    ).first()


def approved_bullets(project, prompt_version=None) -> QuerySet[Bullet]:
    """Approved bullets (merge survivors among them) of the project, or of one prompt version."""
    bullets = Bullet.objects.filter(project=project, status=Bullet.Status.APPROVED)
    if prompt_version is not None:
        bullets = bullets.filter(prompt_version=prompt_version)
    return bullets.order_by("id")


def approved_feedback_by_item(*, project, prompt_version=None) -> dict[int, str]:
    """The reviewed feedback string of every item that has one: an approved bullet's text, or for a
    bullet merged into an approved one, the survivor's text. Where an item has bullets from several
    prompt versions or models, the newest bullet speaks for it."""
    bullets = Bullet.objects.filter(project=project).filter(
        Q(status=Bullet.Status.APPROVED)
        | Q(status=Bullet.Status.MERGED, merged_into__status=Bullet.Status.APPROVED)
    )
    if prompt_version is not None:
        bullets = bullets.filter(prompt_version=prompt_version)
    feedback: dict[int, str] = {}
    for item_id, status, text, survivor_text in bullets.order_by("id").values_list(
        "item_id", "status", "text", "merged_into__text"
    ):
        feedback[item_id] = survivor_text if status == Bullet.Status.MERGED else text
    return feedback


def library_instructions(project) -> QuerySet[LibraryInstruction]:
    """The project's active library instructions in their order: what the constrained regime composes."""
    return LibraryInstruction.objects.filter(project=project, active=True).order_by("position", "id")


def library_all(project) -> QuerySet[LibraryInstruction]:
    """Every instruction of the project, active or not, in order, with origins and history."""
    return (
        LibraryInstruction.objects.filter(project=project)
        .order_by("position", "id")
        .prefetch_related("origin_bullets", "changes__user")
    )


def bullet_queue(
    *, project, status: str = "", direction: str = "", prompt_version_id: int | None = None
) -> QuerySet[Bullet]:
    """The reviewer's queue: bullets filtered by status, direction and prompt version, the largest gap
    first, with what their cards show."""
    bullets = Bullet.objects.filter(project=project)
    if status:
        bullets = bullets.filter(status=status)
    bullets = in_direction(bullets, direction)
    if prompt_version_id:
        bullets = bullets.filter(prompt_version_id=prompt_version_id)
    return with_card_data(bullets).order_by(Abs("delta").desc(), "id")


def with_card_data(bullets: QuerySet[Bullet]) -> QuerySet[Bullet]:
    """What a bullet's card shows: its project, item, model, reviewer and history."""
    history = BulletChange.objects.select_related("user")
    return bullets.select_related("project", "item", "endpoint", "reviewed_by").prefetch_related(
        Prefetch("changes", queryset=history)
    )


@dataclass(frozen=True)
class VersionCounts:
    """The flywheel's gauge for one prompt version on one model: the disagreements of its latest run over
    train or dev items (all labeled items, or one split: see judging.selectors.BULLET_RUN_ITEM_SETS) on
    those items, the ones bullets are made of, and its bullets by status. `run` and `disagreements` are
    None while the pair has only runs of other items (e.g. the optimizer's test-split ones)."""

    prompt_version: object
    endpoint: object
    run: JudgeRun | None
    disagreements: int | None
    bullets: int
    open_bullets: int
    approved_bullets: int


def prompt_version_counts(project) -> list[VersionCounts]:
    """One row per (prompt version, model) with a finished judge run, the oldest version first."""
    counted = latest_bullet_runs(project)
    pairs = set(
        project.judge_runs.filter(status=JudgeRun.Status.DONE)
        .values_list("prompt_version_id", "endpoint_id")
        .distinct()
        .order_by()
    )
    versions = PromptVersion.objects.in_bulk({version for version, _ in pairs})
    endpoints = ModelEndpoint.objects.in_bulk({endpoint for _, endpoint in pairs})
    by_key = {
        (row["prompt_version_id"], row["endpoint_id"]): row
        for row in Bullet.objects.filter(project=project)
        .values("prompt_version_id", "endpoint_id")
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status=Bullet.Status.OPEN)),
            approved=Count("id", filter=Q(status=Bullet.Status.APPROVED)),
        )
        .order_by()
    }
    rows = []
    for key in pairs:
        counts = by_key.get(key, {})
        run = counted.get(key)
        rows.append(
            VersionCounts(
                prompt_version=versions[key[0]],
                endpoint=endpoints[key[1]],
                run=run,
                disagreements=_bullet_split_disagreements(run) if run else None,
                bullets=counts.get("total", 0),
                open_bullets=counts.get("open", 0),
                approved_bullets=counts.get("approved", 0),
            )
        )
    rows.sort(key=lambda row: (row.prompt_version.created_at, row.prompt_version.pk, row.endpoint.name))
    return rows


def _bullet_split_disagreements(run: JudgeRun) -> int:
    splits = run_figures(run).splits  # stored with the finished run
    return sum(splits[split].disagreements for split in BULLET_SPLITS if split in splits)


@dataclass(frozen=True)
class Flywheel:
    """The dashboard's flywheel: per (prompt version, model) its counts and, on the version's own model,
    its test NMSE as shown ("12.30 (9.10–15.80)", as on every page); and the trend of the metrics over
    versions."""

    rows: list[tuple[VersionCounts, str | None]]
    trend: list[TrendPoint]


def project_flywheel(project) -> Flywheel:
    trend = version_trend(project)
    test_nmse = {point.version.pk: intervals.readable(point.nmse, "nmse") for point in trend}
    rows = [
        (
            row,
            test_nmse.get(row.prompt_version.pk) if row.endpoint == row.prompt_version.target_model else None,
        )
        for row in prompt_version_counts(project)
    ]
    return Flywheel(rows=rows, trend=trend)


# The test-split figures of an optimization run's base and best, in the order pages and commands show them.
BEFORE_AFTER_ROWS = (
    ("nmse", "NMSE (0–100)"),
    ("malformed_rate", "Malformed rate"),
    ("kappa", "Kappa (quadratic)"),
    ("mae", "MAE"),
)


def run_before_after(run: OptimizationRun) -> dict | None:
    """Base and best on the same test items: each metric with its 95% bootstrap interval, and the paired
    difference (best − base) with the interval of that difference."""
    if not (run.base_test_run and run.best_test_run):
        return None
    base = intervals.run_split_scores(run.base_test_run, "test")
    best = intervals.run_split_scores(run.best_test_run, "test")
    if not base or not best:
        return None
    scale = {"scale_min": run.project.scale_min, "scale_max": run.project.scale_max}
    before = intervals.shown_figures(run_figures(run.base_test_run).splits["test"].intervals)
    after = intervals.shown_figures(run_figures(run.best_test_run).splits["test"].intervals)
    paired = intervals.paired_scores(base, best)
    differences = intervals.paired_differences(*paired, **scale)
    rows = []
    for attribute, label in BEFORE_AFTER_ROWS:
        difference = differences[attribute]
        rows.append(
            {
                "label": label,
                "before": before[attribute],
                "after": after[attribute],
                "change": intervals.shown_difference(attribute, difference),
                "verdict": intervals.verdict(attribute, difference),
            }
        )
    return {"rows": rows, "items": (len(base), len(best)), "paired_items": len(paired[0].gold)}
