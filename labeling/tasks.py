from __future__ import annotations

from celery import shared_task

from labeling import lifecycle
from labeling.models import ImportJob
from labeling.services import import_job_run


# The soft limit raises inside the import, which then ends the job "failed" (the hard limit would kill the
# process and leave it "running").
@shared_task(time_limit=3600, soft_time_limit=3540)
def import_job_run_task(job_id: int) -> None:
    job = ImportJob.objects.select_related("project", "created_by").filter(pk=job_id).first()
    if job is not None:  # its project was deleted meanwhile: nothing is left to import into
        import_job_run(job=job)


# Celery beat runs this every settings.BACKGROUND_LIVENESS_EVERY_S, on the default queue; a page view
# never decides that a worker is dead.
@shared_task(time_limit=60, acks_late=False)
def background_runs_liveness_task() -> int:
    return lifecycle.runs_mark_interrupted()
