"""The life of a background run (judge runs, optimization runs, import jobs): one abstract model and the
transitions allowed between its statuses, written once and guarded in the database, so that two
requests at once (two Resume clicks, a worker and a Cancel) can never both win.

    queued → running → done | failed | cancelled | interrupted
    interrupted | failed (| cancelled, when asked) → queued      (resume)
    queued | running | interrupted → cancelled                    (cancel, worker alive or not)

labeling is the bottom app, so judging and optimizer can build on this module; it knows none of them and
finds the concrete models through the app registry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED = (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)
RESUMABLE = (RunStatus.INTERRUPTED, RunStatus.FAILED)
CANCELLABLE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED)

INTERRUPTED_REASON = (
    "The worker running this stopped reporting for {seconds:.0f} s (killed, out of memory or its machine "
    "gone); resume continues from what was saved."
)


class TransitionRefused(Exception):
    """A transition the run's status does not allow; the message says why, in words, for a 409."""


class BackgroundRun(models.Model):
    """Status, heartbeat, error and timestamps shared by every kind of background work."""

    Status = RunStatus
    FINISHED_STATUSES = FINISHED
    # Columns of the concrete model that a transition into a status sets too (e.g. a stop reason).
    COLUMNS_ON: dict[str, dict] = {}

    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    # Why the run stopped when it did not simply finish: the exception, or what liveness saw.
    error = models.TextField(blank=True)
    # How many times a worker took the run up; a worker whose attempt is no longer the run's has lost it.
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Starts, counting every resume.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The last sign of a live worker; a running run silent for BACKGROUND_STALE_AFTER_S is interrupted.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def can_resume(self) -> bool:
        return self.status in RESUMABLE

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE


def _label(model: type[BackgroundRun], pk: int) -> str:
    return f"{model._meta.verbose_name} #{pk}"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.BACKGROUND_STALE_AFTER_S)


def heartbeat_every() -> float:
    """How often a live worker beats: often enough that a few missed beats never look like a death."""
    return min(5.0, settings.BACKGROUND_STALE_AFTER_S / 4)


def run_claim(model: type[BackgroundRun], *, pk: int) -> int | None:
    """queued → running, for the worker that takes the run up; its attempt number, or None when the run
    was not queued (cancelled meanwhile, or a redelivered task for a run another worker has)."""
    now = timezone.now()
    with transaction.atomic():
        claimed = model.objects.filter(pk=pk, status=RunStatus.QUEUED, cancel_requested=False).update(
            status=RunStatus.RUNNING, heartbeat_at=now, attempts=F("attempts") + 1, error=""
        )
        if not claimed:
            return None
        model.objects.filter(pk=pk, started_at__isnull=True).update(started_at=now)
        return model.objects.filter(pk=pk).values_list("attempts", flat=True).get()


def run_beat(model: type[BackgroundRun], *, pk: int, attempt: int | None = None, **changes) -> bool:
    """A live worker's heartbeat (with any progress columns). False when the run is no longer this
    worker's to work on (cancelled, interrupted and resumed by another attempt): it should stop."""
    rows = model.objects.filter(pk=pk, status=RunStatus.RUNNING)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(rows.update(heartbeat_at=timezone.now(), **changes))


def run_revive(model: type[BackgroundRun], *, pk: int, attempt: int | None = None) -> bool:
    """interrupted → running, for a worker that turns out to be alive after all (a slow database, a
    chunk the broker delivered late): its heartbeat is the proof. A resumed (queued) or cancelled run
    is left alone, and so is one another attempt has taken since."""
    rows = model.objects.filter(pk=pk, status=RunStatus.INTERRUPTED, cancel_requested=False)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(rows.update(status=RunStatus.RUNNING, heartbeat_at=timezone.now(), error=""))


def run_finish(
    model: type[BackgroundRun],
    *,
    pk: int,
    status: str,
    error: str = "",
    attempt: int | None = None,
    **changes,
) -> bool:
    """running → done | failed | cancelled. False when the run had already left running (another worker
    finished it, a cancel ended it, liveness marked it interrupted and someone resumed it)."""
    if status not in FINISHED:
        raise ValueError(f"{status!r} is not how a run finishes")
    now = timezone.now()
    rows = model.objects.filter(pk=pk, status__in=[RunStatus.RUNNING, RunStatus.INTERRUPTED])
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    return bool(rows.update(status=status, error=error, finished_at=now, heartbeat_at=now, **changes))


