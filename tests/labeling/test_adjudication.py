"""The reviewers' adjudication queue: items whose labels spread too far, and the gold score with a note."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling import selectors, services
from labeling.models import Item
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread_items(project, annotator, reviewer, lead):
    """i1: 2 and 4 (spread 2), i2: 3 and 4 (spread 1), i3: 1, 3 and 5 (spread 4), i4: one label only."""
    i1, i2, i3, i4 = items_make(project, 4)
    label_make(i1, annotator, 2, rationale="Alice's rationale for item one.")
    label_make(i1, reviewer, 4, rationale="Bob's rationale for item one.")
    label_make(i2, annotator, 3)
    label_make(i2, reviewer, 4)
    for user, score in ((annotator, 1), (reviewer, 3), (lead, 5)):
        label_make(i3, user, score)
    label_make(i4, annotator, 5)
    return i1, i2, i3, i4


def test_the_queue_holds_items_whose_labels_spread_by_the_projects_setting(project, spread_items):
    i1, _, i3, _ = spread_items

    assert list(selectors.adjudication_queue(project=project)) == [i1, i3]

    project.adjudication_spread = 3
    assert list(selectors.adjudication_queue(project=project)) == [i3]


def test_an_adjudicated_item_leaves_the_queue(project, reviewer, spread_items):
    i1, _, i3, _ = spread_items

    services.item_adjudicate(item=i1, reviewer=reviewer, score=3, note="Partly answers it.")

    assert list(selectors.adjudication_queue(project=project)) == [i3]
    assert list(selectors.adjudication_queue(project=project, include_done=True)) == [i1, i3]


def test_adjudicating_records_the_gold_score_the_note_and_who_and_when(project, reviewer, spread_items):
    item = spread_items[0]

    services.item_adjudicate(item=item, reviewer=reviewer, score=3, note="  Partly answers it.  ")

    item = Item.objects.get(pk=item.pk)
    assert (item.adjudicated_score, item.adjudication_note, item.adjudicated_by) == (
        3,
        "Partly answers it.",
        reviewer,
    )
    assert item.adjudicated_at is not None


def test_the_reviewer_sees_every_label_with_its_rationale(client_for, reviewer, project, spread_items):
    item = spread_items[0]

    body = (
        client_for(reviewer)
        .get(reverse("labeling:adjudicate", args=[project.slug, item.pk]))
        .content.decode()
    )

    assert "Alice&#x27;s rationale for item one." in body and "Bob&#x27;s rationale for item one." in body
    assert "alice" in body and "bob" in body


def test_the_queue_page_lists_the_spread(client_for, reviewer, project, spread_items):
    body = client_for(reviewer).get(reverse("labeling:adjudication", args=[project.slug])).content.decode()

    assert "query 1" in body and "2–4" in body
    assert "query 3" in body and "1–5" in body
    assert "query 2" not in body


def test_setting_gold_goes_to_the_next_item_in_the_queue(client_for, reviewer, project, spread_items):
    i1, _, i3, _ = spread_items
    url = reverse("labeling:adjudicate", args=[project.slug, i1.pk])

    response = client_for(reviewer).post(url, {"score": "3", "note": "Partly answers it."})

    assert response.status_code == 302
    assert response["Location"] == reverse("labeling:adjudicate", args=[project.slug, i3.pk])
    assert Item.objects.get(pk=i1.pk).adjudicated_score == 3


def test_gold_needs_a_score_on_the_scale_and_a_note(client_for, reviewer, project, spread_items):
    item = spread_items[0]
    url = reverse("labeling:adjudicate", args=[project.slug, item.pk])

    body = client_for(reviewer).post(url, {"score": "9", "note": " "}).content.decode()

    assert "Choose a gold score from 1 to 5." in body
    assert "Say in a few words why" in body
    assert Item.objects.get(pk=item.pk).adjudicated_score is None


def test_an_item_of_another_project_is_a_404(client_for, reviewer, project, spread_items):
    from labeling.models import Project

    other = Project.objects.create(name="Other", slug="other", rubric="r")
    url = reverse("labeling:adjudicate", args=[other.slug, spread_items[0].pk])

    assert client_for(reviewer).get(url).status_code == 404
