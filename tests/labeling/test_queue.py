"""The annotators' queue: which item comes next, reservations, skips, undo and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from labeling import services
from labeling.models import Label, LabelRevision, Reservation
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db

RATIONALE = "The document answers the query directly."


def test_next_item_is_the_first_unlabeled_item_and_is_reserved(project, annotator):
    first, _ = items_make(project, 2)

    item = services.item_reserve_next(project=project, annotator=annotator)

    assert item == first
    reservation = Reservation.objects.get(item=first)
    assert reservation.annotator == annotator
    assert reservation.expires_at > timezone.now() + timedelta(minutes=9)


def test_asking_again_returns_the_item_already_held(project, annotator):
    items_make(project, 3)
    held = services.item_reserve_next(project=project, annotator=annotator)

    assert services.item_reserve_next(project=project, annotator=annotator) == held
    assert Reservation.objects.count() == 1


def test_two_annotators_get_different_items(project, annotator, reviewer):
    items_make(project, 2)

    mine = services.item_reserve_next(project=project, annotator=annotator)
    theirs = services.item_reserve_next(project=project, annotator=reviewer)

    assert mine != theirs


def test_an_expired_reservation_is_free_for_someone_else(project, annotator, reviewer):
    (only,) = items_make(project, 1)
    earlier = timezone.now() - timedelta(hours=1)
    services.item_reserve_next(project=project, annotator=annotator, now=earlier)

    assert services.item_reserve_next(project=project, annotator=reviewer) == only
    assert Reservation.objects.get().annotator == reviewer


def test_an_item_held_by_someone_else_is_not_offered(project, annotator, reviewer):
    items_make(project, 1)
    services.item_reserve_next(project=project, annotator=annotator)

    assert services.item_reserve_next(project=project, annotator=reviewer) is None


def test_items_at_their_target_are_not_offered(project, annotator, reviewer, lead):
    project.labels_per_item = 2
    project.save()
    full, half, empty = items_make(project, 3)
    label_make(full, reviewer, 3)
    label_make(full, lead, 4)
    label_make(half, reviewer, 3)

    assert services.item_reserve_next(project=project, annotator=annotator) == half


def test_an_item_the_annotator_labeled_is_not_offered_again(project, annotator, reviewer):
    project.labels_per_item = 3
    project.save()
    first, second = items_make(project, 2)
    label_make(first, annotator, 3)

    assert services.item_reserve_next(project=project, annotator=annotator) == second


def test_nothing_is_offered_when_the_queue_is_done(project, annotator):
    (item,) = items_make(project, 1)
    label_make(item, annotator, 2)

    assert services.item_reserve_next(project=project, annotator=annotator) is None


def test_submitting_records_the_label_and_releases_the_reservation(project, annotator):
    items_make(project, 2)
    item = services.item_reserve_next(project=project, annotator=annotator)

    label = services.label_submit(
        item=item, annotator=annotator, score=4, rationale=RATIONALE, seconds_spent=7.5
    )

    assert (label.score, label.rationale, label.seconds_spent) == (4, RATIONALE, 7.5)
    assert not Reservation.objects.filter(item=item).exists()
    assert services.item_reserve_next(project=project, annotator=annotator) != item


def test_a_second_submit_of_the_same_item_keeps_the_first_label(project, annotator):
    (item,) = items_make(project, 1)
    services.label_submit(item=item, annotator=annotator, score=4, rationale=RATIONALE)

    services.label_submit(item=item, annotator=annotator, score=1, rationale=RATIONALE)

    assert Label.objects.get().score == 4


@pytest.mark.parametrize(
    "score,rationale,field",
    [
        (0, RATIONALE, "score"),
        (6, RATIONALE, "score"),
        (None, RATIONALE, "score"),
        (3, "   too short   ", "rationale"),
    ],
)
def test_a_label_needs_a_score_on_the_scale_and_a_long_enough_rationale(
    project, annotator, score, rationale, field
):
    (item,) = items_make(project, 1)

    with pytest.raises(ValidationError) as error:
        services.label_submit(item=item, annotator=annotator, score=score, rationale=rationale)

    assert field in error.value.message_dict
    assert not Label.objects.exists()


def test_the_rationale_minimum_is_the_projects_setting(project, annotator):
    project.rationale_min_length = 3
    project.save()
    (item,) = items_make(project, 1)

    assert services.label_submit(item=item, annotator=annotator, score=2, rationale="ok!").rationale == "ok!"


def test_a_skipped_item_is_released_and_comes_back_only_after_the_rest(project, annotator, reviewer):
    first, second, third = items_make(project, 3)
    assert services.item_reserve_next(project=project, annotator=annotator) == first

    services.item_skip(item=first, annotator=annotator)

    assert services.item_reserve_next(project=project, annotator=reviewer) == first  # free for others at once
    services.label_submit(item=first, annotator=reviewer, score=2, rationale=RATIONALE)
    assert services.item_reserve_next(project=project, annotator=annotator) == second


def test_skipped_items_return_oldest_skip_first_once_nothing_else_is_left(project, annotator):
    first, second = items_make(project, 2)
    now = timezone.now()
    services.item_skip(item=second, annotator=annotator, now=now - timedelta(minutes=5))
    services.item_skip(item=first, annotator=annotator, now=now)

    assert services.item_reserve_next(project=project, annotator=annotator) == second


def test_undo_deletes_the_latest_label_keeps_it_in_the_audit_trail_and_holds_the_item(project, annotator):
    first, second, _ = items_make(project, 3)
    services.label_submit(item=first, annotator=annotator, score=2, rationale=RATIONALE)
    services.label_submit(
        item=second, annotator=annotator, score=5, rationale="Second rationale, long enough."
    )

    revision = services.label_undo_last(project=project, annotator=annotator)

    assert revision.item == second
    assert list(Label.objects.values_list("item_id", flat=True)) == [first.pk]
    undone = LabelRevision.objects.get()
    assert (undone.action, undone.score, undone.rationale, undone.annotator) == (
        "undo",
        5,
        "Second rationale, long enough.",
        annotator,
    )
    assert services.item_reserve_next(project=project, annotator=annotator) == second


def test_undo_with_no_label_does_nothing(project, annotator):
    items_make(project, 1)

    assert services.label_undo_last(project=project, annotator=annotator) is None


def test_undo_only_touches_the_annotators_own_labels(project, annotator, reviewer):
    (item,) = items_make(project, 1)
    label_make(item, reviewer, 3)

    assert services.label_undo_last(project=project, annotator=annotator) is None
    assert Label.objects.count() == 1


def test_an_edit_keeps_the_previous_value(project, annotator):
    (item,) = items_make(project, 1)
    label = services.label_submit(item=item, annotator=annotator, score=2, rationale=RATIONALE)

    services.label_edit(label=label, score=4, rationale="On a second read it does answer it.")

    label.refresh_from_db()
    assert label.score == 4
    previous = LabelRevision.objects.get()
    assert (previous.action, previous.label, previous.score, previous.rationale) == (
        "edit",
        label,
        2,
        RATIONALE,
    )


def test_an_edit_that_changes_nothing_records_nothing(project, annotator):
    (item,) = items_make(project, 1)
    label = services.label_submit(item=item, annotator=annotator, score=2, rationale=RATIONALE)

    services.label_edit(label=label, score=2, rationale=RATIONALE)

    assert not LabelRevision.objects.exists()
