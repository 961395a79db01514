"""The project dashboard: items and labels by split, coverage (items at the target number of labels),
and who labeled how much today, in a fixed number of queries whatever the project's size."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labeling import selectors
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Label, Project
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_per_item(project, annotator, reviewer, lead):
    """Two labels wanted per item. train: one item at target, one half-way, one bare; dev: one at target;
    test: one bare. Carol's label on the half-way item is from yesterday."""
    project.labels_per_item = 2
    project.save()
    full, half, bare = items_make(project, 3)
    dev = Item.objects.create(project=project, external_id="d1", query="q", document="d", split="dev")
    Item.objects.create(project=project, external_id="t1", query="q", document="d", split="test")
    label_make(full, annotator, 2)
    label_make(full, reviewer, 3)
    label_make(dev, annotator, 4)
    label_make(dev, reviewer, 4)
    old = label_make(half, lead, 5)
    Label.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    return project


def test_counts_by_split_give_items_labels_and_coverage(two_per_item):
    rows = {row["split"]: row for row in selectors.project_split_counts(project=two_per_item)}

    assert rows["train"] == {
        "split": "train",
        "items": 3,
        "labeled": 2,
        "at_target": 1,
        "coverage": 33,
        "labels": 3,
    }
    assert rows["dev"] == {
        "split": "dev",
        "items": 1,
        "labeled": 1,
        "at_target": 1,
        "coverage": 100,
        "labels": 2,
    }
    assert rows["test"] == {
        "split": "test",
        "items": 1,
        "labeled": 0,
        "at_target": 0,
        "coverage": 0,
        "labels": 0,
    }


def test_labels_today_counts_each_annotator_today_only_and_in_this_project(two_per_item, annotator):
    other = Project.objects.create(name="Other", slug="other", rubric="r")
    (elsewhere,) = items_make(other, 1)
    label_make(elsewhere, annotator, 3)

    assert selectors.project_labels_today(project=two_per_item) == [("alice", 2), ("bob", 2)]


def test_labels_imported_from_a_label_source_are_nobodys_labels_of_the_day(two_per_item, tmp_path):
    path = tmp_path / "qrels.jsonl"
    path.write_text(json.dumps({"external_id": "n1", "query": "q", "document": "d", "score": 3}) + "\n")
    items_import(project=two_per_item, path=path, options=ImportOptions(labels_as="nist"))

    assert selectors.project_labels_today(project=two_per_item) == [("alice", 2), ("bob", 2)]


def test_the_dashboard_shows_the_splits_coverage_and_todays_labels(client_for, annotator, two_per_item):
    body = client_for(annotator).get(reverse("labeling:project", args=[two_per_item.slug])).content.decode()

    assert '<div class="value" id="total-items">5</div>' in body
    assert '<div class="value" id="coverage">40%</div>' in body  # 2 of 5 items have their 2 labels
    assert "2 items with 2 labels or more" in body
    assert '<div class="value" id="labels-today">4</div>' in body
    assert (
        '<tr id="split-train"><td>train</td><td>3</td><td>2</td><td>3</td><td>1</td><td>33%</td></tr>' in body
    )
    assert '<tr id="split-test"><td>test</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0%</td></tr>' in body
    assert "<tr><td>alice</td><td>2</td></tr>" in body and "carol" not in body.split("<h2>Today</h2>")[1]


def test_the_dashboard_gives_the_target_beside_how_many_labels_items_really_have(
    client_for, annotator, reviewer, lead, project
):
    """The demo's case: one label wanted per item, but some items carry three."""
    single, triple, bare = items_make(project, 3)
    label_make(single, annotator, 3)
    for user in (annotator, reviewer, lead):
        label_make(triple, user, 4)

    body = client_for(annotator).get(reverse("labeling:project", args=[project.slug])).content.decode()

    assert "target: 1 label per item" in body
    distribution = body.split('id="label-distribution">')[1].split("</p>")[0]
    assert " ".join(distribution.split()) == (
        "Labels per item, target 1: 1 item with none · 1 item with 1 label · 1 item with 3 labels"
    )
    assert "2 items with 1 label or more" in body


def test_the_dashboard_escapes_an_annotators_name(client_for, make_user, annotator, project):
    (item,) = items_make(project, 1)
    label_make(item, make_user("<b>eve</b>"), 3)

    body = client_for(annotator).get(reverse("labeling:project", args=[project.slug])).content.decode()

    assert "&lt;b&gt;eve&lt;/b&gt;" in body and "<b>eve</b>" not in body


def _dashboard_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("labeling:project", args=[project.slug])).status_code == 200
    return len(queries)


def test_the_dashboard_runs_the_same_number_of_queries_whatever_the_projects_size(
    client_for, annotator, reviewer, project
):
    client = client_for(annotator)
    client.get("/")
    items = items_make(project, 4)
    label_make(items[0], reviewer, 2)
    small = _dashboard_queries(client, project)

    for item in items_make(project, 60, start=100):
        label_make(item, reviewer, 3)
        label_make(item, annotator, 4)

    assert _dashboard_queries(client, project) == small
