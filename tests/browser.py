"""Shared fixtures of the browser tests: one real Chromium (Debian's /usr/bin/chromium, driven by
Playwright) for the session, a fresh page per test, and logging a user in through the real login form.

Registered once, in tests/conftest.py: a session fixture imported into two test modules would be two
fixtures, and the second Playwright would start inside the first one's event loop."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for a loaded CI machine, short enough that a broken page fails fast.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Chromium for the whole session. Playwright's own browser downloads are never used."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # synchronous, one at a time, so Django's guard against async callers does not apply here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A new browser context (no cookies from another test) and its page, with live_server's URL as base."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page) -> Callable:
    """log_in(user) signs the user in through the login form, as a person would."""

    def log_in(user, password: str = PASSWORD):
        page.goto("/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return log_in
