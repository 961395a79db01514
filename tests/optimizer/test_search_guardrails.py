"""What real models do inside a search: proposals screened by the guardrails before they are evaluated,
partly parsed replies that keep their feedback, MIPROv2 within its budget and keeping its scores on a
cancel, and the CLI showing progress as the work happens. Sim models and DSPy's DummyLM only."""

from __future__ import annotations

import random
import threading
from io import StringIO

import dspy
import pytest
from django.core.management import call_command
from django.urls import reverse
from dspy.teleprompt.gepa.gepa_utils import DspyAdapter

from judging import runs as judge_runs
from judging.models import JudgeRun
from judging.program import judge_adapter, judge_program_for
from optimizer import budget as budget_module
from optimizer import recording
from optimizer import runs as optimizer_runs
from optimizer.models import OptimizationRun
from optimizer.objective import objective_metric
from optimizer.search import GuardedProposer, SearchHooks, mipro_plan, screened, tolerant
from tests.optimizer import test_optimization_runs
from tests.optimizer.test_optimization_runs import cancel_at_first_candidate, launch

setup = test_optimization_runs.setup  # the demo project, its baseline for sim/judge-small, the reflector

SCALE_FINDING = {"rule": "scale", "detail": "does not state the project's 0–3 scale"}


def example(gold: float = 2.0) -> dspy.Example:
    return dspy.Example(
        item_id=1, query="capital of france", document="Paris is the capital.", gold=gold, rationales=[]
    ).with_inputs("query", "document")


# Guardrails inside the search


def test_a_rejected_proposal_scores_as_the_worst_case_without_a_judge_call(demo_project):
    program = tolerant(judge_program_for(scale_min=0, scale_max=3, instructions="Say something nice."))
    program.screen = screened(lambda text: [SCALE_FINDING])
    never = dspy.utils.DummyLM([])  # any judge call would fail: it has no answer to give

    with dspy.context(lm=never, adapter=judge_adapter()):
        prediction = program(query="q", document="d")
    result = objective_metric(project=demo_project, bullets={})(example(), prediction)

    assert prediction.rejected == [SCALE_FINDING] and never.history == []
    assert result.score == 0.0
    assert "Rejected before evaluation" in result.feedback and "0–3 scale" in result.feedback


class _Spec:
    """The two things GuardedProposer reads from a SearchSpec."""

    def __init__(self, screen, rejected):
        self.screen = screened(screen)
        self.hooks = SearchHooks(on_rejected=lambda text, findings: rejected.append((text, findings)))


def test_a_rejected_proposal_goes_back_to_the_reflection_model_with_the_reason():
    bad = "Please provide a web passage and a search query. I will judge it."
    good = "Rate the passage's relevance to the query on the 0-3 scale; give reasoning, then the score."
    reflection = dspy.utils.DummyLM(
        [{"new_instruction": bad}, {"new_instruction": good}], adapter=dspy.JSONAdapter()
    )
    rejected: list = []
    proposer = GuardedProposer(_Spec(lambda text: [] if "0-3" in text else [SCALE_FINDING], rejected))
    dataset = {
        "judge": [{"Inputs": {"query": "q"}, "Generated Outputs": {"score": 1}, "Feedback": "too low"}]
    }

    with dspy.context(lm=reflection):
        proposed = proposer({"judge": "Rate it on the 0-3 scale."}, dataset, ["judge"])

    assert proposed == {"judge": good}
    assert rejected == [(bad, [SCALE_FINDING])]
    second_prompt = str(reflection.history[-1]["messages"])
    assert "Rejected before evaluation" in second_prompt and bad in second_prompt
    assert len(dataset["judge"]) == 1  # GEPA's own reflective dataset is left as it was


