from __future__ import annotations

from celery import shared_task

from labeling.models import ImportJob
from labeling.services import import_job_run


@shared_task(time_limit=3600)
def import_job_run_task(job_id: int) -> None:
    import_job_run(job=ImportJob.objects.select_related("project").get(pk=job_id))
