"""A file uploaded in the browser is imported by a real worker over the configured broker."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling.models import ImportJob, Item
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _jsonl(rows: list[dict]) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def _finished_job(pk: int) -> ImportJob | None:
    job = ImportJob.objects.get(pk=pk)
    return job if job.is_finished else None


def test_a_worker_imports_a_file_uploaded_by_a_lead(celery_worker_process, client_for, lead, project):
    rows = [{"external_id": f"d{i}", "query": "q", "document": f"doc {i}"} for i in range(50)]
    client = client_for(lead)
    response = client.post(
        reverse("labeling:import", args=[project.slug]),
        {
            "file": SimpleUploadedFile("items.jsonl", _jsonl(rows)),
            "query": "query",
            "document": "document",
            "external_id": "external_id",
        },
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()

    finished = wait_for(lambda: _finished_job(job.pk), what="the import job")

    assert finished.status == "done", finished.errors
    assert Item.objects.filter(project=project).count() == 50
    page = client.get(reverse("labeling:import_job", args=[project.slug, job.pk]))
    assert b"Imported 50 items" in page.content


def test_a_bad_upload_imports_nothing_and_the_page_names_the_line(
    celery_worker_process, client_for, lead, project
):
    body = _jsonl([{"external_id": "a", "query": "q", "document": "d"}]) + b"\n{not json\n"
    client = client_for(lead)
    client.post(
        reverse("labeling:import", args=[project.slug]),
        {
            "file": SimpleUploadedFile("items.jsonl", body),
            "query": "query",
            "document": "document",
            "external_id": "external_id",
        },
    )
    job = ImportJob.objects.get()

    finished = wait_for(lambda: _finished_job(job.pk), what="the import job")

    assert finished.status == "failed"
    assert Item.objects.count() == 0
    page = client.get(
        reverse("labeling:import_job", args=[project.slug, job.pk]), headers={"HX-Request": "true"}
    )
    assert page.status_code == 286  # htmx stops polling a finished job
    assert b"Nothing was imported" in page.content
    assert b"Line 2" in page.content
