"""The request log: a refusal is one line, a real error keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def request_log(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_403_is_logged_as_one_line_without_a_traceback(client_for, annotator, project, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")

    response = client_for(annotator).get(reverse("labeling:project_edit", args=[project.slug]))

    assert response.status_code == 403
    [record] = request_log(caplog)
    assert record.getMessage() == f"Forbidden (Permission denied): /projects/{project.slug}/edit/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_404_is_logged_without_a_traceback(client_for, outsider, project, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")

    response = client_for(outsider).get(reverse("labeling:project", args=[project.slug]))

    assert response.status_code == 404
    assert [record.exc_info for record in request_log(caplog)] == [None]
    assert "Traceback" not in caplog.text


@pytest.mark.urls("tests.config.urls_with_a_bug")
def test_a_real_error_keeps_its_traceback(client_for, lead, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    client = client_for(lead)
    client.raise_request_exception = False

    response = client.get("/bug/")

    assert response.status_code == 500
    [record] = request_log(caplog)
    assert isinstance(record.exc_info[1], ZeroDivisionError)
    assert "Traceback" in caplog.text and "a bug in a view" in caplog.text
