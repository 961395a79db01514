"""Labeling under load on PostgreSQL: 32 simulated annotators on loopback doing "submit and next"
against the real app served by gunicorn, and, in the same run, the same number of bare INSERTs into
labeling_label through psycopg from as many connections, as the ceiling.

Each annotator logs in through the login form, opens the labeling page once, then submits as the
browser does (an htmx POST with the CSRF header; the answer is the workspace with the next item)
until the time is up. No think time: this is the server's ceiling, not a day of human labeling.

Judged by: labels/s through the app ÷ bare INSERTs/s.

    DATABASE_URL=postgres://… .venv/bin/python bench/labeling_load.py

Options: --annotators (32), --items (20000), --seconds (20), --labels-per-item (3), --workers (4),
--threads (8). PostgreSQL only: on SQLite it prints "skipped" and exits 0."""

from __future__ import annotations

import argparse
import atexit
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - the path above first
    ROOT,
    cpu_seconds,
    make_project,
    stop_process,
    throwaway_django,
)

PASSWORD = "load-test horse battery"
RATIONALE = "The document answers the query directly and in enough detail."
_ACTION = re.compile(r'id="label-form"[^>]*?\saction="([^"]+)"', re.S)
_SHOWN = re.compile(r'name="shown" value="([^"]*)"')


@dataclass
class Annotator:
    username: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DB_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    atexit.register(stop_process, server)
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login/", timeout=30).status_code == 200:
                return server, base
        except requests.RequestException:
            time.sleep(0.2)
    stop_process(server)
    raise SystemExit("gunicorn did not answer within 60 s")


def annotate(base: str, slug: str, annotator: Annotator, *, start: threading.Barrier, stop_at: list[float]):
    """One annotator's browser: log in, open the labeling page, submit and next until the time is up."""
    import requests

    session = requests.Session()
    try:
        session.get(f"{base}/login/")
        response = session.post(
            f"{base}/login/",
            data={
                "username": annotator.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "next": "",
            },
        )
        if "sessionid" not in session.cookies:
            raise RuntimeError(f"login failed for {annotator.username}: HTTP {response.status_code}")
        page = session.get(f"{base}/projects/{slug}/label/").text
    except Exception as exc:  # noqa: BLE001 - reported, and the benchmark fails on it
        annotator.errors.append(repr(exc))
        start.abort()
        return
    start.wait()
    htmx = {
        "HX-Request": "true",
        "HX-Target": "workspace",
        "HX-Current-URL": f"{base}/projects/{slug}/label/",
        "X-CSRFToken": session.cookies["csrftoken"],
    }
    while time.monotonic() < stop_at[0]:
        action, shown = _ACTION.search(page), _SHOWN.search(page)
        if action is None:  # nothing left for this annotator right now: "Check again", as the page offers
            page = session.get(f"{base}/projects/{slug}/label/", headers=htmx).text
            continue
        score = 1 + len(annotator.latencies) % 5
        began = time.perf_counter()
        response = session.post(
            base + action.group(1),
            data={"score": score, "rationale": RATIONALE, "shown": shown.group(1) if shown else ""},
            headers=htmx,
        )
        elapsed = time.perf_counter() - began
        if response.status_code != 200 or "Saved " not in response.text:
            annotator.errors.append(f"HTTP {response.status_code} on {action.group(1)}")
            page = session.get(f"{base}/projects/{slug}/label/", headers=htmx).text
            continue
        annotator.latencies.append(elapsed)
        page = response.text


