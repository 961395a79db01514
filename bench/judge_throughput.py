"""Judge throughput: 1,000 items through a Celery worker → DSPy → LiteLLM → HTTP → serve_sim_llm at
100 ms latency with endpoint concurrency 16, against the limit 16 / 0.1 s = 160 items/s, with one worker
process and then with two (they share the endpoint's concurrency through its leases); and, in the same
run and against the same server, dspy.Evaluate(num_threads=16) over the same judge program, warmed up in
its process as the worker is, and bare dspy.Predict calls (the judge program, 16 threads, no database)
whose CPU per item, next to the worker's, says what Flywheel adds per item.

    .venv/bin/python bench/judge_throughput.py            # SQLite + filesystem broker (throwaway)
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… .venv/bin/python bench/judge_throughput.py

Options: --items N (1000), --latency-ms (100), --concurrency (16), --workers (2: the most worker
processes of the last run), --profile N (profile judging N items in this process, with the worker's
code, and print where its CPU goes)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - the path above first
    cpu_seconds,
    make_project,
    purge_queue,
    start_sim_server,
    start_worker,
    throwaway_django,
    wait_until_finished,
)

KEY_ENV = "BENCH_SIM_API_KEY"


def flywheel_run(endpoint, version, *, timeout: float, item_set: str = "unlabeled") -> tuple[float, object]:
    from judging.runs import judge_run_start

    started = time.monotonic()
    run = judge_run_start(prompt_version=version, endpoint=endpoint, item_set=item_set, force_fresh=True)
    run = wait_until_finished(run, timeout=timeout)
    return time.monotonic() - started, run


def evaluate_run(project, endpoint, version, *, threads: int, limit: int | None = None) -> tuple[float, int]:
    """dspy.Evaluate over the same program (judge_program), LM (endpoint_lm) and adapter (the first
    `limit` items only, for a warm-up)."""
    import logging

    import dspy

    from judging.program import endpoint_lm, judge_adapter, judge_program

    # Evaluate logs every malformed output at ERROR (a quarter of sim/judge-small's); the worker does not.
    logging.getLogger("dspy.utils.parallelizer").setLevel(logging.CRITICAL)
    logging.getLogger("dspy.evaluate.evaluate").setLevel(logging.WARNING)

    program = judge_program(project=project, prompt_version=version)
    devset = [
        dspy.Example(query=q, document=d).with_inputs("query", "document")
        for q, d in project.items.order_by("id").values_list("query", "document")[:limit]
    ]
    evaluate = dspy.Evaluate(
        devset=devset,
        metric=lambda example, prediction, trace=None: 1.0,
        num_threads=threads,
        display_progress=False,
        max_errors=len(devset) + 1,  # malformed outputs raise; they must not stop the evaluation
        provide_traceback=False,
    )
    with dspy.context(lm=endpoint_lm(endpoint), adapter=judge_adapter()):
        started = time.monotonic()
        result = evaluate(program)
        elapsed = time.monotonic() - started
    answered = sum(1 for _, prediction, _ in result.results if prediction)
    return elapsed, answered


def bare_predict_cpu(project, endpoint, version, *, threads: int) -> tuple[float, float, int]:
    """The judge program called bare (dspy.Predict through the same LM and adapter, `threads` at once,
    nothing saved): wall seconds, CPU seconds of this process, and items, after a warm-up of its own."""
    from concurrent.futures import ThreadPoolExecutor

    import dspy
    from dspy.utils.exceptions import AdapterParseError

    from judging.program import endpoint_lm, judge_adapter, judge_program

    program = judge_program(project=project, prompt_version=version)
    lm, adapter = endpoint_lm(endpoint), judge_adapter()
    items = list(project.items.order_by("id").values_list("query", "document"))

    def call(item: tuple[str, str]) -> None:
        with dspy.context(lm=lm, adapter=adapter):
            try:
                program(query=item[0], document=item[1])
            except AdapterParseError:
                pass  # a malformed output: the call was made all the same

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(call, items[: 2 * threads]))  # warm-up
        started, cpu = time.monotonic(), time.process_time()
        list(pool.map(call, items))
        return time.monotonic() - started, time.process_time() - cpu, len(items)


def profile_flywheel(project, endpoint, version, *, items: int, top: int = 25) -> None:
    """Judge `items` items in this process with the worker's own code (judge_run_execute: chunks, leases,
    saves) under cProfile, and print where the CPU goes."""
    import cProfile
    import pstats

    from judging.models import JudgeRun
    from judging.runs import judge_run_execute, judge_run_start

    # Bare calls first: they warm DSPy and LiteLLM up in this process (the first call costs seconds).
    _, bare_cpu, bare_items = bare_predict_cpu(project, endpoint, version, threads=16)
    print(f"  bare dspy.Predict in this process: {1000 * bare_cpu / bare_items:.2f} ms CPU per item")
    ids = list(project.items.order_by("id").values_list("id", flat=True)[:items])
    project.items.exclude(id__in=ids).update(split="train")
    project.items.filter(id__in=ids).update(split="dev")
    run = judge_run_start(
        prompt_version=version, endpoint=endpoint, item_set="dev", force_fresh=True, enqueue=False
    )
    # The chunk's own thread does the bookkeeping (saves, leases, polls); its pool threads make the calls
    # (judge_item around dspy.Predict). cProfile sees the first only.
    profiler = cProfile.Profile(time.thread_time)
    cpu, own = time.process_time(), time.thread_time()
    profiler.runcall(judge_run_execute, run=run)
    cpu, own = time.process_time() - cpu, time.thread_time() - own
    run = JudgeRun.objects.get(pk=run.pk)
    judged = run.judgments.count()
    print(
        f"  profile: {judged} items judged here with the worker's code: {1000 * cpu / judged:.2f} ms CPU per "
        f"item, of which {1000 * own / judged:.2f} ms in the chunk's own thread (saves, leases, polls) and "
        f"{1000 * (cpu - own) / judged:.2f} ms in its calling threads (judge_item around dspy.Predict)"
    )

    stats = pstats.Stats(profiler)
    if top >= 20:
        stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats("judging/|labeling/", top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the last run (they share the endpoint)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile judging N items here")
    args = parser.parse_args()

    import os

    os.environ[KEY_ENV] = "sim"
    # The endpoint names this variable: allow it, for this process and the workers it starts.
    os.environ["FLYWHEEL_KEY_ENVS"] = KEY_ENV
    where = throwaway_django("throughput")
    purge_queue()
    server, api_base = start_sim_server("--latency-ms", str(args.latency_ms))
    project, endpoint, version = make_project(
        args.items,
        {
            "name": "sim/judge-small over HTTP",
            "model": "openai/sim/judge-small",
            "api_base": api_base,
            "api_key_env": KEY_ENV,
            "concurrency": args.concurrency,
        },
    )
    limit = args.concurrency / (args.latency_ms / 1000)
    print(f"judge throughput: {args.items} items, {args.latency_ms:.0f} ms latency, ", end="")
    print(f"concurrency {args.concurrency}, 1 to {args.workers} worker process(es)")
    print(f"  on {where}; sim server at {api_base}")
    print(f"  limit = {args.concurrency} / {args.latency_ms / 1000:g} s = {limit:.0f} items/s")
    if args.profile:
        profile_flywheel(project, endpoint, version, items=args.profile)
        return

    workers = [start_worker()]
    # Warm-up: the worker imports DSPy/LiteLLM and opens its connections before the clock starts.
    flywheel_run(endpoint, version, timeout=300, item_set="test")
    project.judge_runs.all().delete()

    cpu = cpu_seconds(workers[0].pid), cpu_seconds(server.pid)
    elapsed, run = flywheel_run(endpoint, version, timeout=600)
    worker_cpu = cpu_seconds(workers[0].pid) - cpu[0]
    server_cpu = cpu_seconds(server.pid) - cpu[1]
    judged = run.judgments.count()
    rate = judged / elapsed
    print(
        f"  Flywheel, 1 worker (worker → DSPy → LiteLLM → HTTP): {judged} items in {elapsed:.2f} s = "
        f"{rate:.1f} items/s, ratio to limit {rate / limit:.2f}"
    )
    print(
        f"    CPU per item: worker {1000 * worker_cpu / judged:.2f} ms (one process's ceiling at that cost: "
        f"{judged / worker_cpu:.0f} items/s), sim server {1000 * server_cpu / judged:.1f} ms"
    )

    bare_elapsed, bare_cpu, bare_items = bare_predict_cpu(
        project, endpoint, version, threads=args.concurrency
    )
    print(
        f"  bare dspy.Predict ({args.concurrency} threads, no database, warmed up, this process): "
        f"{bare_items} items in {bare_elapsed:.2f} s, CPU per item {1000 * bare_cpu / bare_items:.2f} ms"
    )
    added = 1000 * (worker_cpu / judged - bare_cpu / bare_items)
    print(f"  Flywheel adds {added:.2f} ms of CPU per item over bare dspy.Predict (aim <= 1 ms)")

    if args.workers > 1:
        workers += [start_worker() for _ in range(args.workers - 1)]
        project.judge_runs.all().delete()
        # Every worker warms up too: the train split is several chunks, and a worker takes one at a time
        # (prefetch 1), so each gets one.
        flywheel_run(endpoint, version, timeout=300, item_set="train")
        project.judge_runs.all().delete()
        cpu = sum(cpu_seconds(w.pid) for w in workers)
        elapsed, run = flywheel_run(endpoint, version, timeout=600)
        workers_cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu
        judged = run.judgments.count()
        many_rate = judged / elapsed
        print(
            f"  Flywheel, {args.workers} workers: {judged} items in {elapsed:.2f} s = {many_rate:.1f} "
            f"items/s, ratio to limit {many_rate / limit:.2f} (aim >= 0.9); CPU per item "
            f"{1000 * workers_cpu / judged:.2f} ms"
        )

    evaluate_run(project, endpoint, version, threads=args.concurrency, limit=4 * args.concurrency)  # warm-up
    cpu = time.process_time(), cpu_seconds(server.pid)
    ev_elapsed, answered = evaluate_run(project, endpoint, version, threads=args.concurrency)
    ev_cpu, server_cpu = time.process_time() - cpu[0], cpu_seconds(server.pid) - cpu[1]
    ev_rate = args.items / ev_elapsed
    print(
        f"  dspy.Evaluate(num_threads={args.concurrency}), warmed up: {args.items} items in "
        f"{ev_elapsed:.2f} s = {ev_rate:.1f} items/s, ratio to limit {ev_rate / limit:.2f} "
        f"({answered} parsed)"
    )
    print(
        f"    CPU per item: evaluating process {1000 * ev_cpu / args.items:.2f} ms, "
        f"sim server {1000 * server_cpu / args.items:.1f} ms"
    )
    print(f"  Flywheel (1 worker) / Evaluate = {rate / ev_rate:.2f}")
    if added > 1 or (args.workers > 1 and many_rate / limit < 0.9):
        print("  where the time goes (an aim is missed): a short profile of the worker's code here")
        profile_flywheel(project, endpoint, version, items=min(300, args.items), top=12)
    purge_queue()


if __name__ == "__main__":
    main()
