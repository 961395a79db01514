"""The stored label counters (an item's label count, a project's open items, an annotator's progress) agree
with COUNT(*) over the labels after every path that writes labels: the labeling page, undo, edit, the
import, the demo, the admin, bulk_create, cascades, a new labels_per_item."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from judging.demo import demo_seed
from labeling import services
from labeling.counters import counters_counted, counters_stored
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Label, Project
from labeling.selectors import annotator_progress
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db

RATIONALE = "The document answers the query directly."


def assert_counters_agree(project: Project) -> None:
    assert counters_stored(project=project) == counters_counted(project=project)


@pytest.fixture
def pair_project(project):
    """Two labels wanted per item, so that items open, close and open again."""
    project.labels_per_item = 2
    project.save()
    return project


def test_submitting_labels_on_the_page_keeps_the_counters(client_for, annotator, reviewer, pair_project):
    first, second, _ = items_make(pair_project, 3)
    for user in (annotator, reviewer):
        client = client_for(user)
        item = client.get(reverse("labeling:label", args=[pair_project.slug])).context["item"]
        client.post(
            reverse("labeling:label_submit", args=[pair_project.slug, item.pk]),
            {"score": "3", "rationale": RATIONALE},
        )

    assert Item.objects.get(pk=first.pk).label_count == 2  # both took the first item, in turn
    assert Project.objects.get(pk=pair_project.pk).items_open == 2
    assert_counters_agree(pair_project)


def test_a_second_submit_of_the_same_item_counts_once(annotator, pair_project):
    (item,) = items_make(pair_project, 1)
    for score in (4, 1):
        services.label_submit(item=item, annotator=annotator, score=score, rationale=RATIONALE)

    assert Item.objects.get(pk=item.pk).label_count == 1
    assert_counters_agree(pair_project)


def test_undo_reopens_the_item_it_closed_for_everyone(annotator, reviewer, pair_project):
    (item,) = items_make(pair_project, 1)
    label_make(item, reviewer, 2)
    services.label_submit(item=item, annotator=annotator, score=4, rationale=RATIONALE)
    assert annotator_progress(project=pair_project, annotator=reviewer).remaining == 0

    services.label_undo_last(project=pair_project, annotator=annotator)

    assert Project.objects.get(pk=pair_project.pk).items_open == 1
    assert annotator_progress(project=pair_project, annotator=annotator).remaining == 1
    assert_counters_agree(pair_project)


def test_an_edit_changes_no_counter(annotator, pair_project):
    (item,) = items_make(pair_project, 1)
    label = label_make(item, annotator, 2)

    services.label_edit(label=label, score=5, rationale=RATIONALE)

    assert_counters_agree(pair_project)


def test_an_import_of_new_and_known_labels_keeps_the_counters(annotator, pair_project, tmp_path):
    (item,) = items_make(pair_project, 1, start=0)
    label_make(item, annotator, 2)
    rows = [
        {"external_id": f"i{n}", "query": f"query {n}", "document": f"document {n}", "labels": labels}
        for n, labels in [
            (0, [{"annotator": annotator.username, "score": 4}, {"annotator": "nist", "score": 3}]),
            (1, [{"annotator": "nist", "score": 1}]),
            (2, []),
        ]
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    items_import(project=pair_project, path=path, options=ImportOptions())

    assert Label.objects.get(item=item, annotator=annotator).score == 4  # updated, not duplicated
    assert Item.objects.get(pk=item.pk).label_count == 2
    assert_counters_agree(pair_project)


def test_the_demo_data_keeps_the_counters(db):
    project = demo_seed().project

    assert Label.objects.filter(item__project=project).exists()
    assert_counters_agree(project)


def test_many_labels_in_one_statement_are_counted_one_by_one(make_user, pair_project):
    items = items_make(pair_project, 4)
    users = [make_user(f"bulk{n}") for n in range(3)]

    Label.objects.bulk_create(Label(item=item, annotator=user, score=3) for item in items for user in users)

    assert set(Item.objects.values_list("label_count", flat=True)) == {3}
    assert_counters_agree(pair_project)


def test_deleting_labels_in_the_admin_keeps_the_counters(client, annotator, reviewer, pair_project):
    (item,) = items_make(pair_project, 1)
    label_make(item, reviewer, 2)
    label = label_make(item, annotator, 3)
    staff = get_user_model().objects.create_superuser("root", password="a long admin password")
    client.force_login(staff)

    response = client.post(reverse("admin:labeling_label_delete", args=[label.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert Item.objects.get(pk=item.pk).label_count == 1
    assert_counters_agree(pair_project)


def test_moving_a_label_to_another_item_moves_its_count(annotator, reviewer, pair_project):
    first, second = items_make(pair_project, 2)
    label_make(first, reviewer, 2)
    label = label_make(first, annotator, 3)

    label.save()  # the admin's change form writes every column back
    label.item = second
    label.save()

    assert [Item.objects.get(pk=i.pk).label_count for i in (first, second)] == [1, 1]
    assert_counters_agree(pair_project)


def test_deleting_an_item_or_its_labels_in_bulk_keeps_the_counters(annotator, reviewer, pair_project):
    first, second, third = items_make(pair_project, 3)
    for item in (first, second):
        label_make(item, annotator, 2)
        label_make(item, reviewer, 4)

    first.delete()  # its labels go with it
    Label.objects.filter(item=second, annotator=reviewer).delete()

    assert Project.objects.get(pk=pair_project.pk).items_open == 2
    assert_counters_agree(pair_project)


def test_a_new_labels_per_item_recounts_the_open_items(client_for, lead, annotator, reviewer, pair_project):
    first, second = items_make(pair_project, 2)
    label_make(first, annotator, 2)
    label_make(first, reviewer, 4)
    label_make(second, annotator, 3)

    pair_project.labels_per_item = 1
    pair_project.save()

    assert Project.objects.get(pk=pair_project.pk).items_open == 0
    assert annotator_progress(project=pair_project, annotator=annotator).target == 2
    assert_counters_agree(pair_project)


def test_saving_a_project_loaded_before_labels_came_does_not_undo_its_counters(annotator, pair_project):
    (item,) = items_make(pair_project, 1)
    stale = Project.objects.get(pk=pair_project.pk)
    label_make(item, annotator, 2)
    label_make(item, get_user_model().objects.create_user("dora"), 2)

    stale.name = "Renamed"
    stale.save()
    Item.objects.get(pk=item.pk).save()

    assert Project.objects.get(pk=pair_project.pk).items_open == 0
    assert_counters_agree(pair_project)


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_labels_given_before_it(annotator, reviewer, project):
    before = [("labeling", "0006_memberships_from_global_roles")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old_item, old_label = old.get_model("labeling", "Item"), old.get_model("labeling", "Label")
    first, second = (
        old_item.objects.create(
            project_id=project.pk, external_id=f"m{n}", query="q", document="d", split="dev"
        )
        for n in range(2)
    )
    for item, user in [(first, annotator), (first, reviewer), (second, annotator)]:
        old_label.objects.create(item=item, annotator_id=user.pk, score=3)
    old.get_model("labeling", "Project").objects.filter(pk=project.pk).update(labels_per_item=2)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert Item.objects.get(pk=first.pk).label_count == 2
    assert Project.objects.get(pk=project.pk).items_open == 1
    assert annotator_progress(project=project, annotator=annotator).target == 2
    assert_counters_agree(project)
    label_make(Item.objects.get(pk=second.pk), reviewer, 4)  # and the triggers count from there on
    assert_counters_agree(project)
