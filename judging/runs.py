"""Judge runs: start, split into chunks any worker can take, judge with bounded concurrency, save each
judgment as it completes, reuse earlier identical judgments, cancel, resume. Status changes go through
labeling.lifecycle; a chunk leases the items it judges, so no delivery calls the model twice for one."""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from judging.models import ChunkLease, EndpointLease, JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.program import JudgeOutcome, endpoint_lm, judge_item, judge_program, judgment_cache_key
from judging.stored_metrics import judge_run_metrics_forget, judge_run_metrics_store
from labeling import lifecycle
from labeling.models import Item, Label

CHUNK_SIZE = 200
CANCEL_POLL_S = 0.5
# A worker judging a run beats this often (more often when liveness is set tighter, as in tests).
HEARTBEAT_S = 5.0
# Endpoint and chunk leases: renewed this often by a judging chunk; an endpoint lease is forgotten this
# long after its worker stops (a chunk lease after settings.JUDGE_CHUNK_LEASE_S).
LEASE_RENEW_S = 1.0
LEASE_EXPIRES_S = 30.0
# Answers are saved in batches: this many, or once the oldest unsaved one is this old, or when no call is
# in flight. A worker that dies loses at most that much (its calls in flight are lost either way), and
# each save (a transaction, one INSERT) is shared by several judgments.
SAVE_BATCH = 8
SAVE_EVERY_S = 0.1


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
    started_from: str = "",
) -> JudgeRun:
    """A new run, queued for the workers; with enqueue=False the caller runs it (judge_run_execute).
    `started_from` says where it was started when not from a page ("command line", "optimizer run #3")."""
    project = prompt_version.project
    with transaction.atomic():
        run = JudgeRun.objects.create(
            project=project,
            prompt_version=prompt_version,
            endpoint=endpoint,
            item_set=item_set,
            force_fresh=force_fresh,
            created_by=user,
            started_from=started_from,
            total_items=run_items(project=project, item_set=item_set).count(),
        )
        if enqueue:
            _enqueue_dispatch(run)
    return run


def judge_run_execute(*, run: JudgeRun) -> JudgeRun:
    """Judge what is missing of the run right here, chunk by chunk, with the same code the workers run:
    for a task that is itself a worker's job (an optimization run measuring on the test split)."""
    if lifecycle.run_claim(JudgeRun, pk=run.pk) is not None:
        for chunk in _chunks(run):
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


def _chunks(run: JudgeRun) -> list[list[int]]:
    """What is missing of the run, split into chunks."""
    ids = list(pending_items(run).values_list("id", flat=True))
    return [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]


def judge_run_dispatch(*, run: JudgeRun) -> list[list[int]]:
    """Take the queued run (queued → running), split what is missing into chunks and queue them; a run
    with nothing missing is finished here. Only the delivery that takes the run dispatches it: a
    redelivered or repeated dispatch finds it running and queues nothing."""
    if lifecycle.run_claim(JudgeRun, pk=run.pk) is None:
        return []
    chunks = _chunks(run)
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


class _Chunk:
    """One delivery of a chunk: its lease on the items it judges and what it has yet to take."""

    def __init__(self, run: JudgeRun, item_ids: list[int]):
        self.run = run
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        failed = Judgment.objects.filter(run=run, item=OuterRef("pk")).exclude(error_kind="")
        rows = (
            pending_items(run)
            .filter(pk__in=item_ids)
            .annotate(failed=Exists(failed))
            .values_list("id", "query", "document", "failed")
        )
        self.items: dict[int, tuple[str, str]] = {}
        self.retrying: set[int] = set()  # items whose judgment is a recorded error, retried here
        for item_id, query, document, failed_before in rows:
            self.items[item_id] = (query, document)
            if failed_before:
                self.retrying.add(item_id)
        self.keys = {
            item_id: judgment_cache_key(
                prompt_version=run.prompt_version, endpoint=run.endpoint, query=query, document=document
            )
            for item_id, (query, document) in self.items.items()
        }
        self.waiting: set[int] = set(self.items)  # neither judged nor leased by this chunk yet
        self.reused = 0

    def take(self) -> list[tuple[int, str, str]]:
        """Lease what of `waiting` is unsettled and held by no live chunk; reuse what can be reused; the
        rest is this chunk's to judge. Items another live chunk holds keep waiting (for that chunk to
        settle them, or for its lease to expire when its worker dies)."""
        if not self.waiting:
            return []
        taken, self.waiting = item_leases_take(run=self.run, holder=self.holder, item_ids=self.waiting)
        if taken and not self.run.force_fresh:
            reused = _reuse_judgments(
                self.run, {item_id: self.keys[item_id] for item_id in taken}, retrying=self.retrying
            )
            self.reused += len(reused)
            taken -= reused
        return [(item_id, *self.items[item_id]) for item_id in sorted(taken)]

    def renew(self) -> None:
        ChunkLease.objects.filter(holder=self.holder).update(expires_at=_chunk_lease_expiry())

    def release(self) -> None:
        ChunkLease.objects.filter(holder=self.holder).delete()


