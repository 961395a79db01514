"""Every import job ends: done, or "failed" with a message a person can read, whatever went wrong. UTF-16
and UTF-32 files with their byte order mark are decoded; text that cannot be stored (NUL bytes, a wide
encoding without its mark) is rejected with its line number; no message holds a NUL (PostgreSQL cannot
store one: that is how a job used to stay "Importing…" forever)."""

from __future__ import annotations

import codecs
import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling.models import ImportJob, Item, Membership
from labeling.roles import REVIEWER

pytestmark = pytest.mark.django_db

CSV = "external_id,query,document\na,café au lait,une tasse\nb,thé,une théière\n"


@pytest.fixture
def upload(client_for, lead, project, eager_celery, django_capture_on_commit_callbacks):
    """upload(name, content) → (the finished job, the text of its page)."""
    client = client_for(lead)

    def send(name: str, content: bytes) -> tuple[ImportJob, str]:
        form = {"external_id": "external_id", "query": "query", "document": "document"}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("labeling:import", args=[project.slug]),
                {"file": SimpleUploadedFile(name, content), **form},
            )
        assert response.status_code == 302
        job = ImportJob.objects.get()
        page = client.get(reverse("labeling:import_job", args=[project.slug, job.pk])).content.decode()
        return job, html.unescape(page)

    return send


def _no_nul_anywhere(job: ImportJob) -> bool:
    return all("\x00" not in error["message"] for error in job.errors)


@pytest.mark.parametrize(
    "bom,encoding",
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_a_utf16_or_utf32_file_with_its_byte_order_mark_is_decoded_and_imported(upload, bom, encoding):
    job, _ = upload("items.csv", bom + CSV.encode(encoding))
    assert job.status == ImportJob.Status.DONE, job.errors
    assert dict(Item.objects.values_list("external_id", "query")) == {"a": "café au lait", "b": "thé"}


def test_a_utf16_upload_with_a_bad_line_ends_failed_and_names_that_line(upload):
    content = "external_id,query,document\na,q,d\na,q,d\n"
    job, page = upload("items.csv", codecs.BOM_UTF16_LE + content.encode("utf-16-le"))
    assert job.status == ImportJob.Status.FAILED
    assert "Line 3: external id 'a' already appeared on line 2" in page and "Importing" not in page
    assert not Item.objects.exists()


def test_a_utf16_upload_without_its_byte_order_mark_ends_failed_with_a_readable_message(upload):
    job, page = upload("items.csv", CSV.encode("utf-16-le"))
    assert job.status == ImportJob.Status.FAILED and job.is_finished
    assert "Line 1: the header contains NUL characters" in page and "Save it as UTF-8" in page
    assert _no_nul_anywhere(job) and "\x00" not in page
    assert not Item.objects.exists()


def test_a_file_with_nul_bytes_ends_failed_and_names_each_line(upload):
    csv_job, csv_page = upload("items.csv", b"external_id,query,document\na,q\x00,d\n")
    assert csv_job.status == ImportJob.Status.FAILED and "Line 2: contains a NUL character" in csv_page
    csv_job.delete()
    content = (
        b'{"external_id": "a", "query": "q", "document": "d"}\n'
        b'{"external_id": "b", "query": "q\x00", "document": "d"}\n'
        b'{"external_id": "c", "query": "q", "document": "d\\u0000"}\n'
    )
    job, page = upload("items.jsonl", content)
    assert job.status == ImportJob.Status.FAILED
    # A raw NUL is a control character JSON forbids; an escaped one parses, but cannot be stored.
    assert "Line 2: not valid JSON: invalid control character" in page
    assert "Line 3: contains a NUL character" in page
    assert _no_nul_anywhere(job)
    assert not Item.objects.exists()


def test_an_unexpected_error_ends_the_job_failed_with_words_never_importing_forever(upload, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("connection to the database lost \x00 mid-import")

    monkeypatch.setattr("labeling.services.items_import", explode)
    job, page = upload("items.csv", CSV.encode())
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert "The import stopped on an unexpected error (RuntimeError); nothing was imported." in page
    assert "Importing" not in page and _no_nul_anywhere(job)


def test_an_import_whose_lead_lost_the_role_before_the_worker_ran_it_ends_failed(
    client_for, lead, project, eager_celery, django_capture_on_commit_callbacks
):
    client = client_for(lead)
    form = {"external_id": "external_id", "query": "query", "document": "document"}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(
            reverse("labeling:import", args=[project.slug]),
            {"file": SimpleUploadedFile("a.csv", CSV.encode()), **form},
        )
    Membership.objects.filter(user=lead, project=project).update(role=REVIEWER)
    for callback in queued:
        callback()

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert "is no longer a lead of" in job.errors[0]["message"]
    assert not Item.objects.exists()
