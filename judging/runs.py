"""Judge runs: start, split into chunks any worker can take, judge with bounded concurrency, save each
judgment as it completes, reuse earlier identical judgments, cancel, resume."""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from judging.models import EndpointLease, JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.program import JudgeOutcome, endpoint_lm, judge_item, judge_program, judgment_cache_key
from labeling.models import Item, Label

CHUNK_SIZE = 200
CANCEL_POLL_S = 0.5
# A worker judging a run beats this often; an unfinished run silent for STALE_AFTER_S is called stalled.
HEARTBEAT_S = 5.0
STALE_AFTER_S = 60.0
# Endpoint leases: renewed this often by a judging chunk, forgotten this long after a worker stops.
LEASE_RENEW_S = 1.0
LEASE_EXPIRES_S = 30.0


def run_items(*, project, item_set: str) -> QuerySet[Item]:
    items = Item.objects.filter(project=project)
    has_labels = Exists(Label.objects.filter(item=OuterRef("pk")))
    if item_set == JudgeRun.ItemSet.LABELED:
        return items.filter(has_labels)
    if item_set == JudgeRun.ItemSet.UNLABELED:
        return items.filter(~has_labels)
    return items.filter(split=item_set)


def judge_run_start(
    *,
    prompt_version: PromptVersion,
    endpoint: ModelEndpoint,
    item_set: str,
    user=None,
    force_fresh: bool = False,
    enqueue: bool = True,
) -> JudgeRun:
    """A new run, queued for the workers; with enqueue=False the caller runs it (judge_run_execute)."""
    project = prompt_version.project
    with transaction.atomic():
        run = JudgeRun.objects.create(
            project=project,
            prompt_version=prompt_version,
            endpoint=endpoint,
            item_set=item_set,
            force_fresh=force_fresh,
            created_by=user,
            total_items=run_items(project=project, item_set=item_set).count(),
        )
        if enqueue:
            _enqueue_dispatch(run)
    return run


def judge_run_execute(*, run: JudgeRun) -> JudgeRun:
    """Judge what is missing of the run right here, chunk by chunk, with the same code the workers run:
    for a task that is itself a worker's job (an optimization run measuring on the test split)."""
    for chunk in _start_chunks(run):
        if judge_chunk_process(run_id=run.pk, item_ids=chunk).cancelled:
            break
    judge_run_finish_if_complete(run_id=run.pk)
    run.refresh_from_db()
    return run


def _enqueue_dispatch(run: JudgeRun) -> None:
    from judging.tasks import judge_run_dispatch_task

    transaction.on_commit(lambda: judge_run_dispatch_task.delay(run.pk))


def pending_items(run: JudgeRun) -> QuerySet[Item]:
    """Items of the run with no judgment yet, or whose judgment is a recorded error (retried on resume)."""
    settled = Judgment.objects.filter(run=run, item=OuterRef("pk"), error_kind="")
    return run_items(project=run.project, item_set=run.item_set).filter(~Exists(settled))


def _start_chunks(run: JudgeRun) -> list[list[int]]:
    """Mark the run running and split what is missing of it into chunks."""
    now = timezone.now()
    JudgeRun.objects.filter(pk=run.pk).update(
        status=JudgeRun.Status.RUNNING, started_at=run.started_at or now, heartbeat_at=now
    )
    ids = list(pending_items(run).values_list("id", flat=True))
    return [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]


def judge_run_dispatch(*, run: JudgeRun) -> list[list[int]]:
    """Split what is missing into chunks and queue them; a run with nothing missing is finished here."""
    if run.is_finished and run.status != JudgeRun.Status.FAILED:
        return []
    chunks = _start_chunks(run)
    if not chunks:
        judge_run_finish_if_complete(run_id=run.pk)
        return []
    from judging.tasks import judge_chunk_task

    for chunk in chunks:
        judge_chunk_task.delay(run.pk, chunk)
    return chunks


@dataclass(frozen=True)
class ChunkResult:
    judged: int
    reused: int
    cancelled: bool


def judge_chunk_process(*, run_id: int, item_ids: list[int]) -> ChunkResult:
    run = JudgeRun.objects.select_related("project", "prompt_version", "endpoint").get(pk=run_id)
    if run.cancel_requested or run.status in (JudgeRun.Status.CANCELLED, JudgeRun.Status.DONE):
        return ChunkResult(0, 0, cancelled=run.cancel_requested)
    _beat(run.pk)
    items = list(pending_items(run).filter(pk__in=item_ids).values_list("id", "query", "document"))
    keys = {
        item_id: judgment_cache_key(
            prompt_version=run.prompt_version, endpoint=run.endpoint, query=query, document=document
        )
        for item_id, query, document in items
    }
    reused = 0 if run.force_fresh else _reuse_judgments(run, keys)
    judged_meanwhile = _settled_ids(run, keys)  # reused just now, or by another worker since the query
    todo = [
        (item_id, query, document) for item_id, query, document in items if item_id not in judged_meanwhile
    ]
    judged, cancelled = _judge_concurrently(run, todo, keys)
    judge_run_finish_if_complete(run_id=run.pk)
    return ChunkResult(judged=judged, reused=reused, cancelled=cancelled)


