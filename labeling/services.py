"""Writes and rules of the labeling app: background imports, the annotators' queue (reservations,
skips), labels with their audit trail, and adjudication."""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from labeling import lifecycle, reserving
from labeling.importing import ImportOptions, ImportRejected, items_import, readable
from labeling.models import ImportJob, Item, Label, LabelRevision, Project, Reservation, Skip
from labeling.roles import LEAD, has_role

logger = logging.getLogger(__name__)


def import_job_create(*, project: Project, user, upload, options: dict) -> ImportJob:
    """Store the upload and queue it for a worker; the job is visible at once, the rows come later."""
    settings.UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    stored = Path(settings.UPLOAD_DIR) / f"{uuid.uuid4().hex}_{get_valid_filename(upload.name)[:100]}"
    with stored.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return import_job_queue(project=project, user=user, file_name=upload.name, path=stored, options=options)


def import_job_queue(*, project: Project, user, file_name: str, path: Path, options: dict) -> ImportJob:
    """A job for a file already stored under UPLOAD_DIR (the worker deletes it), queued for a worker:
    the browser's upload and the API's body alike."""
    with transaction.atomic():
        job = ImportJob.objects.create(
            project=project,
            created_by=user,
            file_name=file_name[:255],
            stored_path=str(path),
            options=options,
        )
        from labeling.tasks import import_job_run_task

        transaction.on_commit(lambda: import_job_run_task.delay(job.pk))
    return job


