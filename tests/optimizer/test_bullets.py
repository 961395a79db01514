"""Bullets: generated from a run's train/dev disagreements, reviewed (approve, edit, reject, reopen,
merge) with every change on record, and read back by the optimizer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from optimizer.bullets import (
    bullet_approve,
    bullet_edit,
    bullet_reject,
    bullet_reopen,
    bullets_generate_from_run,
    bullets_merge,
    merge_suggestions,
)
from optimizer.models import Bullet, BulletChange
from optimizer.selectors import approved_bullets, approved_feedback_by_item, prompt_version_counts
from tests.optimizer.disagreements import Row, run_make, version_make

pytestmark = pytest.mark.django_db

STUFFED = "Keyword stuffing: repeats the query words again and again but never answers the question."
PARTIAL = "A partial answer: covers the first half of the question and leaves the rest out."
ROWS = [
    Row(
        "train", gold=1, judge=5, rationale=STUFFED, reasoning="Query terms appear 30 times: a strong match."
    ),
    Row(
        "train", gold=1, judge=4, rationale=STUFFED, reasoning="Query terms appear 21 times: a strong match."
    ),
    Row("dev", gold=4, judge=2, rationale=PARTIAL, reasoning="It does not cover the whole query."),
    Row("train", gold=3, judge=1, rationale=PARTIAL, reasoning="It does not cover the whole query at all."),
    Row("train", gold=3, judge=3),  # agrees: no bullet
    Row("test", gold=1, judge=5, rationale=STUFFED),  # the test split only measures: no bullet
]


@pytest.fixture
def run(project, annotator):
    return run_make(project, annotator, ROWS)


@pytest.fixture
def bullets(run, reviewer) -> list[Bullet]:
    bullets_generate_from_run(run=run, user=reviewer)
    return list(Bullet.objects.order_by("item__external_id"))


def test_each_train_and_dev_disagreement_becomes_one_open_bullet_in_the_feedback_string_shape(run, reviewer):
    generated = bullets_generate_from_run(run=run, user=reviewer)

    assert generated.created == 4 and generated.existing == 0
    bullets = Bullet.objects.order_by("item__external_id")
    assert [b.item.external_id for b in bullets] == ["item-1", "item-2", "item-3", "item-4"]
    assert {b.status for b in bullets} == {"open"}
    first = bullets[0]
    assert first.text == first.generated_text
    assert first.text.splitlines() == [
        "judge 5, humans 1: over by 4.",
        "The judge was too lenient.",
        "Human rationale: " + STUFFED,
        "Judge reasoning: Query terms appear 30 times: a strong match.",
        "Guardrail: " + run.project.guardrail_text,
    ]
    assert (first.gold, first.judge_score, first.delta, first.direction) == (1, 5, 4, "too lenient")
    assert bullets[2].direction == "too strict"
    assert all(b.changes.get().action == "create" for b in bullets)


def test_regenerating_does_not_duplicate_bullets_and_keeps_the_reviewers_work(run, bullets, reviewer, lead):
    bullet_edit(bullet=bullets[0], user=reviewer, text="Keyword stuffing fooled the judge.")
    bullet_approve(bullet=bullets[0], user=reviewer)
    bullet_reject(bullet=bullets[1], user=reviewer)

    again = bullets_generate_from_run(run=run, user=lead)

    assert again.created == 0 and again.existing == 4
    assert Bullet.objects.count() == 4
    kept = Bullet.objects.get(pk=bullets[0].pk)
    assert (kept.status, kept.text) == ("approved", "Keyword stuffing fooled the judge.")
    assert Bullet.objects.get(pk=bullets[1].pk).status == "rejected"
    assert BulletChange.objects.filter(action="create").count() == 4


def test_a_rerun_of_the_same_prompt_on_the_same_model_finds_its_bullets_already_there(
    project, annotator, run, bullets, reviewer
):
    rerun = run_make(project, annotator, ROWS, version=run.prompt_version)

    assert bullets_generate_from_run(run=rerun, user=reviewer).created == 0
    assert Bullet.objects.count() == 4


def test_a_new_prompt_version_gets_its_own_bullets(project, annotator, bullets, reviewer):
    better = version_make(project, origin="GEPA run #1")
    rows = [ROWS[0], Row("train", gold=1, judge=1), *ROWS[2:]]  # it fixed the second item
    bullets_generate_from_run(run=run_make(project, annotator, rows, version=better), user=reviewer)

    assert Bullet.objects.filter(prompt_version=better).count() == 3
    assert Bullet.objects.count() == 7


def test_generating_for_one_item_makes_only_its_bullet(run, reviewer):
    item = run.project.items.get(external_id="item-3")

    assert bullets_generate_from_run(run=run, user=reviewer, item_ids=[item.pk]).created == 1
    assert Bullet.objects.get().item == item


def test_approve_edit_reject_and_reopen_each_record_who_when_before_and_after(bullets, reviewer, lead):
    bullet = bullets[0]
    bullet_edit(bullet=bullet, user=reviewer, text="Keyword stuffing fooled the judge.")
    bullet_approve(bullet=bullet, user=reviewer)
    bullet_reject(bullet=bullet, user=lead)
    bullet_reopen(bullet=bullet, user=reviewer)

    history = list(bullet.changes.order_by("at", "id"))
    assert [(c.action, c.user) for c in history] == [
        ("create", reviewer),
        ("edit", reviewer),
        ("approve", reviewer),
        ("reject", lead),
        ("reopen", reviewer),
    ]
    edit = history[1]
    assert edit.before["text"] == bullet.generated_text
    assert edit.after["text"] == "Keyword stuffing fooled the judge."
    assert (history[3].before["status"], history[3].after["status"]) == ("approved", "rejected")
    assert all(c.at is not None for c in history)
    bullet.refresh_from_db()
    assert (bullet.status, bullet.reviewed_by) == ("open", reviewer)


def test_a_rejected_bullet_must_be_reopened_before_it_can_be_approved_or_edited(bullets, reviewer):
    bullet_reject(bullet=bullets[0], user=reviewer)

    with pytest.raises(ValidationError):
        bullet_approve(bullet=bullets[0], user=reviewer)
    with pytest.raises(ValidationError):
        bullet_edit(bullet=bullets[0], user=reviewer, text="New words.")
    assert bullets[0].changes.count() == 2


def test_an_edit_needs_text_and_an_unchanged_text_is_no_change(bullets, reviewer):
    with pytest.raises(ValidationError):
        bullet_edit(bullet=bullets[0], user=reviewer, text="   ")
    bullet_edit(bullet=bullets[0], user=reviewer, text=bullets[0].text)

    assert bullets[0].changes.count() == 1


def test_merging_approves_the_survivor_with_the_reviewers_text_and_marks_the_others_merged(bullets, reviewer):
    survivor, other = bullets[0], bullets[1]

    merged = bullets_merge(
        bullets=[survivor, other],
        survivor=survivor,
        user=reviewer,
        text="The judge rewards keyword stuffing.",
    )

    assert (merged.status, merged.text) == ("approved", "The judge rewards keyword stuffing.")
    other.refresh_from_db()
    assert (other.status, other.merged_into) == ("merged", merged)
    assert other.changes.first().action == "merge" and other.changes.first().after["merged_into"] == merged.pk
    assert survivor.changes.first().before["text"] == survivor.generated_text


def test_merging_a_survivor_again_carries_its_merged_bullets_along(project, annotator, reviewer):
    rows = [Row("train", gold=1, judge=5, rationale=STUFFED)] * 3
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)
    a, b, c = Bullet.objects.order_by("id")
    bullets_merge(bullets=[a, b], survivor=a, user=reviewer, text="Stuffing.")
    bullets_merge(bullets=[a, c], survivor=c, user=reviewer, text="Keyword stuffing.")

    assert set(Bullet.objects.filter(merged_into=c)) == {a, b}
    assert approved_feedback_by_item(project=project) == {
        bullet.item_id: "Keyword stuffing." for bullet in (a, b, c)
    }


def test_bullets_of_opposite_directions_or_a_rejected_bullet_cannot_be_merged(bullets, reviewer):
    lenient, strict = bullets[0], bullets[2]
    with pytest.raises(ValidationError, match="different failures"):
        bullets_merge(bullets=[lenient, strict], survivor=lenient, user=reviewer, text="Both.")
    bullet_reject(bullet=bullets[1], user=reviewer)
    with pytest.raises(ValidationError):
        bullets_merge(bullets=[lenient, bullets[1]], survivor=lenient, user=reviewer, text="Both.")
    with pytest.raises(ValidationError, match="at least two"):
        bullets_merge(bullets=[lenient], survivor=lenient, user=reviewer, text="One.")
    assert Bullet.objects.filter(status="merged").count() == 0


def test_the_optimizer_reads_approved_and_merged_texts_only(project, bullets, reviewer):
    stuffed_a, stuffed_b, partial_dev, partial_train = bullets
    bullets_merge(
        bullets=[stuffed_a, stuffed_b], survivor=stuffed_b, user=reviewer, text="Stuffing fools it."
    )
    bullet_approve(bullet=partial_dev, user=reviewer)
    bullet_reject(bullet=partial_train, user=reviewer)

    feedback = approved_feedback_by_item(project=project)

    assert feedback == {
        stuffed_a.item_id: "Stuffing fools it.",
        stuffed_b.item_id: "Stuffing fools it.",
        partial_dev.item_id: partial_dev.text,
    }
    assert list(approved_bullets(project)) == [stuffed_b, partial_dev]
    # A survivor sent back to open takes its merged bullets out of the optimizer's set with it.
    bullet_reopen(bullet=stuffed_b, user=reviewer)
    assert approved_feedback_by_item(project=project) == {partial_dev.item_id: partial_dev.text}


def test_the_approved_set_can_be_read_for_one_prompt_version(project, annotator, bullets, reviewer):
    bullet_approve(bullet=bullets[0], user=reviewer)
    later = version_make(project, origin="GEPA run #1")
    bullets_generate_from_run(run=run_make(project, annotator, ROWS, version=later), user=reviewer)
    newer = Bullet.objects.get(prompt_version=later, item=bullets[2].item)
    bullet_edit(bullet=newer, user=reviewer, text="Still too strict on partial answers.")
    bullet_approve(bullet=newer, user=reviewer)

    assert approved_feedback_by_item(project=project, prompt_version=later) == {
        newer.item_id: "Still too strict on partial answers."
    }
    assert set(approved_feedback_by_item(project=project)) == {bullets[0].item_id, newer.item_id}


def test_merge_suggestions_group_open_bullets_of_one_direction_that_read_alike(project, bullets, reviewer):
    groups = merge_suggestions(project=project)

    assert [{b.pk for b in group} for group in groups] == [
        {bullets[0].pk, bullets[1].pk},
        {bullets[2].pk, bullets[3].pk},
    ]
    bullet_approve(bullet=bullets[0], user=reviewer)
    assert [{b.pk for b in group} for group in merge_suggestions(project=project)] == [
        {bullets[2].pk, bullets[3].pk}
    ]


def test_alike_text_in_opposite_directions_is_never_suggested_as_one(project, annotator, reviewer):
    rows = [
        Row("train", gold=1, judge=4, rationale=STUFFED),
        Row("train", gold=4, judge=1, rationale=STUFFED),
    ]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)

    assert merge_suggestions(project=project) == []


BOILERPLATE = "The document mentions the query terms."
TOPICS = ["bridges", "violins", "glaciers", "tariffs", "orchids", "comets", "pianos", "deserts", "falcons"]


def test_bullets_without_rationales_alike_only_in_boilerplate_are_not_suggested_as_one(
    project, annotator, reviewer
):
    rows = [Row("train", gold=1, judge=4, rationale="", reasoning=BOILERPLATE) for _ in range(12)]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)

    assert merge_suggestions(project=project) == []


def test_the_failure_two_bullets_share_beyond_the_boilerplate_still_groups_them(project, annotator, reviewer):
    stuffing = f"{BOILERPLATE} Query terms appear 30 times, which signals a strong match."
    rows = [
        *(Row("train", gold=1, judge=4, rationale="", reasoning=stuffing) for _ in range(2)),
        *(
            Row("train", gold=1, judge=4, rationale="", reasoning=f"{BOILERPLATE} It is about {t}.")
            for t in TOPICS
        ),
    ]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)
    stuffed = set(Bullet.objects.filter(judge_reasoning=stuffing).values_list("pk", flat=True))

    assert [{b.pk for b in group} for group in merge_suggestions(project=project)] == [stuffed]


def test_the_counts_per_prompt_version_show_the_list_shrinking(project, annotator, bullets, reviewer):
    bullet_approve(bullet=bullets[0], user=reviewer)
    better = version_make(project, origin="GEPA run #1")
    rows = [Row("train", gold=1, judge=1), Row("train", gold=1, judge=1), *ROWS[2:]]
    bullets_generate_from_run(run=run_make(project, annotator, rows, version=better), user=reviewer)

    counts = prompt_version_counts(project)

    assert [
        (c.prompt_version.origin, c.disagreements, c.open_bullets, c.approved_bullets) for c in counts
    ] == [
        ("hand-written", 4, 3, 1),
        ("GEPA run #1", 2, 2, 0),
    ]


@pytest.mark.slow
def test_on_the_demo_project_each_suggested_group_holds_one_kind_of_failure(demo_project, reviewer):
    from judging.models import ModelEndpoint, PromptVersion
    from judging.runs import judge_run_execute, judge_run_start

    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    run = judge_run_start(
        prompt_version=version,
        endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
        item_set="labeled",
        enqueue=False,
    )
    bullets_generate_from_run(run=judge_run_execute(run=run), user=reviewer)

    groups = merge_suggestions(project=demo_project)

    assert len(groups) >= 5
    assert sum(len(g) for g in groups) >= 0.7 * Bullet.objects.count()
    for group in groups:
        assert len({(b.direction, b.item.metadata["kind"]) for b in group}) == 1


def test_merge_suggestions_are_clustered_once_until_the_open_bullets_change(
    project, bullets, reviewer, monkeypatch
):
    from django.core.cache import cache

    from optimizer import bullets as rules

    cache.clear()
    clustered = []
    cluster = rules._similar_groups
    monkeypatch.setattr(rules, "_similar_groups", lambda *args: clustered.append(1) or cluster(*args))

    first = merge_suggestions(project=project)
    again = merge_suggestions(project=project)
    assert again == first and len(clustered) == 2  # one clustering per direction, none the second time

    bullet_approve(bullet=bullets[0], user=reviewer)

    assert [{b.pk for b in group} for group in merge_suggestions(project=project)] == [
        {bullets[2].pk, bullets[3].pk}
    ]
    assert len(clustered) == 3  # the lenient ones changed: clustered afresh; the strict ones remembered
