"""The whole loop in a real Chromium, with a real Celery worker: an annotator labels, a reviewer
adjudicates, a lead runs the judge and watches it, the reviewer approves bullets from its
disagreements, the lead launches a GEPA run on the sim models, watches its progress, reads
before/after, promotes the result, and the API then serves that production prompt."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from labeling.models import Item, Label
from optimizer.models import Bullet, OptimizationRun
from tests.browser import TIMEOUT_MS
from tests.conftest import PASSWORD
from tests.integration.conftest import celery_worker_process  # noqa: F401 - a fixture, used by name

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.slow]

RUN_TIMEOUT_MS = 180_000


@pytest.fixture
def person(browser, live_server):
    """person(user) is a browser of that user's own (own cookies), logged in through the login form."""
    contexts = []

    def sign_in(user):
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield sign_in
    for context in contexts:
        context.close()


def test_the_flywheel_turns_once_in_the_browser(
    person,
    live_server,
    celery_worker_process,  # noqa: F811 - the imported fixture
    annotator,
    reviewer,
    lead,
    demo_project,  # noqa: F811
):
    slug = demo_project.slug
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    baseline = PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id")

    # An annotator labels an item with the keyboard.
    annotating = person(annotator)
    annotating.goto(f"/projects/{slug}/label/")
    annotating.keyboard.press("2")
    annotating.keyboard.type("Mentions the topic, but does not answer the question.")
    annotating.keyboard.press("Enter")
    expect(annotating.locator("#workspace")).to_contain_text("Saved 2")
    assert Label.objects.filter(annotator=annotator, score=2).count() == 1

    # A reviewer sets gold on an item whose labels disagree.
    reviewing = person(reviewer)
    reviewing.goto(f"/projects/{slug}/adjudication/")
    reviewing.get_by_role("link", name="Adjudicate", exact=True).first.click()
    reviewing.check('input[name="score"][value="3"]', force=True)
    reviewing.fill("#note", "Answers half of the question; the other half is missing.")
    reviewing.get_by_role("button", name="Set gold").click()
    expect(reviewing.locator(".messages")).to_be_visible()
    assert (
        Item.objects.filter(project=demo_project, adjudicated_by=reviewer, adjudicated_score=3).count() == 1
    )

    # A lead judges the labeled items and watches the run to its end.
    leading = person(lead)
    leading.goto(f"/projects/{slug}/runs/")
    leading.select_option("#id_prompt_version", str(baseline.pk))
    leading.select_option("#id_endpoint", str(small.pk))
    leading.select_option("#id_item_set", "labeled")
    leading.get_by_role("button", name="Start").click()
    expect(leading.locator("#run-progress [data-status]")).to_have_text("done", timeout=RUN_TIMEOUT_MS)
    expect(leading.locator("main")).to_contain_text("Against gold")
    judge_run = JudgeRun.objects.get(status="done", item_set="labeled")

    # The reviewer turns its disagreements into bullets and approves two.
    reviewing.goto(f"/runs/{judge_run.pk}/disagreements/")
    reviewing.get_by_role("button", name="Make bullets").click()
    expect(reviewing.locator(".messages")).to_contain_text("new bullets")
    cards = reviewing.locator("article.bullet")
    for index in range(2):
        card = cards.nth(index)
        card.get_by_role("button", name="Approve").click()
        expect(card).to_have_attribute("data-status", "approved")
    assert Bullet.objects.filter(status="approved").count() == 2

    # The lead launches GEPA on the sim models and watches it run.
    leading.goto(f"/projects/{slug}/optimizer/")
    expect(leading.locator("[data-estimate]")).to_contain_text("Estimate, at most:")
    leading.select_option("#id_base_version", str(baseline.pk))
    leading.select_option("#id_target_endpoint", str(small.pk))
    leading.fill("#id_max_metric_calls", "600")
    leading.get_by_role("button", name="Launch").click()
    live = leading.locator("#run-live")
    expect(live.locator("[data-status]")).to_have_text("running", timeout=RUN_TIMEOUT_MS)
    leading.wait_for_selector('[data-plotly="progress-chart"] .main-svg')
    expect(live.locator("[data-status]")).to_have_text("done", timeout=RUN_TIMEOUT_MS)
    run = OptimizationRun.objects.get()
    assert run.stop_reason == "done" and run.best_version is not None

    # The dashboard's flywheel still counts the baseline's disagreements from its run on labeled items,
    # not from the optimizer's newer test-split run of it; the best version waits for a train/dev run.
    reviewing.goto(f"/projects/{slug}/")
    flywheel = reviewing.locator("[data-flywheel-counts]")
    baseline_row = flywheel.locator(f'tr[data-version="{baseline.pk}"]')
    expect(baseline_row.locator("[data-disagreements]")).to_have_text(
        str(Bullet.objects.filter(prompt_version=baseline).count())
    )
    expect(flywheel.locator(f'tr[data-version="{run.best_version_id}"]')).to_contain_text(
        "no run on train or dev items yet"
    )
    expect(flywheel.locator("[data-plotly='flywheel-trend'] svg.main-svg").first).to_be_visible()

    # Before/after on the test split, and the word diff of the prompts.
    comparison = leading.locator("[data-comparison]")
    expect(comparison).to_contain_text("NMSE (0–100)")
    expect(leading.locator(".diff")).to_be_visible()

    # The lead promotes the best candidate after reading its before/after.
    leading.get_by_role("link", name=f"Open v{run.best_version_id} to compare and promote").click()
    leading.click("text=Promote to production…")
    expect(leading.locator("#before-after")).to_contain_text("NMSE")
    leading.click("form.card button[type=submit]")
    expect(leading.locator("[data-status]").first).to_have_text("production")

    # The API serves the production prompt to a service holding a token.
    leading.goto("/tokens/")
    leading.fill("#id_name", "ranking service")
    leading.check('input[name="scopes"][value="prompts:read"]')
    leading.get_by_role("button", name="Create token").click()
    token = leading.locator("#new-token input").input_value()
    request = urllib.request.Request(
        f"{live_server.url}/api/projects/{slug}/prompt?model={small.name}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        served = json.load(response)
    run.best_version.refresh_from_db()
    assert served["version"] == run.best_version_id
    assert served["instructions"] == run.best_version.instructions
    assert run.best_version.status == "production"