def run_cancel(model: type[BackgroundRun], *, pk: int) -> str:
    """Ask the run to stop. A run no worker is on (queued, interrupted, or running with a silent worker)
    ends at once; a live worker sees cancel_requested and ends it within seconds. Returns the status."""
    now = timezone.now()
    with transaction.atomic():
        run = model.objects.select_for_update().get(pk=pk)
        if run.status not in CANCELLABLE:
            raise TransitionRefused(
                f"{_label(model, pk)} is already {run.status}: there is nothing to cancel."
            )
        run.cancel_requested = True
        silent = run.heartbeat_at is None or now - run.heartbeat_at > stale_after()
        if run.status != RunStatus.RUNNING or silent:
            run.status, run.finished_at = RunStatus.CANCELLED, now
        changes = model.COLUMNS_ON.get(run.status, {}) if run.status == RunStatus.CANCELLED else {}
        for name, value in changes.items():
            setattr(run, name, value)
        run.save(update_fields=["cancel_requested", "status", "finished_at", *changes])
        return run.status


def run_resume(model: type[BackgroundRun], *, pk: int, include_cancelled: bool = False) -> None:
    """interrupted | failed (| cancelled, when the user asks) → queued, with the row locked: of two
    resumes at once one wins and the other is refused, so no run is ever queued twice."""
    allowed = (*RESUMABLE, RunStatus.CANCELLED) if include_cancelled else RESUMABLE
    with transaction.atomic():
        run = model.objects.select_for_update().get(pk=pk)
        if run.status not in allowed:
            raise TransitionRefused(_resume_refusal(model, pk, run.status, include_cancelled))
        model.objects.filter(pk=pk).update(
            status=RunStatus.QUEUED,
            cancel_requested=False,
            error="",
            finished_at=None,
            heartbeat_at=timezone.now(),
            **model.COLUMNS_ON.get(RunStatus.QUEUED, {}),
        )


def _resume_refusal(model: type[BackgroundRun], pk: int, status: str, include_cancelled: bool) -> str:
    label = _label(model, pk)
    if status == RunStatus.QUEUED:
        return f"{label} is queued: it waits for a worker already, so there is nothing to resume."
    if status == RunStatus.RUNNING:
        return f"{label} is running: a worker has it, so there is nothing to resume."
    if status == RunStatus.DONE:
        return f"{label} is done: there is nothing to resume."
    return f"{label} is {status}; only an interrupted or failed run can be resumed."


def background_run_models() -> list[type[BackgroundRun]]:
    return [model for model in apps.get_models() if issubclass(model, BackgroundRun)]


def runs_mark_interrupted(*, models_: Iterable[type[BackgroundRun]] | None = None, now=None) -> int:
    """Liveness, for the periodic task: a running run whose worker stopped beating is interrupted, with
    the reason, and can be resumed; one whose cancel was pending is cancelled, as was asked."""
    now = now or timezone.now()
    limit = stale_after()
    ended = 0
    for model in models_ if models_ is not None else background_run_models():
        stale = model.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - limit)
        ended += stale.filter(cancel_requested=True).update(
            status=RunStatus.CANCELLED, finished_at=now, **model.COLUMNS_ON.get(RunStatus.CANCELLED, {})
        )
        ended += stale.filter(cancel_requested=False).update(
            status=RunStatus.INTERRUPTED,
            error=INTERRUPTED_REASON.format(seconds=limit.total_seconds()),
            **model.COLUMNS_ON.get(RunStatus.INTERRUPTED, {}),
        )
    return ended


class HeartbeatThread(threading.Thread):
    """Beats for a worker whose work gives it no natural place to (one long import): every `every_s`
    seconds until stopped."""

    def __init__(self, model: type[BackgroundRun], pk: int, attempt: int | None, every_s: float):
        super().__init__(name=f"heartbeat-{model._meta.model_name}-{pk}", daemon=True)
        self.model, self.pk, self.attempt, self.every_s = model, pk, attempt, every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every_s):
                try:
                    run_beat(self.model, pk=self.pk, attempt=self.attempt)
                except Exception:  # a busy database this beat is no reason to stop beating
                    logger.exception("Heartbeat of %s failed; retrying", _label(self.model, self.pk))
        finally:
            connection.close()

    def __enter__(self) -> HeartbeatThread:
        # Inside a transaction (a task run inline, as in unit tests) the run's row is locked by this
        # connection until it commits: another connection's beat would only wait for it.
        if not connection.in_atomic_block:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join()


def refused_response(request, refused: TransitionRefused, *, back_url: str):
    """The answer to a refused transition in the browser: 409, with the reason in words."""
    from django.shortcuts import render

    return render(request, "refused.html", {"reason": str(refused), "back_url": back_url}, status=409)
