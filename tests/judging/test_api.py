"""The JSON API and its per-user tokens: shown once, stored as a hash, scoped, revocable, never taken from
a URL and never written to a page or a log after creation."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse

from judging.models import ApiToken, PromptVersion
from judging.openapi import openapi_schema
from judging.promotion import version_promote
from judging.tokens import token_create
from labeling.models import ImportJob, Item, Label, Membership
from labeling.roles import REVIEWER
from tests.judging.versioning import baseline, measure

pytestmark = pytest.mark.django_db

READ = ["prompts:read", "metrics:read"]


def _bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def production(demo_project, lead, eager_celery, django_capture_on_commit_callbacks) -> PromptVersion:
    version = baseline(demo_project)
    version.demos = [{"query": "q", "document": "d", "reasoning": "r", "score": 2}]
    version.save()
    measure(version, django_capture_on_commit_callbacks)
    version_promote(version=version, user=lead)
    version.refresh_from_db()
    return version


def _prompt_url(project, model="sim/judge-small") -> str:
    return reverse("api:prompt", args=[project.slug]) + f"?model={model}"


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client_for, reviewer, project):
    client = client_for(reviewer)
    response = client.post(reverse("judging:tokens"), {"name": "ranking service", "scopes": READ})
    secret = response.context["created"].secret
    assert secret.startswith("fw_") and secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(getattr(token, f.attname)) for f in ApiToken._meta.fields)
    later = client.get(reverse("judging:tokens")).content.decode()
    assert secret not in later and token.prefix in later and "ranking service" in later


def test_the_token_page_offers_only_the_scopes_the_role_allows(client_for, reviewer, annotator, project):
    form = client_for(reviewer).get(reverse("judging:tokens")).context["form"]
    assert [value for value, _ in form.fields["scopes"].choices] == READ
    response = client_for(reviewer).post(reverse("judging:tokens"), {"name": "x", "scopes": ["items:write"]})
    assert response.context["created"] is None and not ApiToken.objects.exists()
    assert "no API access" in client_for(annotator).get(reverse("judging:tokens")).content.decode()


def test_the_production_prompt_comes_with_demos_scale_output_fields_and_program_json(
    client, reviewer, production
):
    secret = token_create(user=reviewer, name="svc", scopes=["prompts:read"]).secret
    response = client.get(_prompt_url(production.project), headers=_bearer(secret))
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == production.pk and body["instructions"] == production.instructions
    assert body["demos"] == production.demos
    assert (body["scale"]["min"], body["scale"]["max"]) == (1, 5)
    assert [f["name"] for f in body["output_fields"]] == ["reasoning", "score"]
    assert body["program"]["judge"]["signature"]["instructions"] == production.instructions
    assert body["program"]["judge"]["demos"] == production.demos
    assert ApiToken.objects.get().last_used_at is not None


def test_a_model_without_a_production_version_is_a_json_404(client, reviewer, production):
    secret = token_create(user=reviewer, name="svc", scopes=["prompts:read"]).secret
    response = client.get(_prompt_url(production.project, "sim/judge-large"), headers=_bearer(secret))
    assert response.status_code == 404 and "No production version" in response.json()["error"]


def test_a_token_without_the_scope_gets_a_json_403(client, lead, production):
    secret = token_create(user=lead, name="metrics only", scopes=["metrics:read"]).secret
    prompt = client.get(_prompt_url(production.project), headers=_bearer(secret))
    assert prompt.status_code == 403 and prompt.json()["error"] == "This token lacks the scope prompts:read."
    items = client.post(
        reverse("api:items", args=[production.project.slug]),
        data=b'{"external_id": "x", "query": "q", "document": "d"}\n',
        content_type="application/x-ndjson",
        headers=_bearer(secret),
    )
    assert items.status_code == 403 and "items:write" in items.json()["error"]
    assert (
        client.get(
            reverse("api:metrics", args=[production.project.slug]), headers=_bearer(secret)
        ).status_code
        == 200
    )


def test_a_token_does_no_more_than_its_owners_role_allows(client, lead, production):
    secret = token_create(user=lead, name="svc", scopes=["items:write"]).secret
    Membership.objects.filter(user=lead).update(role=REVIEWER)  # no longer a lead anywhere
    response = client.post(
        reverse("api:items", args=[production.project.slug]),
        data=b'{"external_id": "x", "query": "q", "document": "d"}\n',
        content_type="application/x-ndjson",
        headers=_bearer(secret),
    )
    assert response.status_code == 403 and "lead role" in response.json()["error"]


def test_a_revoked_token_is_refused(client_for, client, reviewer, production):
    created = token_create(user=reviewer, name="svc", scopes=["prompts:read"])
    assert client.get(_prompt_url(production.project), headers=_bearer(created.secret)).status_code == 200
    page = client_for(reviewer)
    assert page.post(reverse("judging:token_revoke", args=[created.token.pk])).status_code == 302
    page.logout()
    response = client.get(_prompt_url(production.project), headers=_bearer(created.secret))
    assert response.status_code == 401 and response.json()["error"] == "Unknown or revoked token."
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_nobody_revokes_another_users_token(client_for, reviewer, lead, project):
    created = token_create(user=reviewer, name="svc", scopes=["prompts:read"])
    assert client_for(lead).post(reverse("judging:token_revoke", args=[created.token.pk])).status_code == 404
    created.token.refresh_from_db()
    assert created.token.is_active


def test_a_token_is_never_accepted_from_the_query_string(client, reviewer, production):
    secret = token_create(user=reviewer, name="svc", scopes=["prompts:read"]).secret
    for name in ("token", "access_token", "api_key"):
        response = client.get(_prompt_url(production.project) + f"&{name}={secret}")
        assert response.status_code == 400 and "Authorization header" in response.json()["error"]
    response = client.get(_prompt_url(production.project) + f"&note=1&note={secret}")
    assert response.status_code == 400
    # Not even alongside a valid header.
    response = client.get(_prompt_url(production.project) + f"&token={secret}", headers=_bearer(secret))
    assert response.status_code == 400


def test_a_browser_session_is_not_an_api_login(client_for, lead, production):
    response = client_for(lead).get(_prompt_url(production.project))
    assert response.status_code == 401 and response["Content-Type"] == "application/json"


def _queued_import(client, secret: str, url: str, on_commit, **post) -> dict:
    """POST an import, check it was queued (202, the job's URL), and return the job as the API shows it
    once the (eager) worker has run it."""
    with on_commit(execute=True):
        response = client.post(url, headers=_bearer(secret), **post)
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] == "queued" and response["Location"] == queued["url"]
    assert queued["url"].endswith(reverse("api:import_job", args=[url.split("/")[-2], queued["job"]]))
    return client.get(queued["url"], headers=_bearer(secret)).json()


def test_items_and_labels_import_all_or_nothing_as_a_queued_job(
    client, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    secret = token_create(user=lead, name="loader", scopes=["items:write"]).secret
    url = reverse("api:items", args=[demo_project.slug])
    lines = [
        {"external_id": "api-1", "query": "solar panels", "document": "How solar panels work.", "score": 4},
        {"external_id": "api-2", "query": "tea", "document": "Green tea.", "score": 9},  # off the 1–5 scale
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    before = Item.objects.count()
    rejected = _queued_import(
        client,
        secret,
        url,
        django_capture_on_commit_callbacks,
        data=body,
        content_type="application/x-ndjson",
    )
    assert rejected["status"] == "failed"
    assert rejected["errors"][0]["line"] == 2
    assert Item.objects.count() == before  # nothing kept, not even the good first line

    lines[1]["score"] = 2
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    job = _queued_import(
        client,
        secret,
        url,
        django_capture_on_commit_callbacks,
        data=body,
        content_type="application/x-ndjson",
    )
    assert (job["status"], job["items_imported"], job["labels_imported"]) == ("done", 2, 2)
    label = Label.objects.get(item__external_id="api-1", item__project=demo_project)
    assert (label.score, label.annotator) == (4, lead)  # unnamed annotator: the token's owner
    assert ImportJob.objects.get(pk=job["job"]).created_by == lead  # the same job as the browser's


def test_items_import_takes_an_uploaded_csv_file(
    client, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    secret = token_create(user=lead, name="loader", scopes=["items:write"]).secret
    upload = SimpleUploadedFile("items.csv", b"external_id,query,document\ncsv-1,a query,a document\n")
    job = _queued_import(
        client,
        secret,
        reverse("api:items", args=[demo_project.slug]),
        django_capture_on_commit_callbacks,
        data={"file": upload},
    )
    assert (job["status"], job["items_imported"]) == ("done", 1)
    assert Item.objects.filter(project=demo_project, external_id="csv-1").exists()


def test_the_api_import_answers_202_before_any_worker_has_run_it(client, lead, demo_project):
    secret = token_create(user=lead, name="loader", scopes=["items:write"]).secret
    body = b'{"external_id": "later-1", "query": "q", "document": "d"}\n'
    response = client.post(
        reverse("api:items", args=[demo_project.slug]),
        data=body,
        content_type="application/x-ndjson",
        headers=_bearer(secret),
    )
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["job"])
    assert (job.status, job.project) == ("queued", demo_project)
    assert not Item.objects.filter(external_id="later-1").exists(), "nothing imported inside the request"


def test_an_import_job_of_another_project_is_a_json_404(client, lead, demo_project, project):
    secret = token_create(user=lead, name="loader", scopes=["items:write"]).secret
    response = client.post(
        reverse("api:items", args=[demo_project.slug]),
        data=b'{"external_id": "x", "query": "q", "document": "d"}\n',
        content_type="application/x-ndjson",
        headers=_bearer(secret),
    )
    url = reverse("api:import_job", args=[project.slug, response.json()["job"]])
    assert client.get(url, headers=_bearer(secret)).status_code == 404


def test_metrics_give_each_production_versions_test_figures(client, reviewer, production):
    secret = token_create(user=reviewer, name="dash", scopes=["metrics:read"]).secret
    body = client.get(reverse("api:metrics", args=[production.project.slug]), headers=_bearer(secret)).json()
    [entry] = body["versions"]
    assert entry["version"] == production.pk and entry["model"] == "sim/judge-small"
    assert entry["metrics"]["test"]["nmse"] is not None and entry["metrics"]["test"]["items"] > 0
    assert "dollars_per_1000" in entry["metrics"]["test"]


def test_every_api_route_is_described_in_the_openapi_schema(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.") and schema == openapi_schema()
    for pattern in get_resolver("judging.api_urls").url_patterns:
        route = "/api/" + str(pattern.pattern).replace("<slug:slug>", "{slug}").replace(
            "<int:job_id>", "{job_id}"
        )
        assert route in schema["paths"], route
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_tokens_never_reach_the_logs(client_for, client, reviewer, production, caplog):
    caplog.set_level(logging.DEBUG)
    response = client_for(reviewer).post(
        reverse("judging:tokens"), {"name": "svc", "scopes": ["prompts:read"]}
    )
    secret = response.context["created"].secret
    client.logout()
    client.get(_prompt_url(production.project), headers=_bearer(secret))  # 200
    client.get(reverse("api:metrics", args=[production.project.slug]), headers=_bearer(secret))  # 403: scope
    client.get(_prompt_url(production.project) + f"&token={secret}")  # 400: query string
    ApiToken.objects.update(revoked_at="2020-01-01T00:00:00Z")
    client.get(_prompt_url(production.project), headers=_bearer(secret))  # 401: revoked
    assert caplog.records, "the refusals above are logged by django.request"
    assert secret not in caplog.text
    assert secret[len("fw_") :] not in caplog.text
