"""Metrics at scale: 100,000 items, two human labels each and a finished judge run with one judgment per
item (generated rows, bulk-created), then the time to compute and store the run's figures once, as its
finish does (judging.stored_metrics.judge_run_metrics_store: progress, metrics per split, their bootstrap
intervals, costs), and to render the run page of the finished run as a lead (GET /runs/<pk>/ through
Django's test client: the view, its queries and the template, without the network), which reads them.

Judged by: compute ≤ 0.5 s and the run page ≤ 150 ms (medians of --repeats; wall time, with this
process's CPU time beside it: the database's own time is in the wall figure only).

    .venv/bin/python bench/metrics_at_scale.py            # SQLite (throwaway)
    DATABASE_URL=postgres://… .venv/bin/python bench/metrics_at_scale.py

Options: --items N (100000), --labels-per-item (2), --repeats (5)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import make_project, throwaway_django  # noqa: E402 - the path above first

ANNOTATORS = 4


def fill(project, endpoint, version, *, labels_per_item: int, seed: int = 0):
    """Labels around a hidden true score, and a judge run that is off by one on about a third of the
    items and malformed on 2% of them, as a small model would be."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from judging.models import JudgeRun, Judgment
    from labeling.models import Label
    from labeling.roles import ANNOTATOR, LEAD, membership_set

    rng = random.Random(seed)
    User = get_user_model()
    annotators = [User.objects.create_user(f"annotator{i}") for i in range(ANNOTATORS)]
    for user in annotators:
        membership_set(project=project, user=user, role=ANNOTATOR)
    lead = User.objects.create_user("lead")
    membership_set(project=project, user=lead, role=LEAD)
    item_ids = list(project.items.order_by("id").values_list("id", flat=True))
    truth = {item_id: rng.randint(project.scale_min, project.scale_max) for item_id in item_ids}

    def near(score: int) -> int:
        return min(project.scale_max, max(project.scale_min, score + rng.choice((-1, 0, 0, 0, 1))))

    Label.objects.bulk_create(
        (
            Label(
                item_id=item_id,
                annotator=annotators[(n + k) % ANNOTATORS],
                score=near(truth[item_id]),
                rationale="Generated for the benchmark: the document covers most of what was asked.",
            )
            for n, item_id in enumerate(item_ids)
            for k in range(labels_per_item)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    run = JudgeRun.objects.create(
        project=project,
        prompt_version=version,
        endpoint=endpoint,
        item_set=JudgeRun.ItemSet.LABELED,
        status=JudgeRun.Status.DONE,
        total_items=len(item_ids),
        created_by=lead,
        started_at=now,
        finished_at=now,
    )
    judgments = []
    for item_id in item_ids:
        malformed = rng.random() < 0.02
        score = None if malformed else near(near(truth[item_id]))
        judgments.append(
            Judgment(
                run=run,
                item_id=item_id,
                score=score,
                malformed=malformed,
                reasoning="Generated: the document mentions the query's main terms.",
                raw_output="[[ ## score ## ]]\nfive-ish" if malformed else f"[[ ## score ## ]]\n{score}",
                input_tokens=420,
                output_tokens=60,
                latency_ms=rng.randint(80, 400),
                cache_key=f"{rng.getrandbits(128):032x}",
            )
        )
    Judgment.objects.bulk_create(judgments, batch_size=5000)
    return run, lead


COMPUTE_AIM_S = 0.5
PAGE_AIM_S = 0.150


def median_seconds(action, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of this process over the repeats."""
    times, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(times), statistics.median(cpu)


def verdict(seconds: float, aim: float) -> str:
    return "meets" if seconds <= aim else "misses"


def profile(action, top: int = 12) -> None:
    """Where the time of one call goes (--profile): the functions with the most cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(action)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def where_the_time_goes(action) -> None:
    """The closing note of a missed aim: each query's wall time (the database's share) and the rest,
    this process's Python and numpy."""
    from django.db import connection

    timed = []

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timed.append((time.perf_counter() - started, sql))

    started, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(timing):
        action()
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    in_queries = sum(seconds for seconds, _ in timed)
    print(
        f"  where the time goes: {1000 * total:.0f} ms in all, {1000 * in_queries:.0f} ms waiting on "
        f"{len(timed)} queries (the database and the transfer), {1000 * cpu:.0f} ms of this process's CPU; "
        "the queries:"
    )
    for seconds, sql in sorted(timed, reverse=True):
        print(f"    {1000 * seconds:6.0f} ms  {sql[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labels-per-item", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where computing the figures goes")
    args = parser.parse_args()

    where = throwaway_django("metrics")
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from judging.selectors import run_metrics
    from judging.stored_metrics import judge_run_metrics_store
    from labeling.models import Label

    started = time.perf_counter()
    project, endpoint, version = make_project(
        args.items, {"name": "sim/judge-small", "model": "sim/judge-small"}
    )
    run, lead = fill(project, endpoint, version, labels_per_item=args.labels_per_item)
    judgments, labels = run.judgments.count(), Label.objects.filter(item__project=project).count()
    print(f"metrics at scale: {args.items} items, {labels} labels, {judgments} judgments in one run")
    print(f"  on {where}; rows generated in {time.perf_counter() - started:.0f} s")

    judge_run_metrics_store(run=run)  # warm-up: imports, and the database's caches
    if args.profile:
        profile(lambda: judge_run_metrics_store(run=run))
    seconds, cpu = median_seconds(lambda: judge_run_metrics_store(run=run), args.repeats)
    overall = run_metrics(run)["all"]
    print(
        f"  computing the finished run's figures (once, at its finish): {1000 * seconds:.0f} ms, "
        f"{1000 * cpu:.0f} ms CPU (median of {args.repeats}); aim <= {1000 * COMPUTE_AIM_S:.0f} ms: "
        f"{verdict(seconds, COMPUTE_AIM_S)}; NMSE {overall.nmse:.2f} over {overall.valid} of {overall.items} "
        "items"
    )
    if seconds > COMPUTE_AIM_S:
        where_the_time_goes(lambda: judge_run_metrics_store(run=run))

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(lead)
    url = reverse("judging:run", kwargs={"pk": run.pk})
    response = client.get(url)
    if response.status_code != 200 or b"NMSE" not in response.content:
        raise SystemExit(f"the run page did not render its metrics: HTTP {response.status_code}")
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        client.get(url)
    seconds, cpu = median_seconds(lambda: client.get(url), args.repeats)
    print(
        f"  run page of the finished run (GET {url} as a lead, figures stored): {1000 * seconds:.0f} ms, "
        f"{1000 * cpu:.0f} ms CPU (median of {args.repeats}), {len(queries)} queries, "
        f"{len(response.content) / 1024:.0f} KiB of HTML; aim <= {1000 * PAGE_AIM_S:.0f} ms: "
        f"{verdict(seconds, PAGE_AIM_S)}"
    )


if __name__ == "__main__":
    main()
