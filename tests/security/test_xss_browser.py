"""XSS payloads in every kind of untrusted text (an item's query and document, a label's rationale, a
judge's reasoning, a bullet, a prompt version's instructions, a library instruction, an endpoint's name)
render as text: inert in Chromium, with or without an htmx swap, and escaped in the HTML source."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils.html import escape

from judging.models import ModelEndpoint, PromptVersion
from labeling.models import Label, Project
from labeling.roles import LEAD
from optimizer.bullets import bullet_edit, bullets_generate_from_run
from optimizer.models import Bullet, LibraryInstruction, OptimizationRun
from tests.optimizer.disagreements import Row, run_make
from tests.security.world import ANNOTATOR, REVIEWER, users_make

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=window.__xss=1>'
PAYLOAD = f"{SCRIPT} {IMG} {SVG}"  # 98 characters: it fits an endpoint's name (100 at most)
# What must never reach a page unescaped (the SVG payload's leading quote is harmless on its own).
RAW = (SCRIPT, IMG, "<svg onload=window.__xss=1>")


@dataclass(frozen=True)
class XssWorld:
    project: Project
    users: dict
    run: object
    item: object
    base: PromptVersion
    candidate: PromptVersion
    optimization: OptimizationRun


def xss_world_build() -> XssWorld:
    project = Project.objects.create(
        name="Hostile text", slug="hostile", rubric="Rate it.", labels_per_item=3
    )
    users = users_make(project)
    rows = [
        Row(
            split,
            gold=gold,
            judge=judge,
            rationale=f"rationale {PAYLOAD}",
            reasoning=f"reasoning {PAYLOAD}",
            query=f"query {n} {PAYLOAD}",
            document=f"document {n} {PAYLOAD}",
        )
        for n, (split, gold, judge) in enumerate([("train", 1, 5), ("dev", 5, 2), ("test", 2, 4)])
    ]
    run = run_make(project, users[ANNOTATOR], rows)
    base = run.prompt_version
    endpoint = base.target_model
    endpoint.name = PAYLOAD
    endpoint.save()
    candidate = PromptVersion.objects.create(
        project=project,
        target_model=endpoint,
        parent=base,
        instructions=f"{base.instructions} {PAYLOAD}",
        origin="hand-written",
        status=PromptVersion.Status.CANDIDATE,
    )
    bullets_generate_from_run(run=run, user=users[REVIEWER])
    bullet_edit(
        bullet=Bullet.objects.filter(project=project).first(), user=users[REVIEWER], text=f"bullet {PAYLOAD}"
    )
    LibraryInstruction.objects.create(project=project, text=f"instruction {PAYLOAD}")
    reflector = ModelEndpoint.objects.create(name="sim/reflector", model="sim/reflector")
    optimization = OptimizationRun.objects.create(
        project=project,
        base_version=base,
        target_endpoint=endpoint,
        reflection_endpoint=reflector,
        status=OptimizationRun.Status.DONE,
        best_version=candidate,
    )
    item = run.judgments.order_by("id").first().item
    # A second opinion far from the first puts the item in the adjudication queue.
    Label.objects.create(item=item, annotator=users[REVIEWER], score=5, rationale=f"second {PAYLOAD}")
    return XssWorld(project, users, run, item, base, candidate, optimization)


# The pages that show each kind of untrusted text, and who opens them.
PAGES = {
    "labeling page (query, document)": lambda w: reverse("labeling:label", args=[w.project.slug]),
    "adjudication (query, document, rationales)": lambda w: reverse(
        "labeling:adjudicate", args=[w.project.slug, w.item.pk]
    ),
    "adjudication queue": lambda w: reverse("labeling:adjudication", args=[w.project.slug]),
    "disagreements list": lambda w: reverse("judging:disagreements", args=[w.run.pk]),
    "disagreement item view (rationale, reasoning)": lambda w: reverse(
        "judging:run_item", args=[w.run.pk, w.item.pk]
    ),
    "judge run page (endpoint name)": lambda w: reverse("judging:run", args=[w.run.pk]),
    "judge runs and their chart (endpoint name)": lambda w: reverse("judging:runs", args=[w.project.slug]),
    "endpoint list (endpoint name)": lambda w: reverse("judging:endpoints"),
    "model comparison and its chart (endpoint name)": lambda w: reverse(
        "judging:model_comparison", args=[w.project.slug]
    ),
    "bullet queue (bullet text)": lambda w: reverse("optimizer:bullets", args=[w.project.slug]) + "?status=",
    "version detail (instructions)": lambda w: reverse("judging:version", args=[w.candidate.pk]),
    "version history": lambda w: reverse("judging:versions", args=[w.project.slug]),
    "version diff (instructions)": lambda w: (
        reverse("judging:version_diff", args=[w.project.slug]) + f"?a={w.base.pk}&b={w.candidate.pk}"
    ),
    "version edit form (instructions)": lambda w: reverse("judging:version_edit", args=[w.candidate.pk]),
    "library (instruction)": lambda w: reverse("optimizer:library", args=[w.project.slug]),
    "optimizer run page (instructions diff, endpoint name)": lambda w: reverse(
        "optimizer:run", args=[w.optimization.pk]
    ),
    "optimizer runs": lambda w: reverse("optimizer:runs", args=[w.project.slug]),
}

# Waits for every <img> to load or fail (an onerror handler runs before its "error" event reaches us).
IMAGES_SETTLED = """() => Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })))"""


def _assert_inert(browser_page, where: str) -> None:
    browser_page.evaluate(IMAGES_SETTLED)
    assert browser_page.evaluate("typeof window.__xss") == "undefined", f"a payload ran on the {where}"
    text = browser_page.inner_text("body")
    assert any(raw in text for raw in RAW), f"the payload is not shown as text on the {where}"


@pytest.mark.e2e
@pytest.mark.parametrize("where", list(PAGES))
def test_payloads_render_as_inert_text_in_chromium(transactional_db, page, log_in, where):  # noqa: F811
    world = xss_world_build()
    log_in(world.users[LEAD])

    page.goto(PAGES[where](world))

    _assert_inert(page, where)


@pytest.mark.e2e
def test_payloads_stay_inert_after_htmx_swaps(transactional_db, page, log_in):  # noqa: F811
    world = xss_world_build()
    log_in(world.users[LEAD])
    page.goto(PAGES["bullet queue (bullet text)"](world))
    with page.expect_response(lambda response: "/approve/" in response.url):
        page.get_by_role("button", name="Approve").first.click()
    _assert_inert(page, "bullet queue after an htmx approve")

    page.goto(PAGES["labeling page (query, document)"](world))
    with page.expect_response(lambda response: "/skip/" in response.url):
        page.get_by_role("button", name="Skip").click()
    _assert_inert(page, "labeling page after an htmx skip")


@pytest.mark.django_db
@pytest.mark.parametrize("where", list(PAGES))
def test_payloads_are_escaped_in_the_html_source(client, where):
    world = xss_world_build()
    client.force_login(world.users[LEAD])

    body = client.get(PAGES[where](world)).content.decode()

    for raw in RAW:
        assert raw not in body, f"{raw} reached the {where} unescaped"
    assert escape(SCRIPT) in body or "\\u003Cscript\\u003E" in body, (
        f"the payload is missing from the {where}"
    )