def _chunk_lease_expiry():
    return timezone.now() + timedelta(seconds=settings.JUDGE_CHUNK_LEASE_S)


def item_leases_take(*, run: JudgeRun, holder: str, item_ids: set[int]) -> tuple[set[int], set[int]]:
    """The items of `item_ids` this holder now leases (those with no settled judgment that no live chunk
    of the run holds), and those another live chunk holds. The run's row is locked meanwhile, so two
    chunks never lease the same item."""
    now = timezone.now()
    with transaction.atomic():
        list(JudgeRun.objects.select_for_update().filter(pk=run.pk).values_list("pk"))
        ChunkLease.objects.filter(run=run, expires_at__lt=now).delete()
        held = set()
        mine: set[int] = set()
        for lease_holder, ids in ChunkLease.objects.filter(run=run).values_list("holder", "item_ids"):
            (mine if lease_holder == holder else held).update(ids)
        unsettled = set(pending_items(run).filter(pk__in=item_ids).values_list("id", flat=True))
        free = unsettled - held - mine
        if free:
            ChunkLease.objects.update_or_create(
                holder=holder,
                defaults={"run": run, "item_ids": sorted(mine | free), "expires_at": _chunk_lease_expiry()},
            )
    return free, unsettled & held - mine


def judge_chunk_process(*, run_id: int, item_ids: list[int]) -> ChunkResult:
    """Judge the chunk's items that are still missing. Safe to deliver twice, or while a resume's chunks
    run: what another live chunk holds is left to it, what is settled is never called again."""
    run = JudgeRun.objects.select_related("project", "prompt_version", "endpoint").get(pk=run_id)
    if run.cancel_requested or run.is_finished:
        return ChunkResult(0, 0, cancelled=run.cancel_requested)
    _beat(run.pk)
    chunk = _Chunk(run, item_ids)
    try:
        judged, cancelled = _judge_concurrently(run, chunk)
    finally:
        chunk.release()
    judge_run_finish_if_complete(run_id=run.pk)
    return ChunkResult(judged=judged, reused=chunk.reused, cancelled=cancelled)


def _reuse_judgments(run: JudgeRun, keys: dict[int, str], *, retrying: set[int]) -> set[int]:
    """Copy the latest identical judgment (same prompt, model settings, item content) from another run;
    the items that got one."""
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
    _save_judgments(run, copies, retrying=retrying)
    return set(copies)


def _judge_concurrently(run: JudgeRun, chunk: _Chunk) -> tuple[int, bool]:
    """At most endpoint.concurrency calls in flight, counting every worker's (endpoint leases); judgments
    are saved in small batches as they complete (SAVE_BATCH), by this thread (one database connection), and
    cancellation stops new calls within CANCEL_POLL_S. Items other chunks hold are taken over, every
    LEASE_RENEW_S, once their lease expires."""
    todo = chunk.take()
    if not todo and not chunk.waiting:
        return 0, False
    keys = chunk.keys
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
    unsaved: dict[int, dict] = {}  # answers not saved yet, since `oldest`
    oldest = 0.0
    saved = limit = 0
    last_poll = last_beat = time.monotonic()
    last_lease = -math.inf
    holder = chunk.holder
    beat_every = min(HEARTBEAT_S, lifecycle.heartbeat_every())
    with ThreadPoolExecutor(max_workers=max(1, min(run.endpoint.concurrency, len(chunk.items)))) as pool:
        try:
            while queue or in_flight or unsaved or (chunk.waiting and not state["cancelled"]):
                if time.monotonic() - last_lease >= LEASE_RENEW_S:
                    last_lease = time.monotonic()
                    chunk.renew()
                    if chunk.waiting and not state["cancelled"]:
                        queue[:0] = reversed(chunk.take())
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
                    if done and not unsaved:
                        oldest = time.monotonic()
                    for future in done:
                        item_id = in_flight.pop(future)
                        unsaved[item_id] = _outcome_fields(keys[item_id], future.result())
                elif state["cancelled"]:
                    break
                else:
                    time.sleep(CANCEL_POLL_S)  # other workers hold every call this endpoint allows
                if unsaved and (
                    len(unsaved) >= SAVE_BATCH or time.monotonic() - oldest >= SAVE_EVERY_S or not in_flight
                ):
                    _save_judgments(run, unsaved, retrying=chunk.retrying)
                    saved += len(unsaved)
                    unsaved = {}
                if time.monotonic() - last_poll >= CANCEL_POLL_S:
                    last_poll = time.monotonic()
                    state["cancelled"] = JudgeRun.objects.filter(pk=run.pk, cancel_requested=True).exists()
                if time.monotonic() - last_beat >= beat_every:
                    last_beat = time.monotonic()
                    _beat(run.pk)
        finally:
            if unsaved:  # an answer paid for is kept, whatever stopped the loop
                _save_judgments(run, unsaved, retrying=chunk.retrying)
                saved += len(unsaved)
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
    """A chunk at work is the proof of a live worker: it beats, and takes back a run that liveness
    marked interrupted meanwhile (a slow database, a chunk the broker delivered late)."""
    if not lifecycle.run_beat(JudgeRun, pk=run_id):
        lifecycle.run_revive(JudgeRun, pk=run_id)


