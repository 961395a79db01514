"""An endpoint's API key lives only in the environment variable it names: it never reaches a page, a log,
an export or an API response, not even when a provider's error message echoes it back. API tokens are
shown once, when made, and only their hash is stored."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pytest
from django.urls import reverse

from judging.models import ApiToken, ModelEndpoint
from judging.runs import judge_run_start
from judging.tokens import token_create
from labeling.models import Item, Project
from labeling.roles import LEAD, REVIEWER
from tests.security.fake_servers import JsonHandler, serving
from tests.security.world import users_make

pytestmark = pytest.mark.django_db

KEY_ENV = "ACME_LLM_API_KEY"  # allowed by the `key` fixture (FLYWHEEL_KEY_ENVS)
KEY = "sk-test-SECRET123"
# A port nothing listens on (the discard service): the call fails at once.
CLOSED = "http://127.0.0.1:9/v1"


class _CarelessProvider(JsonHandler):
    """An OpenAI-compatible server that refuses every key and, carelessly, quotes it in the error."""

    def answer(self) -> tuple[int, dict]:
        sent = self.headers.get("Authorization", "")
        return 401, {
            "error": {
                "message": f"Incorrect API key provided: {sent}.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }


@pytest.fixture
def careless_provider() -> Iterator[str]:
    with serving(_CarelessProvider) as server:
        yield server.url


@pytest.fixture
def key(monkeypatch, settings) -> str:
    settings.FLYWHEEL_KEY_ENVS = [KEY_ENV]
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


@pytest.fixture
def users(db) -> dict:
    return users_make(Project.objects.create(name="Secrets", slug="secrets", rubric="Rate it."))


def _endpoint(api_base: str, name: str = "keyed") -> ModelEndpoint:
    return ModelEndpoint.objects.create(
        name=name, model="openai/gpt-4.1-mini", api_base=api_base, api_key_env=KEY_ENV, max_tokens=64
    )


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_the_key_is_on_no_endpoint_page(client, users, key):
    endpoint = _endpoint(CLOSED)
    client.force_login(users[LEAD])
    for url in (reverse("judging:endpoints"), reverse("judging:endpoint_edit", args=[endpoint.pk])):
        body = _text(client.get(url))
        assert KEY_ENV in body and KEY not in body, url


def test_a_test_call_to_a_closed_port_shows_the_error_without_the_key(client, users, key):
    endpoint = _endpoint(CLOSED)
    client.force_login(users[LEAD])
    body = _text(
        client.post(reverse("judging:endpoint_test", args=[endpoint.pk]), headers={"HX-Request": "true"})
    )
    assert "data-test-result" in body and KEY not in body


def test_a_provider_error_is_reported_by_its_kind_never_by_what_the_server_said(
    client, users, key, careless_provider
):
    endpoint = _endpoint(careless_provider)
    client.force_login(users[LEAD])
    body = _text(
        client.post(reverse("judging:endpoint_test", args=[endpoint.pk]), headers={"HX-Request": "true"})
    )
    assert "No answer after" in body and "the provider refused the key (LMAuthError)" in body
    assert "Incorrect API key provided" not in body and KEY not in body


@pytest.fixture
def failed_run(users, key, careless_provider, eager_celery, django_capture_on_commit_callbacks, caplog):
    """A judge run whose every call the provider refuses, quoting the key; the logs of the run are kept."""
    caplog.set_level(logging.DEBUG)
    project = Project.objects.get(slug="secrets")
    for n in range(2):
        Item.objects.create(project=project, external_id=f"s{n}", query=f"query {n}", document="a document")
    from judging.models import PromptVersion

    endpoint = _endpoint(careless_provider)
    version = PromptVersion.objects.create(
        project=project, target_model=endpoint, instructions="Rate 1 to 5."
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_run_start(
            prompt_version=version, endpoint=endpoint, item_set="unlabeled", user=users[LEAD]
        )
    run.refresh_from_db()
    return run


def test_a_judge_run_that_fails_auth_keeps_the_key_out_of_logs_and_judgments(failed_run, caplog, capfd):
    assert failed_run.judgments.count() == 2
    messages = list(failed_run.judgments.values_list("error_message", flat=True))
    assert all("Incorrect API key provided" in message for message in messages), messages
    assert not any(KEY in message for message in messages)
    # A refused key is not tried again: each item fails after one call.
    assert set(failed_run.judgments.values_list("attempts", flat=True)) == {1}
    records = caplog.get_records("setup")  # the run happened while the fixture was set up
    assert records, "the failed calls were logged"
    logged = "\n".join(logging.Formatter().format(record) for record in records)
    assert "401" in logged and KEY not in logged
    out, err = capfd.readouterr()
    assert KEY not in out and KEY not in err


def test_no_page_export_or_api_answer_about_the_failed_run_shows_the_key(client, users, failed_run):
    version = failed_run.prompt_version
    slug = failed_run.project.slug
    item = failed_run.judgments.first().item
    client.force_login(users[LEAD])
    urls = [
        reverse("judging:endpoints"),
        reverse("judging:runs", args=[slug]),
        reverse("judging:run", args=[failed_run.pk]),
        reverse("judging:disagreements", args=[failed_run.pk]),
        reverse("judging:run_item", args=[failed_run.pk, item.pk]),
        reverse("judging:run_export", args=[failed_run.pk, "csv"]),
        reverse("judging:run_export", args=[failed_run.pk, "jsonl"]),
        reverse("labeling:export", args=[slug, "csv"]),
        reverse("labeling:export", args=[slug, "jsonl"]),
        reverse("judging:version", args=[version.pk]),
        reverse("judging:version_program", args=[version.pk]),
        reverse("judging:model_comparison", args=[slug]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert KEY not in _text(response), url

    client.logout()
    secret = token_create(user=users[LEAD], name="svc", scopes=["prompts:read", "metrics:read"]).secret
    bearer = {"Authorization": f"Bearer {secret}"}
    for url in (
        reverse("api:prompt", args=[slug]) + "?model=keyed",
        reverse("api:metrics", args=[slug]) + "?status=any",
        reverse("api:openapi"),
    ):
        assert KEY not in _text(client.get(url, headers=bearer)), url


def test_an_api_token_is_shown_once_and_then_only_by_its_prefix(client, users):
    client.force_login(users[REVIEWER])
    made = client.post(reverse("judging:tokens"), {"name": "ranker", "scopes": ["prompts:read"]})
    secret = made.context["created"].secret
    assert secret in _text(made) and "no-store" in made["Cache-Control"]

    token = ApiToken.objects.get(user=users[REVIEWER])
    later = _text(client.get(reverse("judging:tokens")))
    assert secret not in later and secret[len(token.prefix) :] not in later
    assert token.prefix in later and len(token.prefix) <= 12
    # The database holds the SHA-256 and the prefix: no column holds the secret or most of it.
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    for column in ApiToken._meta.concrete_fields:
        assert secret[len(token.prefix) :] not in str(getattr(token, column.attname)), column.name

    client.post(reverse("judging:token_revoke", args=[token.pk]))
    assert secret not in _text(client.get(reverse("judging:tokens")))
