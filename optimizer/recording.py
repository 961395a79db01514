"""A running search's record: candidates saved as prompt versions the moment GEPA accepts them, and
counters kept in memory that a heartbeat thread writes to the run row (and through which it notices a
cancel)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.db import connection, transaction

from judging.guardrails import ProjectGuardrails, project_guardrails, version_flags
from judging.models import PromptVersion
from judging.versions import version_create
from labeling import lifecycle
from optimizer.budget import Budget
from optimizer.models import OptimizationCandidate, OptimizationRun, RejectedProposal
from optimizer.search import SearchHooks
from optimizer.signals import search_progress

logger = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
# GEPA stops cooperatively between iterations; a cancel still pending after this long stops the calls.
CANCEL_GRACE_S = 20.0


@dataclass
class Live:
    """What the search reports, kept in memory and written to the run row by the heartbeat thread."""

    metric_calls: int = 0
    best: float | None = None
    points: list[list] | None = None  # [[metric calls, best dev score so far], …] for the chart
    cancelled: bool = False
    cancel_seen_at: float | None = None
    dirty: bool = True


class Recorder:
    """The search's hooks: candidates are saved at once (in the search's own thread), counters in memory."""

    def __init__(
        self, run: OptimizationRun, budget: Budget, training_texts: list[str], user_names: list[str]
    ):
        self.run = run
        self.budget = budget
        self.training_texts = training_texts
        self.user_names = user_names
        self._guardrails: ProjectGuardrails | None = None
        self._base_findings: list[dict] | None = None
        self.live = Live(
            metric_calls=run.metric_calls_used, best=run.best_dev_score, points=list(run.progress)
        )
        self.lock = threading.Lock()

    def hooks(self) -> SearchHooks:
        return SearchHooks(
            on_candidate=self.on_candidate,
            on_metric_calls=self.on_metric_calls,
            should_stop=self.should_stop,
            screen=self.screen,
            on_rejected=self.on_rejected,
        )

    def screen(self, instructions: str) -> list[dict]:
        """The guardrails every version passes (version_flags, the one implementation), applied to a
        proposal before it is evaluated. A finding the base itself has is no reason to reject: the
        candidate is still flagged for it when it is recorded, but the search may improve on the base."""
        base = self.run.base_version
        if instructions.strip() == base.instructions.strip():
            return []
        guardrails = self.guardrails()
        if self._base_findings is None:
            self._base_findings = version_flags(
                project=self.run.project, instructions=base.instructions, parent=base, guardrails=guardrails
            )
        findings = version_flags(
            project=self.run.project, instructions=instructions, parent=base, guardrails=guardrails
        )
        return [finding for finding in findings if finding not in self._base_findings]

    def on_rejected(self, instructions: str, findings: list[dict]) -> None:
        rules = ", ".join(dict.fromkeys(finding["rule"] for finding in findings))
        RejectedProposal.objects.create(
            run=self.run,
            text=instructions,
            rule=rules[:60],
            detail="; ".join(finding["detail"] for finding in findings),
        )
        logger.info("Optimization run #%s: guardrails rejected a proposal (%s)", self.run.pk, rules)
        self._announce("rejected", rules=rules, instructions=instructions)

    def _announce(self, event: str, **details) -> None:
        search_progress.send(
            sender=Recorder, run_id=self.run.pk, event=event, metric_calls=self.live.metric_calls, **details
        )

    def on_metric_calls(self, used: int) -> None:
        with self.lock:
            self.live.metric_calls = used
            self.live.dirty = True
            if self.live.best is not None:
                self._point()
        self._announce("metric_calls")

    def _point(self) -> None:
        """One chart point per metric-call count; the newest best at that count wins."""
        point = [self.live.metric_calls, self.live.best]
        points = self.live.points
        if points and (
            points[-1][0] == point[0] or (len(points) >= 2 and points[-2][1] == points[-1][1] == point[1])
        ):
            points[-1] = point  # a flat stretch needs only its two ends
        else:
            points.append(point)

    def should_stop(self) -> bool:
        return self.live.cancelled or self.budget.stop_reason is not None

    def guardrails(self) -> ProjectGuardrails:
        """The project's guardrails, gathered at the first candidate and kept for the others."""
        if self._guardrails is None:
            self._guardrails = project_guardrails(
                self.run.project, training_texts=self.training_texts, user_names=self.user_names
            )
        return self._guardrails

    def on_candidate(self, index: int, instructions: str, score: float) -> None:
        run = self.run
        if not instructions.strip():
            logger.warning("Optimization run #%s proposed an empty prompt; not recorded", run.pk)
            return
        if instructions.strip() == run.base_version.instructions.strip():
            OptimizationRun.objects.filter(pk=run.pk).update(base_dev_score=score)
            run.base_dev_score = score
            self.on_best_score(score)
            self._announce("base", score=score)
            return
        candidate_record(
            run=run,
            index=index,
            instructions=instructions,
            dev_score=score,
            metric_calls_at=self.live.metric_calls,
            guardrails=self.guardrails(),
        )
        self.on_best_score(score)
        self._announce("candidate", index=index, score=score, instructions=instructions)

    def on_best_score(self, score: float) -> None:
        with self.lock:
            if self.live.best is None or score > self.live.best:
                self.live.best = score
            self._point()
            self.live.dirty = True


