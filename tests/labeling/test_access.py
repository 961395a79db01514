"""Who may open which page: login everywhere, roles checked on the server."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LEAD_ONLY = [
    ("labeling:project_create", {}),
    ("labeling:import", {"slug": "web"}),
]


@pytest.mark.parametrize("name,kwargs", LEAD_ONLY)
def test_an_annotator_gets_403_on_lead_only_pages(client_for, annotator, project, name, kwargs):
    response = client_for(annotator).get(reverse(name, kwargs=kwargs))
    assert response.status_code == 403


@pytest.mark.parametrize("name,kwargs", LEAD_ONLY)
def test_an_annotator_cannot_post_to_lead_only_pages(client_for, annotator, project, name, kwargs):
    response = client_for(annotator).post(reverse(name, kwargs=kwargs), {"name": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("name,kwargs", LEAD_ONLY)
def test_a_reviewer_gets_403_on_lead_only_pages(client_for, reviewer, project, name, kwargs):
    assert client_for(reviewer).get(reverse(name, kwargs=kwargs)).status_code == 403


@pytest.mark.parametrize("name,kwargs", LEAD_ONLY)
def test_a_lead_opens_lead_only_pages(client_for, lead, project, name, kwargs):
    assert client_for(lead).get(reverse(name, kwargs=kwargs)).status_code == 200


def test_an_annotator_cannot_export_others_labels(client_for, annotator, project):
    response = client_for(annotator).get(reverse("labeling:export", args=["web", "csv"]))
    assert response.status_code == 403


def test_an_annotator_cannot_see_another_users_import_job(client_for, annotator, lead, project):
    from labeling.models import ImportJob

    job = ImportJob.objects.create(
        project=project, created_by=lead, file_name="a.csv", stored_path="/nonexistent"
    )
    response = client_for(annotator).get(reverse("labeling:import_job", args=["web", job.pk]))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "url",
    ["/", "/projects/new/", "/projects/web/", "/projects/web/import/", "/projects/web/export.csv", "/admin/"],
)
def test_every_page_sends_an_anonymous_visitor_to_the_login_page(client, project, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/") or response["Location"].startswith("/admin/login/")


def test_a_user_without_a_role_cannot_create_a_project(client_for, outsider):
    assert client_for(outsider).post(reverse("labeling:project_create"), {}).status_code == 403


def test_the_admin_is_closed_to_a_lead_who_is_not_staff(client_for, lead):
    response = client_for(lead).get("/admin/")
    assert response.status_code == 302


def test_the_login_page_is_open_and_logs_a_user_in(client, annotator):
    from tests.conftest import PASSWORD

    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_wrong_password_says_so_in_words(client, annotator):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_logging_out_needs_a_post(client_for, annotator):
    client = client_for(annotator)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


ANNOTATOR_PAGES = [
    ("get", "labeling:label", {"slug": "web"}),
    ("get", "labeling:my_labels", {"slug": "web"}),
    ("post", "labeling:label_undo", {"slug": "web"}),
    ("post", "labeling:label_submit", {"slug": "web", "item_id": 1}),
    ("post", "labeling:label_skip", {"slug": "web", "item_id": 1}),
]
REVIEWER_PAGES = [
    ("get", "labeling:adjudication", {"slug": "web"}),
    ("get", "labeling:adjudicate", {"slug": "web", "item_id": 1}),
    ("post", "labeling:adjudicate", {"slug": "web", "item_id": 1}),
    ("get", "labeling:agreement", {"slug": "web"}),
]


@pytest.mark.parametrize("method,name,kwargs", ANNOTATOR_PAGES + REVIEWER_PAGES)
def test_a_user_who_is_no_member_of_the_project_gets_404_on_its_labeling_and_review_pages(
    client_for, outsider, project, method, name, kwargs
):
    client = client_for(outsider)
    assert getattr(client, method)(reverse(name, kwargs=kwargs)).status_code == 404


@pytest.mark.parametrize("method,name,kwargs", REVIEWER_PAGES)
def test_an_annotator_gets_403_on_adjudication_and_agreement(
    client_for, annotator, project, method, name, kwargs
):
    client = client_for(annotator)
    assert getattr(client, method)(reverse(name, kwargs=kwargs)).status_code == 403


def test_a_reviewer_may_label_too(client_for, reviewer, project):
    assert client_for(reviewer).get(reverse("labeling:label", args=["web"])).status_code == 200


@pytest.mark.parametrize("name", ["labeling:label_undo", "labeling:label"])
def test_labeling_posts_need_the_csrf_token(annotator, project, name):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    assert client.post(reverse(name, args=["web"])).status_code == 403


def test_the_labeling_page_sends_the_csrf_token_for_htmx(client_for, annotator, project):
    body = client_for(annotator).get(reverse("labeling:label", args=["web"])).content.decode()
    assert 'hx-headers=\'{"x-csrftoken": "' in body


@pytest.mark.parametrize(
    "url", ["/projects/web/label/", "/projects/web/my-labels/", "/projects/web/agreement/"]
)
def test_labeling_pages_send_an_anonymous_visitor_to_the_login_page(client, project, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
