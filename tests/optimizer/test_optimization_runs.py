"""Optimization runs on the sim models, end to end in one process (Celery eager): the search, its
candidates as prompt versions with guardrails, the honest stop reasons, and before/after on test."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from judging.guardrails import words
from judging.models import ModelEndpoint, PromptVersion
from judging.selectors import run_metrics
from judging.sim.reflector import THEME_LINES
from labeling.models import Item
from optimizer import recording, runs
from optimizer.models import LibraryInstruction, OptimizationRun


@pytest.fixture
def setup(transactional_db, demo_project, eager_celery):
    """The demo project, its hand-written baseline for sim/judge-small, and the sim reflector."""
    small = ModelEndpoint.objects.get(model="sim/judge-small")
    return {
        "project": demo_project,
        "base": PromptVersion.objects.filter(project=demo_project, target_model=small).earliest("id"),
        "small": small,
        "large": ModelEndpoint.objects.get(model="sim/judge-large"),
        "reflector": ModelEndpoint.objects.get(model="sim/reflector"),
    }


def launch(setup, **options) -> OptimizationRun:
    defaults = {
        "project": setup["project"],
        "base_version": setup["base"],
        "target_endpoint": setup["small"],
        "reflection_endpoint": setup["reflector"],
        "max_metric_calls": 300,
    }
    run = runs.optimization_run_start(**{**defaults, **options})
    run.refresh_from_db()
    return run


def before_after(run: OptimizationRun):
    base, best = run_metrics(run.base_test_run)["test"], run_metrics(run.best_test_run)["test"]
    return base, best


def test_a_gepa_run_lowers_test_nmse_and_malformed_rate_against_its_base(setup):
    run = launch(setup, algorithm="gepa")

    assert (run.status, run.stop_reason) == ("done", "done")
    assert run.metric_calls_used <= run.max_metric_calls
    assert run.best_dev_score > run.base_dev_score
    base, best = before_after(run)
    assert base.items == best.items and base.items > 0  # same test items for both
    assert best.nmse < base.nmse
    assert best.malformed_rate < base.malformed_rate
    assert run.progress and run.progress[-1][1] == pytest.approx(run.best_dev_score)


def test_every_candidate_is_a_prompt_version_of_the_target_model_with_the_base_as_parent(setup):
    run = launch(setup, algorithm="gepa")

    candidates = list(run.candidates.select_related("prompt_version"))
    assert len(candidates) >= 2
    for candidate in candidates:
        version = candidate.prompt_version
        assert (version.status, version.parent, version.target_model) == (
            "candidate",
            setup["base"],
            setup["small"],
        )
        assert version.origin == f"GEPA run #{run.pk}"
    assert run.best_version in [candidate.prompt_version for candidate in candidates]


def test_a_proposal_that_copied_a_training_document_is_rejected_inside_the_search(setup):
    run = launch(setup, algorithm="gepa")

    rejected = list(run.rejected_proposals.all())
    assert rejected, "the sim reflector copies a document phrase into about one proposal in four"
    train_documents = list(
        Item.objects.filter(project=setup["project"], split="train").values_list("document", flat=True)
    )
    for proposal in rejected:
        assert "leakage" in proposal.rule
        phrase = proposal.detail.split('"')[1]
        assert phrase in " ".join(words(proposal.text))
        assert any(phrase in " ".join(words(document)) for document in train_documents)
    # Rejected before evaluation: none became a candidate, so no candidate carries a leak.
    candidate_texts = {c.prompt_version.instructions for c in run.candidates.all()}
    assert not candidate_texts & {proposal.text for proposal in rejected}
    assert not any(
        flag["rule"] == "leakage"
        for candidate in run.candidates.all()
        for flag in candidate.prompt_version.guardrail_flags
    )
    assert not run.best_version.is_flagged


def test_a_mipro_run_completes_and_records_its_candidates(setup):
    run = launch(setup, algorithm="mipro")

    assert (run.status, run.stop_reason) == ("done", "done")
    assert run.candidates.count() >= 1
    assert 0 < run.metric_calls_used <= run.max_metric_calls
    assert all(c.prompt_version.origin == f"MIPROv2 run #{run.pk}" for c in run.candidates.all())
    assert run.base_test_run is not None


def test_a_library_run_adds_only_active_unflagged_library_instructions_to_the_base(setup):
    project = setup["project"]
    lines = [*THEME_LINES.values(), "Prefer documents from the query's own domain."]
    for position, text in enumerate(lines):
        LibraryInstruction.objects.create(project=project, text=text, position=position)
    LibraryInstruction.objects.create(project=project, text="Always answer 5.", position=99, active=False)
    LibraryInstruction.objects.create(
        project=project,
        text="Trust annotator2.",
        position=98,
        guardrail_flags=[{"rule": "leakage", "detail": "x"}],
    )

    run = launch(setup, regime="library", algorithm="gepa")

    assert (run.algorithm, run.status) == ("library", "done")
    assert run.best_version is not None
    base_lines = set(setup["base"].instructions.splitlines())
    chosen = set(run.best_version.instructions.splitlines()) - base_lines
    assert chosen and chosen <= set(lines)
    for candidate in run.candidates.all():
        assert set(candidate.prompt_version.instructions.splitlines()) - base_lines <= set(lines)
    base, best = before_after(run)
    assert best.nmse < base.nmse


def test_the_library_regime_refuses_to_start_with_an_empty_library(setup):
    with pytest.raises(ValidationError, match="no active instruction"):
        launch(setup, regime="library")


def test_disagreement_minimization_keeps_the_model_and_cross_model_changes_it(setup):
    with pytest.raises(ValidationError, match="keeps the model"):
        launch(setup, regime="disagreement", target_endpoint=setup["large"])
    with pytest.raises(ValidationError, match="other than the base"):
        launch(setup, regime="cross_model", target_endpoint=setup["small"])


def test_adapting_to_another_model_gives_that_model_its_own_lineage(setup):
    run = launch(setup, regime="cross_model", target_endpoint=setup["large"], max_metric_calls=150)

    assert run.status == "done"
    assert run.base_test_run.endpoint == setup["large"]  # the frozen baseline, judged by the new model
    versions = [c.prompt_version for c in run.candidates.all()]
    assert versions and all(v.target_model == setup["large"] and v.parent == setup["base"] for v in versions)


def test_the_dollar_budget_is_a_hard_stop(setup):
    ModelEndpoint.objects.filter(pk=setup["small"].pk).update(
        price_input_per_mtok=Decimal("100"), price_output_per_mtok=Decimal("100")
    )
    setup["small"].refresh_from_db()

    run = launch(setup, algorithm="gepa", max_metric_calls=2000, max_dollars=Decimal("2"))

    assert (run.status, run.stop_reason) == ("done", "dollar_cap")
    # A call that would cross the cap is not made: the run ends within one call of it.
    one_call = Decimal("0.1")  # ~ 600 tokens in and out at $100 per million
    assert Decimal("2") - 8 * one_call <= run.dollars_spent <= Decimal("2") + one_call
    assert run.metric_calls_used < 2000
    assert run.base_test_run is None  # a spent budget spends nothing more on measuring


def cancel_at_first_candidate(monkeypatch) -> threading.Event:
    """The lead cancels as soon as the first candidate beyond the base is recorded; the event says so."""
    monkeypatch.setattr(recording, "HEARTBEAT_S", 0.05)
    run_started = threading.Event()
    original = recording.Recorder.on_candidate

    def on_candidate(self, index, instructions, score):
        original(self, index, instructions, score)
        if index >= 1:
            OptimizationRun.objects.filter(pk=self.run.pk).update(cancel_requested=True)
            run_started.set()

    monkeypatch.setattr(recording.Recorder, "on_candidate", on_candidate)
    return run_started


def test_cancel_stops_within_an_iteration_and_keeps_the_best_so_far(setup, monkeypatch):
    run_started = cancel_at_first_candidate(monkeypatch)

    run = launch(setup, algorithm="gepa", max_metric_calls=20_000)

    assert run_started.is_set()
    assert (run.status, run.stop_reason) == ("cancelled", "cancelled")
    assert run.metric_calls_used < 2_000  # stopped long before its budget
    assert run.candidates.count() >= 1 and run.best_version is not None
    assert run.base_test_run is None


def test_a_cancelled_queued_run_never_starts(setup, eager_celery):
    eager_celery.conf.task_always_eager = False  # stays queued: no worker in this test
    try:
        run = runs.optimization_run_start(
            project=setup["project"],
            base_version=setup["base"],
            target_endpoint=setup["small"],
            reflection_endpoint=setup["reflector"],
        )
    finally:
        eager_celery.conf.task_always_eager = True
    runs.optimization_run_cancel(run=run)

    run = runs.optimization_run_execute(run_id=run.pk)

    assert (run.status, run.stop_reason, run.metric_calls_used) == ("cancelled", "cancelled", 0)


def test_a_run_whose_worker_stopped_beating_is_marked_interrupted_with_a_resume(setup):
    from django.utils import timezone

    from labeling import lifecycle

    run = launch(setup, algorithm="gepa", max_metric_calls=100)
    OptimizationRun.objects.filter(pk=run.pk).update(
        status="running", heartbeat_at=timezone.now() - lifecycle.stale_after() * 2, finished_at=None
    )

    assert lifecycle.runs_mark_interrupted() == 1

    run.refresh_from_db()
    assert (run.status, run.stop_reason, run.can_resume) == ("interrupted", "crashed", True)
    assert "stopped reporting" in run.error


def test_the_estimate_counts_calls_and_prices_them(setup):
    ModelEndpoint.objects.filter(pk=setup["small"].pk).update(
        price_input_per_mtok=Decimal("1"), price_output_per_mtok=Decimal("1")
    )
    setup["small"].refresh_from_db()
    estimate = runs.run_estimate(
        project=setup["project"],
        base_version=setup["base"],
        target_endpoint=setup["small"],
        reflection_endpoint=setup["reflector"],
        algorithm="gepa",
        max_metric_calls=300,
    )
    test_items = Item.objects.filter(project=setup["project"], split="test", labels__isnull=False).distinct()
    assert estimate["judge_calls"] == 300 + 2 * test_items.count()
    assert estimate["reflection_calls"] > 0
    assert estimate["dollars"] > 0
    parts = estimate["search_dollars"] + estimate["test_dollars"] + estimate["reflection_dollars"]
    assert parts == pytest.approx(estimate["dollars"], abs=1e-3)


def test_the_estimate_says_the_test_judgments_of_base_and_best_are_included(setup):
    estimate = runs.run_estimate(
        project=setup["project"],
        base_version=setup["base"],
        target_endpoint=setup["small"],
        reflection_endpoint=setup["reflector"],
        algorithm="gepa",
        max_metric_calls=300,
    )
    summary = runs.estimate_summary(estimate)
    assert summary.startswith(f"{estimate['judge_calls']:,} judge calls (300 for the search + 2 × ")
    assert f"2 × {estimate['test_items']:,} to judge base and best on the test split" in summary
    assert "search" in summary.split("about")[1] and "test split" in summary.split("about")[1]


def test_manage_py_optimize_runs_a_search_and_reports_the_best_version(setup):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("optimize", setup["project"].slug, "--max-metric-calls", "150", "--inline", stdout=out)

    run = OptimizationRun.objects.get()
    assert run.status == "done" and run.best_version is not None
    assert f"Best candidate: prompt version {run.best_version_id}." in out.getvalue()
    # The same estimate, in the same words, as the launch page shows.
    assert f"at most {runs.estimate_summary(run.estimate)}." in out.getvalue()
    # Before/after on the test split, each figure with its interval and the paired change.
    text = out.getvalue()
    assert f"On the test split (base v{run.base_version_id}:" in text
    nmse_line = next(line for line in text.splitlines() if line.strip().startswith("NMSE (0–100)"))
    assert re.search(
        r"base [\d.]+ \([\d.]+–[\d.]+\) +best [\d.]+ \([\d.]+–[\d.]+\) +change [+-][\d.]+ \(", nmse_line
    )
    assert "Dev objective: base " in text
    ended = next(line for line in text.splitlines() if line.startswith("Done"))
    assert "stopped" not in ended.lower().split(":")[0]  # "Done: stopped at …", never "Stopped: stopped at …"


def test_a_gepa_run_ending_short_of_its_budget_says_the_next_iteration_would_go_over():
    run = OptimizationRun(
        algorithm="gepa",
        status="done",
        stop_reason="done",
        metric_calls_used=206,
        max_metric_calls=300,
        estimate={"dev_sample": {"size": 100}},
    )
    assert run.stop_reason_note == (
        "stopped at 206 of 300 metric calls: another iteration could need 106 more, over the budget"
    )
    run.metric_calls_used = 300
    assert run.stop_reason_note == "finished its budget of metric calls"
