"""A lead starts a judge run of the demo project from Chromium, watches the live progress bar advance
(htmx polling, a real Celery worker doing the judging), and reads the finished run's metrics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from tests.integration.conftest import celery_worker_process  # noqa: F401 - a fixture, used by name

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.slow]

RUN_TIMEOUT_MS = 180_000


def test_a_lead_runs_the_judge_from_the_browser_and_watches_it_finish(
    page,
    log_in,
    celery_worker_process,  # noqa: F811 - the imported fixture
    lead,
    demo_project,
):
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    # One call at a time, so that the run lasts long enough to be watched.
    ModelEndpoint.objects.filter(pk=small.pk).update(concurrency=1)
    baseline = PromptVersion.objects.get(project=demo_project, target_model=small, origin="hand-written")

    log_in(lead)
    page.goto(f"/projects/{demo_project.slug}/runs/")
    page.select_option("#id_prompt_version", str(baseline.pk))
    page.select_option("#id_endpoint", str(small.pk))
    page.select_option("#id_item_set", "labeled")
    page.get_by_role("button", name="Start").click()

    # The bar moves while the worker judges: a value strictly between empty and full is seen.
    bar = "#run-progress progress"
    page.wait_for_function(
        f"""() => {{
            const bar = document.querySelector({bar!r});
            return bar && Number(bar.value) > 0 && Number(bar.value) < Number(bar.max);
        }}""",
        timeout=RUN_TIMEOUT_MS,
    )
    midway = int(page.locator(bar).get_attribute("value"))
    expect(page.locator("#run-progress [data-status]")).to_have_text("done", timeout=RUN_TIMEOUT_MS)

    run = JudgeRun.objects.get(project=demo_project)
    assert run.total_items > midway > 0
    main = page.locator("main")
    expect(main).to_contain_text("Against gold")
    expect(main.locator("th", has_text="NMSE (0–100)")).to_be_visible()
    expect(main.locator("th", has_text="Malformed")).to_be_visible()
    all_row = main.locator("tr", has_text="all").last
    expect(all_row).to_contain_text("%")
    # plotly drew the confusion heatmap (an SVG inside the chart's container), not just its JSON.
    expect(page.locator("[data-plotly='confusion-chart'] svg.main-svg").first).to_be_visible()
    page.get_by_role("link", name="Review disagreements").click()
    page.wait_for_url(f"**/runs/{run.pk}/disagreements/**")
    expect(page.locator("main")).to_contain_text("judge")
