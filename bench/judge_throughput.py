"""Judge throughput: 1,000 items through a Celery worker → DSPy → LiteLLM → HTTP → serve_sim_llm at
100 ms latency with endpoint concurrency 16, against the limit 16 / 0.1 s = 160 items/s, and, in the
same run, dspy.Evaluate(num_threads=16) over the same judge program and the same server.

    .venv/bin/python bench/judge_throughput.py            # SQLite + filesystem broker (throwaway)
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… .venv/bin/python bench/judge_throughput.py

Options: --items N (1000), --latency-ms (100), --concurrency (16), --workers (1: one worker process;
with more, they share the endpoint's concurrency through its leases)."""

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


def evaluate_run(project, endpoint, version, *, threads: int) -> tuple[float, int]:
    """dspy.Evaluate over the same program (judge_program), LM (endpoint_lm) and adapter."""
    import logging

    import dspy

    from judging.program import endpoint_lm, judge_adapter, judge_program

    # Evaluate logs every malformed output at ERROR (a quarter of sim/judge-small's); the worker does not.
    logging.getLogger("dspy.utils.parallelizer").setLevel(logging.CRITICAL)
    logging.getLogger("dspy.evaluate.evaluate").setLevel(logging.WARNING)

    program = judge_program(project=project, prompt_version=version)
    devset = [
        dspy.Example(query=q, document=d).with_inputs("query", "document")
        for q, d in project.items.order_by("id").values_list("query", "document")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (they share the endpoint's concurrency)"
    )
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
    workers = [start_worker() for _ in range(args.workers)]
    limit = args.concurrency / (args.latency_ms / 1000)
    print(f"judge throughput: {args.items} items, {args.latency_ms:.0f} ms latency, ", end="")
    print(f"concurrency {args.concurrency}, {args.workers} worker process(es)")
    print(f"  on {where}; sim server at {api_base}")
    print(f"  limit = {args.concurrency} / {args.latency_ms / 1000:g} s = {limit:.0f} items/s")

    # Warm-up: the worker imports DSPy/LiteLLM and opens its connections before the clock starts.
    flywheel_run(endpoint, version, timeout=300, item_set="test")
    project.judge_runs.all().delete()

    cpu = sum(cpu_seconds(w.pid) for w in workers), cpu_seconds(server.pid)
    elapsed, run = flywheel_run(endpoint, version, timeout=600)
    worker_cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu[0]
    server_cpu = cpu_seconds(server.pid) - cpu[1]
    judged = run.judgments.count()
    rate = judged / elapsed
    print(
        f"  Flywheel (worker → DSPy → LiteLLM → HTTP): {judged} items in {elapsed:.2f} s = "
        f"{rate:.1f} items/s, ratio to limit {rate / limit:.2f}"
    )
    print(
        f"    CPU per item: workers {1000 * worker_cpu / judged:.1f} ms (one process's ceiling at that cost: "
        f"{judged / worker_cpu:.0f} items/s), sim server {1000 * server_cpu / judged:.1f} ms"
    )
    cpu = time.process_time(), cpu_seconds(server.pid)
    ev_elapsed, answered = evaluate_run(project, endpoint, version, threads=args.concurrency)
    ev_cpu, server_cpu = time.process_time() - cpu[0], cpu_seconds(server.pid) - cpu[1]
    ev_rate = args.items / ev_elapsed
    print(
        f"  dspy.Evaluate(num_threads={args.concurrency}): {args.items} items in {ev_elapsed:.2f} s = "
        f"{ev_rate:.1f} items/s, ratio to limit {ev_rate / limit:.2f} ({answered} parsed)"
    )
    print(
        f"    CPU per item: evaluating process {1000 * ev_cpu / args.items:.1f} ms, "
        f"sim server {1000 * server_cpu / args.items:.1f} ms"
    )
    print(f"  Flywheel / Evaluate = {rate / ev_rate:.2f}")
    purge_queue()


if __name__ == "__main__":
    main()
