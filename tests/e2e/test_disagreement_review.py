"""A reviewer in a real Chromium filters a run's disagreements, walks them with the keyboard (J next,
K previous, U back to the list, the filter kept throughout), and finds the flywheel on the dashboard
drawn as a chart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from judging.selectors import run_disagreements
from tests.optimizer.disagreements import Row, run_make

pytestmark = pytest.mark.e2e

ROWS = [
    Row("train", gold=4, judge=1),  # strict by 3
    Row("train", gold=5, judge=4),  # strict by 1
    Row("dev", gold=4, judge=2),  # strict by 2
    Row("train", gold=1, judge=5),  # lenient
    Row("test", gold=2, judge=4),  # lenient
    Row("test", gold=3, judge=3),
]


def test_a_reviewer_walks_the_filtered_disagreements_with_the_keyboard(
    page, log_in, reviewer, annotator, project
):
    run = run_make(project, annotator, ROWS)
    strict = [d.item_id for d in run_disagreements(run, direction="strict")]
    item_url = re.compile(rf"/runs/{run.pk}/items/(\d+)/\?direction=strict$")
    log_in(reviewer)

    page.goto(f"/runs/{run.pk}/disagreements/")
    page.select_option("select[name=direction]", "strict")
    expect(page.locator("#disagreements")).to_contain_text("3 disagreements")
    page.locator("#disagreements tbody a").first.click()
    expect(page).to_have_url(item_url)
    assert item_url.search(page.url).group(1) == str(strict[0])
    expect(page.locator("[data-review-nav]")).to_contain_text(
        "disagreement 1 of 3 (filtered: judge too strict)"
    )
    expect(page.locator("[data-bias-legend]")).to_contain_text("judge − gold: positive = too lenient")

    page.keyboard.press("j")
    page.wait_for_url(f"**/items/{strict[1]}/?direction=strict")
    page.keyboard.press("j")
    page.wait_for_url(f"**/items/{strict[2]}/?direction=strict")
    expect(page.locator("[data-review-nav]")).to_contain_text("disagreement 3 of 3")
    page.keyboard.press("k")
    page.wait_for_url(f"**/items/{strict[1]}/?direction=strict")

    page.keyboard.press("u")
    page.wait_for_url(f"**/runs/{run.pk}/disagreements/?direction=strict")
    expect(page.locator("select[name=direction]")).to_have_value("strict")
    expect(page.locator("#disagreements")).to_contain_text("3 disagreements")


def test_the_dashboard_draws_the_flywheel_trend(page, log_in, reviewer, annotator, project):
    run = run_make(project, annotator, ROWS)
    log_in(reviewer)

    page.goto(project.get_absolute_url())

    flywheel = page.locator("[data-flywheel-counts]")
    expect(flywheel.locator(f'tr[data-version="{run.prompt_version_id}"] [data-disagreements]')).to_have_text(
        "4"
    )
    expect(flywheel.locator("[data-plotly='flywheel-trend'] svg.main-svg").first).to_be_visible()
    expect(flywheel.get_by_role("link", name="Judge runs")).to_be_visible()