def bare_inserts(db_url: str, rows_per_connection: list[list[tuple]]) -> float:
    """One autocommit INSERT per label (one transaction each, as the app commits), prepared, into
    labeling_label, from one connection per annotator; returns the seconds from first to last."""
    import psycopg

    sql = (
        "INSERT INTO labeling_label (item_id, annotator_id, score, rationale, seconds_spent, created_at, "
        "updated_at) VALUES (%s, %s, %s, %s, %s, now(), now())"
    )
    connections = [psycopg.connect(db_url, autocommit=True) for _ in rows_per_connection]
    start = threading.Barrier(len(connections) + 1)

    def insert(conn, rows):
        start.wait()
        for row in rows:
            conn.execute(sql, row, prepare=True)

    threads = [
        threading.Thread(target=insert, args=(conn, rows))
        for conn, rows in zip(connections, rows_per_connection, strict=True)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for conn in connections:
        conn.close()
    return elapsed


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    return found


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far (Linux /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--labels-per-item", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("labeling under load: skipped: needs PostgreSQL (set DATABASE_URL=postgres://…)")
        return
    where = throwaway_django("labeling-load")

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.db.models import Count

    from labeling.models import Label
    from labeling.roles import ANNOTATOR, membership_set

    project, _, _ = make_project(args.items, {"name": "sim/judge-small", "model": "sim/judge-small"})
    project.labels_per_item = args.labels_per_item
    project.save(update_fields=["labels_per_item"])
    password = make_password(PASSWORD)  # hashed once: 32 hashes would only slow the set-up
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"annotator{i:02d}", password=password) for i in range(args.annotators)]
    )
    for user in users:
        membership_set(project=project, user=user, role=ANNOTATOR)

    print(
        f"labeling under load: {args.annotators} annotators, {args.items} items "
        f"({args.labels_per_item} labels each), {args.seconds:g} s of submit-and-next"
    )
    print(f"  on {where}; gunicorn {args.workers} workers × {args.threads} threads, {os.cpu_count()} CPUs")
    server, base = start_gunicorn(workers=args.workers, threads=args.threads)
    annotators = [Annotator(user.username) for user in users]
    start = threading.Barrier(len(annotators) + 1)
    stop_at = [float("inf")]
    threads = [
        threading.Thread(
            target=annotate, args=(base, project.slug, a), kwargs={"start": start, "stop_at": stop_at}
        )
        for a in annotators
    ]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=300)
    except threading.BrokenBarrierError:
        stop_process(server)
        raise SystemExit(
            "an annotator could not log in: " + "; ".join(e for a in annotators for e in a.errors)
        ) from None
    workers = children_of(server.pid)
    cpu, busy = sum(cpu_seconds(pid) for pid in workers), machine_busy()
    began = time.perf_counter()
    stop_at[0] = time.monotonic() + args.seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = sum(cpu_seconds(pid) for pid in workers) - cpu
    busy = [after - before for after, before in zip(machine_busy(), busy, strict=True)]
    stop_process(server)

    latencies = [t for a in annotators for t in a.latencies]
    errors = [e for a in annotators for e in a.errors]
    submitted = len(latencies)
    rate = submitted / elapsed
    print(
        f"  Flywheel (login form, then htmx submit-and-next): {submitted} labels in {elapsed:.2f} s = "
        f"{rate:.1f} labels/s; latency p50 {1000 * percentile(latencies, 50):.0f} ms, "
        f"p95 {1000 * percentile(latencies, 95):.0f} ms, max {1000 * max(latencies):.0f} ms"
    )
    print(
        f"    gunicorn CPU {1000 * cpu / max(submitted, 1):.0f} ms per label; the machine's CPUs were "
        f"{100 * busy[0] / busy[1]:.0f}% busy (everything on it: app, PostgreSQL, these clients, others)"
    )
    if errors:
        print(f"  {len(errors)} failed requests, e.g. {errors[:3]}")

    stored = Label.objects.filter(item__project=project).count()
    over = (
        Label.objects.filter(item__project=project)
        .values("item")
        .annotate(n=Count("id"))
        .filter(n__gt=args.labels_per_item)
        .count()
    )
    items_labeled = Label.objects.filter(item__project=project).values("item").distinct().count()
    print(
        f"  in the database: {stored} labels on {items_labeled} items; "
        f"items over their target of {args.labels_per_item}: {over}"
    )

    # The ceiling: as many single-row INSERTs, one per transaction, on items nobody labeled yet.
    untouched = list(
        project.items.filter(labels__isnull=True).order_by("-id").values_list("id", flat=True)[:submitted]
    )
    rows = [[] for _ in users]
    for n, item_id in enumerate(untouched):
        rows[n % len(users)].append((item_id, users[n % len(users)].pk, 3, RATIONALE, 1.0))
    connection.close()
    insert_seconds = bare_inserts(os.environ["DATABASE_URL"], rows)  # throwaway_django's database
    insert_rate = len(untouched) / insert_seconds
    print(
        f"  bare INSERTs (psycopg, {len(users)} connections, one per transaction): {len(untouched)} rows in "
        f"{insert_seconds:.2f} s = {insert_rate:.0f} INSERTs/s"
    )
    print(f"  ratio labels/s ÷ INSERTs/s = {rate / insert_rate:.3f}")
    if errors or stored != submitted or over:
        raise SystemExit("labels lost, failed or over target: see above")


if __name__ == "__main__":
    main()
