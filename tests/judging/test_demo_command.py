"""`manage.py demo`: what it prints is true in each mode, and Ctrl-C stops the app and the worker cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from judging.management.commands import demo as demo_command
from labeling.models import Project

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def seed_only(db, settings, tmp_path, monkeypatch):
    """Runs `demo --no-serve` with its var folder in tmp_path and no local model; returns the output."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(demo_command, "demo_local_model_register", lambda project: None)

    def run() -> str:
        out = StringIO()
        call_command("demo", "--no-serve", stdout=out)
        return out.getvalue()

    return run


def test_seeding_without_serving_never_asks_for_ctrl_c_nor_gives_a_url_that_nothing_serves(seed_only):
    output = seed_only()

    assert "Ctrl-C" not in output
    assert "http://" not in output.replace("http://127.0.0.1:8191", "")  # the local model's probe is fine
    assert "not served" in output


def test_seeding_says_where_the_accounts_really_went(seed_only, tmp_path):
    output = seed_only()

    accounts = json.loads((tmp_path / "demo_accounts.json").read_text())
    assert f"kept in {tmp_path / 'demo_accounts.json'}" in output
    assert "var/demo_accounts.json" not in output
    for username, password in accounts.items():
        assert f"{username:<10} {password}" in output


def test_a_second_seeding_prints_the_same_passwords(seed_only):
    assert seed_only() == seed_only()


def test_serving_on_a_taken_port_says_so_before_seeding_anything(db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(CommandError, match=f"127.0.0.1:{port} is taken.*--port"):
            call_command("demo", "--port", str(port), stdout=StringIO())

    assert not Project.objects.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_with_exit_0_and_no_error_in_its_output(tmp_path):
    port = _free_port()
    # The embedded default in a throwaway folder: the demo's own SQLite and filesystem broker.
    unset = ("DATABASE_URL", "CELERY_BROKER_URL", "FLYWHEEL_VERBOSE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "FLYWHEEL_VAR_DIR": str(tmp_path)}
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        # Its own process group, as a terminal's foreground job is: Ctrl-C signals the whole group.
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            login = f"http://127.0.0.1:{port}/login/"
            deadline = time.monotonic() + 120
            while not _answers(login) and demo.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _answers(login), log.read_text()
            _wait_for_line(log, "celery@", "ready.", process=demo)  # the worker and its beat are up too

            os.killpg(demo.pid, signal.SIGINT)
            returncode = demo.wait(timeout=60)
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
    output = log.read_text()

    assert returncode == 0, output
    assert "Stopping: the worker finishes the task at hand" in output
    assert "Stopped the app and the worker." in output
    assert "ERROR" not in output, output
    assert "Traceback" not in output, output
    assert not _answers(login)
    assert '"GET /login/' not in output  # no access log line per request unless FLYWHEEL_VERBOSE=1


def _wait_for_line(log: Path, *parts: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(all(part in line for part in parts) for line in log.read_text().splitlines()):
            return
        time.sleep(0.5)
    raise AssertionError(f"no line with {parts} in the demo's output:\n{log.read_text()}")
