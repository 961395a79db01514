from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling import importing
from labeling.importing import ImportOptions, ImportRejected, items_import
from labeling.models import Item, Label, Project, split_for

pytestmark = pytest.mark.django_db

TREC_LINE = {
    "query_id": "1037798",
    "query": "who is robert gray",
    "doc_id": "1085628",
    "document": "Roy Roberts. For other people named Roy Roberts, see Roy Roberts (disambiguation).",
    "grade": 0,
    "scale": "0-3",
    "rationale": None,
    "source": "TREC 2019 Deep Learning Track, passage task",
}


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def write_csv(path, header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return str(path)


def item_row(n: int, **extra) -> dict:
    return {"external_id": f"q{n}", "query": f"query {n}", "document": f"document {n}", **extra}


def rejected(project, path, **options) -> ImportRejected:
    with pytest.raises(ImportRejected) as excinfo:
        items_import(project=project, path=path, options=ImportOptions(**options))
    assert Item.objects.count() == 0
    assert Label.objects.count() == 0
    return excinfo.value


@pytest.fixture
def trec_project(db):
    return Project.objects.create(
        name="TREC DL 2019", slug="trec", rubric="Relevance.", scale_min=0, scale_max=3
    )


# Happy paths


def test_a_jsonl_file_imports_items_and_their_labels(project, annotator, tmp_path):
    path = write_jsonl(
        tmp_path / "items.jsonl",
        [
            item_row(1, score=4, annotator="alice", rationale="Answers the question directly."),
            item_row(2, score=2, annotator="alice", rationale="Off topic."),
            item_row(3),
        ],
    )

    result = items_import(project=project, path=path, options=ImportOptions())

    assert result == importing.ImportResult(items_created=3, items_updated=0, labels_imported=2)
    item = Item.objects.get(external_id="q1")
    assert (item.query, item.document, item.split) == ("query 1", "document 1", split_for("q1"))
    assert item.metadata == {}
    label = item.labels.get()
    assert (label.annotator, label.score, label.rationale) == (annotator, 4, "Answers the question directly.")
    assert not Item.objects.get(external_id="q3").labels.exists()


def test_a_csv_file_imports_items_labels_and_keeps_other_columns_as_metadata(project, tmp_path):
    path = write_csv(
        tmp_path / "items.csv",
        ["id", "query", "document", "score", "annotator", "rationale", "source"],
        [
            ["a", "what is a flywheel", "A flywheel stores rotational energy.", "5", "dora", "", "web"],
            ["b", "what is a flywheel", "Flywheel is a band.", "", "", "", "web"],
        ],
    )

    result = items_import(project=project, path=path, options=ImportOptions())

    assert (result.items_created, result.labels_imported) == (2, 1)
    item = Item.objects.get(external_id="a")
    assert item.metadata == {"source": "web"}
    label = item.labels.get()
    assert (label.annotator.username, label.score, label.rationale) == ("dora", 5, "")
    assert not label.annotator.has_usable_password()


def test_a_csv_document_may_span_several_lines_and_be_very_long(project, tmp_path):
    long_document = "word " * 100_000 + "\nsecond paragraph"
    path = write_csv(
        tmp_path / "items.csv", ["external_id", "query", "document"], [["a", "q", long_document]]
    )

    items_import(project=project, path=path, options=ImportOptions())

    assert Item.objects.get().document == long_document


def test_a_utf8_bom_and_blank_jsonl_lines_are_ignored(project, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(item_row(1)).encode() + b"\n\n  \n" + json.dumps(item_row(2)).encode()
    )

    result = items_import(project=project, path=path, options=ImportOptions())

    assert result.items_created == 2


def test_a_file_scale_of_0_to_3_maps_onto_a_1_to_5_project_rounding_half_up(project, tmp_path):
    rows = [item_row(grade, score=grade, annotator="nist") for grade in range(4)]
    path = write_jsonl(tmp_path / "items.jsonl", rows)

    items_import(project=project, path=path, options=ImportOptions(file_scale=(0, 3)))

    scores = dict(Label.objects.values_list("item__external_id", "score"))
    # 0..3 -> 1 + grade * 4/3: 1, 2.33, 3.67, 5
    assert scores == {"q0": 1, "q1": 2, "q2": 4, "q3": 5}


def test_a_grade_exactly_between_two_points_rounds_up(project, tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(n, score=n, annotator="nist") for n in (1, 3)])

    items_import(project=project, path=path, options=ImportOptions(file_scale=(0, 8)))

    # 0..8 -> 1 + grade / 2: 1.5 and 2.5 both round up (not to the even neighbour)
    assert dict(Label.objects.values_list("item__external_id", "score")) == {"q1": 2, "q3": 3}


