"""A judge run on the real local model: a worker process → DSPy → LiteLLM → llama.cpp, every item
answered and stored with its score (or its malformed flag), tokens and latency."""

from __future__ import annotations

import pytest

from judging import runs
from judging.selectors import run_progress
from judging.versions import version_create
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.realmodel, pytest.mark.services, pytest.mark.slow]

INSTRUCTIONS = (
    "Judge how relevant the document is to the search query on a 0 to 3 scale: 0 irrelevant, 1 related "
    "but not answering, 2 partly answers, 3 answers it fully. Explain briefly, then give the score."
)


def finished(run):
    run.refresh_from_db()
    return run if run.is_finished else None


def test_a_judge_run_of_ten_items_on_the_local_model_stores_every_judgment(
    local_endpoint, small_project, celery_worker_process
):
    project = small_project(train=4, dev=3, test=3)
    version = version_create(project=project, target_model=local_endpoint, instructions=INSTRUCTIONS)

    run = runs.judge_run_start(
        prompt_version=version, endpoint=local_endpoint, item_set="labeled", force_fresh=True
    )
    run = wait_for(lambda: finished(run), timeout=1800, interval=2, what="the judge run on the local model")

    assert run.status == "done"
    judgments = list(run.judgments.all())
    assert len(judgments) == run.total_items == 10
    for judgment in judgments:
        assert judgment.error_kind == "", judgment.error_message  # the server answered every call
        if judgment.malformed:
            assert judgment.score is None and judgment.raw_output
        else:
            assert 0 <= judgment.score <= 3 and judgment.reasoning
        assert judgment.input_tokens > 100 and judgment.output_tokens > 0
        assert judgment.latency_ms > 0 and judgment.cost == 0
    # A real model, not a sim: the replies parse (ChatAdapter, no JSON fallback) more often than not.
    assert sum(not j.malformed for j in judgments) >= 5
    progress = run_progress(run)
    assert progress["done"] == progress["total"] == 10
    assert progress["scored"] + progress["malformed"] == 10
