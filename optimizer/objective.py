"""What a search optimizes: the items of a split with gold as DSPy examples, DESIGN.md's objective as
a metric with feedback, and the vetted library lines a composition may choose from."""

from __future__ import annotations

import dspy

from judging.metrics import example_score
from labeling.gold import gold_scores
from labeling.models import Item, Label, Project
from labeling.selectors import project_split_counts
from optimizer.feedback import feedback_string


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
            )
        return dspy.Prediction(score=score, feedback=feedback)

    return metric


def approved_bullets(project: Project) -> dict[int, str]:
    from optimizer.selectors import approved_feedback_by_item

    return approved_feedback_by_item(project=project)