def test_external_id_can_join_several_columns_with_plus(trec_project, tmp_path):
    path = write_jsonl(tmp_path / "trec.jsonl", [TREC_LINE])
    options = ImportOptions(
        field_map={"external_id": "query_id+doc_id", "score": "grade"}, file_scale=(0, 3), labels_as="nist"
    )

    result = items_import(project=trec_project, path=path, options=options)

    assert result == importing.ImportResult(items_created=1, items_updated=0, labels_imported=1)
    item = Item.objects.get()
    assert item.external_id == "1037798:1085628"
    assert item.split == split_for("1037798:1085628")
    assert item.metadata == {"scale": "0-3", "source": "TREC 2019 Deep Learning Track, passage task"}
    label = item.labels.get()
    assert (label.annotator.username, label.score, label.rationale) == ("nist", 0, "")
    assert not label.annotator.has_usable_password()


def test_field_map_reads_fields_from_other_csv_columns(project, tmp_path):
    path = write_csv(
        tmp_path / "items.csv",
        ["qid", "pid", "question", "passage", "grade", "who", "why"],
        [["1", "7", "q", "d", "3", "alice", "Partly answers."]],
    )
    field_map = {
        "external_id": "qid+pid",
        "query": "question",
        "document": "passage",
        "score": "grade",
        "annotator": "who",
        "rationale": "why",
    }

    items_import(project=project, path=path, options=ImportOptions(field_map=field_map))

    item = Item.objects.get()
    assert (item.external_id, item.query, item.document, item.metadata) == ("1:7", "q", "d", {})
    assert Label.objects.values_list("annotator__username", "score", "rationale").get() == (
        "alice",
        3,
        "Partly answers.",
    )


def test_reimporting_updates_items_and_labels_keeps_splits_and_does_not_duplicate(project, tmp_path):
    first = write_jsonl(
        tmp_path / "first.jsonl", [item_row(n, score=2, annotator="alice", rationale="") for n in range(5)]
    )
    items_import(project=project, path=first, options=ImportOptions())
    splits = dict(Item.objects.values_list("external_id", "split"))
    second = write_jsonl(
        tmp_path / "second.jsonl",
        [
            {**item_row(n, score=4, annotator="alice", rationale="Better."), "query": f"new {n}"}
            for n in range(3, 7)
        ],
    )

    result = items_import(project=project, path=second, options=ImportOptions())

    assert result == importing.ImportResult(items_created=2, items_updated=2, labels_imported=4)
    assert Item.objects.count() == 7
    assert Label.objects.count() == 7
    assert Item.objects.get(external_id="q3").query == "new 3"
    assert Item.objects.get(external_id="q0").query == "query 0"
    assert Label.objects.get(item__external_id="q3").score == 4
    assert all(Item.objects.get(external_id=eid).split == split for eid, split in splits.items())


def test_new_labels_are_written_once_not_inserted_then_updated_again(project, tmp_path):
    # Updating each label it had just inserted made the TREC file's import take five times as long.
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(n, score=2, annotator="alice") for n in range(5)])

    with CaptureQueriesContext(connection) as queries:
        result = items_import(project=project, path=path, options=ImportOptions())

    assert result.labels_imported == 5 and Label.objects.count() == 5
    assert not [q["sql"] for q in queries if q["sql"].startswith('UPDATE "labeling_label"')]


def test_the_same_external_id_in_another_project_is_another_item(project, tmp_path):
    other = Project.objects.create(name="Other", slug="other", rubric="r")
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(1)])

    items_import(project=project, path=path, options=ImportOptions())
    items_import(project=other, path=path, options=ImportOptions())

    assert Item.objects.filter(external_id="q1").count() == 2


def test_a_large_file_is_written_in_batches(project, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)
    path = write_jsonl(
        tmp_path / "items.jsonl", [item_row(n, score=1, annotator=f"u{n % 3}") for n in range(50)]
    )

    result = items_import(project=project, path=path, options=ImportOptions())

    assert (result.items_created, result.labels_imported) == (50, 50)
    assert get_user_model().objects.filter(username__in=["u0", "u1", "u2"]).count() == 3


# Bad files: each imports nothing and names the line


def test_a_broken_json_line_rejects_the_file_and_names_the_line(project, tmp_path):
    path = tmp_path / "items.jsonl"
    good = json.dumps(item_row(1))
    path.write_text(f"{good}\n{json.dumps(item_row(2))[:30]}\n{json.dumps(item_row(3))}\n")

    error = rejected(project, path)

    assert [e.line for e in error.errors] == [2]
    assert "not valid JSON" in error.errors[0].message
    assert "cut short" in error.errors[0].message


def test_a_jsonl_line_that_is_not_an_object_is_rejected(project, tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps([item_row(1)]) + "\n")

    error = rejected(project, path)

    assert error.errors[0].line == 1
    assert "not a JSON object" in error.errors[0].message


