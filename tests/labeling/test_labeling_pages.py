"""The labeling page in the browser's place: htmx swaps, skip and undo, blind labeling, escaping,
time on item, My labels, and a fixed number of SQL queries whatever the project's size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labeling.forms import shown_stamp
from labeling.models import Item, Label, LabelRevision
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
RATIONALE = "The document answers the query directly."


def _label_url(project) -> str:
    return reverse("labeling:label", args=[project.slug])


def _submit_url(item) -> str:
    return reverse("labeling:label_submit", args=[item.project.slug, item.pk])


def test_the_labeling_page_shows_the_next_item_with_rubric_and_scale(client_for, annotator, project):
    items_make(project, 2)

    page = client_for(annotator).get(_label_url(project))

    assert page.status_code == 200
    body = page.content.decode()
    assert "query 1" in body and "A document. 1" in body
    assert "How well does the document answer the query?" in body
    assert "Perfect answer" in body and "Irrelevant" in body
    assert body.count('name="score"') == 5
    assert "<strong>0</strong> of 2 labeled" in body
    assert "js/labeling.js" in body


def test_submitting_with_htmx_swaps_in_the_next_item(client_for, annotator, project):
    first, second = items_make(project, 2)
    client = client_for(annotator)
    client.get(_label_url(project))

    response = client.post(_submit_url(first), {"score": "4", "rationale": RATIONALE}, headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="workspace"')  # the partial alone, not a whole page
    assert "<html" not in body
    assert "query 2" in body and "<strong>1</strong> of 2 labeled" in body
    assert "Saved 4" in body
    assert Label.objects.get().score == 4


def test_submitting_without_htmx_redirects_to_the_labeling_page(client_for, annotator, project):
    (item,) = items_make(project, 1)

    response = client_for(annotator).post(_submit_url(item), {"score": "2", "rationale": RATIONALE})

    assert response.status_code == 302
    assert response["Location"] == _label_url(project)


def test_a_short_rationale_comes_back_with_the_error_and_the_chosen_score(client_for, annotator, project):
    (item,) = items_make(project, 1)

    response = client_for(annotator).post(_submit_url(item), {"score": "3", "rationale": "meh"}, headers=HTMX)

    body = response.content.decode()
    assert "at least 20 characters (this has 3)" in body
    assert 'value="3" required checked' in body
    assert ">meh</textarea>" in body
    assert not Label.objects.exists()


def test_time_on_item_is_recorded_from_the_stamp_of_the_page(client_for, annotator, project, monkeypatch):
    (item,) = items_make(project, 1)
    monkeypatch.setattr("labeling.forms.time.time", lambda: 1_000.0)
    stamp = shown_stamp(item)
    monkeypatch.setattr("labeling.forms.time.time", lambda: 1_012.5)

    client_for(annotator).post(_submit_url(item), {"score": "3", "rationale": RATIONALE, "shown": stamp})

    assert Label.objects.get().seconds_spent == 12.5


def test_a_forged_time_stamp_is_ignored(client_for, annotator, project):
    (item,) = items_make(project, 1)

    client_for(annotator).post(_submit_url(item), {"score": "3", "rationale": RATIONALE, "shown": "x:1"})

    assert Label.objects.get().seconds_spent is None


def test_skip_swaps_in_another_item(client_for, annotator, project):
    first, second = items_make(project, 2)
    client = client_for(annotator)
    client.get(_label_url(project))

    response = client.post(reverse("labeling:label_skip", args=[project.slug, first.pk]), headers=HTMX)

    assert "query 2" in response.content.decode()


def test_undo_shows_the_item_again_with_the_label_it_had(client_for, annotator, project):
    first, second = items_make(project, 2)
    client = client_for(annotator)
    client.post(_submit_url(first), {"score": "5", "rationale": RATIONALE}, headers=HTMX)

    response = client.post(reverse("labeling:label_undo", args=[project.slug]), headers=HTMX)

    body = response.content.decode()
    assert "query 1" in body and "Undid your 5" in body
    assert 'value="5" required checked' in body and f">{RATIONALE}</textarea>" in body
    assert not Label.objects.exists()
    assert LabelRevision.objects.get().action == "undo"


def test_the_page_says_when_nothing_is_left(client_for, annotator, project):
    (item,) = items_make(project, 1)
    label_make(item, annotator, 3)

    body = client_for(annotator).get(_label_url(project)).content.decode()

    assert "Nothing left to label" in body
    assert "Review my labels" in body and 'data-width="100"' in body


def test_on_items_whose_imported_labels_meet_the_target_the_page_says_so_and_draws_an_empty_bar(
    client_for, annotator, reviewer, project
):
    for item in items_make(project, 2):
        label_make(item, reviewer, 3)  # as an import's labels would be: someone else's

    body = client_for(annotator).get(_label_url(project)).content.decode()

    assert "already has its 1 label per item" in body and "labels imported with the items count" in body
    assert "<strong>0</strong> of 0 labeled" in body and 'data-width="0"' in body
    assert "Review my labels" not in body  # an empty page: they have none
    assert "a lead can raise Labels per item" in body
    assert reverse("labeling:project_edit", args=[project.slug]) not in body


def test_my_labels_when_empty_says_whether_anything_is_waiting(client_for, annotator, reviewer, project):
    (item,) = items_make(project, 1)
    url = reverse("labeling:my_labels", args=[project.slug])
    assert "Start labeling" in client_for(annotator).get(url).content.decode()

    label_make(item, reviewer, 3)

    body = client_for(annotator).get(url).content.decode()
    assert "Nothing is waiting for you either" in body and "Start labeling" not in body


def test_a_lead_with_nothing_to_label_is_pointed_to_the_labels_per_item_setting(
    client_for, lead, reviewer, project
):
    (item,) = items_make(project, 1)
    label_make(item, reviewer, 3)

    body = client_for(lead).get(_label_url(project)).content.decode()

    setting = reverse("labeling:project_edit", args=[project.slug]) + "#id_labels_per_item"
    assert f'href="{setting}">Settings → Labels per item</a>' in body


def test_the_page_says_when_the_rest_is_held_by_others(client_for, annotator, reviewer, project):
    from labeling.services import item_reserve_next

    items_make(project, 1)
    item_reserve_next(project=project, annotator=reviewer)

    body = client_for(annotator).get(_label_url(project)).content.decode()

    assert "someone else" in body and "1 item you could still label is being labeled by others" in body


def test_labeling_is_blind_to_other_labels_and_adjudication(client_for, annotator, reviewer, project):
    project.labels_per_item = 2
    project.save()
    (item,) = items_make(project, 1)
    label_make(item, reviewer, 2, rationale="Bob thinks this is only loosely related.")
    Item.objects.filter(pk=item.pk).update(adjudicated_score=4, adjudication_note="Reviewer note here")

    body = client_for(annotator).get(_label_url(project)).content.decode()

    assert "query 1" in body
    assert "Bob thinks" not in body and "bob" not in body
    assert "Reviewer note here" not in body
    assert "checked" not in body


def test_untrusted_text_is_escaped_on_the_labeling_page(client_for, annotator, project):
    Item.objects.create(
        project=project,
        external_id="x1",
        query='<img src=x onerror="alert(2)">',
        document="Before <script>alert(1)</script> after",
        split="train",
    )

    body = client_for(annotator).get(_label_url(project)).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body and "&lt;img src=x" in body


def test_my_labels_lists_only_my_labels(client_for, annotator, reviewer, project):
    first, second = items_make(project, 2)
    label_make(first, annotator, 2, rationale="Mine, with enough words in it.")
    label_make(second, reviewer, 5, rationale="Someone else's rationale here.")

    body = client_for(annotator).get(reverse("labeling:my_labels", args=[project.slug])).content.decode()

    assert "Mine, with enough words" in body
    assert "Someone else" not in body


def test_editing_a_label_keeps_the_previous_value(client_for, annotator, project):
    (item,) = items_make(project, 1)
    label = label_make(item, annotator, 2, rationale="First thoughts on this document.")
    url = reverse("labeling:my_label_edit", args=[project.slug, label.pk])
    client = client_for(annotator)
    assert "First thoughts" in client.get(url).content.decode()

    response = client.post(url, {"score": "4", "rationale": "Second thoughts: it does answer."})

    assert response.status_code == 302
    label.refresh_from_db()
    assert label.score == 4
    assert LabelRevision.objects.get().score == 2
    page = client.get(url).content.decode()
    assert "First thoughts" in page  # the history shows the old value
    assert "edited 1×" in client.get(reverse("labeling:my_labels", args=[project.slug])).content.decode()


def test_an_annotator_cannot_open_someone_elses_label(client_for, annotator, reviewer, project):
    (item,) = items_make(project, 1)
    label = label_make(item, reviewer, 2)

    response = client_for(annotator).get(reverse("labeling:my_label_edit", args=[project.slug, label.pk]))

    assert response.status_code == 404


# A fixed number of queries, whatever the project's size.

# Counted outside any transaction, as a request runs (a test's own transaction would turn every atomic
# block into two SAVEPOINT queries a request never sends). The labeling page: session, user, the project
# with the user's role in it, the queue query (which also says which item they hold), the reservation
# taken (one conditional INSERT) or renewed, and the progress counters. Submit-and-next: session, user,
# the item with its project and the user's role, the label INSERT (the database's triggers count it),
# the release of its reservation, the queue query, the reservation, the progress counters.
LABEL_PAGE_QUERIES = 6
SUBMIT_AND_NEXT_QUERIES = 8


def _grow(project, annotator, others, size: int) -> None:
    """A project of `size` items; the first third labeled by others, some by the annotator."""
    project.labels_per_item = 2
    project.save()
    items = items_make(project, size)
    for index, item in enumerate(items[: size // 3]):
        for other in others:
            label_make(item, other, 1 + index % 5)
    label_make(items[size // 3], annotator, 3)


def _label_page_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_label_url(project)).status_code == 200
    return len(queries)


def _submit_and_next_queries(client, project) -> int:
    item = client.get(_label_url(project)).context["item"]
    url = reverse("labeling:label_submit", args=[project.slug, item.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, {"score": "3", "rationale": RATIONALE}, headers=HTMX)
    assert response.context["item"] not in (None, item)
    return len(queries)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [6, 90])
def test_the_labeling_page_runs_a_fixed_number_of_queries(
    client_for, annotator, reviewer, lead, project, size
):
    _grow(project, annotator, [reviewer, lead], size)
    client = client_for(annotator)
    client.get("/")  # the session is warm, as on any later page

    # Once to reserve an item, once more to find it held: both paths stay within the same count.
    assert _label_page_queries(client, project) == LABEL_PAGE_QUERIES
    assert _label_page_queries(client, project) <= LABEL_PAGE_QUERIES


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [6, 90])
def test_submit_and_next_runs_a_fixed_number_of_queries(client_for, annotator, reviewer, lead, project, size):
    _grow(project, annotator, [reviewer, lead], size)
    client = client_for(annotator)

    assert _submit_and_next_queries(client, project) == SUBMIT_AND_NEXT_QUERIES
    assert _submit_and_next_queries(client, project) == SUBMIT_AND_NEXT_QUERIES
