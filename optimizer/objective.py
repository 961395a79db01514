"""What a search optimizes: the items of a split with gold as DSPy examples, DESIGN.md's objective as
a metric with feedback, and the vetted library lines a composition may choose from."""

from __future__ import annotations

import random

import dspy

from judging.metrics import example_score
from labeling.gold import gold_scores
from labeling.models import Item, Label, Project
from labeling.selectors import project_split_counts
from optimizer.feedback import feedback_string, rejection_feedback
from optimizer.search import GEPA_MINIBATCH


def gold_counts(project: Project) -> dict[str, int]:
    """Items with gold (at least one label) per split, in one query."""
    return {row["split"]: row["labeled"] for row in project_split_counts(project=project)}


def library_lines(project: Project) -> list[str]:
    from optimizer.selectors import library_instructions

    # A flagged instruction is kept in the library for the reviewers to fix, but it is not vetted.
    return [instruction.text for instruction in library_instructions(project) if not instruction.is_flagged]


def split_examples(project: Project, split: str) -> list[dspy.Example]:
    """Items of a split with gold, as DSPy examples carrying what the metric's feedback needs."""
    items = Item.objects.filter(project=project, split=split)
    gold = gold_scores(items)
    rationales: dict[int, list[str]] = {}
    for item_id, rationale in (
        Label.objects.filter(item__in=gold.keys()).order_by("id").values_list("item_id", "rationale")
    ):
        rationales.setdefault(item_id, []).append(rationale)
    return [
        dspy.Example(
            item_id=item_id,
            query=query,
            document=document,
            gold=gold[item_id],
            rationales=rationales.get(item_id, []),
        ).with_inputs("query", "document")
        for item_id, query, document in items.filter(pk__in=gold.keys())
        .order_by("id")
        .values_list("id", "query", "document")
    ]


def objective_metric(*, project: Project, bullets: dict[int, str]):
    """DESIGN.md's objective as a score in [0, 1], with feedback for GEPA: the reviewers' approved bullet
    for the item where the judge still disagrees with it, else a freshly built feedback string."""

    def metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
        rejected = getattr(pred, "rejected", None)
        if rejected:
            # The prompt never reached the judge: the guardrails rejected it (optimizer.search).
            return dspy.Prediction(score=0.0, feedback=rejection_feedback(rejected))
        judged = getattr(pred, "score", None)
        if not isinstance(judged, int) or not project.scale_min <= judged <= project.scale_max:
            judged = None
        score = example_score(
            gold=gold.gold, judged=judged, scale_min=project.scale_min, scale_max=project.scale_max
        )
        if judged is not None and judged == gold.gold:
            feedback = f"judge {judged}, humans {judged}: agreed. Keep what made this right."
        elif gold.item_id in bullets and judged is not None:
            feedback = bullets[gold.item_id]
        else:
            feedback = feedback_string(
                judge_score=judged,
                gold=gold.gold,
                scale_min=project.scale_min,
                scale_max=project.scale_max,
                human_rationales=gold.rationales,
                judge_reasoning=str(getattr(pred, "reasoning", "") or ""),
                guardrail_text=project.guardrail_text,
                raw_output=str(getattr(pred, "raw_output", "") or ""),
                missing_fields=getattr(pred, "missing", None) or (),
            )
        return dspy.Prediction(score=score, feedback=feedback)

    return metric


def approved_bullets(project: Project) -> dict[int, str]:
    from optimizer.selectors import approved_feedback_by_item

    return approved_feedback_by_item(project=project)


# A search spends one pass over the validation set on the base, and another on every candidate worth
# keeping: a valset of at most a third of the budget leaves GEPA room for several proposals.
VALSET_SHARE_OF_BUDGET = 3
MIN_DEV_SAMPLE = 20  # fewer dev items and the dev objective is noise (±0.06 from a mere rewording)


def dev_sample_plan(*, dev_items: int, max_metric_calls: int, seed: int) -> dict:
    """How many dev items a search of this budget evaluates: all of them if a pass fits in a third of
    the budget, else a stratified sample that does. `needs` is the budget below which even the
    smallest useful sample does not fit (the launch is then refused)."""
    fits = max_metric_calls // VALSET_SHARE_OF_BUDGET
    smallest = min(dev_items, MIN_DEV_SAMPLE)
    plan = {
        "size": min(dev_items, fits),
        "of": dev_items,
        "smallest": smallest,
        "seed": seed,
        # A third of the budget for the pass, and never less than the base's pass plus GEPA's worst case
        # for one iteration (parent and child on a minibatch, the child on the valset): GEPA starts no
        # iteration it cannot finish, so a smaller budget would end with no proposal at all.
        "needs": max(smallest * VALSET_SHARE_OF_BUDGET, 2 * smallest + 2 * GEPA_MINIBATCH),
        "sampled": fits < dev_items,
    }
    if plan["sampled"]:
        plan["note"] = (
            f"dev sample: {plan['size']:,} of {dev_items:,} items, stratified by gold score (seed {seed}), "
            f"because the budget of {max_metric_calls:,} calls covers one pass over at most "
            f"{fits:,} items and a search needs room for proposals"
        )
    return plan


def stratified_sample(examples: list[dspy.Example], *, size: int, seed: int) -> list[dspy.Example]:
    """`size` examples, each gold score represented as in the whole (largest remainders), drawn with a
    fixed seed; returned in item order, so the same split, size and seed give the same sample."""
    if size >= len(examples):
        return list(examples)
    strata: dict[float, list[dspy.Example]] = {}
    for example in sorted(examples, key=lambda example: example.item_id):
        strata.setdefault(float(example.gold), []).append(example)
    shares = {gold: size * len(members) / len(examples) for gold, members in strata.items()}
    counts = {gold: int(share) for gold, share in shares.items()}
    by_remainder = sorted(shares, key=lambda gold: (-(shares[gold] - counts[gold]), gold))
    for gold in by_remainder[: size - sum(counts.values())]:
        counts[gold] += 1
    rng = random.Random(seed)
    chosen = [example for gold in sorted(strata) for example in rng.sample(strata[gold], counts[gold])]
    return sorted(chosen, key=lambda example: example.item_id)
