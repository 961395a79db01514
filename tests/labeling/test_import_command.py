from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labeling.models import Item, Label, Project

ROOT = Path(__file__).resolve().parents[2]


def trec_line(query_id: str, doc_id: str, grade: int) -> dict:
    return {
        "query_id": query_id,
        "query": "who is robert gray",
        "doc_id": doc_id,
        "document": "Roy Roberts. For other people named Roy Roberts, see Roy Roberts (disambiguation).",
        "grade": grade,
        "scale": "0-3",
        "rationale": None,
        "source": "TREC 2019 Deep Learning Track, passage task",
    }


@pytest.fixture
def trec_file(tmp_path) -> Path:
    path = tmp_path / "trec.jsonl"
    lines = [trec_line("1037798", str(1085628 + n), n % 4) for n in range(8)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def corrupted_trec_file(trec_file) -> Path:
    lines = trec_file.read_text().splitlines(keepends=True)
    lines[3] = lines[3][:40] + "\n"
    trec_file.write_text("".join(lines))
    return trec_file


TREC_ARGS = ["--map", "external_id=query_id+doc_id", "--map", "score=grade", "--labels-as", "nist"]


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_command_imports_trec_lines_into_a_0_to_3_project(trec_file):
    Project.objects.create(name="TREC", slug="trec", rubric="r", scale_min=0, scale_max=3)

    out, _ = run("import_items", "trec", str(trec_file), "--file-scale", "0-3", *TREC_ARGS)

    assert "Imported 8 items into trec (8 new, 0 updated) and 8 labels" in out
    assert sorted(Label.objects.values_list("score", flat=True)) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert set(Label.objects.values_list("annotator__username", flat=True)) == {"nist"}
    assert Item.objects.filter(external_id="1037798:1085628").exists()


@pytest.mark.django_db
def test_the_command_creates_the_project_when_asked(trec_file):
    out, _ = run(
        "import_items",
        "trec",
        str(trec_file),
        "--create-project",
        "--scale",
        "0-3",
        "--name",
        "TREC DL 2019",
        *TREC_ARGS,
    )

    project = Project.objects.get(slug="trec")
    assert (project.name, project.scale_min, project.scale_max) == ("TREC DL 2019", 0, 3)
    assert "0 (not relevant at all)" in project.rubric
    assert project.items.count() == 8


@pytest.mark.django_db
def test_the_command_refuses_a_missing_project_without_create_project(trec_file):
    with pytest.raises(CommandError, match="--create-project"):
        run("import_items", "nope", str(trec_file), *TREC_ARGS)


@pytest.mark.django_db
def test_the_command_rejects_a_corrupted_file_imports_nothing_and_names_the_line(corrupted_trec_file):
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported") as excinfo:
        call_command(
            "import_items",
            "trec",
            str(corrupted_trec_file),
            "--create-project",
            "--scale",
            "0-3",
            *TREC_ARGS,
            stdout=StringIO(),
            stderr=err,
        )

    assert excinfo.value.returncode == 1  # manage.py exits with it
    assert f"{corrupted_trec_file}:4: not valid JSON" in err.getvalue()
    assert Item.objects.count() == 0
    assert not Project.objects.filter(slug="trec").exists()


@pytest.mark.django_db
def test_the_export_command_writes_to_stdout_or_to_a_file(project, tmp_path):
    Item.objects.create(project=project, external_id="a", query="q", document="d")

    out, _ = run("export_items", "web", "--format", "jsonl")
    assert json.loads(out)["external_id"] == "a"

    target = tmp_path / "out.csv"
    _, err = run("export_items", "web", "--format", "csv", "--output", str(target))
    assert target.read_text().splitlines()[0].startswith("external_id,split,query")
    assert "Wrote 1 items" in err


@pytest.mark.slow
def test_manage_py_exits_non_zero_on_a_corrupted_file(corrupted_trec_file, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["FLYWHEEL_VAR_DIR"] = str(tmp_path / "var")  # a scratch SQLite database, never the real one
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)

    done = subprocess.run(
        [
            *manage,
            "import_items",
            "trec",
            str(corrupted_trec_file),
            "--create-project",
            "--scale",
            "0-3",
            *TREC_ARGS,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert done.returncode != 0
    assert ":4: not valid JSON" in done.stderr
    assert "nothing was imported" in done.stderr
