"""The searches behind an optimization run, in plain DSPy: GEPA, MIPROv2 and composition from the
instruction library. Nothing here touches the database; the run (optimizer.runs) passes hooks in."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dspy
from dspy.teleprompt.bootstrap_trace import FailedPrediction
from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer
from dspy.utils.exceptions import AdapterParseError

from judging.program import Judge, judge_adapter
from optimizer.feedback import rejection_feedback
from optimizer.models import GEPA_MINIBATCH
from optimizer.quiet import quiet_progress_bars

PREDICTOR = "judge"  # the name GEPA gives the judge program's one predictor
MIPRO_FULL_EVAL_STEPS = 5  # MIPROv2's minibatch_full_eval_steps default, passed explicitly below

quiet_progress_bars()


class TolerantJudge(Judge):
    """The judge as every search runs it: an output that does not parse is a prediction without a score,
    which the objective scores as the worst case. Raised instead, it would count towards DSPy's
    max_errors (10), and the eleventh malformed output would cancel the whole evaluation (MIPROv2,
    library composition, dspy.Evaluate); GEPA catches it itself, but one mechanism serves all.

    `screen` (instructions -> guardrail findings) is the search's guardrail check: a program whose
    instructions it rejects answers every example at once with the findings and no score, so a rejected
    proposal costs no judge call and scores as the worst case."""

    screen: Callable[[str], list[dict]] | None = None

    def forward(self, query: str, document: str) -> dspy.Prediction:
        if self.screen is not None:
            findings = self.screen(self.judge.signature.instructions)
            if findings:
                return dspy.Prediction(reasoning="", score=None, raw_output="", rejected=findings)
        try:
            return super().forward(query=query, document=document)
        except AdapterParseError as error:
            return self._malformed(error, {"query": query, "document": document})

    def _malformed(self, error: AdapterParseError, inputs: dict) -> dspy.Prediction:
        raw_output = error.lm_response or ""
        parsed = {key: value for key, value in (error.parsed_result or {}).items() if value not in (None, "")}
        missing = [name for name in self.judge.signature.output_fields if name not in parsed]
        prediction = dspy.Prediction(
            reasoning=str(parsed.get("reasoning", "")), score=None, raw_output=raw_output, missing=missing
        )
        trace = dspy.settings.trace
        if trace is not None and dspy.settings.max_trace_size > 0:
            # GEPA's reflective dataset reads format failures from the trace. A reply that parsed only in
            # part (a reasoning but no score) goes in as the prediction it was, so the objective's
            # feedback (which names the missing field and quotes the reply) reaches the reflection
            # model; dspy 3.4.1's own handling of such a reply fails ("unsupported operand type(s) for
            # /: 'list' and 'list'") and drops the item. A reply with nothing usable goes in as GEPA's
            # FailedPrediction, which the reflection model sees with the expected structure.
            # Bounded like dspy.Predict's own entries (the default trace is a global list).
            if len(trace) >= dspy.settings.max_trace_size:
                trace.pop(0)
            entry = prediction if parsed else FailedPrediction(raw_output)
            trace.append((self.judge, inputs, entry))
        return prediction


def tolerant(program: Judge) -> TolerantJudge:
    """The same judge (signature, demos, document limit), tolerant of malformed outputs."""
    if isinstance(program, TolerantJudge):
        return program
    wrapped = TolerantJudge(program.judge.signature, document_max_chars=program.document_max_chars)
    wrapped.judge.demos = list(program.judge.demos)
    return wrapped


def screened(screen: Callable[[str], list[dict]]) -> Callable[[str], list[dict]]:
    """The guardrail check, run once per distinct text (every example of an evaluation asks again)."""
    lock = threading.Lock()
    seen: dict[str, list[dict]] = {}

    def check(instructions: str) -> list[dict]:
        with lock:
            if instructions not in seen:
                seen[instructions] = list(screen(instructions))
            return seen[instructions]

    return check


@dataclass
class SearchHooks:
    """Called by the search as it goes. `on_candidate` gets every candidate that entered the pool, with its
    score on the validation set; `should_stop` is asked between iterations."""

    on_candidate: Callable[[int, str, float], None] = lambda index, instructions, score: None
    on_metric_calls: Callable[[int], None] = lambda used: None
    should_stop: Callable[[], bool] = lambda: False
    # The guardrails a proposal must pass before it is evaluated (instructions -> findings, [] when
    # clean), and where each rejection is recorded.
    screen: Callable[[str], list[dict]] = lambda instructions: []
    on_rejected: Callable[[str, list[dict]], None] = lambda instructions, findings: None


@dataclass
class SearchSpec:
    program_for: Callable[[str], Judge]  # instructions -> a fresh judge program (made tolerant below)
    base_instructions: str
    trainset: list[dspy.Example]
    valset: list[dspy.Example]
    # GEPA-shaped: (gold, pred, trace, pred_name, pred_trace) -> dspy.Prediction(score, feedback)
    metric: Callable
    target_lm: dspy.LM
    reflection_lm: dspy.LM
    max_metric_calls: int
    seed: int
    num_threads: int
    log_dir: Path
    hooks: SearchHooks = field(default_factory=SearchHooks)
    library: Sequence[str] = ()
    score_threshold: float | None = None

    def __post_init__(self) -> None:
        self.screen = screened(self.hooks.screen)

    def program(self, instructions: str) -> TolerantJudge:
        program = tolerant(self.program_for(instructions))
        program.screen = self.screen
        return program


@dataclass(frozen=True)
class SearchResult:
    best_instructions: str
    best_score: float | None


def score_only(metric: Callable) -> Callable:
    """MIPROv2 and dspy.Evaluate want a number, GEPA a Prediction: one metric serves both."""

    def scored(gold, pred, trace=None, *args):
        result = metric(gold, pred, trace, None, None)
        return float(result.score)

    return scored


class GuardedProposer(InstructionProposer):
    """GEPA's own proposer, with the guardrails between the reflection model and the evaluation. A
    proposal they reject is recorded and the reflection model asked again (up to `attempts` times), with
    the rejection as feedback beside the examples. A proposal still rejected on the last attempt goes to
    GEPA as it is: its program scores every example as the worst case without a judge call (see
    TolerantJudge.screen), so GEPA discards it on its minibatch and never spends a dev pass on it.
    A subclass of InstructionProposer, so dspy's adapter hands it the same structured examples."""

    def __init__(self, spec: SearchSpec, attempts: int = 2):
        super().__init__()
        self.spec = spec
        self.attempts = attempts

    def __call__(self, candidate, reflective_dataset, components_to_update):
        dataset = {name: list(records) for name, records in reflective_dataset.items()}
        proposed: dict[str, str] = {}
        for _attempt in range(self.attempts):
            proposed = super().__call__(candidate, dataset, components_to_update)
            rejected = {name: self.spec.screen(text) for name, text in proposed.items()}
            rejected = {name: findings for name, findings in rejected.items() if findings}
            if not rejected:
                return proposed
            for name, findings in rejected.items():
                self.spec.hooks.on_rejected(proposed[name], findings)
                dataset.setdefault(name, []).append(
                    {
                        "Inputs": {"proposed_instruction": proposed[name]},
                        "Generated Outputs": "(not evaluated: rejected by the guardrails)",
                        "Feedback": rejection_feedback(findings),
                    }
                )
        return proposed


