"""An endpoint names only a key variable the operator allows (never the app's own settings) and calls only
a host the operator allows (never the app's own database or broker): refused by the form, by the model
underneath it (a direct call), and by the worker at call time. "Test endpoint" reports success, latency
and a parsed score, never the body of what the server answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from judging.endpoint_rules import api_base_refusal, key_envs_allowed
from judging.models import ModelEndpoint
from judging.program import endpoint_key, endpoint_lm
from judging.services import endpoint_test_call
from labeling.models import Project
from tests.security.fake_servers import JsonHandler, serving
from tests.security.world import LEAD, users_make

pytestmark = pytest.mark.django_db

KEY_ENV = "ACME_LLM_API_KEY"
KEY = "sk-acme-REALKEY-42"
MARKER = "INTERNAL-SERVICE-BODY-7f3a"
APP_SETTINGS = ["DATABASE_URL", "SECRET_KEY", "CELERY_BROKER_URL"]


class _Listener(JsonHandler):
    """A well-formed judgment whose reasoning carries a marker."""

    def answer(self) -> tuple[int, dict]:
        content = f"[[ ## reasoning ## ]]\n{MARKER}\n\n[[ ## score ## ]]\n5\n\n[[ ## completed ## ]]"
        return 200, {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4.1-mini",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }


@pytest.fixture
def listener() -> Iterator:
    with serving(_Listener) as server:
        yield server


@pytest.fixture
def key(monkeypatch, settings) -> str:
    settings.FLYWHEEL_KEY_ENVS = ["OPENAI_API_KEY", KEY_ENV]
    monkeypatch.setenv(KEY_ENV, KEY)
    for name in APP_SETTINGS:
        monkeypatch.setenv(name, f"value-of-{name}")
    return KEY


@pytest.fixture
def lead_client(client, db):
    users = users_make(Project.objects.create(name="Keys", slug="keys", rubric="Rate it."))
    client.force_login(users[LEAD])
    return client


def _form(api_key_env: str, api_base: str = "") -> dict:
    return {
        "name": "gpt",
        "model": "openai/gpt-4.1-mini",
        "api_base": api_base,
        "api_key_env": api_key_env,
        "temperature": 0,
        "max_tokens": 64,
        "concurrency": 1,
        "price_input_per_mtok": 0,
        "price_output_per_mtok": 0,
    }


@pytest.mark.parametrize("name", [*APP_SETTINGS, "HOME", "AWS_SECRET_ACCESS_KEY"])
def test_the_form_refuses_a_key_variable_that_is_not_allowed(lead_client, key, name):
    response = lead_client.post(reverse("judging:endpoint_new"), _form(name))
    assert response.status_code == 200
    assert "api_key_env" in response.context["form"].errors
    assert not ModelEndpoint.objects.filter(name="gpt").exists()


def test_the_form_says_which_key_variables_are_allowed(lead_client, key):
    body = lead_client.get(reverse("judging:endpoint_new")).content.decode()
    assert f"OPENAI_API_KEY, {KEY_ENV}" in body


@pytest.mark.parametrize("name", [*APP_SETTINGS, "HOME"])
def test_a_direct_call_that_skips_the_form_is_refused_too(key, name):
    with pytest.raises(ValidationError) as refused:
        ModelEndpoint.objects.create(name="direct", model="openai/gpt-4.1-mini", api_key_env=name)
    assert "api_key_env" in refused.value.message_dict
    assert not ModelEndpoint.objects.filter(name="direct").exists()


def test_the_apps_own_settings_are_refused_even_when_the_operator_lists_them(key, settings):
    settings.FLYWHEEL_KEY_ENVS = [*APP_SETTINGS, "SECRET_KEY_FILE", "FLYWHEEL_ANYTHING", KEY_ENV]
    assert key_envs_allowed() == [KEY_ENV]
    for name in APP_SETTINGS:
        with pytest.raises(ValidationError):
            ModelEndpoint.objects.create(name=f"listed {name}", model="openai/x", api_key_env=name)


def test_a_name_dropped_from_the_list_after_saving_is_never_read_and_nothing_is_sent(key, settings, listener):
    endpoint = ModelEndpoint.objects.create(
        name="was fine", model="openai/gpt-4.1-mini", api_base=listener.url, api_key_env=KEY_ENV
    )
    settings.FLYWHEEL_KEY_ENVS = ["OPENAI_API_KEY"]
    assert endpoint_key(endpoint) is None
    result = endpoint_test_call(endpoint=endpoint)
    assert not result.ok and "not an allowed key variable" in result.text
    with pytest.raises(Exception, match="not an allowed key variable"):
        endpoint_lm(endpoint)("hello")  # the worker's LM: refused before any network
    assert listener.seen == []


def test_with_an_allowed_name_the_key_reaches_an_allowed_host(key, settings, listener):
    settings.FLYWHEEL_ALLOWED_API_HOSTS = ["127.0.0.1"]
    endpoint = ModelEndpoint.objects.create(
        name="allowed", model="openai/gpt-4.1-mini", api_base=listener.url, api_key_env=KEY_ENV
    )
    result = endpoint_test_call(endpoint=endpoint)
    assert result.ok and result.score == 5 and result.latency_ms is not None
    assert listener.seen == [f"Bearer {KEY}"]


def test_with_an_allowed_name_the_key_never_reaches_a_host_that_is_not_listed(key, settings, listener):
    settings.FLYWHEEL_ALLOWED_API_HOSTS = ["api.openai.com"]
    with pytest.raises(ValidationError) as refused:
        ModelEndpoint.objects.create(
            name="elsewhere", model="openai/x", api_base=listener.url, api_key_env=KEY_ENV
        )
    assert "api_base" in refused.value.message_dict
    # Saved before the operator narrowed the hosts: the test button and the worker refuse it at call time.
    settings.FLYWHEEL_ALLOWED_API_HOSTS = []
    endpoint = ModelEndpoint.objects.create(
        name="elsewhere", model="openai/gpt-4.1-mini", api_base=listener.url, api_key_env=KEY_ENV
    )
    settings.FLYWHEEL_ALLOWED_API_HOSTS = ["api.openai.com"]
    assert "not an allowed API host" in endpoint_test_call(endpoint=endpoint).text
    with pytest.raises(Exception, match="not an allowed API host"):
        endpoint_lm(endpoint)("hello")
    assert listener.seen == []


@pytest.mark.parametrize(
    "api_base",
    [
        "http://127.0.0.1:6379/v1",
        "http://localhost:6379/v1",
        "http://127.1:6379/v1",
        "http://2130706433:6379/v1",
        "http://[::1]:6379/v1",
        "http://db.internal:5432/v1",
        "http://169.254.169.254/latest",
    ],
)
def test_without_a_host_list_the_apps_own_database_broker_and_metadata_service_are_refused(
    settings, monkeypatch, api_base
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/7"
    # In place (no new connection opens in this test): as if the database lived on db.internal:5432.
    monkeypatch.setitem(django_settings.DATABASES["default"], "HOST", "db.internal")
    monkeypatch.setitem(django_settings.DATABASES["default"], "PORT", "5432")
    assert api_base_refusal(api_base)
    assert not api_base_refusal("http://127.0.0.1:8765/v1")  # a local vLLM or the sim server is fine
    assert not api_base_refusal("https://api.openai.com/v1")


def test_the_form_refuses_the_brokers_address(lead_client, key, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/7"
    response = lead_client.post(reverse("judging:endpoint_new"), _form(KEY_ENV, "http://localhost:6379/v1"))
    assert "api_base" in response.context["form"].errors
    assert not ModelEndpoint.objects.filter(name="gpt").exists()


def test_the_test_button_shows_latency_and_score_never_the_servers_answer(lead_client, key, listener):
    endpoint = ModelEndpoint.objects.create(
        name="internal", model="openai/gpt-4.1-mini", api_base=listener.url, api_key_env=KEY_ENV
    )
    response = lead_client.post(
        reverse("judging:endpoint_test", args=[endpoint.pk]), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "Answered in" in body and "with the score 5" in body
    assert MARKER not in body and KEY not in body
