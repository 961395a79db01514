"""No page loads anything from another host: scripts, styles and images come from Flywheel's own static
files (users run it where there is no network, and a CDN would see who opens which page)."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from labeling.roles import LEAD
from tests.security.routes import ALLOWED, ROUTES, expected

pytestmark = pytest.mark.django_db

ASSET = re.compile(r"<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)[\"']", re.IGNORECASE)
PAGES = sorted(
    name for name, route in ROUTES.items() if not route.is_api and expected(route, "get", LEAD) == ALLOWED
)


@pytest.mark.parametrize("name", PAGES)
def test_a_page_loads_its_assets_from_flywheel_itself(world, as_person, name):
    response = as_person(LEAD).get(reverse(name, kwargs=ROUTES[name].kwargs(world, LEAD)))
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return  # a redirect or a download: no page of its own
    for url in ASSET.findall(response.content.decode()):
        assert not re.match(r"^([a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE), f"{name} loads {url}"
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{name} loads {url}, which is not in static/"


def test_the_pages_with_charts_are_among_those_checked():
    assert {"judging:run", "labeling:agreement", "optimizer:run"} <= set(PAGES)
