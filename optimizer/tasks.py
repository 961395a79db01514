from __future__ import annotations

from celery import shared_task

from optimizer import runs


# On the optimizer queue (settings.CELERY_TASK_ROUTES), so a long search never holds up judge chunks.
# Not acks_late: a search that dies with its worker must not start over on its own hours later when
# the broker redelivers it; liveness marks the run interrupted instead and a lead resumes it.
@shared_task(acks_late=False, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def optimization_run_task(run_id: int) -> str:
    return runs.optimization_run_execute(run_id=run_id).status