def candidate_record(
    *,
    run: OptimizationRun,
    index: int,
    instructions: str,
    dev_score: float,
    metric_calls_at: int,
    guardrails: ProjectGuardrails | None = None,
) -> OptimizationCandidate:
    """A candidate becomes a prompt version of the target model (status candidate, parent the base),
    checked by every guardrail on its whole text, so a copy inherited from the base is caught too.
    Recording the same index again (a resumed search) changes nothing."""
    existing = OptimizationCandidate.objects.filter(run=run, index=index).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        version = version_create(
            project=run.project,
            target_model=run.target_endpoint,
            instructions=instructions,
            parent=run.base_version,
            origin=f"{run.get_algorithm_display()} run #{run.pk}",
            status=PromptVersion.Status.CANDIDATE,
            user=run.created_by,
            guardrails=guardrails,
        )
        return OptimizationCandidate.objects.create(
            run=run, index=index, prompt_version=version, dev_score=dev_score, metric_calls_at=metric_calls_at
        )


class Heartbeat(threading.Thread):
    """Writes progress and a heartbeat to the run row, and notices a cancel, while the search runs."""

    def __init__(self, run: OptimizationRun, recorder: Recorder):
        super().__init__(name=f"optimizer-heartbeat-{run.pk}", daemon=True)
        self.run_id = run.pk
        self.recorder = recorder
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            while not self.finished.wait(min(HEARTBEAT_S, lifecycle.heartbeat_every())):
                try:
                    self.beat()
                except Exception:  # a busy database this beat is no reason to stop beating
                    logger.exception("Heartbeat of optimization run #%s failed; retrying", self.run_id)
        finally:
            connection.close()

    def beat(self) -> None:
        live = self.recorder.live
        if (
            not live.cancelled
            and OptimizationRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()
        ):
            live.cancelled, live.cancel_seen_at = True, time.monotonic()
        if live.cancelled and time.monotonic() - (live.cancel_seen_at or 0) > CANCEL_GRACE_S:
            self.recorder.budget.stop(OptimizationRun.StopReason.CANCELLED)
        if not progress_write(self.run_id, self.recorder):
            # The run is no longer this attempt's (cancelled while silent, or resumed elsewhere after
            # liveness took this worker for dead): stop calling the models at once.
            live.cancelled = True
            self.recorder.budget.stop(OptimizationRun.StopReason.CANCELLED)


def progress_write(run_id: int, recorder: Recorder) -> bool:
    """Progress and a heartbeat, written only while this attempt holds the run; False once it does not.
    A run liveness marked interrupted while this worker was merely slow is taken back."""
    live = recorder.live
    attempt = recorder.run.attempts
    changes = {"dollars_spent": recorder.budget.spent}
    with recorder.lock:
        if live.dirty:
            changes.update(
                metric_calls_used=live.metric_calls, best_dev_score=live.best, progress=list(live.points)
            )
            live.dirty = False
    if lifecycle.run_beat(OptimizationRun, pk=run_id, attempt=attempt, **changes):
        return True
    if lifecycle.run_revive(OptimizationRun, pk=run_id, attempt=attempt):
        return lifecycle.run_beat(OptimizationRun, pk=run_id, attempt=attempt, **changes)
    return False
