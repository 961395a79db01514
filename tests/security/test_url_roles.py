"""Every URL × every role: who opens the page, who gets 403, who is sent to the login page; and a POST
that is refused changes nothing in the database."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.roles import ANNOTATOR
from tests.security.routes import (
    ALLOWED,
    FORBIDDEN,
    NO_TOKEN,
    NOT_ALLOWED,
    ROUTES,
    TO_LOGIN,
    expected,
    is_exempt,
    url_names,
)
from tests.security.world import NO_ROLE, PEOPLE, database_state

pytestmark = pytest.mark.django_db

CASES = [
    pytest.param(name, method, person, id=f"{name}-{method}-{person}")
    for name, route in ROUTES.items()
    for method in ("get", "post")
    for person in PEOPLE
]


def test_every_url_pattern_of_the_project_has_a_row_in_the_table():
    names = [name for name in url_names() if not is_exempt(name)]
    missing = sorted(set(names) - set(ROUTES))
    assert not missing, f"URL patterns without a row in tests/security/routes.py ROUTES: {missing}"
    assert sorted(set(ROUTES) - set(names)) == [], "rows of the table that no longer match a URL"
    assert len(names) == len(set(names)), "two URL patterns share a name"


def test_the_exempt_patterns_are_only_the_admin_and_the_login_pages():
    exempt = {name.split(":")[0] for name in url_names() if is_exempt(name)}
    assert exempt == {"admin", "login", "logout"}


def _check(response, outcome, *, who: str) -> None:
    status = response.status_code
    if outcome == ALLOWED:
        # 409: the role got through, and the run's state refused the transition (a finished run's cancel).
        assert status in (200, 302, 409), f"{who}: expected the page, got {status}"
        if status == 302:
            assert not response["Location"].startswith("/login/"), f"{who}: sent to log in"
    elif outcome == TO_LOGIN:
        assert status == 302 and response["Location"].startswith("/login/?next="), f"{who}: got {status}"
    elif outcome == NO_TOKEN:
        assert status == 401 and response.json()["error"], f"{who}: a session is not an API login"
    else:
        assert status == outcome, f"{who}: expected {outcome}, got {status}"


@pytest.mark.parametrize("name,method,person", CASES)
def test_who_may_open_each_url(world, as_person, name, method, person):
    route = ROUTES[name]
    outcome = expected(route, method, person)
    client = as_person(person)
    url = reverse(name, kwargs=route.kwargs(world, person))
    refused = outcome in (FORBIDDEN, TO_LOGIN, NO_TOKEN, NOT_ALLOWED) and method == "post"
    before = database_state() if refused else None

    response = getattr(client, method)(url)

    _check(response, outcome, who=f"{person} {method.upper()} {url}")
    if refused:
        assert database_state() == before, f"a refused POST to {url} changed the database"


def test_a_user_without_a_role_sees_no_project_and_is_told_why(world, as_person):
    body = as_person(NO_ROLE).get(reverse("labeling:home")).content.decode()
    assert world.project.name not in body and "no role yet" in body
    assert world.project.name in as_person(ANNOTATOR).get(reverse("labeling:home")).content.decode()
