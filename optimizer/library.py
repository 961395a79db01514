"""The rules of the instruction library: a reviewer turns approved bullets into a general instruction
(checked by the leakage guardrail), then edits, reorders, activates or deactivates it, each change
recorded as an InstructionChange."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from judging.guardrails import project_guardrails
from optimizer.bullets import bullet_snapshot, row_locked
from optimizer.models import Bullet, BulletChange, InstructionChange, LibraryInstruction


def instruction_leakage_flags(*, project, text: str) -> list[dict]:
    """The leakage guardrail on an instruction: no verbatim phrase of a training item's query or
    document, no term found only in training items, no user name."""
    return project_guardrails(project).leakage(text)


def _snapshot(instruction: LibraryInstruction) -> dict:
    return {
        "text": instruction.text,
        "position": instruction.position,
        "active": instruction.active,
        "guardrail_flags": instruction.guardrail_flags,
    }


def _record(instruction: LibraryInstruction, *, action: str, user, before: dict) -> None:
    InstructionChange.objects.create(
        instruction=instruction, user=user, action=action, before=before, after=_snapshot(instruction)
    )


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError("Write the instruction in your own words.")
    return text


@transaction.atomic
def instruction_create_from_bullets(
    *, project, bullets: Sequence[Bullet], text: str, user
) -> LibraryInstruction:
    """A new instruction at the end of the library, from approved bullets of the project. A flagged
    instruction is kept, with its flags shown, so the reviewer can reword it."""
    text = _clean_text(text)
    if not bullets:
        raise ValidationError("An instruction comes from at least one approved bullet.")
    bullets = list(Bullet.objects.select_for_update().filter(pk__in=[b.pk for b in bullets]).order_by("id"))
    for bullet in bullets:
        if bullet.project_id != project.pk or bullet.status != Bullet.Status.APPROVED:
            raise ValidationError(f"Bullet #{bullet.pk} is not an approved bullet of this project.")
    last = LibraryInstruction.objects.filter(project=project).aggregate(last=Max("position"))["last"]
    instruction = LibraryInstruction.objects.create(
        project=project,
        text=text,
        position=0 if last is None else last + 1,
        guardrail_flags=instruction_leakage_flags(project=project, text=text),
        created_by=user,
    )
    instruction.origin_bullets.set(bullets)
    _record(instruction, action=InstructionChange.Action.CREATE, user=user, before={})
    BulletChange.objects.bulk_create(
        BulletChange(
            bullet=bullet,
            user=user,
            action=BulletChange.Action.PROMOTE,
            before=bullet_snapshot(bullet),
            after={"status": bullet.status, "instruction": instruction.pk, "instruction_text": text},
        )
        for bullet in bullets
    )
    return instruction


@transaction.atomic
def instruction_edit(*, instruction: LibraryInstruction, text: str, user) -> LibraryInstruction:
    """New wording, checked again by the leakage guardrail."""
    locked = row_locked(instruction)
    text = _clean_text(text)
    if text == locked.text:
        return locked
    before = _snapshot(locked)
    locked.text = text
    locked.guardrail_flags = instruction_leakage_flags(project=locked.project, text=text)
    locked.save()
    _record(locked, action=InstructionChange.Action.EDIT, user=user, before=before)
    return locked


@transaction.atomic
def instruction_move(*, instruction: LibraryInstruction, offset: int, user) -> LibraryInstruction:
    """Move an instruction up (offset −1) or down (+1) the library; the positions of the project are
    renumbered 0..n−1 on the way, and each instruction whose position changed gets a MOVE change."""
    ordered = list(
        LibraryInstruction.objects.select_for_update()
        .filter(project_id=instruction.project_id)
        .order_by("position", "id")
    )
    index = next(i for i, other in enumerate(ordered) if other.pk == instruction.pk)
    target = min(max(index + offset, 0), len(ordered) - 1)
    ordered.insert(target, ordered.pop(index))
    moved = None
    for position, other in enumerate(ordered):
        if other.pk == instruction.pk:
            moved = other
        if other.position != position:
            before = _snapshot(other)
            other.position = position
            other.save(update_fields=["position", "updated_at"])
            _record(other, action=InstructionChange.Action.MOVE, user=user, before=before)
    return moved


@transaction.atomic
def instruction_set_active(*, instruction: LibraryInstruction, active: bool, user) -> LibraryInstruction:
    """Only active instructions are composed into prompts; an inactive one stays in the library."""
    locked = row_locked(instruction)
    if locked.active == active:
        return locked
    before = _snapshot(locked)
    locked.active = active
    locked.save(update_fields=["active", "updated_at"])
    action = InstructionChange.Action.ACTIVATE if active else InstructionChange.Action.DEACTIVATE
    _record(locked, action=action, user=user, before=before)
    return locked
