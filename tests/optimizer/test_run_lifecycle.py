"""An optimization run's life: page views never decide liveness, refused transitions answer 409, each
attempt has its own GEPA log_dir, and a worker that lost its run stops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from judging.models import ModelEndpoint, PromptVersion
from labeling import lifecycle
from optimizer import recording, runs
from optimizer.budget import Budget
from optimizer.models import OptimizationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_run(demo_project, django_capture_on_commit_callbacks) -> OptimizationRun:
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    with django_capture_on_commit_callbacks(execute=False):
        return runs.optimization_run_start(
            project=demo_project,
            base_version=PromptVersion.objects.filter(project=demo_project, target_model=small).earliest(
                "id"
            ),
            target_endpoint=small,
            reflection_endpoint=ModelEndpoint.objects.get(model="sim/reflector"),
        )


def _set(run: OptimizationRun, status: str, *, silent: bool = False, attempts: int = 1) -> OptimizationRun:
    beat = timezone.now() - (lifecycle.stale_after() * 2 if silent else timedelta(0))
    OptimizationRun.objects.filter(pk=run.pk).update(status=status, heartbeat_at=beat, attempts=attempts)
    run.refresh_from_db()
    return run


def test_viewing_a_silent_run_never_marks_it_interrupted(queued_run, client_for, lead):
    run = _set(queued_run, "running", silent=True)
    client = client_for(lead)

    client.get(reverse("optimizer:runs", args=[run.project.slug]))
    client.get(reverse("optimizer:run", args=[run.pk]))
    client.get(reverse("optimizer:run", args=[run.pk]) + "?part=live", headers={"HX-Request": "true"})

    run.refresh_from_db()
    assert run.status == "running", "liveness is the periodic task's to decide"


def test_resuming_a_running_optimization_run_answers_409_with_the_reason(queued_run, client_for, lead):
    run = _set(queued_run, "running")

    response = client_for(lead).post(reverse("optimizer:run_resume", args=[run.pk]))

    assert response.status_code == 409
    assert b"is running: a worker has it, so there is nothing to resume." in response.content


def test_the_optimize_command_refuses_to_resume_a_queued_run_and_says_why(queued_run):
    with pytest.raises(CommandError, match="is queued: it waits for a worker already"):
        call_command("optimize", queued_run.project.slug, "--resume", str(queued_run.pk))


def test_cancel_of_an_interrupted_run_ends_it_with_its_stop_reason(queued_run):
    run = _set(queued_run, "interrupted")

    assert runs.optimization_run_cancel(run=run) == "cancelled"

    run.refresh_from_db()
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")


def test_each_attempt_gets_its_own_log_dir_starting_from_the_last_checkpoint(queued_run):
    run = _set(queued_run, "running", attempts=1)
    first = runs._log_dir_prepare(run, 1)
    first.mkdir(parents=True, exist_ok=True)
    (first / "gepa_state.bin").write_bytes(b"checkpoint")

    second = runs._log_dir_prepare(run, 2)

    assert second != first and (second / "gepa_state.bin").read_bytes() == b"checkpoint"
    (second / "gepa_state.bin").write_bytes(b"newer")
    assert (first / "gepa_state.bin").read_bytes() == b"checkpoint", "the old attempt's folder is its own"


def test_a_worker_whose_run_was_resumed_elsewhere_stops_spending(queued_run):
    run = _set(queued_run, "running", attempts=1)
    recorder = recording.Recorder(run, Budget(max_dollars=None), [], [])
    assert recording.progress_write(run.pk, recorder) is True

    # Liveness took it for dead, a lead resumed it, and another worker took it up as attempt 2.
    _set(OptimizationRun.objects.get(pk=run.pk), "running", attempts=2)
    heartbeat = recording.Heartbeat(run, recorder)
    heartbeat.beat()

    assert recorder.live.cancelled and recorder.budget.stop_reason == "cancelled"


def test_a_worker_marked_interrupted_while_alive_takes_its_run_back(queued_run):
    run = _set(queued_run, "running", attempts=1)
    recorder = recording.Recorder(run, Budget(max_dollars=None), [], [])
    _set(OptimizationRun.objects.get(pk=run.pk), "interrupted", attempts=1)

    assert recording.progress_write(run.pk, recorder) is True

    run.refresh_from_db()
    assert run.status == "running"


def test_a_queued_run_is_claimed_once_however_often_its_task_is_delivered(queued_run):
    assert lifecycle.run_claim(OptimizationRun, pk=queued_run.pk) == 1
    assert lifecycle.run_claim(OptimizationRun, pk=queued_run.pk) is None
