"""A judge run's life: guarded resume and cancel (409 with the reason), idempotent dispatch and chunks
(leases), liveness by the periodic task, and settled judgments that nothing worse replaces."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from judging import runs
from judging.models import ChunkLease, JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.program import JudgeOutcome
from judging.tasks import judge_run_dispatch_task
from labeling import lifecycle
from labeling.tasks import background_runs_liveness_task
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _start(project, item_set="dev", **kwargs) -> JudgeRun:
    version = PromptVersion.objects.get(project=project, origin="hand-written")
    return runs.judge_run_start(
        prompt_version=version,
        endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
        item_set=item_set,
        enqueue=False,
        **kwargs,
    )


def _set(run: JudgeRun, status: str, *, silent: bool = False) -> JudgeRun:
    beat = timezone.now() - (lifecycle.stale_after() * 2 if silent else timedelta(0))
    JudgeRun.objects.filter(pk=run.pk).update(status=status, heartbeat_at=beat)
    run.refresh_from_db()
    return run


def _outcome(score: int | None, error_kind: str = "") -> JudgeOutcome:
    return JudgeOutcome(
        score=score,
        malformed=False,
        reasoning="r",
        raw_output="raw",
        error_kind=error_kind,
        error_message="boom" if error_kind else "",
        attempts=1,
        input_tokens=10,
        output_tokens=5,
        cost=Decimal("0.001"),
        latency_ms=3,
    )


@pytest.mark.parametrize("status", ["queued", "running", "done"])
def test_resume_is_refused_with_the_reason_unless_the_run_is_interrupted_or_failed(demo_project, status):
    run = _set(_start(demo_project), status)

    with pytest.raises(lifecycle.TransitionRefused, match=f"is {status}"):
        runs.judge_run_resume(run=run)

    run.refresh_from_db()
    assert run.status == status


@pytest.mark.parametrize("status", ["interrupted", "failed"])
def test_an_interrupted_or_failed_run_resumes_into_the_queue(demo_project, status):
    run = _set(_start(demo_project), status)

    with mock.patch.object(runs, "_enqueue_dispatch") as enqueue:
        runs.judge_run_resume(run=run)

    run.refresh_from_db()
    assert run.status == "queued" and enqueue.call_count == 1


def test_a_cancelled_run_resumes_only_when_the_user_asks_for_it(demo_project):
    run = _set(_start(demo_project), "cancelled")
    with pytest.raises(lifecycle.TransitionRefused):
        runs.judge_run_resume(run=run)

    with mock.patch.object(runs, "_enqueue_dispatch"):
        runs.judge_run_resume(run=run, include_cancelled=True)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == ("queued", False)


def test_resuming_a_running_run_in_the_browser_answers_409_with_the_reason(demo_project, client_for, lead):
    run = _set(_start(demo_project), "running")

    response = client_for(lead).post(reverse("judging:run_resume", args=[run.pk]))

    assert response.status_code == 409
    assert b"is running: a worker has it, so there is nothing to resume." in response.content


def test_cancelling_a_finished_run_answers_409_with_the_reason(demo_project, client_for, lead):
    run = _set(_start(demo_project), "done")

    response = client_for(lead).post(reverse("judging:run_cancel", args=[run.pk]))

    assert response.status_code == 409 and b"is already done" in response.content


def test_the_judge_command_refuses_to_resume_a_running_run_and_says_why(demo_project):
    run = _set(_start(demo_project), "running")

    with pytest.raises(CommandError, match="is running: a worker has it"):
        call_command("judge", demo_project.slug, "--endpoint", "sim/judge-small", "--resume", str(run.pk))


def test_cancel_ends_a_run_whose_worker_is_silent_at_once(demo_project):
    run = _set(_start(demo_project), "running", silent=True)

    assert runs.judge_run_cancel(run=run) == "cancelled"

    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at is not None


def test_cancel_of_a_run_with_a_live_worker_asks_the_worker_to_stop(demo_project):
    run = _set(_start(demo_project), "running")

    assert runs.judge_run_cancel(run=run) == "running"

    run.refresh_from_db()
    assert run.cancel_requested and run.status == "running"


def test_liveness_interrupts_a_silent_run_with_the_reason_and_leaves_a_live_one(demo_project):
    silent = _set(_start(demo_project), "running", silent=True)
    live = _set(_start(demo_project), "running")

    assert background_runs_liveness_task.apply().get() == 1

    silent.refresh_from_db()
    live.refresh_from_db()
    assert (silent.status, silent.can_resume) == ("interrupted", True)
    assert "stopped reporting" in silent.error
    assert live.status == "running"


def test_liveness_ends_a_silent_run_whose_cancel_was_pending_as_cancelled(demo_project):
    run = _start(demo_project)
    JudgeRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    _set(run, "running", silent=True)

    lifecycle.runs_mark_interrupted()

    run.refresh_from_db()
    assert run.status == "cancelled"


def test_a_chunk_at_work_takes_back_a_run_marked_interrupted_while_it_was_alive(demo_project):
    run = _set(_start(demo_project), "interrupted")

    runs.judge_chunk_process(run_id=run.pk, item_ids=[])

    run.refresh_from_db()
    assert run.status == "running" and run.error == ""


def test_a_dispatch_delivered_twice_queues_the_chunks_once(demo_project):
    run = _start(demo_project)

    with mock.patch("judging.tasks.judge_chunk_task.delay") as delay:
        first = judge_run_dispatch_task.apply(args=[run.pk]).get()
        second = judge_run_dispatch_task.apply(args=[run.pk]).get()

    assert first >= 1 and second == 0
    assert delay.call_count == first


def test_a_chunk_leaves_the_items_another_live_chunk_holds_and_takes_them_once_its_lease_expires(
    demo_project,
):
    run = _set(_start(demo_project), "running")
    ids = sorted(runs.pending_items(run).values_list("id", flat=True))
    held = set(ids[:3])
    ChunkLease.objects.create(
        run=run, holder="other-worker", item_ids=sorted(held), expires_at=timezone.now() + timedelta(hours=1)
    )
    calls = []
    real_judge_item = runs.judge_item

    def counting_judge_item(**kwargs):
        calls.append(kwargs["query"])
        return real_judge_item(**kwargs)

    taken, waiting = runs.item_leases_take(run=run, holder="me", item_ids=set(ids))
    assert taken == set(ids) - held and waiting == held
    ChunkLease.objects.filter(holder="me").delete()

    # The other worker dies now: its lease runs out in a moment, and this chunk takes its items over.
    ChunkLease.objects.filter(holder="other-worker").update(expires_at=timezone.now() + timedelta(seconds=1))
    with mock.patch.object(runs, "judge_item", counting_judge_item):
        runs.judge_chunk_process(run_id=run.pk, item_ids=ids)

    assert run.judgments.count() == len(ids) == len(calls), "each item judged once, the expired ones too"
    assert not ChunkLease.objects.filter(run=run).exists()


def test_a_settled_judgment_is_never_replaced_by_a_later_error(demo_project):
    run = _start(demo_project)
    item_id = runs.pending_items(run).values_list("id", flat=True).first()
    runs._save_judgments(run, {item_id: runs._outcome_fields("k", _outcome(4))}, retrying=set())

    runs._save_judgments(
        run, {item_id: runs._outcome_fields("k", _outcome(None, "server"))}, retrying={item_id}
    )

    judgment = Judgment.objects.get(run=run, item_id=item_id)
    assert (judgment.score, judgment.error_kind) == (4, "")


def test_a_recorded_error_is_replaced_when_a_retry_settles_it(demo_project):
    run = _start(demo_project)
    item_id = runs.pending_items(run).values_list("id", flat=True).first()
    runs._save_judgments(run, {item_id: runs._outcome_fields("k", _outcome(None, "timeout"))}, retrying=set())

    runs._save_judgments(run, {item_id: runs._outcome_fields("k", _outcome(3))}, retrying={item_id})

    judgment = Judgment.objects.get(run=run, item_id=item_id)
    assert (judgment.score, judgment.error_kind) == (3, "")
    assert Judgment.objects.filter(run=run, item_id=item_id).count() == 1


def test_a_run_left_with_recorded_errors_fails_with_their_count_and_resumes(demo_project):
    run = _set(_start(demo_project), "running")
    ids = list(runs.pending_items(run).values_list("id", flat=True))
    rows = {item_id: runs._outcome_fields("k", _outcome(2)) for item_id in ids[1:]}
    rows[ids[0]] = runs._outcome_fields("k", _outcome(None, "rate_limit"))
    runs._save_judgments(run, rows, retrying=set())

    runs.judge_run_finish_if_complete(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith(f"1 of {run.total_items} items could not be judged (rate limited (429): 1)")
    assert run.can_resume


def test_two_resumes_at_once_queue_the_run_once(postgres_db, demo_project, lead):
    run = _set(_start(demo_project), "interrupted")
    answers = []
    barrier = threading.Barrier(2)

    def press_resume() -> None:
        client = Client()
        client.login(username=lead.username, password=PASSWORD)
        barrier.wait()
        answers.append(client.post(reverse("judging:run_resume", args=[run.pk])).status_code)
        connection.close()

    with mock.patch.object(runs, "_enqueue_dispatch") as enqueue:
        threads = [threading.Thread(target=press_resume) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(answers) == [302, 409]
    assert enqueue.call_count == 1


def test_liveness_runs_from_celery_beat_on_the_default_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["background-runs-liveness"]
    assert entry["task"] == "labeling.tasks.background_runs_liveness_task"
    assert entry["schedule"] + settings.BACKGROUND_STALE_AFTER_S < 60, "a dead worker's run within a minute"


def test_each_kind_of_work_has_a_queue_of_its_own():
    from config.celery import app

    queues = {
        task: app.amqp.router.route({}, task)["queue"]
        for task in (
            "judging.tasks.judge_chunk_task",
            "judging.tasks.judge_run_dispatch_task",
            "optimizer.tasks.optimization_run_task",
            "labeling.tasks.import_job_run_task",
            "labeling.tasks.background_runs_liveness_task",
        )
    }
    names = {task: queue.name for task, queue in queues.items()}
    assert names["judging.tasks.judge_chunk_task"] == names["judging.tasks.judge_run_dispatch_task"]
    assert len(set(names.values())) == 4, names  # judge, optimizer, imports, and the default queue
    # A queue bound to a shared exchange and key would receive every other queue's messages too.
    assert len({(q.exchange.name, q.routing_key) for q in queues.values()}) == 4


def test_the_demo_worker_consumes_every_queue_and_runs_the_beat():
    from judging.management.commands import demo

    with (
        mock.patch.object(demo.subprocess, "Popen") as popen,
        mock.patch.object(demo, "_stop_group"),
        mock.patch.object(demo.signal, "signal"),
    ):
        popen.return_value.poll.return_value = 0
        demo.Command()._serve("127.0.0.1", 8000)

    worker_args = next(call.args[0] for call in popen.call_args_list if "celery" in call.args[0])
    queues = worker_args[worker_args.index("--queues") + 1].split(",")
    assert set(queues) == {settings.CELERY_TASK_DEFAULT_QUEUE, *settings.FLYWHEEL_QUEUES.values()}
    assert "--beat" in worker_args
