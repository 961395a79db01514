"""A project's gold revision goes up with every change of its gold (see labeling/gold.py), whichever path
writes it, and only then; PostgreSQL bumps it once per statement, so a large import stays one bump."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import services
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Label, Project
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db

RATIONALE = "The document answers the query directly."


def revision(project: Project) -> int:
    return Project.objects.values_list("gold_revision", flat=True).get(pk=project.pk)


def test_a_label_given_on_the_labeling_page_moves_the_revision_on(annotator, project):
    (item,) = items_make(project, 1)
    before = revision(project)

    services.label_submit(item=item, annotator=annotator, score=3, rationale=RATIONALE)

    assert revision(project) == before + 1


def test_a_score_edited_moves_the_revision_on_and_a_rationale_edited_does_not(annotator, project):
    (item,) = items_make(project, 1)
    label = label_make(item, annotator, 2)
    before = revision(project)

    services.label_edit(label=label, score=2, rationale="Only the reasons changed, not the score.")
    after_rationale = revision(project)
    services.label_edit(label=label, score=4, rationale=RATIONALE)

    assert after_rationale == before
    assert revision(project) == before + 1


def test_a_label_undone_or_deleted_moves_the_revision_on(annotator, reviewer, project):
    first, second = items_make(project, 2)
    label_make(first, annotator, 2)
    label_make(second, reviewer, 5)
    before = revision(project)

    services.label_undo_last(project=project, annotator=annotator)
    Label.objects.filter(item=second).delete()

    assert revision(project) == before + 2


def test_an_adjudication_moves_the_revision_on(reviewer, annotator, project):
    (item,) = items_make(project, 1)
    label_make(item, annotator, 1)
    before = revision(project)

    services.item_adjudicate(item=item, reviewer=reviewer, score=4, note="The rubric's 4 fits.")

    assert revision(project) == before + 1


def test_deleting_an_adjudicated_item_moves_the_revision_on_and_an_unlabeled_one_does_not(reviewer, project):
    adjudicated, unlabeled = items_make(project, 2)
    services.item_adjudicate(item=adjudicated, reviewer=reviewer, score=4, note="The rubric's 4 fits.")
    before = revision(project)

    unlabeled.delete()
    after_unlabeled = revision(project)
    adjudicated.delete()

    assert after_unlabeled == before
    assert revision(project) == before + 1


def test_labels_on_an_adjudicated_item_leave_gold_and_the_revision_alone(reviewer, annotator, project):
    (item,) = items_make(project, 1)
    services.item_adjudicate(item=item, reviewer=reviewer, score=4, note="The rubric's 4 fits.")
    before = revision(project)

    services.label_submit(item=item, annotator=annotator, score=1, rationale=RATIONALE)

    assert revision(project) == before


def test_a_label_moved_to_an_item_of_another_project_moves_both_revisions_on(annotator, project):
    other = Project.objects.create(name="Other", slug="other", rubric="Another rubric.")
    (mine,), (theirs,) = items_make(project, 1), items_make(other, 1)
    label = label_make(mine, annotator, 3)
    before = (revision(project), revision(other))

    label.item = theirs
    label.save()

    assert (revision(project), revision(other)) == (before[0] + 1, before[1] + 1)


def test_saving_a_project_or_item_loaded_before_gold_changed_does_not_undo_the_revision(annotator, project):
    (item,) = items_make(project, 1)
    stale_project, stale_item = Project.objects.get(pk=project.pk), Item.objects.get(pk=item.pk)
    label_make(item, annotator, 2)
    bumped = revision(project)

    stale_project.name = "Renamed"
    stale_project.save()
    stale_item.save()

    assert revision(project) == bumped > stale_project.gold_revision


def test_an_import_of_a_thousand_labels_moves_the_revision_on_once_per_statement(project, tmp_path):
    rows = [
        {
            "external_id": f"i{n}",
            "query": f"query {n}",
            "document": f"document {n}",
            "labels": [{"annotator": f"nist{k}", "score": 1 + (n + k) % 5} for k in range(2)],
        }
        for n in range(500)
    ]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    before = revision(project)

    with CaptureQueriesContext(connection) as queries:
        items_import(project=project, path=path, options=ImportOptions())

    assert Label.objects.filter(item__project=project).count() == 1000
    writes = [
        q["sql"]
        for q in queries
        if q["sql"].startswith(('INSERT INTO "labeling_label"', 'UPDATE "labeling_label"'))
    ]
    assert revision(project) > before
    if connection.vendor == "postgresql":  # SQLite has row triggers only: one bump per label there
        assert revision(project) - before == len(writes) == 1
