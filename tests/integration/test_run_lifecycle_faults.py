"""The fault suite of issue 15, through real worker processes on the configured database and broker
(PostgreSQL + Redis in CI): kills, resumes pressed at once, liveness by Celery beat, redelivered
dispatches and one worker per queue. The figures are printed (pytest -s) for the closing note."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from judging import runs
from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.sim.samples import sample_items
from judging.tasks import judge_chunk_task, judge_run_dispatch_task
from labeling.models import Item, Project
from optimizer import runs as optimizer_runs
from tests.conftest import PASSWORD
from tests.integration.conftest import FAULTS_20, http_endpoint, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]

ITEMS = 300


def _work_queues() -> list[str]:
    return list(settings.FLYWHEEL_QUEUES.values())


@pytest.fixture
def liveness_worker(fast_liveness, start_celery_worker):
    """The housekeeping worker: the default queue, with Celery beat embedded (the liveness check)."""
    return start_celery_worker(queues=[settings.CELERY_TASK_DEFAULT_QUEUE], beat=True)


@pytest.fixture
def three_hundred(demo_project) -> Project:
    """A project of exactly ITEMS items (all in dev) and a hand-written prompt for sim/judge-small."""
    project = Project.objects.create(name="Three hundred", slug="three-hundred", rubric=demo_project.rubric)
    Item.objects.bulk_create(
        Item(project=project, external_id=f"t-{s.id}", query=s.query, document=s.document, split="dev")
        for s in sample_items(ITEMS, seed=15)
    )
    base = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    PromptVersion.objects.create(
        project=project, target_model=base.target_model, instructions=base.instructions, origin="hand-written"
    )
    return project


def _start(project: Project, endpoint: ModelEndpoint, **kwargs) -> JudgeRun:
    return runs.judge_run_start(
        prompt_version=PromptVersion.objects.get(project=project, origin="hand-written"),
        endpoint=endpoint,
        item_set="dev",
        force_fresh=True,
        **kwargs,
    )


def _fresh(run):
    run.refresh_from_db()
    return run


def _ended(run):
    run.refresh_from_db()
    return run if not run.is_active else None


def _press(url: str, user, at_once: int) -> list[int]:
    """`at_once` browsers POSTing to url at the same moment; their status codes."""
    answers: list[int] = []
    barrier = threading.Barrier(at_once)

    def press() -> None:
        client = Client()
        client.login(username=user.username, password=PASSWORD)
        barrier.wait()
        answers.append(client.post(url).status_code)
        connection.close()

    threads = [threading.Thread(target=press) for _ in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(answers)


def _assert_one_judgment_per_item(run: JudgeRun) -> None:
    expected = set(runs.run_items(project=run.project, item_set=run.item_set).values_list("id", flat=True))
    per_item = dict(run.judgments.values_list("item_id").annotate(n=Count("id")))
    assert set(per_item) == expected and set(per_item.values()) == {1}


def test_a_killed_worker_and_three_resumes_cost_at_most_five_percent_more_model_calls(
    judge_env, liveness_worker, sim_server, start_celery_worker, three_hundred, lead
):
    config = {"latency_ms": 40, "seed": 15, **FAULTS_20}
    plain_server, faulted_server = sim_server(**config), sim_server(**config)  # the same faults, in order
    worker = start_celery_worker(queues=_work_queues())

    plain = _start(three_hundred, http_endpoint(plain_server))
    ModelEndpoint.objects.filter(pk=plain.endpoint_id).update(name="no kill, no resume")
    plain = wait_for(lambda: _ended(plain), timeout=180, what="the run without kill or resume")
    _assert_one_judgment_per_item(plain)

    endpoint = http_endpoint(faulted_server)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(name="the same faults again")
    run = _start(three_hundred, endpoint)
    wait_for(lambda: run.judgments.count() >= ITEMS // 3, timeout=120, what="a third of the judgments")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    settled_before = {j.item_id: (j.score, j.raw_output) for j in run.judgments.filter(error_kind="")}
    at_kill = (run.judgments.count(), faulted_server.stats()["requests"])

    wait_for(lambda: _fresh(run).status == "interrupted", timeout=60, what="liveness to interrupt the run")
    interrupted_after = time.monotonic() - killed_at
    start_celery_worker(queues=_work_queues())
    resume = reverse("judging:run_resume", args=[run.pk])
    two_at_once = _press(resume, lead, at_once=2)
    wait_for(lambda: _fresh(run).status == "running" or _ended(run), timeout=60, what="the resumed run")
    third = _press(resume, lead, at_once=1)
    run = wait_for(lambda: _ended(run), timeout=180, what="the resumed run to end")

    _assert_one_judgment_per_item(run)
    kept = {j.item_id: (j.score, j.raw_output) for j in run.judgments.filter(item_id__in=settled_before)}
    assert kept == settled_before, "nothing settled before the kill was lost or replaced"
    calls, plain_calls = faulted_server.stats()["requests"], plain_server.stats()["requests"]
    print(
        f"\n[issue 15] {ITEMS} items, 20% faults: killed with {at_kill[0]} judged after {at_kill[1]} calls. "
        f"{plain_calls} model calls without kill or resume "
        f"({plain_calls / ITEMS:.3f}/item); {calls} with a SIGKILL at a third, a restart and three "
        f"resumes ({calls / ITEMS:.3f}/item): ratio {calls / plain_calls:.3f}. Interrupted "
        f"{interrupted_after:.1f} s after the kill; resumes answered {two_at_once} at once, then {third}."
    )
    assert two_at_once == [302, 409] and third == [409]
    assert run.status in ("done", "failed") and plain.status in ("done", "failed")
    assert calls <= 1.05 * plain_calls, (calls, plain_calls)


def test_a_run_whose_worker_is_killed_for_good_is_interrupted_and_cancel_ends_it(
    judge_env, liveness_worker, sim_server, start_celery_worker, three_hundred, client_for, lead
):
    server = sim_server(latency_ms=100)
    worker = start_celery_worker(queues=_work_queues())
    run = _start(three_hundred, http_endpoint(server))
    wait_for(lambda: run.judgments.count() >= 20, timeout=120, what="the first judgments")

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    wait_for(lambda: _fresh(run).status == "interrupted", timeout=60, what="liveness to interrupt the run")
    interrupted_after = time.monotonic() - killed_at
    assert "stopped reporting" in run.error

    response = client_for(lead).post(reverse("judging:run_cancel", args=[run.pk]))

    print(
        f"\n[issue 15] worker killed for good: interrupted {interrupted_after:.1f} s after the kill "
        f"(liveness: {settings.BACKGROUND_STALE_AFTER_S} s silence, checked every "
        f"{settings.BACKGROUND_LIVENESS_EVERY_S} s; by default 40 s and 10 s)"
    )
    assert response.status_code == 302
    assert _fresh(run).status == "cancelled" and run.judgments.count() < run.total_items
    assert interrupted_after < 60


def test_a_redelivered_dispatch_makes_no_extra_model_call(
    judge_env, fast_liveness, sim_server, start_celery_worker, three_hundred
):
    server = sim_server(latency_ms=10)
    start_celery_worker(queues=_work_queues())
    run = _start(three_hundred, http_endpoint(server), enqueue=False)

    judge_run_dispatch_task.delay(run.pk)
    judge_run_dispatch_task.delay(run.pk)  # the broker delivers it again
    run = wait_for(lambda: _ended(run), timeout=120, what="the judge run")
    judge_chunk_task.apply(args=[run.pk, sorted(run.judgments.values_list("item_id", flat=True))])  # again

    print(
        f"\n[issue 15] dispatch delivered twice: {server.stats()['requests']} model calls for {ITEMS} items"
    )
    assert run.status == "done"
    _assert_one_judgment_per_item(run)
    assert server.stats()["requests"] == ITEMS


def test_an_optimizer_run_in_progress_does_not_hold_up_a_judge_run_started_after_it(
    judge_env, fast_liveness, sim_server, start_celery_worker, three_hundred, demo_project
):
    server = sim_server(latency_ms=20)
    start_celery_worker(queues=[settings.FLYWHEEL_QUEUES["judge"]])
    start_celery_worker(queues=[settings.FLYWHEEL_QUEUES["optimizer"]])
    endpoint = http_endpoint(server)
    warm_up = _start(three_hundred, endpoint)  # a worker's first run also loads DSPy and LiteLLM
    wait_for(lambda: _ended(warm_up), timeout=120, what="the warm-up judge run")
    started = time.monotonic()
    alone = _start(three_hundred, endpoint)
    alone = wait_for(lambda: _ended(alone), timeout=120, what="a judge run")
    usual_s = time.monotonic() - started

    small = ModelEndpoint.objects.get(model="sim/judge-small")
    search = optimizer_runs.optimization_run_start(
        project=demo_project,
        base_version=PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id"),
        target_endpoint=small,
        reflection_endpoint=ModelEndpoint.objects.get(model="sim/reflector"),
        max_metric_calls=200_000,
    )
    wait_for(lambda: _fresh(search).status == "running", timeout=60, what="the optimizer run to start")
    started = time.monotonic()
    run = _start(three_hundred, endpoint)
    run = wait_for(lambda: _ended(run), timeout=120, what="the judge run beside the search")
    beside_s = time.monotonic() - started
    search_status = _fresh(search).status
    optimizer_runs.optimization_run_cancel(run=search)
    wait_for(lambda: _ended(search), timeout=60, what="the optimizer run to stop")

    print(
        f"\n[issue 15] one worker per queue: a {ITEMS}-item judge run took {usual_s:.1f} s alone and "
        f"{beside_s:.1f} s while an optimizer run was in progress (2 shared cores)"
    )
    assert alone.status == run.status == "done"
    assert search_status == "running", "the judge run finished while the search was still going"
    assert _fresh(search).status == "cancelled"


def test_a_gepa_run_killed_and_resumed_twice_finishes_with_no_duplicate_candidates(
    liveness_worker, start_celery_worker, demo_project
):
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    worker = start_celery_worker(queues=_work_queues())
    run = optimizer_runs.optimization_run_start(
        project=demo_project,
        base_version=PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id"),
        target_endpoint=small,
        reflection_endpoint=ModelEndpoint.objects.get(model="sim/reflector"),
        max_metric_calls=1500,
        seed=3,
    )
    seen = {}
    for attempt in (1, 2):
        checkpoint = optimizer_runs.run_log_dir(run, attempt) / "gepa_state.bin"
        wait_for(
            lambda attempt=attempt, checkpoint=checkpoint: (
                _fresh(run).status == "running"
                and run.attempts == attempt
                and run.candidates.count() >= 2
                and checkpoint.exists()
            ),
            timeout=180,
            what=f"attempt {attempt}'s candidates and checkpoint",
        )
        if attempt == 2:
            time.sleep(3)  # let the resumed search get some way from its checkpoint before the next kill
            assert _fresh(run).status == "running", "the resumed search is still at work"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        seen.update({c.index: c.prompt_version_id for c in run.candidates.all()})
        wait_for(lambda: _fresh(run).status == "interrupted", timeout=60, what="liveness to interrupt it")
        optimizer_runs.optimization_run_resume(run=run)
        worker = start_celery_worker(queues=_work_queues())
    run = wait_for(lambda: _ended(run), timeout=300, what="the twice-resumed run")

    candidates = list(run.candidates.select_related("prompt_version"))
    indices = [c.index for c in candidates]
    versions = PromptVersion.objects.filter(origin=f"GEPA run #{run.pk}")
    # GEPA (with the sim reflector) may accept the same text again under a new index even in a run never
    # interrupted, so a duplicate here is a candidate index recorded twice, or a version left orphaned.
    print(
        f"\n[issue 15] GEPA killed twice and resumed twice: {len(candidates)} candidates "
        f"({len(set(indices))} distinct indices, {len({c.prompt_version.instructions for c in candidates})} "
        f"distinct texts), {versions.count()} prompt versions, attempts {run.attempts}"
    )
    assert (run.status, run.attempts) == ("done", 3)
    assert all(run.candidates.get(index=index).prompt_version_id == pk for index, pk in seen.items())
    assert len(set(indices)) == len(indices), "no candidate recorded twice"
    assert versions.count() == len(candidates), "no prompt version without its candidate"
