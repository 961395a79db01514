"""Every page a lead can open loads in Chromium with the Content-Security-Policy on and reports no
violation: no inline script, no inline style, nothing from another host (charts and htmx swaps included)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from labeling.roles import LEAD
from tests.security.routes import ROUTES
from tests.security.test_local_assets import PAGES
from tests.security.world import world_build

# Registered before any page script runs, on every navigation.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
                    `at ${event.sourceFile || ""}:${event.lineNumber}`);
});
"""
# Plotly draws after DOMContentLoaded; htmx loads its parts after that: wait until both are done.
SETTLED = """() => new Promise((done) => {
  const charts = [...document.querySelectorAll("[data-plotly]")];
  const drawn = () => charts.every((el) => el.querySelector(".main-svg"));
  const check = () => (drawn() && !document.querySelector(".htmx-request")) ? done() : setTimeout(check, 50);
  check();
})"""


def test_the_policy_is_strict_and_on_in_every_response(client):
    policy = settings.FLYWHEEL_CSP
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert client.get("/login/")["Content-Security-Policy"] == policy


@pytest.mark.e2e
def test_chromium_loads_every_page_with_the_csp_and_reports_no_violation(transactional_db, page, log_in):
    world = world_build()
    page.add_init_script(LISTEN)
    problems: list[str] = []
    opening = ["the login page"]
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and problems.append(f"{opening[0]}: console: {message.text} ({message.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    log_in(world.user(LEAD))
    opened = 0
    for name in PAGES:
        url = reverse(name, kwargs=ROUTES[name].kwargs(world, LEAD))
        if name.endswith(("export", "_program")) or name in ("optimizer:run_estimate", "api:openapi"):
            continue  # downloads, JSON, and a fragment htmx loads into the optimizer page (opened here too)
        opening[0] = name
        response = page.goto(url)
        assert response is not None and response.ok, f"{name}: {response and response.status}"
        assert response.headers.get("content-security-policy") == settings.FLYWHEEL_CSP, name
        page.evaluate(SETTLED)
        problems.extend(f"{name}: {violation}" for violation in page.evaluate("window.__csp"))
        opened += 1
    # Content htmx swaps in is under the same policy: approve a bullet, skip an item.
    opening[0] = "bullet approve (htmx)"
    page.goto(reverse("optimizer:bullets", args=[world.project.slug]))
    with page.expect_response(lambda response: "/approve/" in response.url):
        page.get_by_role("button", name="Approve").first.click()
    page.evaluate(SETTLED)
    problems.extend(f"after an htmx approve: {violation}" for violation in page.evaluate("window.__csp"))
    opening[0] = "labeling skip (htmx)"
    page.goto(reverse("labeling:label", args=[world.project.slug]))
    with page.expect_response(lambda response: "/skip/" in response.url):
        page.get_by_role("button", name="Skip").click()
    page.evaluate(SETTLED)
    problems.extend(f"after an htmx skip: {violation}" for violation in page.evaluate("window.__csp"))
    assert opened >= 25
    assert not problems, "\n".join(problems)