def judge_run_stalled_for(run: JudgeRun) -> float | None:
    """Seconds since anything looked after this active run, once that exceeds the liveness limit: its
    worker died (the liveness task marks it interrupted shortly) or every worker is busy elsewhere."""
    if not run.is_active:
        return None
    last = max(t for t in (run.created_at, run.started_at, run.heartbeat_at) if t is not None)
    silent = (timezone.now() - last).total_seconds()
    return silent if silent > settings.BACKGROUND_STALE_AFTER_S else None


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


def _save_judgments(run: JudgeRun, rows: dict[int, dict], *, retrying: set[int]) -> None:
    """New items are inserted in one statement; an item in `retrying` (its judgment was a recorded
    error) is upgraded in place when the retry settled it. A settled judgment is never replaced (by an
    error, or by a second answer), and (run, item) stays unique."""
    if not rows:
        return
    with transaction.atomic():
        _insert_judgments(run, rows)
        for item_id in retrying.intersection(rows):
            if not rows[item_id]["error_kind"]:
                Judgment.objects.filter(run=run, item_id=item_id).exclude(error_kind="").update(
                    **rows[item_id]
                )
        # A chunk still saving after its run finished (a cancel with calls in flight) makes the run's
        # stored metrics stale.
        judge_run_metrics_forget(run_id=run.pk)


def _insert_judgments(run: JudgeRun, rows: dict[int, dict]) -> None:
    """bulk_create(ignore_conflicts=True) without its per-field preparation, the worker's largest cost per
    item besides the call itself: one INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike)
    executed for all rows. Columns come from the model, so a field added later gets its default."""
    fields = [field for field in Judgment._meta.concrete_fields if not field.primary_key]
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    cost = Judgment._meta.get_field("cost")
    values = []
    for item_id, given in rows.items():
        given = {**given, "run_id": run.pk, "item_id": item_id}
        row = []
        for field in fields:
            if field.attname == "created_at":
                row.append(now)
            elif field is cost:
                row.append(ops.adapt_decimalfield_value(given["cost"], cost.max_digits, cost.decimal_places))
            else:
                row.append(given[field.attname] if field.attname in given else field.get_default())
        values.append(row)
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {ops.quote_name(Judgment._meta.db_table)} ({columns}) VALUES ({placeholders}) "
            "ON CONFLICT DO NOTHING",
            values,
        )


def judge_run_finish_if_complete(*, run_id: int) -> bool:
    """End the run once every item of its set has an outcome: done when all are settled, failed (with
    the count of errors, which a resume retries) when some calls failed for good; cancelled when asked."""
    run = JudgeRun.objects.select_related("project").get(pk=run_id)
    if run.is_finished:
        return True
    if run.cancel_requested:
        return _finish(run, status=JudgeRun.Status.CANCELLED)
    judged = Judgment.objects.filter(run=run, item=OuterRef("pk"))
    if run_items(project=run.project, item_set=run.item_set).filter(~Exists(judged)).exists():
        return False
    error = judge_run_error_summary(run)
    return _finish(run, status=JudgeRun.Status.FAILED if error else JudgeRun.Status.DONE, error=error)


def _finish(run: JudgeRun, *, status: str, error: str = "") -> bool:
    """The run settles: its metrics are computed now, once, and stored with it."""
    if not lifecycle.run_finish(JudgeRun, pk=run.pk, status=status, error=error):
        return False
    run.refresh_from_db()
    judge_run_metrics_store(run=run)
    return True


def judge_run_error_summary(run: JudgeRun) -> str:
    """What failed for good, in words; empty when every item has an answer."""
    by_kind = dict(
        run.judgments.exclude(error_kind="").values_list("error_kind").annotate(n=Count("id")).order_by()
    )
    if not by_kind:
        return ""
    kinds = ", ".join(f"{Judgment.ErrorKind(kind).label}: {n}" for kind, n in sorted(by_kind.items()))
    return (
        f"{sum(by_kind.values())} of {run.total_items} items could not be judged ({kinds}); "
        "resume retries only those."
    )


def judge_run_cancel(*, run: JudgeRun) -> str:
    """Stop the run whether or not its worker is alive (see lifecycle.run_cancel); the new status."""
    return lifecycle.run_cancel(JudgeRun, pk=run.pk)


def judge_run_resume(*, run: JudgeRun, include_cancelled: bool = False) -> JudgeRun:
    """Fill only what is missing (and retry recorded errors) of an interrupted or failed run (or a
    cancelled one, when asked); nothing is judged twice. Refused (TransitionRefused) otherwise."""
    with transaction.atomic():
        lifecycle.run_resume(JudgeRun, pk=run.pk, include_cancelled=include_cancelled)
        _enqueue_dispatch(run)
    run.refresh_from_db()
    return run


def judge_run_has_errors(run: JudgeRun) -> bool:
    return run.judgments.filter(~Q(error_kind="")).exists()
