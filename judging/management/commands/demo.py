"""`make demo`: migrate, seed the demo project, then serve the web app and a Celery worker until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from judging.demo import demo_accounts_ensure, demo_local_model_register, demo_seed
from judging.local_model import LOCAL_API_BASE


class Command(BaseCommand):
    help = "Seed the demo project and run the web app and a worker on the embedded default."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Seed and print the accounts, then exit.")

    def handle(self, *args, host: str, port: int, no_serve: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        seeded = demo_seed()
        accounts = demo_accounts_ensure(path=settings.VAR_DIR / "demo_accounts.json")
        local = demo_local_model_register(project=seeded.project)

        self.stdout.write(self.style.SUCCESS(f"\nFlywheel demo: http://{host}:{port}/"))
        self.stdout.write(f"Project “{seeded.project.name}”: {seeded.items} items, {seeded.labels} labels.")
        self.stdout.write("Accounts (passwords generated on first run, kept in var/demo_accounts.json):")
        for account in accounts:
            self.stdout.write(f"  {account.role:<10} {account.username:<10} {account.password}")
        if local:
            self.stdout.write(f"Local model endpoint: {local.name} at {local.api_base}.")
        else:
            self.stdout.write(f"No local model answers at {LOCAL_API_BASE} (`make local-llm` serves one).")
        self.stdout.write("Press Ctrl-C to stop the app and the worker.\n")
        if no_serve:
            return
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
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
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
        crashed = not stopping
        _stop_group(web, signal.SIGINT)  # gunicorn: quick shutdown
        _stop_group(worker, signal.SIGTERM)  # celery: warm shutdown, finishing the task at hand
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            _stop_group(process, signal.SIGKILL)
        if crashed:
            self.stderr.write("The web app or the worker stopped unexpectedly; see the output above.")
            return 1
        self.stdout.write("Stopped the app and the worker.")
        return 0


def demo_queues() -> list[str]:
    return [settings.CELERY_TASK_DEFAULT_QUEUE, *settings.FLYWHEEL_QUEUES.values()]


def _stop_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