def _settled_ids(run: JudgeRun, keys: dict[int, str]) -> set[int]:
    return set(
        Judgment.objects.filter(run=run, item_id__in=keys, error_kind="").values_list("item_id", flat=True)
    )


def _reuse_judgments(run: JudgeRun, keys: dict[int, str]) -> int:
    """Copy the latest identical judgment (same prompt, model settings, item content) from another run."""
    donors: dict[str, Judgment] = {}
    for donor in (
        Judgment.objects.filter(cache_key__in=set(keys.values()), error_kind="")
        .exclude(run=run)
        .order_by("id")
    ):
        donors[donor.cache_key] = donor
    copies = {
        item_id: _outcome_fields(
            key,
            JudgeOutcome(  # the donor's answer; this run made no call, so no tokens, cost or latency
                score=donor.score,
                malformed=donor.malformed,
                reasoning=donor.reasoning,
                raw_output=donor.raw_output,
                error_kind="",
                error_message="",
                attempts=0,
                input_tokens=0,
                output_tokens=0,
                cost=Decimal(0),
                latency_ms=0,
                note=donor.note,
            ),
            reused_from_id=donor.reused_from_id or donor.pk,
        )
        for item_id, key in keys.items()
        if (donor := donors.get(key)) is not None
    }
    _save_judgments(run, copies)
    return len(copies)


def _judge_concurrently(
    run: JudgeRun, todo: list[tuple[int, str, str]], keys: dict[int, str]
) -> tuple[int, bool]:
    """At most endpoint.concurrency calls in flight, counting every worker's (endpoint leases); each
    judgment is saved the moment it completes, by this thread (one database connection), and
    cancellation stops new calls within CANCEL_POLL_S."""
    if not todo:
        return 0, False
    program = judge_program(project=run.project, prompt_version=run.prompt_version)
    lm = endpoint_lm(run.endpoint)
    state = {"cancelled": False}

    def judge(query: str, document: str) -> JudgeOutcome:
        return judge_item(
            program=program,
            lm=lm,
            endpoint=run.endpoint,
            query=query,
            document=document,
            should_stop=lambda: state["cancelled"],
        )

    queue = list(reversed(todo))
    in_flight: dict[Future, int] = {}
    saved = limit = 0
    last_poll = last_beat = time.monotonic()
    last_lease = -math.inf
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with ThreadPoolExecutor(max_workers=max(1, min(run.endpoint.concurrency, len(todo)))) as pool:
        try:
            while queue or in_flight:
                if time.monotonic() - last_lease >= LEASE_RENEW_S:
                    last_lease = time.monotonic()
                    limit = endpoint_lease_renew(
                        endpoint=run.endpoint,
                        holder=holder,
                        want=min(run.endpoint.concurrency, len(queue) + len(in_flight)),
                        in_flight=len(in_flight),
                    )
                while queue and not state["cancelled"] and len(in_flight) < limit:
                    item_id, query, document = queue.pop()
                    in_flight[pool.submit(judge, query, document)] = item_id
                if in_flight:
                    done, _ = wait(in_flight, timeout=CANCEL_POLL_S, return_when=FIRST_COMPLETED)
                    finished = {in_flight.pop(future): future.result() for future in done}
                    _save_judgments(
                        run, {item_id: _outcome_fields(keys[item_id], o) for item_id, o in finished.items()}
                    )
                    saved += len(finished)
                elif state["cancelled"]:
                    break
                else:
                    time.sleep(CANCEL_POLL_S)  # other workers hold every call this endpoint allows
                if time.monotonic() - last_poll >= CANCEL_POLL_S:
                    last_poll = time.monotonic()
                    state["cancelled"] = JudgeRun.objects.filter(pk=run.pk, cancel_requested=True).exists()
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    last_beat = time.monotonic()
                    _beat(run.pk)
        finally:
            EndpointLease.objects.filter(holder=holder).delete()
    return saved, state["cancelled"]


