"""An optimization run on the real local model, which is both the judge it optimizes and the reflection
model that writes the proposal: one GEPA proposal, recorded as a candidate with its guardrail check,
then base and best judged on the test split."""

from __future__ import annotations

import pytest

from judging.guardrails import version_flags
from judging.models import PromptVersion
from judging.versions import version_create
from optimizer import runs
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.realmodel, pytest.mark.services, pytest.mark.slow]

# A base that is wrong on purpose, so that GEPA's one proposal has something to fix: training items
# that answer their query fully (gold 3) and instructions that tell the judge to give 0.
BASE_INSTRUCTIONS = (
    "Judge the document against the search query on a 0 to 3 scale. Be very strict: give every "
    "document a score of 0."
)
# The seed's dev evaluation (4 items), then one iteration: a minibatch of 3 judged with the base and 3 with
# the proposal, and 4 more on dev once it is accepted: 14, what GEPA's worst case for one iteration needs
# before it starts one. The budget ends after the first proposal.
MAX_METRIC_CALLS = 14


def finished(run):
    run.refresh_from_db()
    return run if run.is_finished else None


def test_one_gepa_proposal_by_the_local_model_lands_as_a_candidate_with_its_guardrail_check(
    local_endpoint, small_project, celery_worker_process
):
    project = small_project(train=4, dev=4, test=2, kinds={"train": ("relevant",)})
    base = version_create(project=project, target_model=local_endpoint, instructions=BASE_INSTRUCTIONS)

    run = runs.optimization_run_start(
        project=project,
        base_version=base,
        target_endpoint=local_endpoint,
        reflection_endpoint=local_endpoint,
        max_metric_calls=MAX_METRIC_CALLS,
        seed=0,
    )
    run = wait_for(
        lambda: finished(run), timeout=2400, interval=2, what="the optimization run on the local model"
    )

    assert (run.status, run.stop_reason, run.error) == ("done", "done", "")
    assert run.base_dev_score is not None
    # The local model's proposal went through the guardrails either way: evaluated and kept as a candidate
    # with the findings version_flags has on its text, or rejected inside the search for those findings
    # before any judge call (what a 1.5B reflector's meta-text mostly gets, see README "Quality").
    candidates = list(run.candidates.select_related("prompt_version"))
    rejected = list(run.rejected_proposals.all())
    assert candidates or rejected, "the local model's proposal was neither evaluated nor rejected"
    for candidate in candidates:
        version = candidate.prompt_version
        assert version.status == PromptVersion.Status.CANDIDATE and version.parent_id == base.pk
        assert (
            version.target_model_id == local_endpoint.pk and version.instructions.strip() != BASE_INSTRUCTIONS
        )
        assert version.guardrail_flags == version_flags(
            project=project, instructions=version.instructions, parent=base
        )
        assert 0 <= candidate.dev_score <= 1
    for proposal in rejected:
        findings = version_flags(project=project, instructions=proposal.text, parent=base)
        assert findings and set(proposal.rule.split(", ")) <= {finding["rule"] for finding in findings}
    # Measured afresh on the test split, base and (when one beat it cleanly) best alike.
    assert run.base_test_run is not None and run.base_test_run.status == "done"
    assert run.base_test_run.judgments.count() == 2
    assert 0 < run.metric_calls_used <= MAX_METRIC_CALLS
