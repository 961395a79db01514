"""What Flywheel adds to a GEPA search: a Celery task, live progress, a heartbeat, candidates saved as
prompt versions with guardrails. Measured in one run against a bare dspy.GEPA compile with the same
sim models, data, metric, budget, seed and threads; rounds alternate so both see the same machine.

Judged by: Flywheel search time / bare GEPA time (aim: at most 1.10), medians of the rounds after one
untimed warm-up round of each. The search time runs from the launch (queueing included) to the end of
the search; judging base and best on the test split, which a bare compile does not do, is printed
apart. The median of each round's own ratio and the CPU seconds (worker / bare process) are printed
too: on a shared machine they are steadier than wall time.

    python bench/optimizer_overhead.py [--calls 600] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_seconds, purge_queue, start_worker, throwaway_django  # noqa: E402


def bare_gepa(project, base, target, reflector, *, calls: int, seed: int) -> float:
    import dspy

    from judging.program import endpoint_lm, judge_adapter, judge_program_for
    from optimizer.objective import objective_metric, split_examples
    from optimizer.runs import MAX_THREADS

    trainset, valset = split_examples(project, "train"), split_examples(project, "dev")
    started = time.perf_counter()
    optimizer = dspy.GEPA(
        metric=objective_metric(project=project, bullets={}),
        max_metric_calls=calls,
        reflection_lm=endpoint_lm(reflector),
        num_threads=max(1, min(target.concurrency, MAX_THREADS)),
        seed=seed,
        log_dir=tempfile.mkdtemp(prefix="bare-gepa-"),
        add_format_failure_as_feedback=True,
    )
    program = judge_program_for(
        scale_min=project.scale_min, scale_max=project.scale_max, instructions=base.instructions
    )
    with dspy.context(lm=endpoint_lm(target), adapter=judge_adapter()):
        optimizer.compile(program, trainset=trainset, valset=valset)
    return time.perf_counter() - started


def flywheel_gepa(
    project, base, target, reflector, *, calls: int, seed: int, worker_pid: int
) -> tuple[float, float, float, object]:
    """Launch to end of search (wall), the test-split judging after it, and the worker's CPU seconds
    from launch to end of search (sampled as the bench sees the search end, every 20 ms)."""
    from optimizer.models import OptimizationRun
    from optimizer.runs import optimization_run_start

    started, cpu = time.perf_counter(), cpu_seconds(worker_pid)
    run = optimization_run_start(
        project=project,
        base_version=base,
        target_endpoint=target,
        reflection_endpoint=reflector,
        max_metric_calls=calls,
        seed=seed,
    )
    search_ended = None
    while True:
        run.refresh_from_db()
        if search_ended is None and (run.base_test_run_id or run.is_finished):
            search_ended, cpu = time.perf_counter(), cpu_seconds(worker_pid) - cpu
        if run.is_finished or run.status == OptimizationRun.Status.INTERRUPTED:
            break
        time.sleep(0.02)
    if run.status != OptimizationRun.Status.DONE:
        raise SystemExit(f"run #{run.pk} ended {run.status}: {run.error}")
    return search_ended - started, time.perf_counter() - search_ended, cpu, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="metric-call budget of each search")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; the medians are compared")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    where = throwaway_django("optimizer")
    # DSPy logs as the worker does (judging.program sets its level), so both sides pay the same for it.
    from judging.demo import demo_seed
    from judging.models import ModelEndpoint, PromptVersion

    project = demo_seed().project
    target = ModelEndpoint.objects.get(model="sim/judge-small")
    reflector = ModelEndpoint.objects.get(model="sim/reflector")
    base = PromptVersion.objects.filter(project=project, target_model=target).earliest("id")
    purge_queue()
    worker = start_worker()

    print(
        f"optimizer overhead: GEPA, {args.calls} metric calls, seed {args.seed}, "
        "sim/judge-small + sim/reflector"
    )
    print(f"  {where}")
    # One untimed round of each first: the worker's first run imports the optimizer's modules and the
    # bench process's first compile warms DSPy, so neither side pays a cold start in the timed rounds.
    bare_gepa(project, base, target, reflector, calls=args.calls, seed=args.seed)
    flywheel_gepa(project, base, target, reflector, calls=args.calls, seed=args.seed, worker_pid=worker.pid)
    bare, flywheel, measuring, cpu_ratios = [], [], [], []
    for round_number in range(1, args.rounds + 1):
        cpu = time.process_time()
        bare.append(bare_gepa(project, base, target, reflector, calls=args.calls, seed=args.seed))
        bare_cpu = time.process_time() - cpu
        search, test_split, worker_cpu, run = flywheel_gepa(
            project, base, target, reflector, calls=args.calls, seed=args.seed, worker_pid=worker.pid
        )
        # CPU seconds are steadier than wall time on a shared machine.
        cpu_ratios.append(worker_cpu / bare_cpu)
        flywheel.append(search)
        measuring.append(test_split)
        print(
            f"  round {round_number}: bare dspy.GEPA {bare[-1]:.2f} s · Flywheel run #{run.pk} "
            f"{search:.2f} s ({run.metric_calls_used} calls, {run.candidates.count()} candidates, "
            f"best dev {run.best_dev_score:.3f}) · ratio {search / bare[-1]:.3f}; CPU bare {bare_cpu:.2f} s, "
            f"worker {worker_cpu:.2f} s"
        )
    bare_median, flywheel_median = statistics.median(bare), statistics.median(flywheel)
    print(f"bare dspy.GEPA compile (median of {args.rounds}): {bare_median:.2f} s")
    print(f"Flywheel GEPA run, launch to end of search (median): {flywheel_median:.2f} s")
    print(f"  + judging base and best on the test split afterwards: {statistics.median(measuring):.2f} s")
    print(f"ratio Flywheel / bare = {flywheel_median / bare_median:.3f} (aim: at most 1.10)")
    ratios = [f / b for f, b in zip(flywheel, bare, strict=True)]
    print(f"  median of the {args.rounds} rounds' own ratios: {statistics.median(ratios):.3f}")
    print(f"  CPU seconds, worker / bare, median of the rounds: {statistics.median(cpu_ratios):.3f}")


if __name__ == "__main__":
    main()
