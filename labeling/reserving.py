"""Reservations in one statement each: take the next item of an annotator's queue (the item they hold,
else the next open one, else the next they skipped), or take a given item, unless someone else holds it.

Django has no INSERT … SELECT and no condition on a conflict, so the statements are SQL (the same on
PostgreSQL and SQLite); the queue queries inside them are Django's, from labeling.selectors, compiled once
per queue order and reused (compiling them took more CPU than running them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import connection

from labeling import selectors
from labeling.models import Item, Project

# How long an item shown to an annotator stays theirs alone.
RESERVATION_TTL = timedelta(minutes=10)

# A new reservation, or the row of an expired one (or of their own, which runs for another
# RESERVATION_TTL); someone else's that still runs is left as it was and comes back as theirs.
_TAKE_NEXT = """
INSERT INTO labeling_reservation (item_id, annotator_id, created_at, expires_at)
SELECT candidate.item_id, %s, %s, %s
FROM (SELECT COALESCE(({held}), ({open}), ({skipped})) AS item_id) candidate
WHERE candidate.item_id IS NOT NULL
ON CONFLICT (item_id) DO UPDATE SET
    annotator_id = CASE WHEN {free} THEN excluded.annotator_id ELSE labeling_reservation.annotator_id END,
    created_at = CASE WHEN {expired} THEN excluded.created_at ELSE labeling_reservation.created_at END,
    expires_at = CASE WHEN {free} THEN excluded.expires_at ELSE labeling_reservation.expires_at END
RETURNING item_id, annotator_id
"""
_EXPIRED = (
    "(labeling_reservation.expires_at <= excluded.created_at "
    "AND labeling_reservation.annotator_id <> excluded.annotator_id)"
)
_FREE = (
    "(labeling_reservation.expires_at <= excluded.created_at "
    "OR labeling_reservation.annotator_id = excluded.annotator_id)"
)
_TAKE = (
    "INSERT INTO labeling_reservation (item_id, annotator_id, created_at, expires_at) "
    "VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (item_id) DO UPDATE SET annotator_id = excluded.annotator_id, "
    "created_at = excluded.created_at, expires_at = excluded.expires_at "
    f"WHERE {_FREE}"
)


def reservation_take(*, item_id: int, annotator, now: datetime) -> bool:
    """Hold the item for the annotator unless someone else holds it right now."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [item_id, annotator.pk, *_stamps(now)])
        return cursor.rowcount == 1


def reservation_take_next(
    *, project: Project, annotator, now: datetime, lost: list[int]
) -> tuple[int, int] | None:
    """(item id, holder id) of the item the statement landed on, or None when nothing is left for them.
    The holder is someone else when they took it first (see services.item_reserve_next)."""
    if lost:  # a race was lost: rare, compiled afresh with the items to leave out
        sql, params = _take_next_sql(project=project, annotator=annotator, now=now, lost=lost)
    else:
        sql, slots = _take_next_template(connection.vendor, project.queue_order)
        values = {_PROJECT: project.pk, _TARGET: project.labels_per_item, _ANNOTATOR: annotator.pk}
        values[_NOW] = connection.ops.adapt_datetimefield_value(now)
        params = [values.get(slot, slot) if isinstance(slot, _Slot) else slot for slot in slots]
    with connection.cursor() as cursor:
        cursor.execute(sql, [annotator.pk, *_stamps(now), *params])
        return cursor.fetchone()


def _stamps(now: datetime) -> list:
    return [connection.ops.adapt_datetimefield_value(at) for at in (now, now + RESERVATION_TTL)]


def _take_next_sql(*, project: Project, annotator, now: datetime, lost: list[int]) -> tuple[str, list]:
    def first_id(queryset) -> tuple[str, tuple]:
        sql, params = queryset.values("pk")[:1].query.sql_with_params()
        if connection.features.has_select_for_update_skip_locked:
            # Locked for the statement: concurrent annotators walk past each other's candidates.
            item_table = connection.ops.quote_name(Item._meta.db_table)
            sql += " " + connection.ops.for_update_sql(skip_locked=True, of=(item_table,))
        return sql, params

    def queue(skipped: bool) -> tuple[str, tuple]:
        items = selectors.items_available_to(project=project, annotator=annotator, now=now, skipped=skipped)
        return first_id(items.exclude(pk__in=lost))

    held = selectors.annotator_reservations(project=project, annotator=annotator, now=now).values("item_id")
    held_sql, held_params = held[:1].query.sql_with_params()
    (open_sql, open_params), (skipped_sql, skipped_params) = queue(False), queue(True)
    sql = _TAKE_NEXT.format(held=held_sql, open=open_sql, skipped=skipped_sql, free=_FREE, expired=_EXPIRED)
    return sql, [*held_params, *open_params, *skipped_params]


class _Slot(str):
    """A parameter of the compiled statement that changes from call to call."""


_PROJECT, _TARGET, _ANNOTATOR, _NOW = _Slot("project"), _Slot("target"), _Slot("annotator"), _Slot("now")
# Stand-ins no real row or clock has, compiled in once; each is found again among the parameters.
_STAND_INS = {_PROJECT: 987_654_321, _TARGET: 31_991, _ANNOTATOR: 987_654_323}
_STAND_IN_NOW = datetime(2001, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC)


@lru_cache(maxsize=32)
def _take_next_template(vendor: str, queue_order: str) -> tuple[str, list]:
    project = Project(pk=_STAND_INS[_PROJECT], labels_per_item=_STAND_INS[_TARGET], queue_order=queue_order)
    annotator = get_user_model()(pk=_STAND_INS[_ANNOTATOR])
    sql, params = _take_next_sql(project=project, annotator=annotator, now=_STAND_IN_NOW, lost=[])
    by_value = {value: slot for slot, value in _STAND_INS.items()}
    by_value[connection.ops.adapt_datetimefield_value(_STAND_IN_NOW)] = _NOW
    slots = [by_value.get(param, param) if _hashable(param) else param for param in params]
    missing = {_PROJECT, _TARGET, _ANNOTATOR, _NOW} - {slot for slot in slots if isinstance(slot, _Slot)}
    if missing:
        raise RuntimeError(f"the queue's statement lost its parameters {sorted(missing)}")
    return sql, slots


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
