"""The broker restarted in the middle of a judge run: a private redis-server (never the machine's shared
one), a real worker on it, a run over HTTP to the sim server; the broker dies, comes back empty, and a
resume finishes the run with every item judged exactly once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from django.db.models import Count

from judging import runs
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.selectors import run_progress
from judging.sim.samples import sample_items
from judging.sim.server import SimServer
from labeling import lifecycle
from labeling.models import Item, split_for
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

KEY_ENV = "SIMLLM_API_KEY"  # allowed in config.test_settings
ITEMS = 800


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """redis-server on a port of its own, keeping nothing on disk: a restart empties it, as a broker
    host that reboots without persistence would."""

    def __init__(self, folder):
        self.port = _free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_broker(tmp_path, settings):
    """A private Redis as the broker of this test and of the workers it starts."""
    if shutil.which("redis-server") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed")
        pytest.skip("needs redis-server")
    from config.celery import app

    redis = PrivateRedis(tmp_path)
    redis.start()
    keys = ("broker_url", "broker_read_url", "broker_write_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    settings.CELERY_BROKER_URL = redis.url  # what the worker processes are given
    _use_broker(app, {**dict.fromkeys(keys[:3], redis.url), "broker_transport_options": {}})
    try:
        yield redis
    finally:
        redis.stop()
        _use_broker(app, saved)


def _use_broker(app, conf: dict) -> None:
    """Point this process's Celery app at another broker; pooled connections are forgotten (kombu's
    pools are keyed by URL, so the previous broker's pool is still there when switching back)."""
    app.conf.update(conf)
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def project_to_judge(demo_project):
    """The demo project plus ITEMS unlabeled items: several chunks of work for one run."""
    Item.objects.bulk_create(
        Item(
            project=demo_project,
            external_id=f"extra-{s.id}",
            query=s.query,
            document=s.document,
            split=split_for(s.id),
        )
        for s in sample_items(ITEMS, seed=7)
    )
    return demo_project


def _judged(run: JudgeRun, at_least: int) -> int | None:
    count = run.judgments.count()
    return count if count >= at_least else None


def _settled(run: JudgeRun, quiet_s: float = 3.0) -> int | None:
    """The judgment count once it has not moved for quiet_s: the chunk in flight has finished."""
    before = run.judgments.count()
    time.sleep(quiet_s)
    after = run.judgments.count()
    return after if after == before else None


def _finished(run: JudgeRun) -> JudgeRun | None:
    run.refresh_from_db()
    return run if run.is_finished else None


def _interrupted_by_liveness(run: JudgeRun) -> bool:
    """One pass of the periodic liveness check (the beat task's body), then: is the run interrupted?"""
    lifecycle.runs_mark_interrupted(models_=[JudgeRun])
    run.refresh_from_db()
    return run.status == "interrupted"


def test_a_broker_restarted_mid_run_loses_queued_chunks_and_a_resume_judges_each_missing_item_once(
    private_broker, fast_liveness, start_celery_worker, project_to_judge, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, "sim-key")
    server = SimServer(latency_ms=40, seed=3).start()
    try:
        endpoint = ModelEndpoint.objects.create(
            name="sim/judge-small over HTTP",
            model="openai/sim/judge-small",
            api_base=server.url + "/v1",
            api_key_env=KEY_ENV,
            concurrency=8,
        )
        version = PromptVersion.objects.get(project=project_to_judge, origin="hand-written")
        start_celery_worker()
        run = runs.judge_run_start(
            prompt_version=version, endpoint=endpoint, item_set="unlabeled", force_fresh=True
        )
        total = run.total_items
        assert total >= ITEMS > 3 * runs.CHUNK_SIZE
        wait_for(lambda: _judged(run, 60), timeout=120, what="the first judgments")

        private_broker.stop()
        time.sleep(2)
        private_broker.start()
        stranded = wait_for(lambda: _settled(run), timeout=120, what="the chunk in flight to end")

        run.refresh_from_db()
        assert run.status == "running" and stranded < total, "the queued chunks went with the broker"
        before = dict(run.judgments.values_list("pk", "item_id"))
        # Nothing works on the run any more: liveness marks it interrupted, and it can be resumed.
        wait_for(lambda: _interrupted_by_liveness(run), timeout=30, what="liveness to interrupt the run")

        runs.judge_run_resume(run=run)
        run = wait_for(lambda: _finished(run), timeout=180, what="the resumed run")

        assert run.status == "done"
        per_item = dict(run.judgments.values_list("item_id").annotate(n=Count("id")))
        expected = set(
            runs.run_items(project=run.project, item_set=run.item_set).values_list("id", flat=True)
        )
        assert set(per_item) == expected and set(per_item.values()) == {1}, "every item judged once"
        assert not run.judgments.exclude(error_kind="").exists()
        assert dict(run.judgments.filter(pk__in=before).values_list("pk", "item_id")) == before
        progress = run_progress(run)
        assert progress["done"] == progress["total"] == total
        assert progress["scored"] + progress["malformed"] == total
        assert server.stats()["requests"] == total, "the model was called once per item, no more"
    finally:
        server.stop()
