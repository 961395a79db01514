"""Where a page's flash messages appear: under a project's navigation, else at the top of the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Project

pytestmark = pytest.mark.django_db


def test_a_new_projects_message_sits_under_its_navigation_once(client_for, lead, project):
    client = client_for(lead)
    data = {
        "name": "TREC",
        "slug": "trec",
        "rubric": "Is the passage relevant?",
        "scale_min": 0,
        "scale_max": 3,
        "guardrail_text": "",
        "labels_per_item": 1,
        "rationale_min_length": 20,
        "adjudication_spread": 2,
        "queue_order": "id",
    }

    page = client.post(reverse("labeling:project_create"), data, follow=True).content.decode()

    assert Project.objects.filter(slug="trec").exists()
    assert page.count("Project “TREC” created.") == 1
    assert page.index("data-project-nav") < page.index('class="messages"') < page.index("<h1")


def test_a_page_outside_a_project_shows_its_message_at_the_top(client_for, reviewer, project):
    client = client_for(reviewer)
    client.post(reverse("judging:tokens"), {"name": "ranking service", "scopes": ["prompts:read"]})
    token = reviewer.api_tokens.get()

    page = client.post(reverse("judging:token_revoke", args=[token.pk]), follow=True).content.decode()

    assert page.count("Revoked the token “ranking service”") == 1
    assert page.index('class="messages"') < page.index("<h1>API tokens</h1>")
