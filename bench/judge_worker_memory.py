"""Worker memory for a 10k-item judge run on sim/judge-small (the in-process sim engine): the worker
process's peak resident set (VmHWM), before and after the run, with items/s.

    .venv/bin/python bench/judge_worker_memory.py            # SQLite + filesystem broker (throwaway)
    DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… .venv/bin/python bench/judge_worker_memory.py

Options: --items N (10000)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402 - the path above first
    make_project,
    purge_queue,
    start_worker,
    throwaway_django,
    wait_until_finished,
)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak so far) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()

    where = throwaway_django("memory")
    purge_queue()
    project, endpoint, version = make_project(
        args.items, {"name": "sim/judge-small", "model": "sim/judge-small", "concurrency": 16}
    )
    from judging.runs import judge_run_start

    worker = start_worker()
    print(
        f"judge worker memory: {args.items} items on sim/judge-small (in-process engine), one worker process"
    )
    print(f"  on {where}")
    # Warm-up on the test split: imports, the first chunk, connections; the baseline is taken after it.
    warm = judge_run_start(prompt_version=version, endpoint=endpoint, item_set="test", force_fresh=True)
    wait_until_finished(warm, timeout=600)
    warm.delete()
    baseline = memory_mb(worker.pid)

    peak_rss = 0.0
    started = time.monotonic()
    run = judge_run_start(prompt_version=version, endpoint=endpoint, item_set="unlabeled", force_fresh=True)
    while True:
        peak_rss = max(peak_rss, memory_mb(worker.pid)["VmRSS"])
        run.refresh_from_db()
        if run.is_finished:
            break
        if time.monotonic() - started > 1800:
            raise TimeoutError("the run took more than 30 minutes")
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    after = memory_mb(worker.pid)
    judged = run.judgments.count()
    print(f"  {judged} items in {elapsed:.1f} s = {judged / elapsed:.1f} items/s ({run.status})")
    print(f"  worker RSS after warm-up {baseline['VmRSS']:.0f} MB; during the run peak {peak_rss:.0f} MB")
    growth = after["VmHWM"] - baseline["VmHWM"]
    print(f"  worker peak RSS (VmHWM) {after['VmHWM']:.0f} MB; growth over the run {growth:.0f} MB")
    purge_queue()


if __name__ == "__main__":
    main()
