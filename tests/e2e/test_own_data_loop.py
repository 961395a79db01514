"""A newcomer's own data through the pages alone, in a real Chromium with a real worker: a lead creates a
0–3 project, uploads a file this test generates (not the demo), writes the first prompt from its draft,
judges it, turns the disagreements into bullets, optimizes with GEPA and promotes the best version.

The judge and the reflector are the sim models: this shows the plumbing of the loop, not its quality."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from labeling.demo_data import demo_items
from labeling.models import Project
from optimizer.models import OptimizationRun
from tests.e2e.test_flywheel_loop import RUN_TIMEOUT_MS, person  # noqa: F401 - a fixture, used by name
from tests.integration.conftest import celery_worker_process  # noqa: F401 - a fixture, used by name

pytestmark = [pytest.mark.e2e, pytest.mark.services, pytest.mark.slow]

# The generator writes documents for a 1–5 grade; a 0–3 file says the same on its own scale.
TO_0_3 = {5: 3, 4: 2, 3: 1, 2: 1, 1: 0}


@pytest.fixture
def own_file(tmp_path):
    path = tmp_path / "assessments.jsonl"
    rows = [
        {
            "qid": item.metadata["query_id"],
            "pid": item.external_id,
            "question": item.query,
            "passage": item.document,
            "grade": TO_0_3[item.true_grade],
        }
        for item in demo_items(seed=23)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_lead_takes_an_imported_0_to_3_project_from_no_prompt_to_a_promoted_optimized_version(
    person,  # noqa: F811 - the imported fixture
    celery_worker_process,  # noqa: F811 - the imported fixture
    lead,
    own_file,
):
    # The lead already leads a project of the team's (leads of some project may add endpoints and projects).
    Project.objects.create(name="Team sandbox", slug="sandbox", rubric="Anything.")
    page = person(lead)

    # The models: a judge and a reflection model, entered on the endpoints page.
    for name in ("sim/judge-small", "sim/reflector"):
        page.goto("/endpoints/new/")
        page.fill("#id_name", name)
        page.fill("#id_model", name)
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_be_visible()

    # A new 0–3 project with its score meanings.
    page.goto("/projects/new/")
    page.fill("#id_name", "Passage assessments")
    page.fill("#id_slug", "assessments")
    page.fill("#id_rubric", "How relevant is the passage to the question?")
    page.fill("#id_scale_min", "0")
    page.fill("#id_scale_max", "3")
    page.fill("#id_score_meanings", "0=irrelevant;\n1=related;\n2=highly relevant;\n3=perfectly relevant")
    page.get_by_role("button", name="Create project").click()
    project = Project.objects.get(slug="assessments")

    # The file, mapped onto Flywheel's fields, imported by the worker.
    page.goto(f"/projects/{project.slug}/import/")
    page.set_input_files("#id_file", str(own_file))
    page.fill("#id_external_id", "qid+pid")
    page.fill("#id_query", "question")
    page.fill("#id_document", "passage")
    page.fill("#id_score", "grade")
    page.fill("#id_labels_as", "assessor")
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-status")).to_contain_text("Imported 280 items", timeout=RUN_TIMEOUT_MS)

    # No prompt yet: the versions page offers the first one, drafted from the rubric and meanings.
    page.goto(f"/projects/{project.slug}/versions/")
    expect(page.locator("#versions")).to_contain_text("No prompt versions yet")
    page.get_by_role("link", name="Write the first one").click()
    expect(page.locator("#id_instructions")).to_contain_text("perfectly relevant")
    judge = ModelEndpoint.objects.get(name="sim/judge-small")
    page.select_option("#id_target_model", str(judge.pk))
    page.get_by_role("button", name="Save draft").click()
    first = PromptVersion.objects.get(project=project)
    assert first.guardrail_flags == []

    # The judge on the labeled items, watched to its end.
    page.goto(f"/projects/{project.slug}/runs/")
    page.select_option("#id_prompt_version", str(first.pk))
    page.select_option("#id_endpoint", str(judge.pk))
    page.select_option("#id_item_set", "labeled")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#run-progress [data-status]")).to_have_text("done", timeout=RUN_TIMEOUT_MS)
    judge_run = JudgeRun.objects.get(project=project, item_set="labeled")

    # Its disagreements become bullets; the lead approves three.
    page.goto(f"/runs/{judge_run.pk}/disagreements/")
    page.get_by_role("button", name="Make bullets").click()
    expect(page.locator(".messages")).to_contain_text("new bullets")
    cards = page.locator("article.bullet")
    for index in range(3):
        cards.nth(index).get_by_role("button", name="Approve").click()
        expect(cards.nth(index)).to_have_attribute("data-status", "approved")

    # GEPA from the first version, its default base, watched to its end.
    page.goto(f"/projects/{project.slug}/optimizer/")
    expect(page.locator("#id_base_version")).to_have_value(str(first.pk))
    page.fill("#id_max_metric_calls", "400")
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("#run-live [data-status]")).to_have_text("done", timeout=RUN_TIMEOUT_MS)
    run = OptimizationRun.objects.get(project=project)
    assert run.best_version is not None and run.best_version != first

    # The best version, measured on the test split by the run, is promoted from its page.
    page.get_by_role("link", name=f"Open v{run.best_version_id} to compare and promote").click()
    page.click("text=Promote to production…")
    expect(page.locator("#before-after")).to_contain_text("NMSE")
    page.get_by_role("button", name=f"Promote v{run.best_version_id} to production").click()
    expect(page.locator("[data-status]").first).to_have_text("production")
    run.best_version.refresh_from_db()
    assert run.best_version.status == PromptVersion.Status.PRODUCTION