def run_gepa(spec: SearchSpec) -> SearchResult:
    class Progress:
        def on_budget_updated(self, event) -> None:
            spec.hooks.on_metric_calls(event["metric_calls_used"])

        def on_valset_evaluated(self, event) -> None:
            if event["iteration"] == 0:
                # GEPA hooks its budget counter in only after the base's pass over the valset: without
                # this the run would show 0 metric calls after spending a whole pass.
                spec.hooks.on_metric_calls(event["num_examples_evaluated"])
            spec.hooks.on_candidate(
                event["candidate_idx"], event["candidate"][PREDICTOR], float(event["average_score"])
            )

    # GEPA checks its budget only between iterations, and an iteration that finds a better child spends
    # a whole pass over the valset: --max-metric-calls would be exceeded by up to that much. An
    # iteration starts only when its worst case (parent and child on a minibatch, then the valset) fits.
    worst_iteration = 2 * GEPA_MINIBATCH + len(spec.valset)
    stoppers = [
        lambda state: spec.hooks.should_stop(),
        lambda state: state.total_num_evals + worst_iteration > spec.max_metric_calls,
    ]
    if spec.score_threshold is not None:
        from gepa.utils import ScoreThresholdStopper

        stoppers.append(ScoreThresholdStopper(spec.score_threshold))
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    optimizer = dspy.GEPA(
        metric=spec.metric,
        max_metric_calls=spec.max_metric_calls,
        reflection_lm=spec.reflection_lm,
        reflection_minibatch_size=GEPA_MINIBATCH,
        instruction_proposer=GuardedProposer(spec),
        num_threads=spec.num_threads,
        seed=spec.seed,
        log_dir=str(spec.log_dir),  # GEPA checkpoints here, and resumes from here after a crash
        add_format_failure_as_feedback=True,
        gepa_kwargs={"stop_callbacks": stoppers, "callbacks": [Progress()]},
    )
    with dspy.context(lm=spec.target_lm, adapter=judge_adapter()):
        optimized = optimizer.compile(
            spec.program(spec.base_instructions), trainset=spec.trainset, valset=spec.valset
        )
    return SearchResult(best_instructions=optimized.judge.signature.instructions, best_score=None)