def test_a_line_that_is_not_utf8_is_rejected(project, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(
        json.dumps(item_row(1)).encode()
        + b"\n"
        + json.dumps(item_row(2)).encode().replace(b"query 2", b"caf\xe9")
        + b"\n"
    )

    error = rejected(project, path)

    assert error.errors[0].line == 2
    assert "not valid UTF-8" in error.errors[0].message


def test_a_csv_line_that_is_not_utf8_is_rejected(project, tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"external_id,query,document\na,q,d\nb,caf\xe9,d\n")

    error = rejected(project, path)

    assert error.errors[0].line == 3
    assert "not valid UTF-8" in error.errors[0].message


def test_a_csv_header_without_the_mapped_columns_is_rejected_on_line_1(project, tmp_path):
    path = write_csv(tmp_path / "items.csv", ["id", "question", "document"], [["a", "q", "d"]])

    error = rejected(project, path, field_map={"score": "grade"})

    assert error.errors[0].line == 1
    message = error.errors[0].message
    assert "'query'" in message and "'grade'" in message
    assert "id, question, document" in message


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"external_id": "b", "query": "", "document": "d"}, "query is empty"),
        ({"external_id": "b", "query": "q"}, "document is missing"),
        ({"external_id": " ", "query": "q", "document": "d"}, "external_id is empty"),
        (
            {"external_id": "b", "query": "q", "document": "d", "score": "high", "annotator": "a"},
            "not a whole",
        ),
        ({"external_id": "b", "query": "q", "document": "d", "score": 2.5, "annotator": "a"}, "not a whole"),
        ({"external_id": "b", "query": "q", "document": "d", "score": 9, "annotator": "a"}, "scale 1..5"),
        (
            {"external_id": "b", "query": "q", "document": "d", "score": 2, "annotator": "a b"},
            "valid username",
        ),
        ({"external_id": "b", "query": "q\u0000", "document": "d"}, "NUL"),
    ],
    ids=[
        "empty query",
        "missing document",
        "blank id",
        "word score",
        "fraction",
        "off scale",
        "bad user",
        "nul",
    ],
)
def test_a_bad_row_rejects_the_whole_file_and_names_its_line(project, tmp_path, row, expected):
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(1, score=3, annotator="alice"), row])

    error = rejected(project, path)

    assert [e.line for e in error.errors] == [2]
    assert expected in error.errors[0].message


def test_a_score_outside_the_file_scale_is_rejected(project, tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(1, score=4, annotator="nist")])

    error = rejected(project, path, file_scale=(0, 3))

    assert "outside the file's scale 0..3" in error.errors[0].message


def test_a_duplicate_id_rejects_the_whole_file_and_names_both_lines(project, tmp_path):
    path = write_jsonl(tmp_path / "items.jsonl", [item_row(1), item_row(2), item_row(1)])

    error = rejected(project, path)

    assert error.errors == [importing.LineError(3, "external id 'q1' already appeared on line 1")]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.jsonl", b"", "the file is empty"),
        ("blank.jsonl", b"\n\n", "the file is empty"),
        ("empty.csv", b"", "the file is empty"),
        ("header.csv", b"external_id,query,document\n", "has a header but no rows"),
    ],
)
def test_an_empty_file_is_rejected(project, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)

    error = rejected(project, path)

    assert error.errors[0].line == 1
    assert expected in error.errors[0].message


def test_scores_without_an_annotator_are_rejected_on_line_1(trec_project, tmp_path):
    path = write_jsonl(tmp_path / "trec.jsonl", [TREC_LINE])

    error = rejected(trec_project, path, field_map={"external_id": "query_id+doc_id", "score": "grade"})

    assert error.errors == [importing.LineError(1, "the file has scores but no annotator: pass labels_as")]


def test_a_csv_quote_left_open_to_the_end_of_the_file_is_rejected(project, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text('external_id,query,document\na,q,d\nb,q,"unclosed\nc,q,d\n')

    error = rejected(project, path)

    assert error.errors[0].line == 3
    assert "never closed" in error.errors[0].message


def test_a_csv_quote_left_open_mid_file_is_rejected(project, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text('external_id,query,document\na,q,d\nb,q,"unclosed\nc,q,d\nd,"q",d\ne,q,d\n')

    error = rejected(project, path)

    assert error.errors[0].line == 3


def test_a_bad_line_after_written_batches_still_keeps_nothing(project, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    rows = [item_row(n, score=2, annotator="alice") for n in range(10)] + [
        item_row(99, score=7, annotator="x")
    ]
    path = write_jsonl(tmp_path / "items.jsonl", rows)

    error = rejected(project, path)

    assert error.errors[0].line == 11
    assert not get_user_model().objects.filter(username="alice").exists()


def test_validation_goes_on_after_the_first_error_and_counts_every_bad_line(project, tmp_path):
    rows = [item_row(n, query="") if n % 2 else item_row(n) for n in range(30)]
    path = write_jsonl(tmp_path / "items.jsonl", rows)

    with pytest.raises(ImportRejected) as excinfo:
        items_import(project=project, path=path, options=ImportOptions(), max_errors=5)

    error = excinfo.value
    assert error.bad_lines == 15
    assert [e.line for e in error.errors] == [2, 4, 6, 8, 10]
    assert str(error).startswith("Nothing was imported: 15 bad lines. line 2: query is empty; line 4:")
    assert str(error).endswith("and 10 more bad lines")
    assert Item.objects.count() == 0


def test_a_file_name_that_tells_no_format_is_rejected(project, tmp_path):
    path = write_jsonl(tmp_path / "items.txt", [item_row(1)])

    error = rejected(project, path)

    assert "cannot tell the format" in error.errors[0].message
    assert items_import(project=project, path=path, options=ImportOptions(format="jsonl")).items_created == 1
