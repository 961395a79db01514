"""In Chromium, as each role: from the project's dashboard, click every tab of the navigation; each opens
(200, styled, the tabs on it, the clicked one current), so there is no dead end. A page the role may not
open and a project the user is not in answer with a styled error page whose link back works."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from labeling.models import Project
from labeling.navigation import TABS
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, has_role, membership_set
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

INK = "rgb(29, 36, 48)"  # header.top's background in static/css/flywheel.css: the stylesheet applied


@pytest.fixture
def theirs(django_user_model):
    """Another team's project: its only member is its own lead."""
    other = Project.objects.create(
        name="Another team", slug="theirs", rubric="Theirs.", scale_min=0, scale_max=3
    )
    membership_set(project=other, user=django_user_model.objects.create_user("dave"), role=LEAD)
    return other


@pytest.fixture
def member(django_user_model, project):
    """member(role): a user holding `role` in `project` only (None: a user of no project)."""

    def make(role: str | None):
        user = django_user_model.objects.create_user(username=f"nav-{role}", password=PASSWORD)
        if role is not None:
            membership_set(project=project, user=user, role=role)
        return user

    return make


def _assert_styled(page) -> None:
    expect(page.locator("header.top")).to_have_css("background-color", INK)


def _assert_tabs(page, tabs, current) -> None:
    nav = page.locator("[data-project-nav]")
    expect(nav.locator("a")).to_have_text([tab.label for tab in tabs])
    expect(nav.locator('a[aria-current="page"]')).to_have_attribute("data-tab", current.key)


def _click(page, locator) -> int:
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value.status


def _assert_another_teams_project_is_not_found_with_a_way_home(page, theirs) -> None:
    assert page.goto(reverse("judging:runs", kwargs={"slug": theirs.slug})).status == 404
    _assert_styled(page)
    expect(page.locator("[data-error-page]")).to_contain_text("No such project.")
    expect(page.locator("main")).not_to_contain_text(theirs.name)
    assert _click(page, page.locator("[data-home]")) == 200
    expect(page.locator("h1")).to_have_text("Projects")


@pytest.mark.parametrize("role", [ANNOTATOR, REVIEWER, LEAD])
def test_every_tab_of_a_role_opens_and_keeps_the_navigation(page, log_in, member, project, theirs, role):
    user = member(role)
    tabs = [tab for tab in TABS if has_role(user, tab.role, project)]
    log_in(user)

    page.goto(project.get_absolute_url())
    _assert_tabs(page, tabs, tabs[0])
    for tab in tabs:  # each tab clicked from the page the previous one opened
        assert _click(page, page.locator(f'[data-project-nav] a[data-tab="{tab.key}"]')) == 200, tab.label
        _assert_styled(page)
        _assert_tabs(page, tabs, tab)

    hidden = [tab for tab in TABS if tab not in tabs]
    if hidden:  # a page above the role: refused in words, with the way back to the project
        assert page.goto(reverse(hidden[0].url_name, kwargs={"slug": project.slug})).status == 403
        _assert_styled(page)
        expect(page.locator("[data-reason]")).to_contain_text(f"needs the {hidden[0].role} role")
        assert _click(page, page.locator("[data-back]")) == 200
        _assert_tabs(page, tabs, tabs[0])

    _assert_another_teams_project_is_not_found_with_a_way_home(page, theirs)


def test_a_user_in_no_project_finds_styled_not_found_pages_with_a_way_home(
    page, log_in, member, project, theirs
):
    log_in(member(None))
    for slug in (project.slug, theirs.slug):
        assert page.goto(reverse("labeling:project", kwargs={"slug": slug})).status == 404
        _assert_styled(page)
        expect(page.locator("[data-project-nav]")).to_have_count(0)
    _assert_another_teams_project_is_not_found_with_a_way_home(page, theirs)


@pytest.mark.parametrize("current", ["dashboard", "bullets"])
def test_a_leads_tabs_fit_one_row_on_a_1280_pixel_screen(page, log_in, member, project, current):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(member(LEAD))
    tab = next(tab for tab in TABS if tab.key == current)
    page.goto(reverse(tab.url_name, kwargs={"slug": project.slug}))

    tops = page.locator("[data-project-nav] a").evaluate_all(
        "tabs => tabs.map(tab => Math.round(tab.getBoundingClientRect().top))"
    )

    assert len(tops) == len(TABS) and len(set(tops)) == 1
