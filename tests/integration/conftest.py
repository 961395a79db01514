"""A real Celery worker process on the configured broker and the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from judging.models import ModelEndpoint
from judging.sim.server import SimServer

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def all_queues() -> list[str]:
    """The test deployment's queues: the default one (liveness) and one per kind of work."""
    return [settings.CELERY_TASK_DEFAULT_QUEUE, *settings.FLYWHEEL_QUEUES.values()]


def _purge_test_queue() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in all_queues():
            conn.default_channel.queue_declare(queue=queue, durable=True)
            conn.default_channel.queue_purge(queue)
        channel = conn.default_channel
        if hasattr(channel, "unacked_key"):
            # Redis keeps the tasks of a killed worker aside and hands them back an hour later, to
            # whichever test runs then: a chunk of a run id that a later test database reuses.
            with channel.conn_or_acquire() as client:
                client.delete(channel.unacked_key, channel.unacked_index_key)


def _start_worker(
    log_mode: str = "w", *, queues: list[str] | None = None, beat: bool = False
) -> tuple[subprocess.Popen, object]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    log = open(settings.TEST_VAR_DIR / "worker.log", log_mode)  # noqa: SIM115 - closed by _stop_worker
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "-Q",
            ",".join(queues or all_queues()),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *(["--beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME] if beat else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return worker, log


def _stop_worker(worker: subprocess.Popen, log) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    log.close()


@pytest.fixture
def celery_worker_process(transactional_db):
    """Yields a running worker; the test's committed rows are visible to it."""
    _purge_test_queue()
    worker, log = _start_worker()
    try:
        yield worker
    finally:
        _stop_worker(worker, log)


@pytest.fixture
def start_celery_worker(transactional_db):
    """Starts a worker each time it is called (one log for all); all are stopped at the end. For tests
    that kill a worker and start another; `queues` limits it to some queues, `beat` embeds Celery beat
    (the liveness check)."""
    _purge_test_queue()
    started = []

    def start(*, queues: list[str] | None = None, beat: bool = False) -> subprocess.Popen:
        started.append(_start_worker("a" if started else "w", queues=queues, beat=beat))
        return started[-1][0]

    try:
        yield start
    finally:
        for worker, log in started:
            _stop_worker(worker, log)


@pytest.fixture
def fast_liveness(monkeypatch, settings):
    """Liveness in seconds rather than a minute, for the workers started after it and for this process:
    a run is interrupted 3 s after its worker's last beat (checked every second), and a dead chunk's
    lease on its items ends after 3 s."""
    values = {"BACKGROUND_STALE_AFTER_S": 3, "BACKGROUND_LIVENESS_EVERY_S": 1, "JUDGE_CHUNK_LEASE_S": 3}
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
        setattr(settings, name, value)
    return values


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


def http_endpoint(server: SimServer, concurrency: int = 8) -> ModelEndpoint:
    return ModelEndpoint.objects.create(
        name="sim/judge-small over HTTP",
        model="openai/sim/judge-small",
        api_base=server.url + "/v1",
        api_key_env=KEY_ENV,
        concurrency=concurrency,
    )


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    log = (settings.TEST_VAR_DIR / "worker.log").read_text()[-3000:]
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}. Worker log tail:\n{log}")
