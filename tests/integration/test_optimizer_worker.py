"""An optimization run in a real worker process: progress as it goes, and a worker killed mid-search
(SIGKILL) leaves the run interrupted; resuming continues GEPA from its checkpoint, nothing is lost or
recorded twice."""

from __future__ import annotations

import signal

import pytest
from django.utils import timezone

from judging.models import ModelEndpoint, PromptVersion
from labeling import lifecycle
from optimizer import runs
from optimizer.models import OptimizationRun
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def fresh(run: OptimizationRun) -> OptimizationRun:
    run.refresh_from_db()
    return run


def test_a_killed_worker_leaves_the_run_interrupted_and_resume_finishes_it(start_celery_worker, demo_project):
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    worker = start_celery_worker()
    run = runs.optimization_run_start(
        project=demo_project,
        base_version=PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id"),
        target_endpoint=small,
        reflection_endpoint=ModelEndpoint.objects.get(model="sim/reflector"),
        max_metric_calls=1500,
        seed=3,
    )
    checkpoint = runs.run_log_dir(run, 1) / "gepa_state.bin"

    # Live progress reaches the database while the search runs.
    wait_for(
        lambda: fresh(run).candidates.count() >= 2 and checkpoint.exists() and run.metric_calls_used > 0,
        timeout=120,
        what="candidates, a checkpoint and progress",
    )
    assert run.status == "running" and run.progress
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    before_kill = {c.index: c.prompt_version_id for c in run.candidates.all()}
    calls_at_kill = fresh(run).metric_calls_used

    # Nobody writes heartbeats any more: once they are stale, the run is marked interrupted.
    assert lifecycle.runs_mark_interrupted(now=timezone.now() + lifecycle.stale_after() * 2) == 1
    assert (fresh(run).status, run.stop_reason, run.can_resume) == ("interrupted", "crashed", True)

    runs.optimization_run_resume(run=run)
    start_celery_worker()
    wait_for(lambda: fresh(run).is_finished, timeout=300, what="the resumed run")

    assert (run.status, run.stop_reason, run.attempts) == ("done", "done", 2)
    after = {c.index: c.prompt_version_id for c in run.candidates.all()}
    assert all(after[index] == version for index, version in before_kill.items())  # kept, not re-recorded
    assert len(after) > len(before_kill)
    # GEPA continued from its checkpoint: its count of metric calls went on from where it was. It may pass
    # the budget by what it cannot stop midway: the seed's dev evaluation it repeats on resuming, and the
    # iteration in progress when the budget runs out (two minibatches of 3 and a dev evaluation).
    dev_items = run.project.items.filter(split="dev", labels__isnull=False).distinct().count()
    assert calls_at_kill <= run.metric_calls_used <= run.max_metric_calls + 2 * dev_items + 6
    assert run.base_test_run is not None and run.best_test_run is not None
