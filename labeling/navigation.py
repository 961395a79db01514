"""The project navigation: each tab with the page it opens and the lowest role that may open it.

The table is the one statement of who sees which tab; tests/labeling/test_navigation.py opens every tab
as every role and fails if a view's own access check (labeling.access) disagrees with it."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from labeling.roles import ANNOTATOR, LEAD, REVIEWER, has_role


@dataclass(frozen=True)
class Tab:
    key: str  # what a page passes as `current` to mark its tab
    label: str
    url_name: str  # a URL taking the project's slug
    role: str


TABS = (
    Tab("dashboard", "Dashboard", "labeling:project", ANNOTATOR),
    Tab("label", "Label", "labeling:label", ANNOTATOR),
    Tab("my_labels", "My labels", "labeling:my_labels", ANNOTATOR),
    Tab("adjudication", "Adjudication", "labeling:adjudication", REVIEWER),
    Tab("agreement", "Agreement", "labeling:agreement", REVIEWER),
    Tab("runs", "Judge runs", "judging:runs", REVIEWER),
    Tab("bullets", "Disagreements & bullets", "optimizer:bullets", REVIEWER),
    Tab("library", "Library", "optimizer:library", REVIEWER),
    Tab("optimizer", "Optimizer", "optimizer:runs", REVIEWER),
    Tab("versions", "Prompt versions", "judging:versions", REVIEWER),
    Tab("models", "Models", "judging:model_comparison", REVIEWER),
    Tab("settings", "Settings", "labeling:project_edit", LEAD),
)
TAB_KEYS = frozenset(tab.key for tab in TABS)


def tabs_for(user, project) -> list[Tab]:
    """The tabs `user` may open in `project` (none for a non-member). The rank comes from the user's
    memberships, read once per request and shared with the view's own access check."""
    return [tab for tab in TABS if has_role(user, tab.role, project)]


def tab_links(user, project, current: str) -> list[dict]:
    return [
        {
            "key": tab.key,
            "label": tab.label,
            "url": reverse(tab.url_name, kwargs={"slug": project.slug}),
            "current": tab.key == current,
        }
        for tab in tabs_for(user, project)
    ]
