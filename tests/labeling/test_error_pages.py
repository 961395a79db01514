"""The 403 and 404 pages (DEBUG off, as in production): styled like every page, saying what is missing or
which role is needed, with a link back; a project the user is not in stays "not found", unnamed."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

pytestmark = pytest.mark.django_db

STYLESHEET = "css/flywheel.css"


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


def test_an_annotator_refused_a_reviewers_page_is_told_the_role_it_needs_and_led_back(
    client_for, annotator, project
):
    response = client_for(annotator).get(reverse("labeling:agreement", kwargs={"slug": project.slug}))
    body = response.content.decode()
    assert response.status_code == 403
    assert STYLESHEET in body and 'data-error-page="403"' in body
    assert "This needs the reviewer role in Web relevance." in body
    assert "You are an annotator in Web relevance" in body
    assert f'href="{project.get_absolute_url()}" data-back' in body
    assert 'data-tab="label"' in body and 'data-tab="agreement"' not in body  # their own tabs, no more


def test_a_page_of_no_project_says_which_role_it_needs(client_for, annotator, project):
    response = client_for(annotator).get(reverse("judging:endpoints"))
    body = response.content.decode()
    assert response.status_code == 403 and 'data-error-page="403"' in body
    assert "This needs the lead role in a project." in body and "Your highest role is annotator" in body
    assert f'href="{reverse("labeling:home")}" data-home' in body


def test_a_project_you_are_not_in_is_not_found_and_not_named(client_for, outsider, project):
    response = client_for(outsider).get(reverse("labeling:project", kwargs={"slug": project.slug}))
    body = response.content.decode()
    assert response.status_code == 404
    assert STYLESHEET in body and 'data-error-page="404"' in body and "No such project." in body
    assert project.name not in body and "data-project-nav" not in body and "data-back" not in body
    assert f'href="{reverse("labeling:home")}" data-home' in body


def test_an_address_that_names_nothing_is_a_styled_not_found(client_for, annotator):
    response = client_for(annotator).get("/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404 and 'data-error-page="404"' in body
    assert "There is no page at this address." in body and "Resolver404" not in body


def test_a_missing_object_of_your_project_links_back_to_the_project(client_for, annotator, project):
    url = reverse("labeling:my_label_edit", kwargs={"slug": project.slug, "label_id": 10**9})
    body = client_for(annotator).get(url).content.decode()
    assert 'data-error-page="404"' in body
    assert f'href="{project.get_absolute_url()}" data-back' in body and "data-project-nav" in body


@pytest.mark.parametrize("template", ["400.html", "500.html"])
def test_the_bad_request_and_server_error_pages_are_styled_without_a_request(template):
    # Django's own views render them without the request (the failure may be the database's).
    body = render_to_string(template)
    assert STYLESHEET in body and f'data-error-page="{template[:3]}"' in body
    assert f'href="{reverse("labeling:home")}" data-home' in body