def mipro_calls(trials: int, valset: int, minibatch_size: int) -> int:
    """The metric calls MIPROv2 makes (dspy 3.4.1, mipro_optimizer_v2.py), counted in a run: one pass
    over the valset for the base, then `trials` optuna trials. Without minibatches every trial is a full
    pass. With them each trial is a minibatch, and a full pass of the best-averaging candidate follows
    optuna trial numbers 5, 11, 17, … (every sixth, the base being number 0) and the last trial.
    (MIPROv2's own estimate, `_estimate_lm_calls`, counts trials // 5 + 1 full passes: too few.)"""
    if minibatch_size >= valset:
        return valset * (1 + trials)
    full_passes = sum(
        1
        for trial_num in range(2, trials + 2)  # MIPROv2's trial_num of each objective call
        if trial_num % (MIPRO_FULL_EVAL_STEPS + 1) == 0 or trial_num == _mipro_adjusted_trials(trials) - 1
    )
    return valset + trials * minibatch_size + full_passes * valset


def _mipro_adjusted_trials(trials: int) -> int:
    extra = 1 if trials % MIPRO_FULL_EVAL_STEPS != 0 else 0
    return trials + trials // MIPRO_FULL_EVAL_STEPS + 1 + extra


class SearchStopped(BaseException):  # noqa: N818 - a stop, not an error
    """Ends a MIPROv2 search between evaluations (cancel, or the next one would cross the budget). A
    BaseException, because MIPROv2 scores any Exception raised by an evaluation as 0 and goes on."""


