"""What the judge benchmarks share: a throwaway database and broker, a Celery worker process, the sim
LLM server as its own process, and a project of generated items. Nothing here touches a user's data.

Import `throwaway_django()` first, before anything that imports Django models."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def throwaway_django(label: str) -> str:
    """Point Django at a database and broker of our own, migrate, and return a description of them.

    DATABASE_URL=postgres://… → a new database on that server, dropped at exit; otherwise SQLite in a
    temporary folder. CELERY_BROKER_URL=redis://… → that broker with a queue of our own; otherwise the
    filesystem broker in the temporary folder."""
    var_dir = tempfile.mkdtemp(prefix=f"flywheel-bench-{label}-")
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    os.environ["FLYWHEEL_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"flywheel-bench-{label}-{os.getpid()}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"flywheel_bench_{label}_{os.getpid()}".replace("-", "_")
        admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))  # the server's own database
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_database, admin_url, name)
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        where = f"PostgreSQL (throwaway database {name})"
    else:
        os.environ.pop("DATABASE_URL", None)
        where = f"SQLite in {var_dir}"
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return f"{where}; broker {broker.split('@')[-1]} (queue {os.environ['CELERY_TASK_DEFAULT_QUEUE']})"


def purge_queue() -> None:
    from django.conf import settings

    from config.celery import app

    with app.connection_for_write() as conn:
        for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, *settings.FLYWHEEL_QUEUES.values()):
            conn.default_channel.queue_declare(queue=queue, durable=True)
            conn.default_channel.queue_purge(queue)
            if settings.CELERY_BROKER_URL.startswith("redis://"):
                conn.default_channel.queue_delete(queue)


def start_worker(*extra: str) -> subprocess.Popen:
    """A Celery worker on our database and queue (one process, as `celery worker --pool solo`). Its
    output (DSPy logs every malformed output of a search) goes to a file, shown only if it fails."""
    from django.conf import settings

    env = {**os.environ}
    if "DATABASE_URL" not in env:
        env["DATABASE_URL"] = f"sqlite:///{settings.DATABASES['default']['NAME']}"
    log = tempfile.NamedTemporaryFile(prefix="flywheel-bench-worker-", suffix=".log", delete=False)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", *extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    atexit.register(_report_worker, worker, Path(log.name))
    atexit.register(stop_process, worker)  # atexit runs last-registered first: stop, then report
    return worker


def _report_worker(worker: subprocess.Popen, log: Path) -> None:
    if worker.returncode not in (0, None):
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print(f"worker exited with {worker.returncode}; the end of its log ({log}):", *tail, sep="\n")
    else:
        log.unlink(missing_ok=True)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def start_sim_server(*flags: str) -> tuple[subprocess.Popen, str]:
    """`manage.py serve_sim_llm` in its own process (so it never shares a GIL with what is measured);
    returns it with its /v1 base URL."""
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_sim_llm", "--port", "0", *flags],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(stop_process, server)
    for line in server.stdout:
        if line.startswith("port="):
            return server, f"http://127.0.0.1:{int(line.split('=', 1)[1])}/v1"
    raise RuntimeError("serve_sim_llm did not start")


def make_project(n_items: int, endpoint_kwargs: dict):
    """A project of n generated, unlabeled items, an endpoint and a prompt version for it."""
    from judging.demo import demo_data
    from judging.models import ModelEndpoint, PromptVersion
    from judging.sim.samples import sample_items
    from labeling.models import Item, Project, split_for

    project = Project.objects.create(name="Bench", slug=f"bench-{os.getpid()}", rubric=demo_data.DEMO_RUBRIC)
    Item.objects.bulk_create(
        [
            Item(project=project, external_id=s.id, query=s.query, document=s.document, split=split_for(s.id))
            for s in sample_items(n_items, seed=1)
        ],
        batch_size=1000,
    )
    endpoint = ModelEndpoint.objects.create(**endpoint_kwargs)
    version = PromptVersion.objects.create(
        project=project, target_model=endpoint, instructions=demo_data.BASELINE_JUDGE_INSTRUCTIONS
    )
    return project, endpoint, version


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_finished(run, *, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(interval)
    raise TimeoutError(
        f"judge run #{run.pk} not finished after {timeout:.0f}s ({run.judgments.count()} judged)"
    )
