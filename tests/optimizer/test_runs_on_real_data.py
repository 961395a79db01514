"""The optimizer on data as users bring it: a dev split larger than the budget, a judge that is often
malformed, a library composition measured against its base, the right default base and a hard dollar
cap. Everything runs in one process on the sim models (Celery eager)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from io import StringIO

import dspy
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from judging.models import ModelEndpoint, PromptVersion
from judging.sim.reflector import THEME_LINES
from judging.sim.registry import JUDGE_PROFILES
from labeling.models import Item, Label
from optimizer import budget as budget_module
from optimizer import runs
from optimizer.models import LibraryInstruction, OptimizationRun
from optimizer.objective import dev_sample_plan, gold_counts, split_examples, stratified_sample
from optimizer.run_forms import OptimizationRunForm
from optimizer.search import GEPA_MINIBATCH, TolerantJudge
from tests.optimizer import test_optimization_runs
from tests.optimizer.test_optimization_runs import launch
from tests.optimizer.test_run_pages import launch_data

DEV_ITEMS = 675
setup = test_optimization_runs.setup  # the demo project, its baseline for sim/judge-small, the reflector


@pytest.fixture
def large_dev(setup):
    """The demo project with its dev split grown to 675 labeled items (copies of its own dev items)."""
    project = setup["project"]
    originals = list(
        Item.objects.filter(project=project, split="dev", labels__isnull=False)
        .distinct()
        .prefetch_related("labels")
    )
    copies, labels = [], []
    for n in range(DEV_ITEMS - len(originals)):
        original = originals[n % len(originals)]
        copies.append(
            Item(
                project=project,
                external_id=f"dev-copy-{n}",
                query=original.query,
                document=f"{original.document} (copy {n})",
                split="dev",
            )
        )
    Item.objects.bulk_create(copies)
    for copy in Item.objects.filter(project=project, external_id__startswith="dev-copy-"):
        original = originals[int(copy.external_id.rsplit("-", 1)[1]) % len(originals)]
        labels += [
            Label(item=copy, annotator=label.annotator, score=label.score) for label in original.labels.all()
        ]
    Label.objects.bulk_create(labels)
    assert gold_counts(project)["dev"] == DEV_ITEMS
    return setup


@pytest.fixture
def malformed_30(monkeypatch):
    """sim/judge-small malformed 30% of the time, whatever its instructions say about the format."""
    profile = dataclasses.replace(
        JUDGE_PROFILES["sim/judge-small"], malformed_rate=0.3, malformed_rate_corrected=0.3
    )
    monkeypatch.setitem(JUDGE_PROFILES, "sim/judge-small", profile)


def library_of(project, lines) -> None:
    for position, text in enumerate(lines):
        LibraryInstruction.objects.create(project=project, text=text, position=position)


# A budget below one pass over the dev split


def test_a_too_small_budget_on_a_large_dev_split_is_either_sampled_or_refused_with_a_clear_message(
    large_dev, client_for, lead
):
    out = StringIO()
    call_command("optimize", large_dev["project"].slug, "--max-metric-calls", "300", "--inline", stdout=out)

    run = OptimizationRun.objects.get()
    assert "dev sample: 100 of 675 items, stratified by gold score" in out.getvalue()
    assert "because the budget of 300 calls" in out.getvalue()
    assert run.status == "done" and 0 < run.metric_calls_used
    assert run.candidates.count() >= 1 and run.base_dev_score is not None
    page = client_for(lead).get(reverse("optimizer:run", args=[run.pk])).content.decode()
    assert "dev sample: 100 of 675 items, stratified by gold score" in page

    with pytest.raises(
        CommandError, match="too small for this dev split of 675 items: a search needs at least 60"
    ):
        call_command(
            "optimize", large_dev["project"].slug, "--max-metric-calls", "40", "--inline", stdout=out
        )
    assert OptimizationRun.objects.count() == 1  # the refused run never existed


def test_the_estimate_refuses_a_budget_too_small_for_any_dev_sample_in_the_form_and_the_service(
    large_dev, client_for, lead
):
    setup = large_dev
    url = reverse("optimizer:run_estimate", args=[setup["project"].slug])
    data = launch_data(setup, max_metric_calls=30)
    body = client_for(lead).get(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "A budget of 30 metric calls is too small" in body and "needs at least 60" in body

    sampled = client_for(lead).get(url, {**data, "max_metric_calls": 90}, HTTP_HX_REQUEST="true")
    assert "dev sample: 30 of 675 items" in sampled.content.decode()

    launched = client_for(lead).post(reverse("optimizer:runs", args=[setup["project"].slug]), data)
    assert launched.status_code == 200 and "needs at least 60" in launched.content.decode()
    assert not OptimizationRun.objects.exists()

    with pytest.raises(ValidationError, match="needs at least 60"):
        launch(setup, max_metric_calls=30)


@pytest.mark.parametrize(("dev_items", "needs"), [(4, 14), (5, 16), (6, 18), (675, 60)])
def test_the_least_budget_leaves_gepa_room_for_one_proposal_after_the_pass_over_dev(dev_items, needs):
    # GEPA starts an iteration only when its worst case fits (parent and child on a 3-item minibatch, then
    # the child on dev): a budget of three dev passes is not enough on a dev split of 4 or 5 items.
    plan = dev_sample_plan(dev_items=dev_items, max_metric_calls=needs, seed=0)
    assert plan["needs"] == needs
    assert needs - plan["size"] >= 2 * GEPA_MINIBATCH + plan["size"]


def test_a_dev_sample_keeps_the_gold_scores_in_proportion_and_the_same_seed_gives_the_same_sample(large_dev):
    dev = split_examples(large_dev["project"], "dev")

    sample = stratified_sample(dev, size=100, seed=3)

    assert len(sample) == 100
    assert [e.item_id for e in sample] == [e.item_id for e in stratified_sample(dev, size=100, seed=3)]
    assert [e.item_id for e in sample] != [e.item_id for e in stratified_sample(dev, size=100, seed=4)]
    whole, part = Counter(e.gold for e in dev), Counter(e.gold for e in sample)
    for gold, count in whole.items():
        assert abs(part[gold] - 100 * count / len(dev)) < 1  # largest remainders: off by less than one


def test_a_sampled_run_validates_on_exactly_the_items_chosen_at_launch(large_dev, monkeypatch):
    seen = {}
    original = runs.SEARCHES["gepa"]

    def spy(spec):
        seen["valset"] = [example.item_id for example in spec.valset]
        return original(spec)

    monkeypatch.setitem(runs.SEARCHES, "gepa", spy)

    run = launch(large_dev, max_metric_calls=300, seed=5)

    assert seen["valset"] == run.estimate["dev_sample"]["item_ids"] and len(seen["valset"]) == 100


# Malformed outputs


def test_a_malformed_output_is_a_prediction_without_a_score_not_an_error():
    from judging.program import judge_adapter, judge_program_for

    lm = dspy.utils.DummyLM([{"reasoning": "fine"}] * 3)  # no score field: the reply does not parse
    program = TolerantJudge(
        judge_program_for(scale_min=1, scale_max=5, instructions="Rate it.").judge.signature
    )
    with dspy.context(lm=lm, adapter=judge_adapter()):
        prediction = program(query="q", document="d")

    assert prediction.score is None


def test_gepa_still_shows_the_reflection_model_the_replies_that_broke_the_format(
    setup, malformed_30, monkeypatch
):
    reflection_prompts: list[str] = []
    original = budget_module.BudgetedLM.__call__

    def spy(self, *args, **kwargs):
        if self.model == "sim/reflector":
            reflection_prompts.append(f"{args} {kwargs.get('messages')}")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(budget_module.BudgetedLM, "__call__", spy)

    run = launch(setup, algorithm="gepa", max_metric_calls=200)

    assert run.status == "done" and reflection_prompts
    assert any("Your output failed to parse" in prompt for prompt in reflection_prompts)


def test_mipro_on_a_model_malformed_30_percent_of_the_time_finishes_with_candidates(large_dev, malformed_30):
    # 100 dev items (a sample of 675): some 30 malformed outputs in every pass, three times DSPy's max_errors.
    run = launch(large_dev, algorithm="mipro")

    assert (run.status, run.stop_reason, run.error) == ("done", "done", "")
    assert run.candidates.count() >= 1
    assert run.base_dev_score and run.base_dev_score > 0  # not every score 0.000
    assert any(candidate.dev_score > 0 for candidate in run.candidates.all())
    assert run.base_test_run is not None


def test_a_library_run_on_a_model_malformed_30_percent_of_the_time_finishes_and_resumes(
    large_dev, malformed_30
):
    setup = large_dev
    library_of(setup["project"], THEME_LINES.values())

    run = launch(setup, regime="library", max_metric_calls=600)

    assert (run.status, run.error) == ("done", "")
    assert run.candidates.count() >= 1 and run.best_version is not None

    OptimizationRun.objects.filter(pk=run.pk).update(status="failed", stop_reason="crashed")
    run.refresh_from_db()
    runs.optimization_run_resume(run=run)
    run.refresh_from_db()
    assert (run.status, run.error) == ("done", "")


# Library composition


def test_a_library_composition_keeps_the_base_text_and_is_compared_with_the_base(setup):
    library_of(setup["project"], THEME_LINES.values())
    base_text = setup["base"].instructions

    run = launch(setup, regime="library")

    assert run.base_dev_score is not None
    assert run.best_version is not None
    assert run.best_version.instructions.startswith(base_text)
    added = run.best_version.instructions[len(base_text) :].strip().splitlines()
    assert added and set(added) <= set(THEME_LINES.values())
    for candidate in run.candidates.all():
        assert candidate.prompt_version.instructions.startswith(base_text)
    assert run.candidates.get(prompt_version=run.best_version).dev_score > run.base_dev_score


def test_a_composition_that_is_not_better_than_the_base_is_not_the_best(setup):
    library_of(setup["project"], ["Prefer documents from the query's own domain."])

    run = launch(setup, regime="library")

    assert run.status == "done" and run.base_dev_score is not None
    assert run.best_version is None


def test_the_cli_algorithm_library_implies_the_library_regime(setup):
    library_of(setup["project"], THEME_LINES.values())

    call_command("optimize", setup["project"].slug, "--algorithm", "library", "--inline", stdout=StringIO())

    run = OptimizationRun.objects.get()
    assert (run.regime, run.algorithm, run.status) == ("library", "library", "done")


# The default base version


def test_the_default_base_version_is_production_else_the_newest_clean_hand_written_one(setup):
    project, small, base = setup["project"], setup["small"], setup["base"]
    PromptVersion.objects.filter(project=project).exclude(pk=base.pk).delete()
    PromptVersion.objects.create(
        project=project, target_model=small, instructions="leftover", origin="GEPA run #9", status="candidate"
    )
    PromptVersion.objects.create(
        project=project,
        target_model=small,
        instructions="copied text",
        guardrail_flags=[{"rule": "leakage", "detail": "x"}],
    )

    assert runs.default_base_version(project=project) == base
    assert OptimizationRunForm(project=project).fields["base_version"].initial == base.pk

    production = PromptVersion.objects.create(
        project=project, target_model=small, instructions="Rate 1 to 5.", status="production"
    )
    PromptVersion.objects.create(project=project, target_model=small, instructions="A newer draft.")
    assert runs.default_base_version(project=project, target_endpoint=small) == production
    assert OptimizationRunForm(project=project).fields["base_version"].initial == production.pk

    call_command("optimize", project.slug, "--max-metric-calls", "100", "--inline", stdout=StringIO())
    assert OptimizationRun.objects.get().base_version == production


# The dollar cap


def test_a_dollar_cap_is_overshot_by_at_most_one_call(setup, monkeypatch):
    ModelEndpoint.objects.filter(pk=setup["small"].pk).update(
        price_input_per_mtok=Decimal("100"), price_output_per_mtok=Decimal("100")
    )
    setup["small"].refresh_from_db()
    charges: list[Decimal] = []
    original = budget_module.Budget.charge

    def charge(self, dollars):
        charges.append(dollars)
        original(self, dollars)

    monkeypatch.setattr(budget_module.Budget, "charge", charge)
    cap = Decimal("0.5")

    run = launch(setup, algorithm="gepa", max_metric_calls=2000, max_dollars=cap)

    assert (run.status, run.stop_reason) == ("done", "dollar_cap")
    assert charges and run.dollars_spent == pytest.approx(sum(charges))
    assert run.dollars_spent <= cap + max(charges)
    assert run.dollars_spent > cap / 2  # it did spend up to the cap, not stop at once