class GuardedMIPROv2(dspy.MIPROv2):
    """MIPROv2 with Flywheel's rules: proposals screened by the guardrails before any trial, a budget
    that is a cap (an evaluation that would cross it is not started), a stop between evaluations, every
    full evaluation recorded as it happens (so a cancelled run keeps what it scored), and no progress
    bars."""

    def __init__(self, *, spec: SearchSpec, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec
        self.calls = 0
        self.best: tuple[float, str] | None = None
        self._seen: set[str] = set()

    def _bootstrap_fewshot_examples(self, *args, **kwargs):
        # Instructions only (no demos): MIPROv2 would still run the program and the metric on a few
        # training examples per candidate set, calls outside any budget, and then drop the demos.
        return None

    def _propose_instructions(self, program, *args, **kwargs):
        candidates = super()._propose_instructions(program, *args, **kwargs)
        for predictor, proposals in candidates.items():
            kept = proposals[:1]  # the base's own instruction, which MIPROv2 puts first
            for text in proposals[1:]:
                findings = self.spec.screen(text)
                if findings:
                    self.spec.hooks.on_rejected(text, findings)
                elif text not in kept:
                    kept.append(text)
            candidates[predictor] = kept
        return candidates

    def _optimize_prompt_parameters(self, program, instruction_candidates, demo_candidates, evaluate, *args):
        evaluate.display_progress = False
        guarded = _GuardedEvaluate(self, evaluate)
        if all(len(proposals) < 2 for proposals in instruction_candidates.values()):
            # Every proposal was rejected: there is nothing to try, only the base to score.
            guarded(program, devset=evaluate.devset)
            raise SearchStopped("no proposal passed the guardrails")
        return super()._optimize_prompt_parameters(
            program, instruction_candidates, demo_candidates, guarded, *args
        )

    def scored(self, program, devset, score: float) -> None:
        instructions = program.judge.signature.instructions
        if len(devset) < len(self.spec.valset):
            return  # a minibatch: not a dev score
        if self.best is None or score > self.best[0]:
            self.best = (score, instructions)
        if instructions not in self._seen:
            self._seen.add(instructions)
            self.spec.hooks.on_candidate(len(self._seen) - 1, instructions, score)


class _GuardedEvaluate:
    """Stands in for MIPROv2's Evaluate: checks stop and budget before each evaluation, reports after."""

    def __init__(self, optimizer: GuardedMIPROv2, evaluate: dspy.Evaluate):
        self.optimizer, self.evaluate = optimizer, evaluate
        self.devset = evaluate.devset

    def __call__(self, program, devset=None, **kwargs):
        optimizer, spec = self.optimizer, self.optimizer.spec
        devset = self.devset if devset is None else devset
        if spec.hooks.should_stop():
            raise SearchStopped("stopped")
        if optimizer.calls + len(devset) > spec.max_metric_calls:
            raise SearchStopped("budget")
        result = self.evaluate(program, devset=devset, **kwargs)
        optimizer.calls += len(devset)
        spec.hooks.on_metric_calls(optimizer.calls)
        optimizer.scored(program, devset, float(result.score) / 100)
        return result


def mipro_plan(*, max_metric_calls: int, valset: int) -> dict:
    """Trials and minibatch size that fit the budget, counted as MIPROv2 really spends it."""
    minibatch_size = min(25, valset)
    num_trials = 1
    while mipro_calls(num_trials + 1, valset, minibatch_size) <= max_metric_calls:
        num_trials += 1
    return {
        "num_trials": num_trials,
        "minibatch_size": minibatch_size,
        "metric_calls": mipro_calls(num_trials, valset, minibatch_size),
    }


def run_mipro(spec: SearchSpec) -> SearchResult:
    plan = mipro_plan(max_metric_calls=spec.max_metric_calls, valset=len(spec.valset))
    num_trials, minibatch_size = plan["num_trials"], plan["minibatch_size"]
    optimizer = GuardedMIPROv2(
        spec=spec,
        metric=score_only(spec.metric),
        prompt_model=spec.reflection_lm,
        task_model=spec.target_lm,
        auto=None,
        num_candidates=max(2, min(8, num_trials)),
        max_bootstrapped_demos=0,  # instructions only: demos would copy training documents verbatim
        max_labeled_demos=0,
        num_threads=spec.num_threads,
        seed=spec.seed,
        verbose=False,
        track_stats=True,
    )
    try:
        with dspy.context(lm=spec.target_lm, adapter=judge_adapter()):
            compiled = optimizer.compile(
                spec.program(spec.base_instructions),
                trainset=spec.trainset,
                valset=spec.valset,
                num_trials=num_trials,
                minibatch=len(spec.valset) > minibatch_size,
                minibatch_size=minibatch_size,
                minibatch_full_eval_steps=MIPRO_FULL_EVAL_STEPS,
            )
    except SearchStopped:
        # Stopped between evaluations: what was scored is recorded already; the best of it stands.
        if optimizer.best is None:
            return SearchResult(best_instructions=spec.base_instructions, best_score=None)
        score, instructions = optimizer.best
        return SearchResult(best_instructions=instructions, best_score=score)
    return SearchResult(
        best_instructions=compiled.judge.signature.instructions,
        best_score=float(getattr(compiled, "score", 0) or 0) / 100,
    )


def evaluate(spec: SearchSpec, instructions: str) -> float:
    """Mean objective of a prompt on the validation set; a malformed output scores 0."""
    evaluator = dspy.Evaluate(
        devset=spec.valset,
        metric=score_only(spec.metric),
        num_threads=spec.num_threads,
        display_progress=False,
        failure_score=0.0,
    )
    with dspy.context(lm=spec.target_lm, adapter=judge_adapter()):
        result = evaluator(spec.program(instructions))
    return float(result.score) / 100


def run_library(spec: SearchSpec) -> SearchResult:
    """Greedy forward selection of vetted lines appended to the base prompt: no free text is ever
    written, and the base's own text stays in every composition. The base is scored on the validation
    set first (like every run's base); each step then adds the library line that most improves on the
    best so far, until none helps or the budget ends. A composition no better than the base is not kept."""
    rng = random.Random(spec.seed)
    calls = 0

    def scored(instructions: str) -> float:
        nonlocal calls
        findings = spec.screen(instructions)
        if findings:
            # Vetted lines can still combine into a prompt the guardrails reject (another scale, too
            # long): it is recorded and scores as the worst case, without a pass over the valset.
            spec.hooks.on_rejected(instructions, findings)
            return 0.0
        score = evaluate(spec, instructions)
        calls += len(spec.valset)
        spec.hooks.on_metric_calls(calls)
        return score

    base = spec.base_instructions
    best_score = scored(base)
    spec.hooks.on_candidate(0, base, best_score)  # the run's base dev score
    chosen: list[str] = []
    remaining = [line for line in spec.library if line.strip() and line.strip() not in base]
    rng.shuffle(remaining)  # ties go to a seeded order, not always to the first instruction
    while remaining:
        trials = []
        for line in remaining:
            if calls + len(spec.valset) > spec.max_metric_calls or spec.hooks.should_stop():
                break
            trials.append((scored(composed(base, [*chosen, line], spec.library)), line))
        if not trials:
            break
        score, line = max(trials, key=lambda pair: pair[0])
        if score <= best_score:
            break
        chosen.append(line)
        remaining.remove(line)
        best_score = score
        spec.hooks.on_candidate(len(chosen), composed(base, chosen, spec.library), score)
    return SearchResult(best_instructions=composed(base, chosen, spec.library), best_score=best_score)


def composed(base: str, chosen: Sequence[str], library: Sequence[str]) -> str:
    """The base prompt, then the chosen library lines in the library's own order, one per line."""
    lines = [line for line in library if line in chosen]
    return "\n".join(part for part in [base.rstrip(), *lines] if part) if lines else base


SEARCHES = {"gepa": run_gepa, "mipro": run_mipro, "library": run_library}
