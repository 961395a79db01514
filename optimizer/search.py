"""The searches behind an optimization run, in plain DSPy: GEPA, MIPROv2 and composition from the
instruction library. Nothing here touches the database; the run (optimizer.runs) passes hooks in."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dspy

from judging.program import Judge, judge_adapter

PREDICTOR = "judge"  # the name GEPA gives the judge program's one predictor


@dataclass
class SearchHooks:
    """Called by the search as it goes. `on_candidate` gets every candidate that entered the pool, with its
    score on the validation set; `should_stop` is asked between iterations."""

    on_candidate: Callable[[int, str, float], None] = lambda index, instructions, score: None
    on_metric_calls: Callable[[int], None] = lambda used: None
    should_stop: Callable[[], bool] = lambda: False


@dataclass
class SearchSpec:
    program_for: Callable[[str], Judge]  # instructions -> a fresh judge program
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
            spec.program_for(spec.base_instructions), trainset=spec.trainset, valset=spec.valset
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


def run_mipro(spec: SearchSpec) -> SearchResult:
    minibatch_size = min(25, len(spec.valset))
    # Every trial scores a minibatch, and every fifth one the whole validation set.
    per_trial = minibatch_size + len(spec.valset) / 5
    num_trials = max(2, int((spec.max_metric_calls - len(spec.valset)) / per_trial))
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
            spec.program_for(spec.base_instructions),
            trainset=spec.trainset,
            valset=spec.valset,
            num_trials=num_trials,
            minibatch=len(spec.valset) > minibatch_size,
            minibatch_size=minibatch_size,
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
        result = evaluator(spec.program_for(instructions))
    return float(result.score) / 100


def run_library(spec: SearchSpec) -> SearchResult:
    """Greedy forward selection over vetted instructions: no free text is ever written. Each step adds the
    library instruction that most improves the validation score, until none helps or the budget ends."""
    rng = random.Random(spec.seed)
    calls = 0
    chosen: list[str] = []
    best_score = evaluate(spec, "")
    calls += len(spec.valset)
    spec.hooks.on_metric_calls(calls)
    remaining = list(spec.library)
    rng.shuffle(remaining)  # ties go to a seeded order, not always to the first instruction
    while remaining:
        scored = []
        for instruction in remaining:
            if calls + len(spec.valset) > spec.max_metric_calls or spec.hooks.should_stop():
                break
            trial = [*chosen, instruction]
            scored.append((evaluate(spec, _ordered(trial, spec.library)), instruction))
            calls += len(spec.valset)
            spec.hooks.on_metric_calls(calls)
        if not scored:
            break
        score, instruction = max(scored, key=lambda pair: pair[0])
        if score <= best_score:
            break
        chosen.append(instruction)
        remaining.remove(instruction)
        best_score = score
        spec.hooks.on_candidate(len(chosen), _ordered(chosen, spec.library), score)
    return SearchResult(best_instructions=_ordered(chosen, spec.library), best_score=best_score)


def _ordered(chosen: Sequence[str], library: Sequence[str]) -> str:
    """The chosen instructions in the library's own order, one per line."""
    return "\n".join(line for line in library if line in chosen)


SEARCHES = {"gepa": run_gepa, "mipro": run_mipro, "library": run_library}
