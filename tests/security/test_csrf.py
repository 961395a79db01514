"""CSRF on every POST: without the token a POST is refused (htmx ones too) and changes nothing, while the
page itself hands htmx the token so that real htmx POSTs pass. The JSON API takes no session at all: only
a valid bearer token gets past its CSRF exemption."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from judging.models import ApiToken
from labeling.models import ImportJob, Item
from labeling.roles import LEAD, REVIEWER
from optimizer.models import Bullet
from tests.security.routes import ALLOWED, ROUTES, expected
from tests.security.world import database_state

pytestmark = pytest.mark.django_db

# Every route that takes a POST from a browser session (the API's are below).
SESSION_POSTS = [name for name, route in ROUTES.items() if route.takes_post and not route.is_api]
HX_HEADERS = re.compile(r"<body hx-headers='([^']*)'")


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def test_the_table_gives_the_csrf_tests_every_kind_of_post():
    assert {"labeling:label_submit", "optimizer:approve", "judging:version_promote"} <= set(SESSION_POSTS)
    assert len(SESSION_POSTS) > 30  # pages take GET only (405 to a POST): the forms and the actions


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("name", SESSION_POSTS)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(world, csrf_client, name, htmx):
    route = ROUTES[name]
    csrf_client.force_login(world.user(LEAD))  # a lead passes every role check: only CSRF can refuse
    assert expected(route, "post", LEAD) == ALLOWED
    before = database_state()

    response = csrf_client.post(
        reverse(name, kwargs=route.kwargs(world, LEAD)),
        {"score": "3", "rationale": "forged", "text": "forged", "name": "forged"},
        headers={"HX-Request": "true"} if htmx else {},
    )

    assert response.status_code == 403
    assert b"CSRF verification failed" in response.content
    assert database_state() == before


def test_a_post_with_a_wrong_csrf_header_is_refused_too(world, csrf_client):
    csrf_client.force_login(world.user(REVIEWER))
    csrf_client.get(reverse("optimizer:bullets", args=[world.project.slug]))  # sets the csrftoken cookie
    response = csrf_client.post(
        reverse("optimizer:approve", args=[world.bullet.pk]),
        headers={"HX-Request": "true", "X-CSRFToken": "x" * 32},
    )
    assert response.status_code == 403
    world.bullet.refresh_from_db()
    assert world.bullet.status == Bullet.Status.OPEN


def test_base_html_gives_htmx_the_csrf_header_so_a_real_htmx_post_passes(world, csrf_client):
    csrf_client.force_login(world.user(REVIEWER))
    page = csrf_client.get(reverse("optimizer:bullets", args=[world.project.slug])).content.decode()
    headers = json.loads(HX_HEADERS.search(page).group(1))
    # The header htmx sends is the one Django reads (CSRF_HEADER_NAME is HTTP_X_CSRFTOKEN).
    assert [name.lower() for name in headers] == ["x-csrftoken"]
    assert settings.CSRF_HEADER_NAME == "HTTP_" + "x-csrftoken".upper().replace("-", "_")

    response = csrf_client.post(
        reverse("optimizer:approve", args=[world.bullet.pk]), headers={"HX-Request": "true", **headers}
    )

    assert response.status_code == 200
    world.bullet.refresh_from_db()
    assert world.bullet.status == Bullet.Status.APPROVED


def test_every_full_page_carries_the_htmx_csrf_header(world, client):
    client.force_login(world.user(LEAD))
    pages = 0
    for name, route in ROUTES.items():
        if route.is_api or expected(route, "get", LEAD) != ALLOWED:
            continue
        response = client.get(reverse(name, kwargs=route.kwargs(world, LEAD)))
        body = response.content.decode() if response["Content-Type"].startswith("text/html") else ""
        if response.status_code != 200 or "<html" not in body:
            continue  # downloads (CSV, JSON Lines, program JSON) and htmx-only fragments
        pages += 1
        assert HX_HEADERS.search(body), f"{name} has no hx-headers on <body>"
    assert pages > 30


# The JSON API: token-authenticated, CSRF-exempt only with a valid bearer token.

LINE = b'{"external_id": "csrf-1", "query": "a query", "document": "a document"}\n'


def _import(client: Client, world, **headers):
    return client.post(
        reverse("api:items", args=[world.project.slug]),
        data=LINE,
        content_type="application/x-ndjson",
        headers=headers,
    )


def _imported() -> bool:
    """The import was accepted: its rows are in, or its job is queued for a worker."""
    return (
        Item.objects.filter(external_id="csrf-1").exists()
        or ImportJob.objects.filter(file_name__startswith="API upload").exists()
    )


def test_the_api_takes_a_valid_bearer_token_without_csrf(world, csrf_client):
    response = _import(csrf_client, world, Authorization=f"Bearer {world.secrets[LEAD]}")
    assert response.status_code == 202 and _imported()


def test_the_api_never_takes_a_session_cookie_instead_of_a_token(world, csrf_client):
    csrf_client.force_login(world.user(LEAD))
    assert _import(csrf_client, world).status_code == 401
    # Not even with the page's CSRF token: a session is not an API login.
    csrf_client.get(reverse("labeling:home"))
    token = csrf_client.cookies[settings.CSRF_COOKIE_NAME].value
    assert _import(csrf_client, world, **{"X-CSRFToken": token}).status_code == 401
    assert not _imported()


@pytest.mark.parametrize(
    "authorization",
    ["Bearer fw_not-a-token", "Bearer ", "Basic Y2Fyb2w6eA==", "Token {lead}", "Bearer {revoked}"],
    ids=["unknown", "empty", "basic", "wrong scheme", "revoked"],
)
def test_the_api_refuses_a_session_with_a_bad_token(world, csrf_client, authorization):
    revoked = ApiToken.objects.get(pk=world.tokens[REVIEWER].pk)
    revoked.revoked_at = revoked.created_at
    revoked.save()
    csrf_client.force_login(world.user(LEAD))
    header = authorization.format(lead=world.secrets[LEAD], revoked=world.secrets[REVIEWER])
    response = _import(csrf_client, world, Authorization=header)
    assert response.status_code == 401 and response.json()["error"]
    assert not _imported()
