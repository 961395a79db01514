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

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_test_queue() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, durable=True)
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
        channel = conn.default_channel
        if hasattr(channel, "unacked_key"):
            # Redis keeps the tasks of a killed worker aside and hands them back an hour later, to
            # whichever test runs then: a chunk of a run id that a later test database reuses.
            with channel.conn_or_acquire() as client:
                client.delete(channel.unacked_key, channel.unacked_index_key)


def _start_worker(log_mode: str = "w") -> tuple[subprocess.Popen, object]:
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
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
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
    that kill a worker and start another."""
    _purge_test_queue()
    started = []

    def start() -> subprocess.Popen:
        started.append(_start_worker("a" if started else "w"))
        return started[-1][0]

    try:
        yield start
    finally:
        for worker, log in started:
            _stop_worker(worker, log)


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    log = (settings.TEST_VAR_DIR / "worker.log").read_text()[-3000:]
    raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}. Worker log tail:\n{log}")
