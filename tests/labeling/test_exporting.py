from __future__ import annotations

import csv
import io
import json

import pytest

from labeling.exporting import items_export_lines
from labeling.gold import item_gold
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Label, Project


@pytest.mark.parametrize(
    ("adjudicated", "scores", "gold"),
    [
        (None, [], None),
        (None, [3], 3),
        (None, [1, 2, 5], 2),
        (None, [2, 3], 2.5),
        (4, [1, 1, 1], 4),
        (0, [3], 0),
    ],
)
def test_gold_is_the_adjudicated_score_else_the_median_of_the_labels(adjudicated, scores, gold):
    assert item_gold(adjudicated, scores) == gold


@pytest.fixture
def labeled_project(project, annotator, reviewer, django_user_model):
    carol = django_user_model.objects.create_user("carol2")
    first = Item.objects.create(
        project=project,
        external_id="a",
        query="what is a flywheel",
        document='A wheel, with "quotes",\nand a newline.',
        metadata={"source": "web", "rank": 3},
    )
    Label.objects.create(item=first, annotator=annotator, score=2, rationale='Partly, says "wheel".')
    Label.objects.create(item=first, annotator=reviewer, score=3, rationale="")
    second = Item.objects.create(
        project=project,
        external_id="b",
        query="flywheel",
        document="Flywheel is a band.",
        adjudicated_score=1,
    )
    Label.objects.create(item=second, annotator=carol, score=4, rationale="Names the word.")
    Item.objects.create(project=project, external_id="c", query="flywheel café", document="Ünïcode text.")
    return project


def export(project, fmt: str) -> str:
    return "".join(items_export_lines(project=project, fmt=fmt))


@pytest.mark.django_db
def test_the_csv_export_has_a_header_and_one_row_per_item_with_json_metadata_and_labels(labeled_project):
    rows = list(csv.DictReader(io.StringIO(export(labeled_project, "csv"))))

    assert list(rows[0]) == [
        "external_id",
        "split",
        "query",
        "document",
        "metadata",
        "gold",
        "n_labels",
        "labels",
    ]
    assert [row["external_id"] for row in rows] == ["a", "b", "c"]
    first = rows[0]
    assert first["document"] == 'A wheel, with "quotes",\nand a newline.'
    assert json.loads(first["metadata"]) == {"source": "web", "rank": 3}
    assert (first["gold"], first["n_labels"]) == ("2.5", "2")
    assert json.loads(first["labels"]) == [
        {"annotator": "alice", "score": 2, "rationale": 'Partly, says "wheel".'},
        {"annotator": "bob", "score": 3, "rationale": ""},
    ]
    assert rows[1]["gold"] == "1"
    assert (rows[2]["gold"], rows[2]["labels"]) == ("", "[]")


@pytest.mark.django_db
def test_the_jsonl_export_gives_one_object_per_line_with_gold_as_a_number(labeled_project):
    lines = export(labeled_project, "jsonl").splitlines()

    records = [json.loads(line) for line in lines]
    assert [r["gold"] for r in records] == [2.5, 1, None]
    assert records[0]["split"] == Item.objects.get(external_id="a").split
    assert records[1]["labels"] == [{"annotator": "carol2", "score": 4, "rationale": "Names the word."}]
    assert records[2]["query"] == "flywheel café"


@pytest.mark.django_db
def test_the_export_runs_the_same_few_queries_whatever_the_number_of_items(
    labeled_project, django_assert_num_queries
):
    with django_assert_num_queries(2):  # the items, then their labels with annotators
        export(labeled_project, "jsonl")


@pytest.mark.django_db
def test_an_unknown_export_format_is_refused(project):
    with pytest.raises(ValueError, match="unknown export format"):
        export(project, "xml")


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_imports_into_a_new_project_as_the_same_items(labeled_project, tmp_path, fmt):
    path = tmp_path / f"export.{fmt}"
    path.write_text(export(labeled_project, fmt), encoding="utf-8")
    copy = Project.objects.create(name="Copy", slug="copy", rubric="r")

    result = items_import(project=copy, path=path, options=ImportOptions())

    assert (result.items_created, result.labels_imported) == (3, 3)

    def snapshot(project):
        return [
            (
                item.external_id,
                item.split,
                item.query,
                item.document,
                item.metadata,
                sorted(
                    (label.annotator.username, label.score, label.rationale) for label in item.labels.all()
                ),
            )
            for item in project.items.order_by("external_id").prefetch_related("labels__annotator")
        ]

    assert snapshot(copy) == snapshot(labeled_project)
    # An adjudicated score is a reviewer's decision on this project: it is not carried over.
    assert Item.objects.get(project=copy, external_id="b").adjudicated_score is None


def test_gold_scores_agree_with_the_gold_rule_item_by_item(project, make_user):
    from labeling.gold import gold_scores, item_gold
    from labeling.models import Item, Label

    users = [make_user(f"u{i}") for i in range(4)]
    label_sets = {"a": [1], "b": [2, 3], "c": [5, 1, 4], "d": [2, 2, 4, 5], "e": []}
    for external_id, scores in label_sets.items():
        item = Item.objects.create(project=project, external_id=external_id, query="q", document="d")
        for user, score in zip(users, scores, strict=False):
            Label.objects.create(item=item, annotator=user, score=score)
    Item.objects.filter(external_id="c").update(adjudicated_score=3)

    gold = gold_scores(Item.objects.filter(project=project))

    expected = {"a": 1, "b": 2.5, "c": 3, "d": 3.0}
    assert {Item.objects.get(pk=pk).external_id: value for pk, value in gold.items()} == expected
    for item in Item.objects.filter(external_id__in=expected).prefetch_related("labels"):
        assert gold[item.pk] == item_gold(
            item.adjudicated_score, [label.score for label in item.labels.all()]
        )
