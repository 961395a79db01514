from __future__ import annotations

from celery import shared_task

from labeling import lifecycle
from labeling.models import ImportJob
from labeling.services import import_job_run


@shared_task(time_limit=3600)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job=ImportJob.objects.select_related("project").get(pk=job_id))


# Celery beat runs this every settings.BACKGROUND_LIVENESS_EVERY_S, on the default queue; a page view
# never decides that a worker is dead.
@shared_task(time_limit=60, acks_late=False)
def background_runs_liveness_task() -> int:
    return lifecycle.runs_mark_interrupted()
