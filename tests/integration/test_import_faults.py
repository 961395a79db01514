"""Bad imports of every kind, uploaded the way a lead does it: each file is rejected whole and the job
page says which line to fix. The rules themselves (one test per kind) are in
tests/labeling/test_importing.py; here they go through the upload form, the stored file, the task and
the page a lead reads — and one file of 50 MB with its only bad line near the end."""

from __future__ import annotations

import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labeling.models import ImportJob, Item, Label

GOOD = b'{"external_id": "a", "query": "q", "document": "d"}\n'


def _jsonl(*rows: dict) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


BAD_FILES = {
    "broken JSON line": (
        "items.jsonl",
        GOOD + b'{"external_id": "b", "query": "q", "docu\n' + GOOD.replace(b'"a"', b'"c"'),
        {},
        "Line 2: not valid JSON",
    ),
    "broken CSV quoting": (
        "items.csv",
        b'external_id,query,document\na,q,d\nb,q,"never closed\nc,q,d\n',
        {},
        "Line 3: a quote opened in this row is never closed",
    ),
    "latin-1 bytes in a UTF-8 file": (
        "items.csv",
        b"external_id,query,document\na,q,d\nb,caf\xe9 au lait,d\n",
        {},
        "Line 3: not valid UTF-8",
    ),
    "grade outside the scale": (
        "items.jsonl",
        _jsonl(
            {"external_id": "a", "query": "q", "document": "d", "score": 3, "annotator": "nist"},
            {"external_id": "b", "query": "q", "document": "d", "score": 9, "annotator": "nist"},
        ),
        {"score": "score", "annotator": "annotator"},
        "Line 2: score 9 is outside the project's scale 1..5",
    ),
    "duplicate ids": (
        "items.jsonl",
        GOOD + GOOD.replace(b'"a"', b'"b"') + GOOD,
        {},
        "Line 3: external id 'a' already appeared on line 1",
    ),
    "missing column": (
        "items.csv",
        b"external_id,query,text\na,q,d\n",
        {},
        "Line 1: the header lacks the column(s) 'document'; its columns are: external_id, query, text",
    ),
}


def _upload(client, project, name: str, content: bytes, fields: dict):
    form = {"external_id": "external_id", "query": "query", "document": "document", **fields}
    return client.post(
        reverse("labeling:import", args=[project.slug]), {"file": SimpleUploadedFile(name, content), **form}
    )


@pytest.mark.parametrize(("name", "content", "fields", "shown"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_upload_of_any_kind_imports_nothing_and_the_job_page_names_the_line(
    client_for, lead, project, eager_celery, django_capture_on_commit_callbacks, name, content, fields, shown
):
    client = client_for(lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, project, name, content, fields)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.status == ImportJob.Status.FAILED
    assert (Item.objects.count(), Label.objects.count()) == (0, 0)
    page = html.unescape(
        client.get(reverse("labeling:import_job", args=[project.slug, job.pk])).content.decode()
    )
    assert "Nothing was imported." in page
    assert shown in page


def _write_big_jsonl(path, *, target_bytes: int, bad_from_end: int) -> int:
    """A valid file of about target_bytes (rows of ~1 KB, each with a label) whose one bad line — a grade
    off the 1..5 scale — sits bad_from_end rows before the end. Returns the bad line's number."""
    document = "A paragraph of ordinary text about the query, long enough to look like a passage. " * 11
    rows = target_bytes // (len(document) + 120)
    bad_line = rows - bad_from_end
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, rows + 1):
            row = {
                "external_id": f"doc-{n}",
                "query": f"query number {n}",
                "document": document,
                "score": 9 if n == bad_line else 1 + n % 5,
                "annotator": "nist",
            }
            out.write(json.dumps(row) + "\n")
    return bad_line


@pytest.mark.slow
def test_a_50_mb_file_with_one_bad_line_near_the_end_imports_nothing_and_names_that_line(
    client_for, lead, project, eager_celery, django_capture_on_commit_callbacks, tmp_path
):
    path = tmp_path / "big.jsonl"
    bad_line = _write_big_jsonl(path, target_bytes=50 * 1024 * 1024, bad_from_end=3)
    assert path.stat().st_size > 49 * 1024 * 1024
    client = client_for(lead)

    with path.open("rb") as big, django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("labeling:import", args=[project.slug]),
            {
                "file": big,
                "external_id": "external_id",
                "query": "query",
                "document": "document",
                "score": "score",
                "annotator": "annotator",
            },
        )

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors[0]["line"] == bad_line
    assert "scale 1..5" in job.errors[0]["message"]
    assert (Item.objects.count(), Label.objects.count()) == (0, 0)
    page = client.get(reverse("labeling:import_job", args=[project.slug, job.pk])).content.decode()
    assert f"Line {bad_line}: " in page
