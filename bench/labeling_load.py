"""Labeling under load on PostgreSQL: 32 simulated annotators on loopback doing "submit and next"
against the real app served by gunicorn, in two phases of one run:

1. A day of labeling: each annotator thinks 2–6 s (uniformly) before each submit. Judged by the latency
   annotators feel: p50 and p95 of submit-and-next (aim: p95 ≤ 50 ms).
2. Saturation: no think time, the server's ceiling. Judged by labels/s, labels/s per CPU of the machine
   and gunicorn CPU per label (aim ≤ 5 ms); then the same number of bare INSERTs into labeling_label
   through psycopg from as many connections, as the ceiling of the database alone.

Each annotator logs in through the login form, opens the labeling page once, then submits as the
browser does (an htmx POST with the CSRF header; the answer is the workspace with the next item).

    DATABASE_URL=postgres://… .venv/bin/python bench/labeling_load.py

Options: --annotators (32), --items (20000), --think-seconds (30: phase 1), --think (2-6: seconds before
each submit in phase 1), --seconds (15: phase 2), --labels-per-item (3), --workers (4), --threads (8).
About 70 s in all. PostgreSQL only: on SQLite it prints "skipped" and exits 0."""

from __future__ import annotations

import argparse
import atexit
import os
import random
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
    session: object = None
    page: str = ""
    submitted: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # Plain http on loopback: Secure cookies (the production default) would never come back.
    env = {**os.environ, "DB_CONN_MAX_AGE": "60", "LOG_LEVEL": "WARNING", "SECURE_COOKIES": "0"}
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


def log_in(base: str, slug: str, annotator: Annotator, *, ready: threading.Barrier) -> None:
    """One annotator's browser: log in through the form and open the labeling page."""
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
        annotator.page = session.get(f"{base}/projects/{slug}/label/").text
        annotator.session = session
    except Exception as exc:  # noqa: BLE001 - reported, and the benchmark fails on it
        annotator.errors.append(repr(exc))
        ready.abort()
        return
    ready.wait()


def annotate(
    base: str,
    slug: str,
    annotator: Annotator,
    *,
    start: threading.Barrier,
    stop_at: list[float],
    think: tuple[float, float] | None,
    seed: int,
) -> None:
    """Submit and next until the time is up, thinking `think` seconds (uniformly) before each submit."""
    rng = random.Random(seed)
    session = annotator.session
    htmx = {
        "HX-Request": "true",
        "HX-Target": "workspace",
        "HX-Current-URL": f"{base}/projects/{slug}/label/",
        "X-CSRFToken": session.cookies["csrftoken"],
    }
    start.wait()
    while time.monotonic() < stop_at[0]:
        page = annotator.page
        action, shown = _ACTION.search(page), _SHOWN.search(page)
        if action is None:  # nothing left for this annotator right now: "Check again", as the page offers
            annotator.page = session.get(f"{base}/projects/{slug}/label/", headers=htmx).text
            continue
        if think:
            pause = rng.uniform(*think)
            if time.monotonic() + pause >= stop_at[0]:
                return  # the phase ends while they think: no submit
            time.sleep(pause)
        score = 1 + annotator.submitted % 5
        began = time.perf_counter()
        response = session.post(
            base + action.group(1),
            data={"score": score, "rationale": RATIONALE, "shown": shown.group(1) if shown else ""},
            headers=htmx,
        )
        elapsed = time.perf_counter() - began
        if response.status_code != 200 or "Saved " not in response.text:
            annotator.errors.append(f"HTTP {response.status_code} on {action.group(1)}")
            annotator.page = session.get(f"{base}/projects/{slug}/label/", headers=htmx).text
            continue
        annotator.submitted += 1
        annotator.latencies.append(elapsed)
        annotator.page = response.text


@dataclass
class Phase:
    labels: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float  # of the gunicorn workers
    busy: float  # share of the machine's CPU time that was busy

    @property
    def rate(self) -> float:
        return self.labels / self.seconds

    @property
    def cpu_ms_per_label(self) -> float:
        return 1000 * self.cpu_seconds / max(self.labels, 1)


def run_phase(
    base: str, slug: str, annotators: list[Annotator], workers: list[int], *, seconds: float, think
) -> Phase:
    for annotator in annotators:
        annotator.latencies = []
    start = threading.Barrier(len(annotators) + 1)
    stop_at = [float("inf")]
    threads = [
        threading.Thread(
            target=annotate,
            args=(base, slug, a),
            kwargs={"start": start, "stop_at": stop_at, "think": think, "seed": n},
        )
        for n, a in enumerate(annotators)
    ]
    for thread in threads:
        thread.start()
    cpu, busy = sum(cpu_seconds(pid) for pid in workers), machine_busy()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = sum(cpu_seconds(pid) for pid in workers) - cpu
    busy = [after - before for after, before in zip(machine_busy(), busy, strict=True)]
    latencies = [t for a in annotators for t in a.latencies]
    return Phase(len(latencies), elapsed, latencies, cpu, busy[0] / busy[1])


