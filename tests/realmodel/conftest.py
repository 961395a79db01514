"""The real local model (`make local-llm`) behind a real worker: skipped with a clear message when no
server answers, a failure instead with REQUIRE_SERVICES=1 (CI starts the server)."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model

from judging.local_model import (
    LOCAL_API_BASE,
    LOCAL_ENDPOINT_NAME,
    LOCAL_ENDPOINT_SETTINGS,
    local_model_answers,
)
from judging.models import ModelEndpoint
from judging.sim.samples import sample_items
from labeling.models import Item, Label, Project, split_for
from tests.integration.conftest import celery_worker_process  # noqa: F401 - the worker fixture

# A judgment takes about 5 s on this model, a minute when another process holds the other core: a call
# gets minutes before it counts as a timeout, so a busy machine slows the tests down but does not fail them.
CALL_TIMEOUT_S = "300"


@pytest.fixture
def local_endpoint(transactional_db, monkeypatch) -> ModelEndpoint:
    if not local_model_answers(timeout_s=3.0):
        message = f"no local model answers at {LOCAL_API_BASE}: start one with `make local-llm`"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    monkeypatch.setenv("FLYWHEEL_JUDGE_TIMEOUT_S", CALL_TIMEOUT_S)  # read by the worker when it starts
    return ModelEndpoint.objects.create(name=LOCAL_ENDPOINT_NAME, **LOCAL_ENDPOINT_SETTINGS)


@pytest.fixture
def small_project(transactional_db):
    """A 0-3 project of generated items with one gold label each, taking from a deterministic stream
    of items as many of each split as asked for (of the kinds asked for, per split when given)."""

    def make(
        *, train: int = 0, dev: int = 0, test: int = 0, kinds: dict[str, tuple[str, ...]] | None = None
    ) -> Project:
        project = Project.objects.create(
            name="Real-model check",
            slug="real-model-check",
            rubric="How well does the document answer the search query?",
            scale_min=0,
            scale_max=3,
            scale_descriptions={"0": "Irrelevant", "1": "Related", "2": "Partly answers", "3": "Answers it"},
        )
        annotator = get_user_model().objects.create_user(username="nist")
        wanted = {"train": train, "dev": dev, "test": test}
        kinds = kinds or {}
        for sample in sample_items(200, seed=11, scale=(0, 3)):
            split = split_for(sample.id)
            if wanted[split] == 0 or (split in kinds and sample.kind not in kinds[split]):
                continue
            wanted[split] -= 1
            item = Item.objects.create(
                project=project,
                external_id=sample.id,
                query=sample.query,
                document=sample.document,
                split=split,
            )
            Label.objects.create(
                item=item, annotator=annotator, score=sample.gold, rationale=sample.rationale
            )
            if not any(wanted.values()):
                break
        assert not any(wanted.values()), f"not enough generated items for {wanted}"
        return project

    return make
