"""The shared life of background runs, shown on import jobs: claimed once, finished once, interrupted by
the periodic liveness check (never by a page view), and old 'pending' rows read as 'queued'."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from labeling import lifecycle
from labeling.models import ImportJob, Item
from labeling.services import import_job_create, import_job_run


def _job(project, user, body: bytes = b'{"external_id": "a", "query": "q", "document": "d"}\n') -> ImportJob:
    return import_job_create(
        project=project, user=user, upload=SimpleUploadedFile("items.jsonl", body), options={}
    )


@pytest.mark.django_db
def test_an_import_job_is_queued_then_done_through_the_shared_transitions(
    project, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(project, lead)
    assert (job.status, job.is_active) == ("queued", True)

    job = import_job_run(job=job)

    assert (job.status, job.items_imported, job.attempts) == ("done", 1, 1)
    assert job.started_at is not None and job.finished_at is not None


@pytest.mark.django_db
def test_a_redelivered_import_message_does_not_import_twice(
    project, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(project, lead)
    import_job_run(job=job)
    ImportJob.objects.filter(pk=job.pk).update(items_imported=0)  # a second run would write 1 again

    again = import_job_run(job=ImportJob.objects.get(pk=job.pk))

    assert (again.status, again.items_imported, again.attempts) == ("done", 0, 1)
    assert Item.objects.filter(project=project).count() == 1


@pytest.mark.django_db
def test_a_silent_running_import_is_interrupted_by_liveness_with_the_reason(
    project, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(project, lead)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now() - lifecycle.stale_after() - timedelta(seconds=1)
    )

    assert lifecycle.runs_mark_interrupted(models_=[ImportJob]) == 1

    job.refresh_from_db()
    assert job.status == "interrupted" and "stopped reporting" in job.error


@pytest.mark.django_db
def test_the_import_page_shows_why_an_interrupted_import_stopped_and_stops_polling(
    project, lead, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(project, lead)
    ImportJob.objects.filter(pk=job.pk).update(status="interrupted", error="The worker stopped reporting.")

    page = client_for(lead).get(reverse("labeling:import_job", args=[project.slug, job.pk]))

    assert b"The worker stopped reporting." in page.content
    assert b"hx-trigger" not in page.content


@pytest.mark.django_db
def test_cancelling_a_finished_job_is_refused_with_the_reason(
    project, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        job = _job(project, lead)
    import_job_run(job=job)

    with pytest.raises(lifecycle.TransitionRefused, match="is already done"):
        lifecycle.run_cancel(ImportJob, pk=job.pk)


@pytest.mark.django_db(transaction=True)
def test_import_jobs_left_pending_before_the_migration_read_as_queued(project, lead):
    executor = MigrationExecutor(connection)
    before = [("labeling", "0003_project_queue_order")]
    after = [("labeling", "0004_background_run_lifecycle")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_job = old_apps.get_model("labeling", "ImportJob")
    pk = old_job.objects.create(
        project_id=project.pk, created_by_id=lead.pk, file_name="f", stored_path="p", status="pending"
    ).pk

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    try:
        assert ImportJob.objects.get(pk=pk).status == "queued"
    finally:  # back to the newest schema, which the tests after this one expect
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
