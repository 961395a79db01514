"""The worker's log is quiet by default: no DSPy/GEPA progress bars, no DSPy warnings about its own
proposer, no line per routine task; FLYWHEEL_VERBOSE=1 brings all of it back."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from judging.models import ModelEndpoint, PromptVersion
from optimizer import runs
from optimizer.models import OptimizationRun
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

# tqdm's bars as they reach a log: "Average Metric: 2.00 / 3 (66.7%): 100%|██████| 3/3 [00:00<00:00, 9.1it/s]"
PROGRESS_BAR = re.compile(r"Average Metric|GEPA Optimization|\d+%\|")


def _optimize_with_each_search(project) -> list[OptimizationRun]:
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    base = PromptVersion.objects.filter(project=project, target_model=small).earliest("id")
    started = [
        runs.optimization_run_start(
            project=project,
            base_version=base,
            target_endpoint=small,
            reflection_endpoint=ModelEndpoint.objects.get(model="sim/reflector"),
            algorithm=algorithm,
            max_metric_calls=150,
        )
        for algorithm in (OptimizationRun.Algorithm.GEPA, OptimizationRun.Algorithm.MIPRO)
    ]
    for run in started:
        wait_for(lambda run=run: _finished(run), timeout=300, what=f"optimization run #{run.pk}")
    return started


def _finished(run: OptimizationRun) -> bool:
    run.refresh_from_db()
    return run.is_finished


def _worker_log() -> str:
    return (settings.TEST_VAR_DIR / "worker.log").read_text()


def test_a_gepa_and_a_mipro_run_leave_no_progress_bar_in_the_worker_log(start_celery_worker, demo_project):
    start_celery_worker(beat=True)

    finished = _optimize_with_each_search(demo_project)

    assert [run.status for run in finished] == ["done", "done"]
    log = _worker_log()
    assert not PROGRESS_BAR.search(log), log
    assert "Input contains fields not in signature" not in log  # MIPROv2's proposer, DSPy's own slip
    # The liveness check every few seconds (its beat sends one at once) says nothing.
    assert "Sending due task" not in log
    assert "Task labeling.tasks.background_runs_liveness_task[" not in log


def test_flywheel_verbose_brings_the_progress_bars_back(start_celery_worker, demo_project, monkeypatch):
    monkeypatch.setenv("FLYWHEEL_VERBOSE", "1")
    start_celery_worker()

    _optimize_with_each_search(demo_project)

    log = _worker_log()
    assert PROGRESS_BAR.search(log)
    assert "Task optimizer.tasks.optimization_run_task[" in log
