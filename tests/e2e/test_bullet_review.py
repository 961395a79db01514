"""A reviewer in a real Chromium turns a judge run's disagreements into bullets, approves two (one after
editing it in place), merges two others, rejects one and promotes one to the instruction library; the
optimizer then reads exactly the approved set."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from optimizer.models import Bullet, LibraryInstruction
from optimizer.selectors import approved_feedback_by_item, library_instructions
from tests.optimizer.disagreements import Row, run_make

pytestmark = pytest.mark.e2e

STUFFED = "Keyword stuffing: the query words over and over, and no answer at all."
PARTIAL = "A partial answer: the first half of the question is covered, the rest is missing."
ROWS = [
    Row("train", gold=1, judge=5, rationale=STUFFED, reasoning="Query terms appear 30 times."),
    Row("train", gold=1, judge=4, rationale=STUFFED, reasoning="Query terms appear 21 times."),
    Row("dev", gold=4, judge=2, rationale=PARTIAL, reasoning="It does not cover the whole query."),
    Row("train", gold=3, judge=1, rationale=PARTIAL, reasoning="Only half of the query is answered."),
    Row("train", gold=2, judge=4, rationale="On the subject, but it does not answer what was asked."),
]
MERGED = "The judge counts query words: a document that repeats them without answering still scores high."
EDITED = "The judge gives the minimum to a document that answers half the question; humans give a 3."
RULE = "Credit a partial answer with the middle of the scale: never the minimum when part of it is answered."


def _card(page, bullet: Bullet):
    return page.locator(f"#bullet-{bullet.pk}")


def test_a_reviewer_approves_edits_merges_rejects_and_promotes_bullets(
    page, log_in, reviewer, annotator, project
):
    run = run_make(project, annotator, ROWS)
    log_in(reviewer)

    page.goto(f"/runs/{run.pk}/disagreements/")
    page.get_by_role("button", name="Make bullets").click()
    expect(page.locator(".messages")).to_contain_text("5 new bullets")
    expect(page.locator("article.bullet")).to_have_count(5)
    stuffed_a, stuffed_b, partial_dev, partial_train, related = (
        Bullet.objects.get(item__external_id=f"item-{n}") for n in range(1, 6)
    )
    page.evaluate("window.__samePage = true")  # gone if a click reloads the page instead of swapping

    # Approve two: the first as generated, the second after editing its text in place.
    _card(page, partial_dev).get_by_role("button", name="Approve").click()
    expect(_card(page, partial_dev)).to_have_attribute("data-status", "approved")
    _card(page, partial_train).get_by_role("link", name="Edit").click()
    _card(page, partial_train).locator("textarea").fill(EDITED)
    _card(page, partial_train).get_by_role("button", name="Save").click()
    expect(_card(page, partial_train).locator("[data-text]")).to_have_text(EDITED)
    _card(page, partial_train).get_by_role("button", name="Approve").click()
    expect(_card(page, partial_train)).to_have_attribute("data-status", "approved")

    # Reject one.
    _card(page, related).get_by_role("button", name="Reject").click()
    expect(_card(page, related)).to_have_attribute("data-status", "rejected")

    # Every change is on the card: who did what, and the text before and after the edit.
    history = _card(page, partial_train).locator("[data-history]")
    history.locator("summary").click()
    expect(history).to_contain_text("History (3)")
    expect(history.locator("[data-change=edit]")).to_contain_text(reviewer.get_username())
    expect(history.locator("[data-change=edit]")).to_contain_text(EDITED)
    assert page.evaluate("window.__samePage") is True

    # Merge two others: tick them, keep the second, write one text for both.
    _card(page, stuffed_a).get_by_role("checkbox").check()
    _card(page, stuffed_b).get_by_role("checkbox").check()
    page.get_by_role("button", name="Merge selected").click()
    page.check(f'input[name=survivor][value="{stuffed_b.pk}"]')
    page.fill("#id_text", MERGED)
    page.get_by_role("button", name="Merge and approve").click()
    expect(page.locator(".messages")).to_contain_text(f"Merged 2 bullets into #{stuffed_b.pk}")

    # Promote an approved bullet to the library, in the reviewer's own words.
    page.goto(f"/projects/{project.slug}/bullets/?status=approved")
    expect(page.locator("article.bullet")).to_have_count(3)
    _card(page, partial_dev).get_by_role("link", name="Promote to library").click()
    page.fill("#id_text", RULE)
    page.get_by_role("button", name="Add to the library").click()
    instruction_item = page.locator("[data-instruction]")
    expect(instruction_item).to_have_count(1)
    expect(instruction_item.locator("[data-text]")).to_have_text(RULE)
    expect(instruction_item).to_contain_text(f"#{partial_dev.pk}")
    expect(instruction_item.locator("[data-flags]")).to_have_count(0)

    # The project's counts: five disagreements on train and dev, none of their bullets still open.
    page.goto(f"/projects/{project.slug}/")
    counts = page.locator("[data-flywheel-counts]")
    expect(counts.locator("[data-disagreements]")).to_have_text("5")
    expect(counts.locator("[data-open]")).to_have_text("0")

    # What the optimizer reads: the approved texts, and the merged text for both merged items.
    assert approved_feedback_by_item(project=project) == {
        stuffed_a.item_id: MERGED,
        stuffed_b.item_id: MERGED,
        partial_dev.item_id: partial_dev.text,
        partial_train.item_id: EDITED,
    }
    assert Bullet.objects.get(pk=related.pk).status == "rejected"
    assert Bullet.objects.get(pk=stuffed_a.pk).merged_into_id == stuffed_b.pk
    (instruction,) = library_instructions(project)
    assert instruction.text == RULE and list(instruction.origin_bullets.all()) == [partial_dev]
    assert LibraryInstruction.objects.get().changes.get().user == reviewer
    assert [c.action for c in Bullet.objects.get(pk=partial_dev.pk).changes.order_by("at", "id")] == [
        "create",
        "approve",
        "promote",
    ]