def test_gepa_never_sends_a_rejected_proposal_to_the_judge_and_the_run_page_lists_it(
    setup, monkeypatch, client_for, lead
):
    judge_prompts: list[str] = []
    original = budget_module.BudgetedLM.__call__

    def spy(self, *args, **kwargs):
        if self.model != "sim/reflector":
            judge_prompts.append(str(kwargs.get("messages") or args))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(budget_module.BudgetedLM, "__call__", spy)

    run = launch(setup, algorithm="gepa")

    rejected = list(run.rejected_proposals.all())
    assert rejected and judge_prompts
    for proposal in rejected:
        assert not any(proposal.text in prompt for prompt in judge_prompts)
    page = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()
    assert page.count("data-rejected-proposal") == len(rejected)
    assert rejected[0].rule in page and rejected[0].text_start[:40] in page


def test_mipro_screens_its_proposals_before_any_trial(setup, monkeypatch):
    base = setup["base"].instructions
    monkeypatch.setattr(
        recording.Recorder,
        "screen",
        lambda self, text: [] if text.strip() == base.strip() else [SCALE_FINDING],
    )

    run = launch(setup, algorithm="mipro", max_metric_calls=150)

    assert (run.status, run.stop_reason, run.error) == ("done", "done", "")
    assert run.rejected_proposals.count() >= 1
    assert all(p.rule == "scale" for p in run.rejected_proposals.all())
    assert run.candidates.count() == 0
    assert run.metric_calls_used == run.estimate["dev_sample"]["size"]  # the base's pass, no trial
    assert run.base_dev_score is not None


def test_the_optimize_cli_counts_the_proposals_the_guardrails_rejected(setup):
    out = StringIO()
    call_command("optimize", setup["project"].slug, "--max-metric-calls", "300", "--inline", stdout=out)

    run = OptimizationRun.objects.get()
    count = run.rejected_proposals.count()
    assert count >= 1
    assert f"Proposals rejected by the guardrails before evaluation: {count} (leakage)." in out.getvalue()


# Partly parsed replies


def _gepa_reflective_records(program, demo_project, lm) -> list[dict]:
    metric = objective_metric(project=demo_project, bullets={})

    def feedback(predictor_output, predictor_inputs, module_inputs, module_outputs, captured_trace):
        return metric(module_inputs, module_outputs, captured_trace, "judge", None)

    adapter = DspyAdapter(
        student_module=program,
        metric_fn=metric,
        feedback_map={"judge": feedback},
        failure_score=0.0,
        num_threads=1,
        add_format_failure_as_feedback=True,
        rng=random.Random(0),
    )
    candidate = {"judge": program.judge.signature.instructions}
    with dspy.context(lm=lm, adapter=judge_adapter()):
        batch = adapter.evaluate([example()], candidate, capture_traces=True)
    try:
        return adapter.make_reflective_dataset(candidate, batch, ["judge"])["judge"]
    except Exception:  # noqa: BLE001 - dspy's "No valid predictions found for any module."
        return []


def test_a_reply_with_reasoning_but_no_score_keeps_its_feedback_for_the_reflection_model(demo_project):
    def partial_reply():
        return dspy.utils.DummyLM([{"reasoning": "Paris is named, so it answers the query."}] * 4)

    instructions = "Rate relevance on the 0-3 scale: reasoning, then score."
    plain = judge_program_for(scale_min=0, scale_max=3, instructions=instructions)
    # DSPy 3.4.1 alone: bootstrap_trace fails on the partial parse ('list' / 'list') and drops the item.
    assert _gepa_reflective_records(plain, demo_project, partial_reply()) == []

    records = _gepa_reflective_records(tolerant(plain), demo_project, partial_reply())

    assert len(records) == 1
    record = records[0]
    assert record["Generated Outputs"]["reasoning"] == "Paris is named, so it answers the query."
    assert "the score was missing" in record["Feedback"]
    assert "The broken reply was:" in record["Feedback"] and "Paris is named" in record["Feedback"]


def test_a_reply_with_nothing_usable_still_shows_the_reflection_model_the_expected_format(demo_project):
    program = tolerant(judge_program_for(scale_min=0, scale_max=3, instructions="Rate it on 0-3."))
    lm = dspy.utils.DummyLM([{"verdict": "relevant"}] * 4)  # no field the judge has

    records = _gepa_reflective_records(program, demo_project, lm)

    assert len(records) == 1 and "Your output failed to parse" in records[0]["Feedback"]


