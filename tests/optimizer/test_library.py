"""The instruction library: general rules written from approved bullets, checked for leakage, ordered,
edited and switched on and off, with every change on record."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from optimizer.bullets import bullet_approve, bullets_generate_from_run
from optimizer.library import (
    instruction_create_from_bullets,
    instruction_edit,
    instruction_move,
    instruction_set_active,
)
from optimizer.models import Bullet, InstructionChange
from optimizer.selectors import library_instructions
from tests.optimizer.disagreements import Row, run_make

pytestmark = pytest.mark.django_db

TRAINING_DOCUMENT = (
    "Boil the eggs for seven minutes and then plunge them into iced water so that the yolk stays soft."
)
GENERAL_RULE = "A document that only repeats the query's words without answering it scores the minimum."


@pytest.fixture
def approved(project, annotator, reviewer) -> list[Bullet]:
    rows = [
        Row("train", gold=1, judge=5, query="how long to boil an egg", document=TRAINING_DOCUMENT),
        Row("train", gold=1, judge=4),
        Row("dev", gold=4, judge=2),
    ]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)
    bullets = list(Bullet.objects.order_by("id"))
    for bullet in bullets[:2]:
        bullet_approve(bullet=bullet, user=reviewer)
    return bullets


def _make(project, approved, reviewer, text=GENERAL_RULE):
    return instruction_create_from_bullets(project=project, bullets=approved[:2], text=text, user=reviewer)


def test_a_reviewer_turns_approved_bullets_into_an_instruction_with_its_origins(project, approved, reviewer):
    instruction = _make(project, approved, reviewer)

    assert instruction.text == GENERAL_RULE and instruction.guardrail_flags == []
    assert set(instruction.origin_bullets.all()) == set(approved[:2])
    created = instruction.changes.get()
    assert (created.action, created.user, created.after["text"]) == ("create", reviewer, GENERAL_RULE)
    for bullet in approved[:2]:
        promoted = bullet.changes.first()
        assert (promoted.action, promoted.user, promoted.after["instruction"]) == (
            "promote",
            reviewer,
            instruction.pk,
        )


def test_an_instruction_copying_a_training_document_phrase_is_flagged_and_kept(project, approved, reviewer):
    leaky = "Give a 5 when the document says to plunge them into iced water so that the yolk stays soft."

    instruction = _make(project, approved, reviewer, text=leaky)

    assert instruction.pk is not None and instruction.is_flagged
    assert instruction.guardrail_flags[0]["rule"] == "leakage"
    assert "into iced water so that the yolk stays soft" in instruction.guardrail_flags[0]["detail"]


def test_an_instruction_naming_a_user_is_flagged_but_role_words_are_not(
    project, approved, reviewer, make_user
):
    make_user("reviewer")  # the demo's accounts are named after their roles
    named = _make(project, approved, reviewer, text="Trust alice over the judge when the keywords pile up.")
    roles = _make(
        project, approved, reviewer, text="Trust the reviewer over the judge when keywords pile up."
    )

    assert named.guardrail_flags == [{"rule": "leakage", "detail": 'names a user: "alice"'}]
    assert roles.guardrail_flags == []


def test_only_approved_bullets_of_the_project_can_be_promoted(project, approved, reviewer):
    with pytest.raises(ValidationError):
        instruction_create_from_bullets(
            project=project, bullets=[approved[2]], text=GENERAL_RULE, user=reviewer
        )
    with pytest.raises(ValidationError):
        instruction_create_from_bullets(project=project, bullets=approved[:1], text="  ", user=reviewer)
    with pytest.raises(ValidationError):
        instruction_create_from_bullets(project=project, bullets=[], text=GENERAL_RULE, user=reviewer)


def test_editing_an_instruction_runs_the_guardrail_again_and_records_before_and_after(
    project, approved, reviewer, lead
):
    instruction = _make(project, approved, reviewer)
    instruction_edit(
        instruction=instruction, text="Plunge them into iced water so that the yolk stays soft.", user=lead
    )

    instruction.refresh_from_db()
    assert instruction.is_flagged
    edit = instruction.changes.first()
    assert (edit.action, edit.user) == ("edit", lead)
    assert edit.before["text"] == GENERAL_RULE and edit.before["guardrail_flags"] == []
    assert edit.after["guardrail_flags"] == instruction.guardrail_flags


def test_the_library_is_ordered_and_only_active_instructions_are_composed(project, approved, reviewer):
    first = _make(project, approved, reviewer, text="First rule.")
    second = _make(project, approved, reviewer, text="Second rule.")
    third = _make(project, approved, reviewer, text="Third rule.")
    assert list(library_instructions(project)) == [first, second, third]

    instruction_move(instruction=third, offset=-1, user=reviewer)
    instruction_move(instruction=third, offset=-1, user=reviewer)
    instruction_move(instruction=third, offset=-1, user=reviewer)  # already at the top: nothing moves
    instruction_set_active(instruction=first, active=False, user=reviewer)

    assert list(library_instructions(project)) == [third, second]
    actions = list(
        InstructionChange.objects.exclude(action="create").order_by("id").values_list("action", "instruction")
    )
    assert actions == [
        ("move", third.pk),
        ("move", second.pk),
        ("move", third.pk),
        ("move", first.pk),
        ("deactivate", first.pk),
    ]
    instruction_set_active(instruction=first, active=True, user=reviewer)
    assert list(library_instructions(project)) == [third, first, second]
    assert first.changes.first().action == "activate"