def latency_line(phase: Phase) -> str:
    if len(phase.latencies) < 2:
        return "too few labels for percentiles"
    return (
        f"latency p50 {1000 * percentile(phase.latencies, 50):.0f} ms, "
        f"p95 {1000 * percentile(phase.latencies, 95):.0f} ms, max {1000 * max(phase.latencies):.0f} ms"
    )


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
    parser.add_argument("--think-seconds", type=float, default=30.0, help="phase 1: with think time")
    parser.add_argument("--think", default="2-6", help="phase 1: seconds of thought before each submit")
    parser.add_argument("--seconds", type=float, default=15.0, help="phase 2: saturation")
    parser.add_argument("--labels-per-item", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    args = parser.parse_args()
    think = tuple(float(part) for part in args.think.split("-", 1))

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("labeling under load: skipped: needs PostgreSQL (set DATABASE_URL=postgres://…)")
        return
    where = throwaway_django("labeling-load")

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.db.models import Count

    from labeling.counters import counters_counted, counters_stored
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
        f"({args.labels_per_item} labels each): {args.think_seconds:g} s thinking {args.think} s per label, "
        f"then {args.seconds:g} s of submit-and-next without a pause"
    )
    print(f"  on {where}; gunicorn {args.workers} workers × {args.threads} threads, {os.cpu_count()} CPUs")
    print(f"  load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    server, base = start_gunicorn(workers=args.workers, threads=args.threads)
    annotators = [Annotator(user.username) for user in users]
    ready = threading.Barrier(len(annotators) + 1)
    logins = [
        threading.Thread(target=log_in, args=(base, project.slug, a), kwargs={"ready": ready})
        for a in annotators
    ]
    for thread in logins:
        thread.start()
    try:
        ready.wait(timeout=300)
    except threading.BrokenBarrierError:
        stop_process(server)
        raise SystemExit(
            "an annotator could not log in: " + "; ".join(e for a in annotators for e in a.errors)
        ) from None
    workers = children_of(server.pid)

    day = run_phase(base, project.slug, annotators, workers, seconds=args.think_seconds, think=think)
    print(
        f"  1. with think time: {day.labels} labels in {day.seconds:.1f} s = {day.rate:.1f} labels/s; "
        f"{latency_line(day)} (aim: p95 ≤ 50 ms)"
    )
    print(
        f"     gunicorn CPU {day.cpu_ms_per_label:.1f} ms per label; the machine's CPUs were "
        f"{100 * day.busy:.0f}% busy"
    )
    flat = run_phase(base, project.slug, annotators, workers, seconds=args.seconds, think=None)
    stop_process(server)
    cpus = os.cpu_count() or 1
    print(
        f"  2. saturation: {flat.labels} labels in {flat.seconds:.1f} s = {flat.rate:.1f} labels/s, "
        f"{flat.rate / cpus:.1f} labels/s per CPU; {latency_line(flat)}"
    )
    print(
        f"     gunicorn CPU {flat.cpu_ms_per_label:.1f} ms per label (aim ≤ 5 ms); the machine's CPUs were "
        f"{100 * flat.busy:.0f}% busy (everything on it: app, PostgreSQL, these clients, others)"
    )
    submitted = day.labels + flat.labels
    errors = [e for a in annotators for e in a.errors]
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
    counters_right = counters_stored(project=project) == counters_counted(project=project)
    print(
        f"  in the database: {stored} labels on {items_labeled} items; "
        f"items over their target of {args.labels_per_item}: {over}; "
        f"stored counters agree with COUNT(*): {'yes' if counters_right else 'NO'}"
    )

    # The ceiling: as many single-row INSERTs as phase 2 gave, one per transaction, on untouched items.
    untouched = list(
        project.items.filter(labels__isnull=True).order_by("-id").values_list("id", flat=True)[: flat.labels]
    )
    rows = [[] for _ in users]
    for n, item_id in enumerate(untouched):
        rows[n % len(users)].append((item_id, users[n % len(users)].pk, 3, RATIONALE, 1.0))
    connection.close()
    insert_seconds = bare_inserts(os.environ["DATABASE_URL"], rows)  # throwaway_django's database
    insert_rate = len(untouched) / insert_seconds
    print(
        f"  bare INSERTs (psycopg, {len(users)} connections, one per transaction, label triggers included): "
        f"{len(untouched)} rows in {insert_seconds:.2f} s = {insert_rate:.0f} INSERTs/s"
    )
    print(f"  ratio labels/s ÷ INSERTs/s = {flat.rate / insert_rate:.3f}")
    if errors or stored != submitted or over or not counters_right:
        raise SystemExit("labels lost, failed, over target or miscounted: see above")


if __name__ == "__main__":
    main()
