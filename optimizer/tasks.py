from __future__ import annotations

from celery import shared_task

from labeling.roles import LEAD, has_role
from optimizer import runs
from optimizer.models import OptimizationRun


# On the optimizer queue (settings.CELERY_TASK_ROUTES), so a long search never holds up judge chunks.
# Not acks_late: a search that dies with its worker must not start over on its own hours later when
# the broker redelivers it; liveness marks the run interrupted instead and a lead resumes it.
@shared_task(acks_late=False, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def optimization_run_task(run_id: int) -> str:
    run = OptimizationRun.objects.select_related("project", "created_by").get(pk=run_id)
    # A run a lead queued starts only if they still lead its project when a worker takes it up (a resume
    # was checked when it was asked for; a run from the shell has no starter to check).
    if run.attempts == 0 and run.created_by is not None and not has_role(run.created_by, LEAD, run.project):
        runs.optimization_run_cancel(run=run)
        run.refresh_from_db()
        return run.status
    return runs.optimization_run_execute(run_id=run_id).status
