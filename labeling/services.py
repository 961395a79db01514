"""Writes and rules of the labeling app: projects and background imports."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from labeling.importing import ImportOptions, ImportRejected, items_import
from labeling.models import ImportJob, Project


def import_job_create(*, project: Project, user, upload, options: dict) -> ImportJob:
    """Store the upload and queue it for a worker; the job is visible at once, the rows come later."""
    settings.UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    stored = Path(settings.UPLOAD_DIR) / f"{uuid.uuid4().hex}_{get_valid_filename(upload.name)[:100]}"
    with stored.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project,
            created_by=user,
            file_name=upload.name[:255],
            stored_path=str(stored),
            options=options,
        )
        from labeling.tasks import import_job_run_task

        transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run one queued import. All or nothing: a rejected file leaves the project as it was."""
    if job.is_finished:
        return job  # a redelivered message after the job already ended
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    raw = job.options
    options = ImportOptions(
        format=raw.get("format"),
        field_map=raw.get("field_map") or {},
        file_scale=tuple(raw["file_scale"]) if raw.get("file_scale") else None,
        labels_as=raw.get("labels_as"),
    )
    try:
        result = items_import(project=job.project, path=Path(job.stored_path), options=options)
    except ImportRejected as rejected:
        job.status = ImportJob.Status.FAILED
        job.errors = [{"line": e.line, "message": e.message} for e in rejected.errors]
        if rejected.bad_lines > len(rejected.errors):
            job.errors.append({"line": None, "message": f"{rejected.bad_lines} bad lines in all."})
    except ValueError as bad_options:  # options that make no sense for this project, e.g. an unknown field
        job.status = ImportJob.Status.FAILED
        job.errors = [{"line": None, "message": str(bad_options)}]
    else:
        job.status = ImportJob.Status.DONE
        job.items_imported = result.items_created + result.items_updated
        job.labels_imported = result.labels_imported
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "items_imported", "labels_imported", "finished_at"])
    Path(job.stored_path).unlink(missing_ok=True)
    return job
