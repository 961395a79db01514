"""API token scopes on every API endpoint: the right scope opens it, any other scope is a JSON 403, a
revoked token a 401, a token in the URL a 400, and a token never does more than its owner's role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from judging.models import ApiToken, PromptVersion
from judging.tokens import SCOPE_ROLES, token_create
from labeling.models import Item, Membership
from labeling.roles import LEAD, REVIEWER
from tests.security.routes import PUBLIC, ROUTES

pytestmark = pytest.mark.django_db

# The scope each token-authenticated route needs.
SCOPES = {
    "api:prompt": "prompts:read",
    "api:metrics": "metrics:read",
    "api:items": "items:write",
    "api:import_job": "items:write",
}
API_ROUTES = [name for name, route in ROUTES.items() if route.is_api]
LINE = b'{"external_id": "api-sec-1", "query": "a query", "document": "a document"}\n'


def test_every_api_route_needs_a_scope_or_is_the_public_schema():
    public = [name for name, route in ROUTES.items() if PUBLIC in (route.get, route.post)]
    assert sorted(API_ROUTES) == sorted(SCOPES) and public == ["api:openapi"]
    assert set(SCOPES.values()) == set(ApiToken.Scope.values) == set(SCOPE_ROLES)


@pytest.fixture
def production(world) -> PromptVersion:
    PromptVersion.objects.filter(pk=world.version.pk).update(status=PromptVersion.Status.PRODUCTION)
    return world.version


def _call(client, world, name: str, secret: str | None, query: str = ""):
    url = reverse(name, kwargs=ROUTES[name].kwargs(world, LEAD)) + "?model=sim/judge-small" + query
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if ROUTES[name].post:
        return client.post(url, data=LINE, content_type="application/x-ndjson", headers=headers)
    return client.get(url, headers=headers)


@pytest.mark.parametrize("name", API_ROUTES)
def test_the_right_scope_opens_the_endpoint(client, world, production, name):
    secret = token_create(user=world.user(LEAD), name="svc", scopes=[SCOPES[name]]).secret
    response = _call(client, world, name, secret)
    assert response.status_code in (200, 202), response.content


@pytest.mark.parametrize("name", API_ROUTES)
def test_a_token_without_the_scope_gets_a_json_403(client, world, production, name):
    others = [scope for scope in ApiToken.Scope.values if scope != SCOPES[name]]
    secret = token_create(user=world.user(LEAD), name="svc", scopes=others).secret
    response = _call(client, world, name, secret)
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
    assert response.json()["required_scope"] == SCOPES[name]
    assert not Item.objects.filter(external_id="api-sec-1").exists()


@pytest.mark.parametrize("name", API_ROUTES)
def test_a_revoked_token_gets_a_json_401(client, world, production, name):
    created = token_create(user=world.user(LEAD), name="svc", scopes=[SCOPES[name]])
    ApiToken.objects.filter(pk=created.token.pk).update(revoked_at=timezone.now())
    response = _call(client, world, name, created.secret)
    assert response.status_code == 401 and response.json()["error"] == "Unknown or revoked token."
    assert not Item.objects.filter(external_id="api-sec-1").exists()


@pytest.mark.parametrize("name", API_ROUTES)
@pytest.mark.parametrize("with_header", [False, True], ids=["alone", "beside a valid header"])
@pytest.mark.parametrize("parameter", ["token", "access_token", "api_key", "note"])
def test_a_token_in_the_query_string_is_refused(client, world, production, name, parameter, with_header):
    secret = token_create(user=world.user(LEAD), name="svc", scopes=[SCOPES[name]]).secret
    response = _call(client, world, name, secret if with_header else None, query=f"&{parameter}={secret}")
    assert response.status_code == 400 and "Authorization header" in response.json()["error"]
    assert not Item.objects.filter(external_id="api-sec-1").exists()


@pytest.mark.parametrize("name", API_ROUTES)
def test_a_token_does_no_more_than_its_owners_current_role(client, world, production, name):
    created = token_create(user=world.user(LEAD), name="svc", scopes=[SCOPES[name]])
    Membership.objects.filter(user=world.user(LEAD)).delete()  # a lead no more, anywhere
    response = _call(client, world, name, created.secret)
    assert response.status_code == 403 and "role" in response.json()["error"]


def test_a_reviewer_cannot_make_a_token_that_writes_items(client, world):
    client.force_login(world.user(REVIEWER))
    response = client.post(reverse("judging:tokens"), {"name": "loader", "scopes": ["items:write"]})
    assert response.context["created"] is None
    assert not any(
        "items:write" in token.scopes for token in ApiToken.objects.filter(user=world.user(REVIEWER))
    )


def test_a_token_made_to_expire_works_until_then_and_is_refused_after(client, world, production):
    created = token_create(
        user=world.user(REVIEWER), name="short-lived", scopes=["metrics:read"], expires_in_days=30
    )
    assert _call(client, world, "api:metrics", created.secret).status_code == 200
    ApiToken.objects.filter(pk=created.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _call(client, world, "api:metrics", created.secret)
    assert response.status_code == 401 and response.json()["error"]


def test_the_token_page_shows_each_tokens_expiry_and_last_use(client, world, production):
    created = token_create(
        user=world.user(REVIEWER), name="dated", scopes=["metrics:read"], expires_in_days=90
    )
    _call(client, world, "api:metrics", created.secret)
    created.token.refresh_from_db()
    assert created.token.last_used_at is not None
    client.force_login(world.user(REVIEWER))
    page = client.get(reverse("judging:tokens")).content.decode()
    row = page[page.index("dated") :].split("</tr>")[0]
    assert created.token.expires_at.strftime("%Y-%m-%d") in row
    assert created.token.last_used_at.strftime("%Y-%m-%d %H:%M") in row and "active" in row


def test_the_token_form_offers_an_expiry_and_the_token_gets_it(client, world):
    client.force_login(world.user(REVIEWER))
    response = client.post(
        reverse("judging:tokens"),
        {"name": "with expiry", "scopes": ["metrics:read"], "expires_in_days": "30"},
    )
    token = response.context["created"].token
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
