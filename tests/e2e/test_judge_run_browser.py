"""A lead starts a judge run of the demo project from Chromium, watches the live progress bar advance
(htmx polling, a real Celery worker judging over HTTP against the sim server), and reads the finished
run's metrics."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.sim.server import SimServer
from tests.integration.conftest import celery_worker_process  # noqa: F401 - a fixture, used by name

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.slow]

RUN_TIMEOUT_MS = 180_000
KEY_ENV = "SIMLLM_API_KEY"  # allowed in config.test_settings
CALL_LATENCY_MS = 100


@pytest.fixture
def slow_sim_endpoint(monkeypatch, transactional_db):
    """sim/judge-small over HTTP, 100 ms a call, one call at a time: a run of the demo's labeled items
    lasts several seconds whatever the machine, so the page's 1 s polls see it midway. (The in-process
    sim answers in microseconds; a quiet machine would finish between two polls.)"""
    monkeypatch.setenv(KEY_ENV, "sim-key")  # before the worker starts: it inherits the variable
    server = SimServer(latency_ms=CALL_LATENCY_MS).start()
    yield ModelEndpoint.objects.create(
        name="sim/judge-small over HTTP",
        model="openai/sim/judge-small",
        api_base=server.url + "/v1",
        api_key_env=KEY_ENV,
        concurrency=1,
    )
    server.stop()


def test_a_lead_runs_the_judge_from_the_browser_and_watches_it_finish(
    page,
    log_in,
    slow_sim_endpoint,
    celery_worker_process,  # noqa: F811 - the imported fixture
    lead,
    demo_project,
):
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    baseline = PromptVersion.objects.get(project=demo_project, target_model=small, origin="hand-written")

    log_in(lead)
    page.goto(f"/projects/{demo_project.slug}/runs/")
    page.select_option("#id_prompt_version", str(baseline.pk))
    page.select_option("#id_endpoint", str(slow_sim_endpoint.pk))
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
