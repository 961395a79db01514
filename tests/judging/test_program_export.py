"""The DSPy program JSON of a prompt version, loaded into a plain DSPy program built here (without
Flywheel's judge module), judges exactly as Flywheel's judge does on the same inputs."""

# No `from __future__ import annotations` here: DSPy reads the signature class annotations as real types.
import json
from typing import Literal

import dspy
import pytest
from django.urls import reverse
from dspy.utils.exceptions import AdapterParseError

from judging.sim.engine import SimEngine
from judging.versions import version_create_draft, version_program_json
from tests.judging.versioning import baseline, measure

pytestmark = pytest.mark.django_db

_MODULES = {"dspy.Predict": dspy.Predict, "dspy.ChainOfThought": dspy.ChainOfThought}


def fresh_program(export: dict) -> dspy.Module:
    """What someone outside Flywheel writes from the export's description: the same fields, declared by
    hand, in a module holding one predictor under the exported name."""
    description = export["flywheel"]
    low, high = description["scale"]["min"], description["scale"]["max"]

    class RelevanceJudgment(dspy.Signature):
        query: str = dspy.InputField()
        document: str = dspy.InputField()
        reasoning: str = dspy.OutputField()
        score: Literal[tuple(range(low, high + 1))] = dspy.OutputField()  # type: ignore[valid-type]

    predictor_class = _MODULES[description["module"]]
    name, max_chars = description["predictor"], description["document_max_chars"]

    class PlainJudge(dspy.Module):
        def __init__(self):
            super().__init__()
            setattr(self, name, predictor_class(RelevanceJudgment))

        def forward(self, query: str, document: str):
            return getattr(self, name)(query=query, document=document[:max_chars])

    return PlainJudge()


def test_the_exported_json_is_what_dspy_save_writes_for_the_judge(demo_project, tmp_path):
    version = baseline(demo_project)
    export = version_program_json(version)
    assert export["judge"]["signature"]["instructions"] == version.instructions
    assert export["judge"]["lm"] is None  # no endpoint, key or base URL travels with the program
    assert "dependency_versions" in export["metadata"]
    assert [f["name"] for f in export["flywheel"]["inputs"]] == ["query", "document"]
    assert [f["name"] for f in export["flywheel"]["outputs"]] == ["reasoning", "score"]
    assert export["flywheel"]["outputs"][1]["type"] == "Literal[1, 2, 3, 4, 5]"


def test_a_fresh_dspy_program_loaded_from_the_export_judges_exactly_like_flywheel(
    demo_project, lead, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    # A version with demos, so that the few-shot part of the program travels too.
    demo_items = list(demo_project.items.filter(split="train").order_by("id")[:2])
    version = version_create_draft(
        parent=baseline(demo_project),
        instructions=baseline(demo_project).instructions + "\nPartial answers deserve a middle score.",
        demos=[
            {
                "query": item.query,
                "document": item.document,
                "reasoning": "It answers part of it.",
                "score": 3,
            }
            for item in demo_items
        ],
        user=lead,
    )
    run = measure(version, django_capture_on_commit_callbacks, item_set="dev")
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(version_program_json(version)))

    program = fresh_program(json.loads(path.read_text()))
    program.load(str(path))
    lm = dspy.LM(
        "sim/judge-small", engine=SimEngine("sim/judge-small"), cache=False, temperature=0.0, max_tokens=1024
    )

    judgments = list(run.judgments.select_related("item").order_by("item_id"))
    assert len(judgments) >= 8
    assert any(j.score is not None for j in judgments)
    for judgment in judgments:
        with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
            if judgment.malformed:
                with pytest.raises(AdapterParseError):
                    program(query=judgment.item.query, document=judgment.item.document)
                continue
            prediction = program(query=judgment.item.query, document=judgment.item.document)
        assert (prediction.score, prediction.reasoning) == (judgment.score, judgment.reasoning), (
            judgment.item_id
        )


def test_any_version_downloads_as_program_json_from_its_page(client_for, reviewer, demo_project):
    version = baseline(demo_project)
    client = client_for(reviewer)
    page = client.get(reverse("judging:version", args=[version.pk])).content.decode()
    download_url = reverse("judging:version_program", args=[version.pk])
    assert download_url in page
    response = client.get(download_url)
    assert response["Content-Disposition"] == f'attachment; filename="{demo_project.slug}-v{version.pk}.json"'
    assert json.loads(response.content)["judge"]["signature"]["instructions"] == version.instructions
