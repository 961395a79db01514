"""Every URL × every role × GET and POST: who opens the page, who gets 403, who is sent to the login page;
and per project: on the URLs of another team's project every one of them gets 404, the same answer as for
an object that does not exist. A POST that is refused changes nothing in the database. The JSON API the
same, with each person's own token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Item
from labeling.roles import ANNOTATOR
from tests.security.routes import (
    ALLOWED,
    FORBIDDEN,
    NO_TOKEN,
    NOT_ALLOWED,
    NOT_FOUND,
    ROUTES,
    TO_LOGIN,
    expected,
    is_exempt,
    url_names,
)
from tests.security.world import LEAD, NO_ROLE, PEOPLE, REVIEWER, database_state

pytestmark = pytest.mark.django_db

METHODS = ("get", "post")
CASES = [
    pytest.param(name, method, person, id=f"{name}-{method}-{person}")
    for name, route in ROUTES.items()
    for method in METHODS
    for person in PEOPLE
]
SCOPED = [name for name, route in ROUTES.items() if route.scoped]
OTHER_TEAM_CASES = [
    pytest.param(name, method, person, id=f"{name}-{method}-{person}")
    for name in SCOPED
    for method in METHODS
    for person in PEOPLE
]
API_SCOPED = [name for name, route in ROUTES.items() if route.is_api and route.scoped]


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
    elif outcome == NOT_FOUND:
        assert status == 404, f"{who}: expected 404, got {status}"
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
    refused = outcome in (FORBIDDEN, TO_LOGIN, NO_TOKEN, NOT_ALLOWED, NOT_FOUND) and method == "post"
    before = database_state() if refused else None

    response = getattr(client, method)(url)

    _check(response, outcome, who=f"{person} {method.upper()} {url}")
    if refused:
        assert database_state() == before, f"a refused POST to {url} changed the database"


def test_a_user_without_a_role_sees_no_project_and_is_told_why(world, as_person):
    body = as_person(NO_ROLE).get(reverse("labeling:home")).content.decode()
    assert world.project.name not in body and "no role yet" in body
    assert world.project.name in as_person(ANNOTATOR).get(reverse("labeling:home")).content.decode()


def test_the_matrix_size_is_printed_for_the_record(capsys):
    own = len(ROUTES) * len(PEOPLE) * len(METHODS)
    other = len(SCOPED) * len(PEOPLE) * len(METHODS)
    with capsys.disabled():
        print(
            f"\nmatrix: {len(ROUTES)} URLs × {len(PEOPLE)} people × {len(METHODS)} methods = {own}; "
            f"{len(SCOPED)} project URLs × {len(PEOPLE)} × {len(METHODS)} = {other} on "
            f"another team's; {len(SCOPED) * len(METHODS)} against objects that do not exist; "
            f"{len(API_SCOPED)} API routes × 2 projects × 2 tokens"
        )
    assert len(SCOPED) > 50 and set(API_SCOPED) == {
        "api:prompt",
        "api:items",
        "api:metrics",
        "api:import_job",
    }


@pytest.mark.parametrize("name,method,person", OTHER_TEAM_CASES)
def test_nobody_reaches_another_teams_project(world, as_person, name, method, person):
    route = ROUTES[name]
    outcome = expected(route, method, person, member=False)
    client = as_person(person)
    url = reverse(name, kwargs=route.kwargs(world.other, person))
    before = database_state() if method == "post" else None

    response = getattr(client, method)(url)

    _check(response, outcome, who=f"{person} {method.upper()} {url} (another team's)")
    if outcome == ALLOWED:
        raise AssertionError(f"{person} opened another team's {url}")
    if before is not None:
        assert database_state() == before, f"a POST to another team's {url} changed the database"


def _ghost(kwargs: dict) -> dict:
    """The same URL naming objects that do not exist."""
    return {
        key: ("no-such-project" if key == "slug" else 10**9) if key != "fmt" else value
        for key, value in kwargs.items()
    }


@pytest.mark.parametrize("name", SCOPED)
@pytest.mark.parametrize("method", METHODS)
def test_another_teams_object_answers_as_one_that_does_not_exist(world, as_person, name, method):
    """A lead of one project learns nothing of another's: same status for its objects as for none."""
    route = ROUTES[name]
    client = as_person(LEAD)
    theirs = getattr(client, method)(reverse(name, kwargs=route.kwargs(world.other, LEAD)))
    nothing = getattr(client, method)(reverse(name, kwargs=_ghost(route.kwargs(world.other, LEAD))))
    assert theirs.status_code == nothing.status_code, f"{method.upper()} {name}"


@pytest.mark.parametrize("name", API_SCOPED)
@pytest.mark.parametrize("person", [REVIEWER, LEAD])
def test_a_token_reaches_only_the_projects_its_owner_is_a_member_of(client, world, name, person):
    route = ROUTES[name]
    headers = {"Authorization": f"Bearer {world.secrets[person]}"}
    line = b'{"external_id": "cross-team", "query": "q", "document": "d"}\n'

    def call(objects):
        url = reverse(name, kwargs=route.kwargs(objects, person)) + "?model=sim/judge-small"
        if route.post:
            return client.post(url, data=line, content_type="application/x-ndjson", headers=headers)
        return client.get(url, headers=headers)

    theirs = call(world.other)
    assert not Item.objects.filter(project=world.other.project, external_id="cross-team").exists()
    own = call(world)
    if theirs.status_code == 403:  # this person's token lacks the route's scope: refused before any lookup
        assert own.status_code == 403
        return
    assert theirs.status_code == 404 and "No project" in theirs.json()["error"]
    assert "No project" not in own.json().get("error", ""), own.content


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_view_declares_its_methods_and_refuses_the_others(world, as_person, name):
    route = ROUTES[name]
    client = as_person(LEAD)  # past every role check: only the method can refuse
    url = reverse(name, kwargs=route.kwargs(world, LEAD))
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(url).status_code == 405, f"{method.upper()} {url}"