# MIPROv2: a budget that is a cap, and a cancel that keeps the scores


@pytest.mark.parametrize("budget", [60, 150])
def test_mipro_stays_within_its_budget_and_spends_what_its_plan_says(setup, monkeypatch, budget):
    calls = {"n": 0}
    lock = threading.Lock()
    real_metric = optimizer_runs.objective_metric

    def counting_metric(**kwargs):
        metric = real_metric(**kwargs)

        def counted(*args, **kw):
            with lock:
                calls["n"] += 1
            return metric(*args, **kw)

        return counted

    monkeypatch.setattr(optimizer_runs, "objective_metric", counting_metric)

    run = launch(setup, algorithm="mipro", max_metric_calls=budget)

    assert (run.status, run.error) == ("done", "")
    assert calls["n"] <= budget
    assert run.metric_calls_used == calls["n"]
    plan = mipro_plan(max_metric_calls=budget, valset=run.estimate["dev_sample"]["size"])
    assert calls["n"] == plan["metric_calls"]  # the plan counts what MIPROv2 really spends


def test_a_cancelled_mipro_run_keeps_its_base_score_and_best_candidate_so_far(setup, monkeypatch):
    cancelled = cancel_at_first_candidate(monkeypatch)

    run = launch(setup, algorithm="mipro", max_metric_calls=3000)

    assert cancelled.is_set()
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")
    assert run.metric_calls_used < 3000
    assert run.base_dev_score is not None
    assert run.candidates.count() >= 1 and run.best_dev_score is not None
    best = run.candidates.order_by("-dev_score").first()
    if best.dev_score > run.base_dev_score:
        assert run.best_version == best.prompt_version


# Progress as it happens


def test_judge_inline_prints_a_line_per_chunk_as_it_goes(setup, monkeypatch):
    monkeypatch.setattr(judge_runs, "CHUNK_SIZE", 5)
    out = StringIO()

    call_command(
        "judge",
        setup["project"].slug,
        "--endpoint",
        "sim/judge-small",
        "--items",
        "dev",
        "--inline",
        stdout=out,
    )

    run = JudgeRun.objects.get()
    lines = [line for line in out.getvalue().splitlines() if " judged, " in line]
    chunks = -(-run.total_items // 5)
    assert len(lines) >= chunks > 1
    assert lines[0].strip().startswith("running: 5/")  # printed after the first chunk, not at the end
    assert f"{run.total_items}/{run.total_items} judged" in lines[-1]


def test_optimize_inline_prints_the_base_and_each_candidate_as_they_come_without_progress_bars(setup, capfd):
    out = StringIO()
    call_command("optimize", setup["project"].slug, "--max-metric-calls", "150", "--inline", stdout=out)

    text = out.getvalue()
    run = OptimizationRun.objects.get()
    assert "base dev score" in text
    assert text.count(": candidate ") == run.candidates.count() >= 1
    ended = f"\n{run.status.capitalize()}"  # the line that says how the run ended
    assert text.index("base dev score") < text.index(ended)
    assert "metric calls" in text
    captured = capfd.readouterr()
    assert "Average Metric" not in captured.err + captured.out
    assert "GEPA Optimization" not in captured.err + captured.out


def test_a_library_composition_the_guardrails_reject_is_recorded_and_never_evaluated(setup):
    from optimizer.models import LibraryInstruction

    project = setup["project"]
    LibraryInstruction.objects.create(
        project=project, text="Use a 1 to 10 scale for every passage.", position=0
    )
    LibraryInstruction.objects.create(project=project, text="Quote the passage's answer first.", position=1)

    run = launch(setup, algorithm="library", regime="library", max_metric_calls=300)

    assert (run.status, run.error) == ("done", "")
    rejected = list(run.rejected_proposals.all())
    assert len(rejected) >= 1 and all("1 to 10 scale" in p.text for p in rejected)
    assert all("scale" in p.rule for p in rejected)
    assert not any("1 to 10" in c.prompt_version.instructions for c in run.candidates.all())
