"""`make demo`: migrate, seed the demo project, then serve the web app and a Celery worker until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.env import flywheel_verbose
from judging.demo import demo_accounts_ensure, demo_local_model_register, demo_seed
from judging.local_model import LOCAL_API_BASE

# How long Ctrl-C waits for the web app and for the worker's task at hand before killing them.
STOP_TIMEOUT_S = 20


class Command(BaseCommand):
    help = "Seed the demo project and run the web app and a worker on the embedded default."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Seed and print the accounts, then exit.")

    def handle(self, *args, host: str, port: int, no_serve: bool, **options) -> None:
        if not no_serve and not _port_free(host, port):
            raise CommandError(
                f"{host}:{port} is taken (another demo?): `manage.py demo --port N` or "
                f"`make demo DEMO_ARGS='--port N'` serves on another port."
            )
        call_command("migrate", interactive=False, verbosity=0)
        seeded = demo_seed()
        accounts_path = settings.VAR_DIR / "demo_accounts.json"
        accounts = demo_accounts_ensure(path=accounts_path)
        local = demo_local_model_register(project=seeded.project)

        url = f"http://{host}:{port}/"
        if no_serve:
            self.stdout.write(self.style.SUCCESS("\nFlywheel demo seeded (not served: --no-serve)."))
        else:
            self.stdout.write(self.style.SUCCESS(f"\nFlywheel demo: {url}"))
        self.stdout.write(f"Project “{seeded.project.name}”: {seeded.items} items, {seeded.labels} labels.")
        self.stdout.write(f"Accounts (passwords generated on the first run, kept in {accounts_path}):")
        for account in accounts:
            self.stdout.write(f"  {account.role:<10} {account.username:<10} {account.password}")
        if local:
            self.stdout.write(f"Local model endpoint: {local.name} at {local.api_base}.")
        else:
            self.stdout.write(f"No local model answers at {LOCAL_API_BASE} (`make local-llm` serves one).")
        if no_serve:
            self.stdout.write("`manage.py demo` without --no-serve serves the app and a worker.")
            return
        self.stdout.write("Press Ctrl-C to stop the app and the worker.\n")
        sys.exit(self._serve(host, port))

    def _serve(self, host: str, port: int) -> int:
        # The demo serves plain http: Secure cookies would never come back and nobody could log in. An
        # operator's own SECURE_COOKIES wins (e.g. the demo behind a TLS proxy).
        env = {**os.environ, "SECURE_COOKIES": os.environ.get("SECURE_COOKIES", "0")}
        # Each child leads its own process group, so stopping a group also stops what that child forked.
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                # A worker that is still exiting when this ends is killed and logged as an ERROR ("Perhaps
                # out of memory?"): on a busy machine, exiting alone took over 5 s.
                "--graceful-timeout",
                "15",
                # A line per request is a line a second while a run page polls: FLYWHEEL_VERBOSE=1 only.
                *(["--access-logfile", "-"] if flywheel_verbose() else []),
                # gunicorn's control socket defaults to one path in $HOME: a second demo would take it over.
                "--no-control-socket",
            ],
            env=env,
            start_new_session=True,
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                # Every queue (judge chunks, optimizer runs, imports, the default one) and the beat that
                # marks runs of dead workers interrupted: one process does it all on the embedded default.
                "--queues",
                ",".join(demo_queues()),
                "--beat",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
            start_new_session=True,
        )
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and web.poll() is None and worker.poll() is None:
            time.sleep(0.3)
        if stopping:
            self.stdout.write(f"Stopping: the worker finishes the task at hand (at most {STOP_TIMEOUT_S} s)…")
        processes = {"web app": web, "worker": worker}
        crashed = [name for name, process in processes.items() if process.poll() is not None]
        # Each main process is told alone and stops its own children: signalled directly, celery's pool
        # processes would die under the worker and it would log an ERROR line for each of them.
        _signal(web, signal.SIGINT)  # gunicorn: quick shutdown
        _signal(worker, signal.SIGTERM)  # celery: warm shutdown, finishing the task at hand
        for name, process in processes.items():
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.stderr.write(
                    f"The {name} was still busy after {STOP_TIMEOUT_S} s: killed it. A run it left shows as "
                    "interrupted, and can be resumed, within a minute of the next start."
                )
            _stop_group(process, signal.SIGKILL)  # whatever a child left behind
        if crashed and not stopping:
            self.stderr.write(f"The {' and the '.join(crashed)} stopped unexpectedly; see the output above.")
            return 1
        self.stdout.write("Stopped the app and the worker.")
        return 0


def demo_queues() -> list[str]:
    return [settings.CELERY_TASK_DEFAULT_QUEUE, *settings.FLYWHEEL_QUEUES.values()]


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _signal(process: subprocess.Popen, sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)


def _stop_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
