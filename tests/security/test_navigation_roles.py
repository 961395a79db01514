"""The project navigation and the views' access checks agree: every tab a person sees opens for them
(200, with the navigation on it and the tab marked current), every tab hidden from them refuses them
(403, or 404 to a user of no project), and every page of a project carries the navigation."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labeling.navigation import TABS
from tests.security.routes import ROUTES
from tests.security.world import ANNOTATOR, LEAD, NO_ROLE, REVIEWER

pytestmark = pytest.mark.django_db

MEMBERS = (ANNOTATOR, REVIEWER, LEAD)
_RANK = {NO_ROLE: -1, ANNOTATOR: 0, REVIEWER: 1, LEAD: 2}


def _shown_tabs(body: str) -> list[str]:
    nav = re.search(r"<nav[^>]*data-project-nav.*?</nav>", body, re.S)
    return re.findall(r'data-tab="([^"]+)"', nav.group(0)) if nav else []


def _current_tabs(body: str) -> list[str]:
    return re.findall(r'data-tab="([^"]+)" aria-current="page"', body)


def test_each_tab_asks_for_the_role_the_security_table_gives_its_page():
    for tab in TABS:
        assert ROUTES[tab.url_name].get == tab.role, f"tab {tab.label}: {tab.url_name}"


@pytest.mark.parametrize("person", MEMBERS)
def test_every_tab_a_member_sees_opens_with_the_navigation_and_every_hidden_tab_refuses(
    world, as_person, person
):
    client = as_person(person)
    dashboard = client.get(reverse("labeling:project", kwargs={"slug": world.project.slug}))
    shown = _shown_tabs(dashboard.content.decode())
    assert shown == [tab.key for tab in TABS if _RANK[person] >= _RANK[tab.role]]

    for tab in TABS:
        response = client.get(reverse(tab.url_name, kwargs={"slug": world.project.slug}))
        body = response.content.decode()
        if tab.key in shown:
            assert response.status_code == 200, f"{person} opens {tab.label}"
            assert _shown_tabs(body) == shown, f"{tab.label} shows {person} the same tabs"
            assert _current_tabs(body) == [tab.key], f"{tab.label} is marked as the current tab"
        else:
            assert response.status_code == 403, f"{person} is refused {tab.label}"
            article = "an" if person == "annotator" else "a"
            assert f"needs the {tab.role} role" in body and f"You are {article} {person}" in body


def test_a_user_of_no_project_sees_no_tab_and_every_tab_is_not_found(world, as_person):
    client = as_person(NO_ROLE)
    for tab in TABS:
        response = client.get(reverse(tab.url_name, kwargs={"slug": world.project.slug}))
        assert response.status_code == 404, tab.label
        assert _shown_tabs(response.content.decode()) == []
        assert world.project.name not in response.content.decode()


@pytest.mark.parametrize(
    "name", [name for name, route in ROUTES.items() if route.scoped and route.get and not route.is_api]
)
def test_every_page_of_a_project_carries_its_navigation(world, as_person, name):
    """Downloads and htmx fragments are no pages; every full HTML page of a project has the tabs."""
    response = as_person(LEAD).get(reverse(name, kwargs=ROUTES[name].kwargs(world, LEAD)))
    body = response.content.decode() if response.get("Content-Type", "").startswith("text/html") else ""
    if "<!doctype html>" not in body:
        return
    assert _shown_tabs(body) == [tab.key for tab in TABS], f"{name} has the lead's tabs"


@pytest.mark.parametrize("person", MEMBERS)
def test_the_navigation_reads_the_memberships_once_per_page(world, as_person, person):
    client = as_person(person)
    client.get(reverse("labeling:home"))  # the session's first request: log-in bookkeeping out of the way
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("labeling:project", kwargs={"slug": world.project.slug}))
    assert response.status_code == 200
    memberships = [q["sql"] for q in queries.captured_queries if "labeling_membership" in q["sql"]]
    assert len(memberships) == 1, memberships