def endpoint_lease_renew(*, endpoint: ModelEndpoint, holder: str, want: int, in_flight: int) -> int:
    """How many calls this holder may have in flight now, so that all workers together stay within the
    endpoint's concurrency. Holders share it fairly: one that holds more than its share gets less at its
    next renewal, but the calls it already has in flight stay counted until they end."""
    now = timezone.now()
    with transaction.atomic():
        # One renewal per endpoint at a time (SQLite's immediate transactions serialise them anyway).
        list(ModelEndpoint.objects.select_for_update().filter(pk=endpoint.pk).values_list("pk"))
        EndpointLease.objects.filter(endpoint=endpoint, expires_at__lt=now).delete()
        others = (
            EndpointLease.objects.filter(endpoint=endpoint)
            .exclude(holder=holder)
            .aggregate(permits=Sum("permits"), holders=Count("id"))
        )
        free = endpoint.concurrency - (others["permits"] or 0)
        share = math.ceil(endpoint.concurrency / (others["holders"] + 1))
        granted = max(0, min(want, share, free))
        EndpointLease.objects.update_or_create(
            holder=holder,
            defaults={
                "endpoint": endpoint,
                "permits": max(granted, in_flight),
                "expires_at": now + timedelta(seconds=LEASE_EXPIRES_S),
            },
        )
    return granted


def _beat(run_id: int) -> None:
    JudgeRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())


def judge_run_stalled_for(run: JudgeRun) -> float | None:
    """Seconds since anything looked after this unfinished run, once that exceeds STALE_AFTER_S: its
    worker died (or every worker is busy elsewhere). None while the run is finished or alive."""
    if run.is_finished:
        return None
    last = max(t for t in (run.created_at, run.started_at, run.heartbeat_at) if t is not None)
    silent = (timezone.now() - last).total_seconds()
    return silent if silent > STALE_AFTER_S else None


def _outcome_fields(key: str, outcome: JudgeOutcome, *, reused_from_id: int | None = None) -> dict:
    """A judgment's saved columns: a model's outcome, or a copy of an earlier judgment (reused_from_id)."""
    return {
        "score": outcome.score,
        "malformed": outcome.malformed,
        "reasoning": outcome.reasoning,
        "raw_output": outcome.raw_output,
        "error_kind": outcome.error_kind,
        "error_message": outcome.error_message,
        "attempts": outcome.attempts,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost": outcome.cost,
        "latency_ms": outcome.latency_ms,
        "note": outcome.note,
        "cache_key": key,
        "reused_from_id": reused_from_id,
    }


SAVED_FIELDS = [*(field.name for field in fields(JudgeOutcome)), "cache_key", "reused_from"]


def _save_judgments(run: JudgeRun, rows: dict[int, dict]) -> None:
    """One statement for all the judgments at hand: new items are inserted, an item already judged (a
    recorded error being retried) is overwritten in place, so (run, item) stays unique."""
    if rows:
        Judgment.objects.bulk_create(
            [Judgment(run=run, item_id=item_id, **fields) for item_id, fields in rows.items()],
            update_conflicts=True,
            unique_fields=["run", "item"],
            update_fields=SAVED_FIELDS,
        )


def judge_run_finish_if_complete(*, run_id: int) -> bool:
    """Mark the run done once every item of its set has a judgment (an error counts: resume retries it)."""
    run = JudgeRun.objects.select_related("project").get(pk=run_id)
    if run.is_finished:
        return True
    judged = Judgment.objects.filter(run=run, item=OuterRef("pk"))
    missing = run_items(project=run.project, item_set=run.item_set).filter(~Exists(judged)).exists()
    if run.cancel_requested:
        status = JudgeRun.Status.CANCELLED
    elif not missing:
        status = JudgeRun.Status.DONE
    else:
        return False
    updated = (
        JudgeRun.objects.filter(pk=run.pk)
        .exclude(status__in=[status])
        .update(status=status, finished_at=timezone.now())
    )
    return bool(updated)


def judge_run_cancel(*, run: JudgeRun) -> None:
    JudgeRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    if run.status == JudgeRun.Status.QUEUED:
        JudgeRun.objects.filter(pk=run.pk).update(
            status=JudgeRun.Status.CANCELLED, finished_at=timezone.now()
        )


def judge_run_resume(*, run: JudgeRun) -> JudgeRun:
    """Fill only what is missing (and retry recorded errors); nothing is judged twice."""
    with transaction.atomic():
        JudgeRun.objects.filter(pk=run.pk).update(
            status=JudgeRun.Status.QUEUED,
            cancel_requested=False,
            finished_at=None,
            heartbeat_at=timezone.now(),
        )
        _enqueue_dispatch(run)
    run.refresh_from_db()
    return run


def judge_run_has_errors(run: JudgeRun) -> bool:
    return run.judgments.filter(~Q(error_kind="")).exists()
