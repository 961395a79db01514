from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from optimizer import runs


# Not acks_late: a search that dies with its worker must not start over on its own hours later when
# the broker redelivers it; the run is marked interrupted instead and a lead resumes it.
@shared_task(acks_late=False, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def optimization_run_task(run_id: int) -> str:
    return runs.optimization_run_execute(run_id=run_id).status


@worker_ready.connect
def _mark_interrupted_runs(**_kwargs) -> None:
    """A worker coming up after a crash finds the runs its predecessor left 'running'."""
    runs.optimization_runs_mark_interrupted()
