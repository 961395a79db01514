"""Judge runs under faults, through a real worker process → DSPy → LiteLLM → HTTP → the sim server:
injected 429/5xx/timeouts/malformed bodies, a worker killed with SIGKILL mid-run, and cancel."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db.models import Count, Sum
from django.urls import reverse

from judging import runs
from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.selectors import run_progress
from judging.sim.samples import sample_items
from judging.sim.server import SimServer
from labeling.models import Item
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

KEY_ENV = "SIMLLM_API_KEY"  # allowed in config.test_settings
# Every kind of fault, 20% of all requests in total.
FAULTS_20 = {"rate_429": 0.05, "rate_5xx": 0.05, "rate_timeout": 0.05, "rate_malformed_body": 0.05}


@pytest.fixture
def judge_env(monkeypatch):
    """What the worker process inherits: the endpoint's key variable, a short call timeout and short
    backoff, so that a hanging request costs a second and not a minute."""
    monkeypatch.setenv(KEY_ENV, "sim-key")
    monkeypatch.setenv("FLYWHEEL_JUDGE_TIMEOUT_S", "1")
    monkeypatch.setenv("FLYWHEEL_JUDGE_BACKOFF_S", "0.05")


@pytest.fixture
def one_attempt(judge_env, monkeypatch):
    """No retries in the worker (set before it starts): every fault ends as a recorded error."""
    monkeypatch.setenv("FLYWHEEL_JUDGE_MAX_ATTEMPTS", "1")


@pytest.fixture
def sim_server():
    servers = []

    def start(**config) -> SimServer:
        servers.append(SimServer(timeout_s=5, retry_after_ms=50, **config).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _http_endpoint(server: SimServer, concurrency: int = 8) -> ModelEndpoint:
    return ModelEndpoint.objects.create(
        name="sim/judge-small over HTTP",
        model="openai/sim/judge-small",
        api_base=server.url + "/v1",
        api_key_env=KEY_ENV,
        concurrency=concurrency,
    )


def _start(project, endpoint: ModelEndpoint, item_set: str = "labeled") -> JudgeRun:
    version = PromptVersion.objects.get(project=project, origin="hand-written")
    return runs.judge_run_start(
        prompt_version=version, endpoint=endpoint, item_set=item_set, force_fresh=True
    )


def _finished(run: JudgeRun) -> JudgeRun | None:
    run.refresh_from_db()
    return run if run.is_finished else None


def _judged(run: JudgeRun, at_least: int):
    count = run.judgments.count()
    return count if count >= at_least else None


def _assert_one_outcome_per_item_and_counts_add_up(run: JudgeRun) -> dict:
    expected = set(runs.run_items(project=run.project, item_set=run.item_set).values_list("id", flat=True))
    per_item = dict(run.judgments.values_list("item_id").annotate(n=Count("id")))
    assert set(per_item) == expected, "every item of the run has an outcome"
    assert set(per_item.values()) == {1}, "and exactly one"
    for judgment in run.judgments.all():
        if judgment.error_kind:
            assert judgment.score is None and not judgment.malformed and judgment.error_message
        elif judgment.malformed:
            assert judgment.score is None and judgment.raw_output
        else:
            assert run.project.scale_min <= judgment.score <= run.project.scale_max
    progress = run_progress(run)
    assert progress["done"] == progress["total"] == len(expected)
    assert progress["scored"] + progress["malformed"] + progress["errors"] == progress["done"]
    assert sum(progress["errors_by_kind"].values()) == progress["errors"]
    recorded = dict(run.judgments.exclude(error_kind="").values_list("error_kind").annotate(n=Count("id")))
    assert {Judgment.ErrorKind(k).label: n for k, n in recorded.items()} == progress["errors_by_kind"]
    return progress


def test_with_20_percent_faults_every_item_ends_with_one_judgment_or_one_recorded_error(
    judge_env, sim_server, celery_worker_process, demo_project
):
    server = sim_server(latency_ms=10, seed=4, **FAULTS_20)
    run = _start(demo_project, _http_endpoint(server))

    run = wait_for(lambda: _finished(run), timeout=180, what="the judge run")

    assert run.status == "done"
    _assert_one_outcome_per_item_and_counts_add_up(run)
    stats = server.stats()
    assert min(stats["429"], stats["5xx"], stats["timeout"], stats["malformed_body"]) > 0, stats
    assert 0.12 < 1 - stats["ok"] / stats["requests"] < 0.28, stats
    # Faults were retried, and every HTTP request is one attempt of one judgment: no hidden retries.
    assert run.judgments.filter(attempts__gt=1).exists()
    assert run.judgments.aggregate(n=Sum("attempts"))["n"] == stats["requests"]


def test_a_resume_after_faults_calls_the_model_only_for_the_items_that_failed(
    one_attempt, sim_server, celery_worker_process, demo_project
):
    server = sim_server(seed=9, **FAULTS_20)
    run = _start(demo_project, _http_endpoint(server))
    run = wait_for(lambda: _finished(run), timeout=180, what="the judge run")
    first = _assert_one_outcome_per_item_and_counts_add_up(run)
    assert first["errors"] > 20 and len(first["errors_by_kind"]) >= 3, first
    settled = {
        j.pk: (j.item_id, j.score, j.malformed, j.raw_output) for j in run.judgments.filter(error_kind="")
    }
    requests_before = server.stats()["requests"]

    runs.judge_run_resume(run=run)
    run = wait_for(lambda: _finished(run), timeout=180, what="the resumed run")

    second = _assert_one_outcome_per_item_and_counts_add_up(run)
    assert server.stats()["requests"] - requests_before == first["errors"], "only the failed items"
    assert second["errors"] < first["errors"]
    again = {
        j.pk: (j.item_id, j.score, j.malformed, j.raw_output) for j in run.judgments.filter(pk__in=settled)
    }
    assert again == settled, "what was settled is untouched"


def test_a_worker_killed_mid_run_then_resumed_on_a_new_worker_loses_and_duplicates_nothing(
    judge_env, monkeypatch, sim_server, start_celery_worker, demo_project, client_for, lead
):
    server = sim_server(latency_ms=100, seed=2, **FAULTS_20)
    run = _start(demo_project, _http_endpoint(server))
    worker = start_celery_worker()
    wait_for(lambda: _judged(run, 40), timeout=120, what="the first judgments")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    before_kill = {j.pk: (j.item_id, j.score, j.error_kind) for j in run.judgments.all()}
    run.refresh_from_db()
    assert run.status == "running" and len(before_kill) < run.total_items

    # No worker reports on the run any more: after a while its page says so and offers to resume.
    monkeypatch.setattr(runs, "STALE_AFTER_S", 1.0)
    time.sleep(runs.HEARTBEAT_S + 1.5)
    page = client_for(lead).get(reverse("judging:run", args=[run.pk]))
    assert b"No worker has reported on this run" in page.content
    assert reverse("judging:run_resume", args=[run.pk]).encode() in page.content

    start_celery_worker()
    client_for(lead).post(reverse("judging:run_resume", args=[run.pk]))
    run = wait_for(lambda: _finished(run), timeout=180, what="the resumed run")

    assert run.status == "done"
    _assert_one_outcome_per_item_and_counts_add_up(run)
    kept = {j.pk: (j.item_id, j.score, j.error_kind) for j in run.judgments.filter(pk__in=before_kill)}
    settled_before = {pk: v for pk, v in before_kill.items() if not v[2]}
    assert {pk: kept[pk] for pk in settled_before} == settled_before, (
        "nothing judged before the kill was lost"
    )


def test_cancel_stops_a_running_run_within_seconds(
    judge_env, sim_server, celery_worker_process, demo_project, client_for, lead
):
    server = sim_server(latency_ms=200)
    run = _start(demo_project, _http_endpoint(server, concurrency=4))
    wait_for(lambda: _judged(run, 8), timeout=120, what="the first judgments")

    client_for(lead).post(reverse("judging:run_cancel", args=[run.pk]))
    cancelled_at = time.monotonic()
    run = wait_for(lambda: _finished(run), timeout=10, interval=0.1, what="the cancelled run")
    stopped_after = time.monotonic() - cancelled_at

    assert run.status == "cancelled"
    assert stopped_after < 3, stopped_after
    judged = run.judgments.count()
    requests = server.stats()["requests"]
    time.sleep(1.5)
    assert run.judgments.count() == judged < run.total_items
    assert server.stats()["requests"] == requests, "no call after the run stopped"


def test_two_workers_together_keep_within_the_endpoints_concurrency(
    judge_env, sim_server, start_celery_worker, demo_project
):
    Item.objects.bulk_create(
        Item(
            project=demo_project, external_id=f"extra-{s.id}", query=s.query, document=s.document, split="dev"
        )
        for s in sample_items(runs.CHUNK_SIZE + 50, seed=8)
    )
    server = sim_server(latency_ms=100)
    start_celery_worker()
    start_celery_worker()
    run = _start(demo_project, _http_endpoint(server, concurrency=4), item_set="unlabeled")
    assert run.total_items > runs.CHUNK_SIZE, "two chunks at least, one for each worker"

    run = wait_for(lambda: _finished(run), timeout=180, what="the judge run")

    assert run.status == "done"
    _assert_one_outcome_per_item_and_counts_add_up(run)
    assert server.stats()["max_in_flight"] <= 4, server.stats()
    assert not run.endpoint.leases.exists()
