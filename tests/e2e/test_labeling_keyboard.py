"""A real Chromium labels items with the keyboard alone: a digit picks the score, the rationale is typed,
Enter submits and htmx swaps in the next item; S skips and U undoes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labeling.models import Label, LabelRevision
from tests.labeling.factories import items_make

pytestmark = pytest.mark.e2e

FIRST = "Names the exact model the query asks about."
THIRD = "Only mentions the topic in passing, no answer."
SECOND = "Answers half of the question, with a source."


def _label(page, score: str, rationale: str) -> None:
    page.keyboard.press(score)
    expect(page.locator("#rationale")).to_be_focused()  # the digit moved the cursor to the text box
    page.keyboard.type(rationale)
    page.keyboard.press("Enter")


def test_an_annotator_labels_three_items_with_the_keyboard_alone(page, log_in, annotator, project):
    first, second, third = items_make(project, 3)
    log_in(annotator)
    page.goto(f"/projects/{project.slug}/label/")
    workspace = page.locator("#workspace")
    expect(workspace).to_contain_text("query 1")
    page.evaluate("window.__fullLoads = (window.__fullLoads || 0) + 1")  # gone if the page reloads

    _label(page, "4", FIRST)
    expect(workspace).to_contain_text("Saved 4")
    expect(workspace).to_contain_text("query 2")
    expect(workspace).to_contain_text("1 of 3 labeled")

    page.keyboard.press("s")  # skip the second item: it comes back once the rest is done
    expect(workspace).to_contain_text("Skipped")
    expect(workspace).to_contain_text("query 3")

    _label(page, "2", THIRD)
    expect(workspace).to_contain_text("Saved 2")
    expect(workspace).to_contain_text("query 2")  # the skipped item, now that nothing else is left

    page.keyboard.press("u")  # undo: the third item is back with its score and rationale
    expect(workspace).to_contain_text("Undid your 2")
    expect(workspace).to_contain_text("query 3")
    expect(page.locator('input[name="score"][value="2"]')).to_be_checked()
    expect(page.locator("#rationale")).to_have_value(THIRD)
    page.keyboard.press("1")  # a better score; the rationale stays as it was
    page.keyboard.press("Enter")
    expect(workspace).to_contain_text("Saved 1")

    expect(workspace).to_contain_text("query 2")
    _label(page, "3", SECOND)
    expect(workspace).to_contain_text("Nothing left to label")
    assert page.evaluate("window.__fullLoads") == 1  # every step was an htmx swap, not a page load

    labels = {
        label.item_id: (label.score, label.rationale) for label in Label.objects.filter(annotator=annotator)
    }
    assert labels == {first.pk: (4, FIRST), second.pk: (3, SECOND), third.pk: (1, THIRD)}
    undone = LabelRevision.objects.get()
    assert (undone.action, undone.item_id, undone.score) == ("undo", third.pk, 2)
    assert all(seconds is not None for seconds in Label.objects.values_list("seconds_spent", flat=True))


def test_a_too_short_rationale_keeps_the_cursor_in_the_box_to_finish_it(page, log_in, annotator, project):
    (item,) = items_make(project, 1)
    log_in(annotator)
    page.goto(f"/projects/{project.slug}/label/")

    _label(page, "5", "Too short.")
    # The browser holds the submit back (minlength) and leaves the cursor where it was.
    expect(page.locator("#rationale:invalid")).to_be_focused()
    assert not Label.objects.exists()
    page.keyboard.type(" It names the answer.")
    page.keyboard.press("Enter")

    expect(page.locator("#workspace")).to_contain_text("Nothing left to label")
    assert Label.objects.get(item=item).rationale == "Too short. It names the answer."
