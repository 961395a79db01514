"""Optimization runs: launch with an estimate, execute in a worker with live progress, stop honestly
(done, threshold, dollar cap, cancelled, crashed), resume after a crash, and measure base and best on
the test split under identical conditions. Status changes go through labeling.lifecycle."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg

from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.program import judge_program_for
from judging.runs import judge_run_execute, judge_run_start
from labeling import lifecycle, numbers
from labeling.models import Item, Project
from optimizer.budget import Budget, RunStopped, budgeted_lm
from optimizer.models import OptimizationRun
from optimizer.objective import (
    approved_bullets,
    dev_sample_plan,
    gold_counts,
    library_lines,
    objective_metric,
    split_examples,
    stratified_sample,
)
from optimizer.recording import Heartbeat, Recorder, progress_write
from optimizer.search import SEARCHES, SearchSpec

MIN_EXAMPLES = 4  # per split, below which a search learns nothing worth promoting
MAX_THREADS = 8


# Launch


def estimate_summary(estimate: dict) -> str:
    """The estimate in words, the same on the launch page and from `manage.py optimize` (both say "at
    most" before it): "3,068 judge calls (300 for the search + 2 × 1,384 to judge base and best on the
    test split) and 41 reflection/proposal calls, about $0.263 ($0.0257 search, $0.227 test split,
    $0.0104 reflection)"."""
    search, test = estimate.get("search_calls"), estimate.get("test_items")
    calls = numbers.count(estimate.get("judge_calls"))
    if search is not None and test is not None:
        calls += (
            f" judge calls ({numbers.count(search)} for the search + 2 × {numbers.count(test)} to judge base "
            "and best on the test split)"
        )
    else:  # an estimate stored before the breakdown existed
        calls += " judge calls"
    reflections = estimate.get("reflection_calls")
    if reflections:
        calls += f" and {numbers.plural(reflections, 'reflection/proposal call')}"
    else:
        calls += " and no reflection/proposal call (library selection only picks vetted instructions)"
    text = f"{calls}, about {numbers.dollars(estimate.get('dollars'))}"
    parts = [estimate.get(k) for k in ("search_dollars", "test_dollars", "reflection_dollars")]
    if all(part is not None for part in parts):
        search_cost, test_cost, reflection_cost = map(numbers.dollars, parts)
        text += f" ({search_cost} search, {test_cost} test split"
        text += f", {reflection_cost} reflection)" if reflections else ")"
    return text


def algorithm_for(regime: str, algorithm: str) -> str:
    """The library regime only ever selects among vetted instructions, whatever algorithm was asked for."""
    return OptimizationRun.Algorithm.LIBRARY if regime == OptimizationRun.Regime.LIBRARY else algorithm


def run_estimate(
    *,
    project: Project,
    base_version: PromptVersion,
    target_endpoint: ModelEndpoint,
    reflection_endpoint: ModelEndpoint,
    algorithm: str,
    max_metric_calls: int,
    seed: int = 0,
) -> dict:
    """Calls and dollars a run will spend at most: the search's metric calls, the reflection/proposal
    calls, and judging base and best on the test split. Token counts come from this project's past
    judgments on the target model where there are any, else from the length of the texts. It also
    says how much of the dev split the budget allows (`dev_sample`), and `refused` when too little."""
    gold = gold_counts(project)
    plan = dev_sample_plan(dev_items=gold["dev"], max_metric_calls=max_metric_calls, seed=seed)
    dev, test = plan["size"], gold["test"]
    if algorithm == OptimizationRun.Algorithm.GEPA:
        # An iteration: 3 train examples with the parent, one reflection, 3 with the child, and the
        # dev set when the child is better (about one time in three).
        iterations = max(1, int((max_metric_calls - dev) / (6 + dev / 3)))
        reflection_calls = iterations
    elif algorithm == OptimizationRun.Algorithm.MIPRO:
        reflection_calls = 5 + min(8, max(2, max_metric_calls // 25))  # summaries, then one per proposal
    else:
        reflection_calls = 0
    judge_calls = max_metric_calls + 2 * test
    past = Judgment.objects.filter(
        run__project=project, run__endpoint=target_endpoint, error_kind=""
    ).aggregate(tokens_in=Avg("input_tokens"), tokens_out=Avg("output_tokens"))
    if past["tokens_in"]:
        judge_in, judge_out, basis = (
            float(past["tokens_in"]),
            float(past["tokens_out"] or 0),
            "past judgments",
        )
    else:
        sample = Item.objects.filter(project=project).values_list("document", flat=True)[:50]
        mean_chars = sum(map(len, sample)) / max(1, len(sample))
        judge_in = (len(base_version.instructions) + mean_chars) / 4 + 250
        judge_out, basis = 120.0, "text length"
    reflect_in, reflect_out = 3000.0, 400.0

    def dollars(endpoint: ModelEndpoint, calls: int, tokens_in: float, tokens_out: float) -> Decimal:
        return endpoint.price_of(Decimal(str(tokens_in)), Decimal(str(tokens_out))) * calls

    search_dollars = dollars(target_endpoint, max_metric_calls, judge_in, judge_out)
    test_dollars = dollars(target_endpoint, 2 * test, judge_in, judge_out)
    reflection_dollars = dollars(reflection_endpoint, reflection_calls, reflect_in, reflect_out)
    total = search_dollars + test_dollars + reflection_dollars
    estimate = {
        "judge_calls": judge_calls,
        "search_calls": max_metric_calls,
        "test_items": test,
        "reflection_calls": reflection_calls,
        "dollars": float(round(total, 4)),
        "search_dollars": float(round(search_dollars, 4)),
        "test_dollars": float(round(test_dollars, 4)),
        "reflection_dollars": float(round(reflection_dollars, 4)),
        "basis": basis,
        "dev_sample": plan,
    }
    if max_metric_calls < plan["needs"]:
        estimate["refused"] = (
            f"A budget of {max_metric_calls} metric calls is too small for this dev split of {gold['dev']} "
            f"items: a search needs at least {plan['needs']} (one pass over a dev sample of "
            f"{plan['smallest']} items may take at most a third of the budget, and at least one proposal "
            "must fit after it)."
        )
    return estimate


def default_base_version(
    *, project: Project, target_endpoint: ModelEndpoint | None = None
) -> PromptVersion | None:
    """What a run starts from unless told otherwise: the production version (for the target model when
    one is given), else the newest hand-written version the guardrails left unflagged. Never merely the
    newest version, which is often a leftover candidate of an earlier run."""
    versions = PromptVersion.objects.filter(project=project).select_related("target_model")
    if target_endpoint is not None:
        versions = versions.filter(target_model=target_endpoint)
    production = versions.filter(status=PromptVersion.Status.PRODUCTION).first()
    if production is not None:
        return production
    hand_written = versions.filter(origin="hand-written").exclude(status=PromptVersion.Status.ARCHIVED)
    return next((version for version in hand_written if not version.is_flagged), None)


def optimization_run_start(
    *,
    project: Project,
    base_version: PromptVersion | None = None,
    target_endpoint: ModelEndpoint,
    reflection_endpoint: ModelEndpoint,
    regime: str = OptimizationRun.Regime.DISAGREEMENT,
    algorithm: str = OptimizationRun.Algorithm.GEPA,
    max_metric_calls: int = 300,
    max_dollars: Decimal | None = None,
    score_threshold: float | None = None,
    seed: int = 0,
    user=None,
) -> OptimizationRun:
    """Check the launch against the regime's rules and queue the run for a worker. Without a base
    version the run starts from `default_base_version`."""
    Regime, Algorithm = OptimizationRun.Regime, OptimizationRun.Algorithm  # noqa: N806
    if base_version is None:
        base_version = default_base_version(
            project=project, target_endpoint=None if regime == Regime.CROSS_MODEL else target_endpoint
        )
        if base_version is None:
            raise ValidationError(
                {"base_version": "This project has no production or clean hand-written version."}
            )
    errors: dict[str, str] = {}
    if base_version.project_id != project.pk:
        errors["base_version"] = "The base prompt version belongs to another project."
    algorithm = algorithm_for(regime, algorithm)
    if regime == Regime.LIBRARY:
        if not library_lines(project):
            errors["regime"] = "The instruction library of this project has no active instruction yet."
    elif algorithm == Algorithm.LIBRARY:
        errors["algorithm"] = "Library selection belongs to the instruction-library regime."
    if regime == Regime.DISAGREEMENT and target_endpoint.pk != base_version.target_model_id:
        errors["target_endpoint"] = (
            f"Disagreement minimization keeps the model: choose {base_version.target_model.name}, "
            "or adapt to another model."
        )
    if regime == Regime.CROSS_MODEL and target_endpoint.pk == base_version.target_model_id:
        errors["target_endpoint"] = "Cross-model adaptation needs a target model other than the base's."
    gold = gold_counts(project)
    for split in ("train", "dev"):
        count = gold[split]
        if count < MIN_EXAMPLES:
            errors.setdefault(
                "base_version",
                f"The {split} split has {count} items with gold; label at least {MIN_EXAMPLES}.",
            )
    if max_metric_calls < 10:
        errors["max_metric_calls"] = "Give the search at least 10 metric calls."
    if max_dollars is not None and max_dollars <= 0:
        errors["max_dollars"] = "A dollar budget must be above zero (leave it empty for none)."
    if errors:
        raise ValidationError(errors)
    estimate = run_estimate(
        project=project,
        base_version=base_version,
        target_endpoint=target_endpoint,
        reflection_endpoint=reflection_endpoint,
        algorithm=algorithm,
        max_metric_calls=max_metric_calls,
        seed=seed,
    )
    if "refused" in estimate:
        raise ValidationError({"max_metric_calls": estimate["refused"]})
    if estimate["dev_sample"]["sampled"]:
        # Chosen once, at launch: a resumed GEPA run must see the very same validation set.
        sample = stratified_sample(
            split_examples(project, "dev"), size=estimate["dev_sample"]["size"], seed=seed
        )
        estimate["dev_sample"]["item_ids"] = [example.item_id for example in sample]
    with transaction.atomic():
        run = OptimizationRun.objects.create(
            project=project,
            regime=regime,
            algorithm=algorithm,
            base_version=base_version,
            target_endpoint=target_endpoint,
            reflection_endpoint=reflection_endpoint,
            max_metric_calls=max_metric_calls,
            max_dollars=max_dollars,
            score_threshold=score_threshold,
            seed=seed,
            estimate=estimate,
            created_by=user,
        )
        _enqueue(run)
    return run


def _enqueue(run: OptimizationRun) -> None:
    from optimizer.tasks import optimization_run_task

    transaction.on_commit(lambda: optimization_run_task.delay(run.pk))


def optimization_run_cancel(*, run: OptimizationRun) -> str:
    """A running search stops within one iteration and keeps its best candidate; a queued, interrupted
    or silent one ends at once (lifecycle.run_cancel). The new status; TransitionRefused when ended."""
    return lifecycle.run_cancel(OptimizationRun, pk=run.pk)


def optimization_run_resume(*, run: OptimizationRun, include_cancelled: bool = False) -> OptimizationRun:
    """Start an interrupted or failed run again (a cancelled one when asked): GEPA picks up from its
    last checkpoint, the others start over; candidates already recorded are kept and not recorded
    twice. Refused (TransitionRefused) for a run that is queued, running or done."""
    with transaction.atomic():
        lifecycle.run_resume(OptimizationRun, pk=run.pk, include_cancelled=include_cancelled)
        _enqueue(run)
    run.refresh_from_db()
    return run


def run_checkpoints_dir(run: OptimizationRun) -> Path:
    """The run's own folder of GEPA checkpoints (ids repeat across databases and test runs; the creation
    time does not)."""
    return Path(settings.OPTIMIZER_DIR) / f"run-{run.pk}-{run.created_at:%Y%m%dT%H%M%S%f}"


def run_log_dir(run: OptimizationRun, attempt: int | None = None) -> Path:
    """GEPA's log_dir for one attempt of the run. Each attempt has its own, so a resumed search never
    writes where a worker taken for dead (but alive) still writes: the new attempt starts from a copy
    of the latest checkpoint an earlier attempt left."""
    return run_checkpoints_dir(run) / f"attempt-{attempt if attempt is not None else run.attempts}"


def _log_dir_prepare(run: OptimizationRun, attempt: int) -> Path:
    log_dir = run_log_dir(run, attempt)
    if not log_dir.exists():
        earlier = (run_log_dir(run, n) for n in range(attempt - 1, 0, -1))
        latest = next((folder for folder in earlier if folder.is_dir() and any(folder.iterdir())), None)
        if latest is not None:
            shutil.copytree(latest, log_dir)
    return log_dir


# Execution


def optimization_run_execute(*, run_id: int) -> OptimizationRun:
    """The worker's side of a run, from queued to an honest stop reason."""
    attempt = lifecycle.run_claim(OptimizationRun, pk=run_id)
    run = OptimizationRun.objects.select_related(
        "project", "base_version", "target_endpoint", "reflection_endpoint", "created_by"
    ).get(pk=run_id)
    if attempt is None:
        return run  # cancelled before it started, or already taken by another worker

    project = run.project
    budget = Budget(max_dollars=run.max_dollars, already_spent=Decimal(run.dollars_spent))
    trainset, valset = split_examples(project, "train"), split_examples(project, "dev")
    sample_ids = (run.estimate or {}).get("dev_sample", {}).get("item_ids")
    if sample_ids is not None:
        chosen = set(sample_ids)
        valset = [example for example in valset if example.item_id in chosen]
    training_texts = [f"{example.query}\n{example.document}" for example in trainset]
    user_names = list(get_user_model().objects.values_list("username", flat=True))
    recorder = Recorder(run, budget, training_texts, user_names)
    spec = SearchSpec(
        program_for=lambda instructions: judge_program_for(
            scale_min=project.scale_min, scale_max=project.scale_max, instructions=instructions
        ),
        base_instructions=run.base_version.instructions,
        trainset=trainset,
        valset=valset,
        metric=objective_metric(project=project, bullets=approved_bullets(project)),
        target_lm=budgeted_lm(run.target_endpoint, budget),
        reflection_lm=budgeted_lm(run.reflection_endpoint, budget),
        max_metric_calls=run.max_metric_calls,
        seed=run.seed,
        num_threads=max(1, min(run.target_endpoint.concurrency, MAX_THREADS)),
        log_dir=_log_dir_prepare(run, attempt),
        hooks=recorder.hooks(),
        library=library_lines(project) if run.algorithm == OptimizationRun.Algorithm.LIBRARY else (),
        score_threshold=run.score_threshold,
    )
    heartbeat = Heartbeat(run, recorder)
    heartbeat.start()
    stop_reason, error = OptimizationRun.StopReason.DONE, ""
    try:
        result = SEARCHES[run.algorithm](spec)
        if (
            result.best_score is not None
            and result.best_instructions.strip() != run.base_version.instructions.strip()
        ):
            recorder.on_best_score(result.best_score)
    except RunStopped as stopped:
        stop_reason = stopped.reason
    except Exception as exc:  # noqa: BLE001 - whatever broke the search is what the lead must read
        stop_reason, error = OptimizationRun.StopReason.CRASHED, f"{type(exc).__name__}: {exc}"
    finally:
        heartbeat.finished.set()
        heartbeat.join()
        progress_write(run.pk, recorder)

    if stop_reason == OptimizationRun.StopReason.DONE:
        if recorder.live.cancelled:
            stop_reason = OptimizationRun.StopReason.CANCELLED
        elif budget.stop_reason == OptimizationRun.StopReason.DOLLAR_CAP:
            stop_reason = OptimizationRun.StopReason.DOLLAR_CAP
        elif run.score_threshold is not None and (recorder.live.best or 0) >= run.score_threshold:
            stop_reason = OptimizationRun.StopReason.THRESHOLD
    return _finish(run, stop_reason=stop_reason, error=error)


def _finish(run: OptimizationRun, *, stop_reason: str, error: str) -> OptimizationRun:
    # The best candidate that beat the base on dev and passed the guardrails: a flagged one is kept and
    # shown, but it is not what the run offers for promotion.
    best = next(
        (
            candidate
            for candidate in run.candidates.select_related("prompt_version").order_by("-dev_score", "index")
            if not candidate.prompt_version.is_flagged
        ),
        None,
    )
    best_version = (
        best.prompt_version
        if best and (run.base_dev_score is None or best.dev_score > run.base_dev_score)
        else None
    )
    OptimizationRun.objects.filter(pk=run.pk).update(best_version=best_version)
    if stop_reason == OptimizationRun.StopReason.CRASHED:
        status = OptimizationRun.Status.FAILED
    elif stop_reason == OptimizationRun.StopReason.CANCELLED:
        status = OptimizationRun.Status.CANCELLED
    else:
        status = OptimizationRun.Status.DONE
    # The test split is measured when the search ended on its own terms; a cancel or a spent dollar
    # budget means "stop spending", so those keep their candidates unmeasured (the page says so).
    if status == OptimizationRun.Status.DONE and stop_reason != OptimizationRun.StopReason.DOLLAR_CAP:
        measure_on_test_split(run, best_version)
    # Conditional on this attempt still holding the run: one cancelled meanwhile, or interrupted and
    # resumed elsewhere, is not this worker's to finish.
    finished = lifecycle.run_finish(
        OptimizationRun, pk=run.pk, status=status, error=error, attempt=run.attempts, stop_reason=stop_reason
    )
    if finished and status == OptimizationRun.Status.DONE:
        shutil.rmtree(run_checkpoints_dir(run), ignore_errors=True)  # checkpoints only serve a resume
    run.refresh_from_db()
    return run


def measure_on_test_split(run: OptimizationRun, best_version: PromptVersion | None) -> None:
    """Base and best judged afresh on the test split, same model, same items, one after the other."""
    user = run.created_by
    base_run = judge_run_start(
        prompt_version=run.base_version,
        endpoint=run.target_endpoint,
        item_set=JudgeRun.ItemSet.TEST,
        user=user,
        force_fresh=True,
        enqueue=False,
        started_from=f"optimizer run #{run.pk}",
    )
    OptimizationRun.objects.filter(pk=run.pk).update(base_test_run=base_run)
    judge_run_execute(run=base_run)
    if best_version is not None:
        best_run = judge_run_start(
            prompt_version=best_version,
            endpoint=run.target_endpoint,
            item_set=JudgeRun.ItemSet.TEST,
            user=user,
            force_fresh=True,
            enqueue=False,
            started_from=f"optimizer run #{run.pk}",
        )
        OptimizationRun.objects.filter(pk=run.pk).update(best_test_run=best_run)
        judge_run_execute(run=best_run)