def import_job_run(*, job: ImportJob) -> ImportJob:
    """Run one queued import. All or nothing: a rejected file leaves the project as it was. Only the
    delivery that takes the queued job runs it (a redelivered message finds it taken and does nothing),
    and whatever goes wrong, the job ends "failed" with a message a person can read: never "running"."""
    attempt = lifecycle.run_claim(ImportJob, pk=job.pk)
    if attempt is None:
        job.refresh_from_db()
        return job
    outcome = {"status": ImportJob.Status.FAILED, "error": "", "errors": []}
    try:
        if not has_role(job.created_by, LEAD, job.project):
            # Memberships can change between the upload and the worker picking the job up.
            refusal = f"{job.created_by} is no longer a lead of {job.project}: nothing was imported."
            outcome |= {"error": refusal, "errors": [{"line": None, "message": refusal}]}
        else:
            with lifecycle.HeartbeatThread(ImportJob, job.pk, attempt, lifecycle.heartbeat_every()):
                outcome = _import_job_import(job)
    except Exception as exc:  # noqa: BLE001 - any failure must end the job, with words instead of a trace
        logger.exception("import job %s failed", job.pk)
        message = (
            f"The import stopped on an unexpected error ({type(exc).__name__}); nothing was imported. "
            "Try again, or ask an operator to look at the worker's log."
        )
        outcome = {
            "status": ImportJob.Status.FAILED,
            "error": message,
            "errors": [{"line": None, "message": message}],
        }
    outcome["errors"] = [{**error, "message": readable(error["message"])} for error in outcome["errors"]]
    outcome["error"] = readable(outcome["error"])
    lifecycle.run_finish(ImportJob, pk=job.pk, attempt=attempt, **outcome)
    Path(job.stored_path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job


def _import_job_import(job: ImportJob) -> dict:
    """What run_finish records of one import: its status, error and line errors, and what it imported."""
    raw = job.options
    options = ImportOptions(
        format=raw.get("format"),
        field_map=raw.get("field_map") or {},
        file_scale=tuple(raw["file_scale"]) if raw.get("file_scale") else None,
        labels_as=raw.get("labels_as"),
        scale_labels=raw.get("scale_labels"),
    )
    try:
        result = items_import(project=job.project, path=Path(job.stored_path), options=options)
    except ImportRejected as rejected:
        errors = [{"line": e.line, "message": e.message} for e in rejected.errors]
        if rejected.bad_lines > len(rejected.errors):
            errors.append({"line": None, "message": f"{rejected.bad_lines} bad lines in all."})
        return {"status": ImportJob.Status.FAILED, "error": str(rejected), "errors": errors}
    except ValueError as bad_options:  # options that make no sense for this project, e.g. an unknown field
        error = str(bad_options)
        return {
            "status": ImportJob.Status.FAILED,
            "error": error,
            "errors": [{"line": None, "message": error}],
        }
    return {
        "status": ImportJob.Status.DONE,
        "error": "",
        "errors": [],
        "items_imported": result.items_created + result.items_updated,
        "labels_imported": result.labels_imported,
    }


# The labeling queue

# Under contention a candidate can be lost to a race; try a few more before giving up for this request.
_RESERVE_ATTEMPTS = 5


def item_reserve_next(*, project: Project, annotator, now: datetime | None = None) -> Item | None:
    """The item the annotator should label next, held for them until the reservation expires.

    An item the annotator already holds comes first (a reload shows the same item). Otherwise the first
    item in the project's queue order (id order, or most likely disagreement first: see
    selectors.items_available_to) that they have not labeled, that is short of the project's
    labels_per_item and that nobody else holds; items they skipped come last (see item_skip). None when
    nothing is left for them.

    Finding and taking are one statement (see labeling.reserving), then the item is read: two queries. On
    PostgreSQL the candidate is locked with FOR UPDATE SKIP LOCKED for that statement, so concurrent
    annotators walk past each other's items instead of queueing on them; the unique item column of
    Reservation settles a race the lock cannot see (the statement then reports the item as someone
    else's, and the next attempt leaves it out). SQLite serializes writes, which makes the same statement
    correct there.
    """
    now = now or timezone.now()
    lost: list[int] = []
    for _ in range(_RESERVE_ATTEMPTS):
        taken = reserving.reservation_take_next(project=project, annotator=annotator, now=now, lost=lost)
        if taken is None:
            return None
        item_id, holder_id = taken
        if holder_id == annotator.pk:
            item = Item.objects.get(pk=item_id)
            item.project = project  # the caller holds it: no second query
            return item
        lost.append(item_id)
    return None


def item_skip(*, item: Item, annotator, now: datetime | None = None) -> None:
    """Pass on an item: its reservation is released at once, so others may take it, and it goes to the
    back of this annotator's queue. It comes back to them only when nothing else is left, the longest
    ago skipped first, so a skip is never lost and never in the way."""
    now = now or timezone.now()
    with transaction.atomic():
        Reservation.objects.filter(item=item, annotator=annotator).delete()
        Skip.objects.bulk_create(
            [Skip(item=item, annotator=annotator, skipped_at=now)],
            update_conflicts=True,
            unique_fields=["annotator", "item"],
            update_fields=["skipped_at"],
        )


# Labels


def label_clean(*, project: Project, score: int | None, rationale: str) -> tuple[int, str]:
    """The rules every label follows: a score on the project's scale, and a rationale of at least the
    project's rationale_min_length characters (surrounding blanks do not count)."""
    errors = {}
    if score is None or not project.scale_min <= score <= project.scale_max:
        errors["score"] = f"Choose a score from {project.scale_min} to {project.scale_max}."
    rationale = (rationale or "").strip()
    if len(rationale) < project.rationale_min_length:
        errors["rationale"] = (
            f"Say why in at least {project.rationale_min_length} characters (this has {len(rationale)})."
        )
    if errors:
        raise ValidationError(errors)
    return score, rationale


def label_submit(
    *, item: Item, annotator, score: int, rationale: str, seconds_spent: float | None = None
) -> Label:
    """Record the annotator's label on the item and release their reservation of it.

    A second submit of the same item (a double Enter, a stale tab) keeps the first label; changing a
    label is label_edit's job, with its audit trail. A label is accepted even when the item reached
    its target in the meantime: the work was done, and more labels only firm up gold.
    """
    score, rationale = label_clean(project=item.project, score=score, rationale=rationale)
    label = Label(
        item=item, annotator=annotator, score=score, rationale=rationale, seconds_spent=seconds_spent
    )
    # The database's triggers count the label (labeling/counters.py) in the statement that inserts it.
    # Outside a transaction a refused INSERT leaves nothing to roll back, so a savepoint would be two
    # queries for nothing; inside one it keeps the caller's transaction usable.
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            label.save(force_insert=True)
    except IntegrityError:
        label = Label.objects.get(item=item, annotator=annotator)
    # Left behind, the reservation would keep the item from others until it expires. A plain DELETE:
    # QuerySet.delete() opens a transaction of its own for cascades a reservation does not have.
    Reservation.objects.filter(item=item, annotator=annotator)._raw_delete(connection.alias)
    return label


def label_edit(*, label: Label, score: int, rationale: str) -> Label:
    """Change a label; the value it had before is kept as a LabelRevision."""
    score, rationale = label_clean(project=label.item.project, score=score, rationale=rationale)
    if (score, rationale) == (label.score, label.rationale):
        return label
    with transaction.atomic():
        _revision_record(label, LabelRevision.Action.EDIT)
        label.score, label.rationale = score, rationale
        label.save(update_fields=["score", "rationale", "updated_at"])
    return label


def label_undo_last(*, project: Project, annotator) -> LabelRevision | None:
    """Delete the annotator's most recent label in the project and hold its item for them again, so the
    labeling page shows it next. The label lives on as the returned LabelRevision (the audit trail);
    None when they have no label to undo."""
    with transaction.atomic():
        label = (
            Label.objects.filter(item__project=project, annotator=annotator)
            .select_related("item")
            .order_by("-created_at", "-id")
            .first()
        )
        if label is None:
            return None
        revision = _revision_record(label, LabelRevision.Action.UNDO)
        label.delete()
        # Someone else may hold the item by now; the annotator still sees it and may label it again.
        reserving.reservation_take(item_id=revision.item_id, annotator=annotator, now=timezone.now())
    return revision


def _revision_record(label: Label, action: str) -> LabelRevision:
    return LabelRevision.objects.create(
        item=label.item,
        annotator_id=label.annotator_id,
        label=label if action == LabelRevision.Action.EDIT else None,
        action=action,
        score=label.score,
        rationale=label.rationale,
        labeled_at=label.created_at,
    )


# Adjudication


def item_adjudicate_clean(*, project: Project, score: int | None, note: str) -> tuple[int, str]:
    """A gold score on the project's scale, and a note that says why."""
    errors = {}
    if score is None or not project.scale_min <= score <= project.scale_max:
        errors["score"] = f"Choose a gold score from {project.scale_min} to {project.scale_max}."
    note = (note or "").strip()
    if not note:
        errors["note"] = "Say in a few words why this is the gold score."
    if errors:
        raise ValidationError(errors)
    return score, note


def item_adjudicate(*, item: Item, reviewer, score: int | None, note: str) -> Item:
    """Set the item's gold score, with the reviewer's note on why, and who decided when."""
    score, note = item_adjudicate_clean(project=item.project, score=score, note=note)
    item.adjudicated_score = score
    item.adjudication_note = note
    item.adjudicated_by = reviewer
    item.adjudicated_at = timezone.now()
    item.save(update_fields=["adjudicated_score", "adjudication_note", "adjudicated_by", "adjudicated_at"])
    return item
