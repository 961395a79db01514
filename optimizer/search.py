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
from dspy.utils.exceptions import AdapterParseError

from judging.program import Judge, judge_adapter

PREDICTOR = "judge"  # the name GEPA gives the judge program's one predictor
MIPRO_FULL_EVAL_STEPS = 5  # MIPROv2's minibatch_full_eval_steps default, passed explicitly below


class TolerantJudge(Judge):
    """The judge as every search runs it: an output that does not parse is a prediction without a score,
    which the objective scores as the worst case. Raised instead, it would count towards DSPy's
    max_errors (10), and the eleventh malformed output would cancel the whole evaluation (MIPROv2,
    library composition, dspy.Evaluate); GEPA catches it itself, but one mechanism serves all."""

    def forward(self, query: str, document: str) -> dspy.Prediction:
        try:
            return super().forward(query=query, document=document)
        except AdapterParseError as error:
            raw_output = error.lm_response or ""
            trace = dspy.settings.trace
            if trace is not None and dspy.settings.max_trace_size > 0:
                # GEPA's reflective dataset reads format failures from the trace: it gets this one as
                # if GEPA had caught it, so the reflection model still sees the reply that broke the format.
                # Bounded like dspy.Predict's own entries (the default trace is a global list).
                if len(trace) >= dspy.settings.max_trace_size:
                    trace.pop(0)
                trace.append(
                    (self.judge, {"query": query, "document": document}, FailedPrediction(raw_output))
                )
            return dspy.Prediction(reasoning="", score=None, raw_output=raw_output)


def tolerant(program: Judge) -> TolerantJudge:
    """The same judge (signature, demos, document limit), tolerant of malformed outputs."""
    if isinstance(program, TolerantJudge):
        return program
    wrapped = TolerantJudge(program.judge.signature, document_max_chars=program.document_max_chars)
    wrapped.judge.demos = list(program.judge.demos)
    return wrapped


@dataclass
class SearchHooks:
    """Called by the search as it goes. `on_candidate` gets every candidate that entered the pool, with its
    score on the validation set; `should_stop` is asked between iterations."""

    on_candidate: Callable[[int, str, float], None] = lambda index, instructions, score: None
    on_metric_calls: Callable[[int], None] = lambda used: None
    should_stop: Callable[[], bool] = lambda: False


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

    def program(self, instructions: str) -> TolerantJudge:
        return tolerant(self.program_for(instructions))


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

    stoppers = [lambda state: spec.hooks.should_stop()]
    if spec.score_threshold is not None:
        from gepa.utils import ScoreThresholdStopper

        stoppers.append(ScoreThresholdStopper(spec.score_threshold))
    spec.log_dir.mkdir(parents=True, exist_ok=True)
    optimizer = dspy.GEPA(
        metric=spec.metric,
        max_metric_calls=spec.max_metric_calls,
        reflection_lm=spec.reflection_lm,
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


def counted(metric: Callable, on_calls: Callable[[int], None]) -> Callable:
    """A metric that reports how often it has been called (MIPROv2 keeps no such count of its own)."""
    lock = threading.Lock()
    calls = {"n": 0}

    def metric_counted(*args, **kwargs):
        with lock:
            calls["n"] += 1
            used = calls["n"]
        on_calls(used)
        return metric(*args, **kwargs)

    return metric_counted


def mipro_calls(trials: int, valset: int, minibatch_size: int) -> int:
    """The metric calls MIPROv2 makes at most (dspy 3.4.1, mipro_optimizer_v2.py): one pass over the
    valset for the base, then trials + full passes optuna trials, each on a minibatch, with a full pass
    after every fifth and at the end. Without minibatches every trial is a full pass."""
    if minibatch_size >= valset:
        return valset * (1 + trials)
    full_passes = trials // MIPRO_FULL_EVAL_STEPS + (1 if trials % MIPRO_FULL_EVAL_STEPS else 0)
    return valset + (trials + full_passes) * minibatch_size + full_passes * valset


def run_mipro(spec: SearchSpec) -> SearchResult:
    minibatch_size = min(25, len(spec.valset))
    num_trials = 2
    while mipro_calls(num_trials + 1, len(spec.valset), minibatch_size) <= spec.max_metric_calls:
        num_trials += 1
    metric = counted(score_only(spec.metric), spec.hooks.on_metric_calls)
    optimizer = dspy.MIPROv2(
        metric=metric,
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
    seen: set[str] = set()
    for index, candidate in enumerate(getattr(compiled, "candidate_programs", []) or []):
        instructions = candidate["program"].judge.signature.instructions
        if instructions not in seen:
            seen.add(instructions)
            spec.hooks.on_candidate(index + 1, instructions, float(candidate["score"]) / 100)
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
