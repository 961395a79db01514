"""On PostgreSQL, annotators asking for work at the same instant never receive the same item: real threads,
each on its own database connection, released together by a barrier, round after round."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from labeling import services
from labeling.models import Label, Project, Reservation
from labeling.roles import ANNOTATOR
from tests.labeling.factories import items_make

ANNOTATORS = 8
ROUNDS = 4
# Three full rounds, then only four items for eight annotators: half of them must go without.
ITEMS = ANNOTATORS * (ROUNDS - 1) + ANNOTATORS // 2
pytestmark = pytest.mark.services

RATIONALE = "Labelled under contention, with enough words."


def _annotate(project, annotator, slot: int, barrier: threading.Barrier, taken: list, errors: list) -> None:
    try:
        for round_ in range(ROUNDS):
            barrier.wait()  # everyone asks at the same instant
            item = services.item_reserve_next(project=project, annotator=annotator)
            taken[round_][slot] = item.pk if item else None
            barrier.wait()  # everyone holds their item before anyone labels it
            if item is not None:
                services.label_submit(item=item, annotator=annotator, score=3, rationale=RATIONALE)
    except BaseException as error:  # noqa: BLE001 - reported by the test, in the main thread
        errors.append(error)
        barrier.abort()
    finally:
        connections.close_all()  # this thread's own connection


@pytest.mark.parametrize("queue_order", Project.QueueOrder.values)
def test_eight_annotators_asking_at_once_never_share_a_reservation(
    postgres_db, project, make_user, queue_order
):
    project.queue_order = queue_order
    project.save()
    items_make(project, ITEMS)
    annotators = [make_user(f"annotator{n}", ANNOTATOR) for n in range(ANNOTATORS)]
    barrier = threading.Barrier(ANNOTATORS, timeout=60)
    taken: list[list[int | None]] = [[None] * ANNOTATORS for _ in range(ROUNDS)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_annotate, args=(project, annotator, slot, barrier, taken, errors))
        for slot, annotator in enumerate(annotators)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    for round_ in taken[: ROUNDS - 1]:
        assert None not in round_
        assert len(set(round_)) == ANNOTATORS  # nobody shares an item within a round
    last = [pk for pk in taken[-1] if pk is not None]
    assert len(last) == len(set(last)) == ANNOTATORS // 2  # the last four items, once each
    every = [pk for round_ in taken for pk in round_ if pk is not None]
    assert len(every) == len(set(every)) == ITEMS  # and no item twice across rounds
    assert Label.objects.count() == ITEMS
    assert set(Label.objects.values_list("item_id", flat=True)) == set(every)
    assert not Reservation.objects.exists()  # every reservation was released by its submit
