"""The feedback string: one judge-vs-human disagreement in the shape DESIGN.md fixes.

Reviewers read and edit exactly this text as a bullet, and GEPA receives exactly this text as the
per-example feedback of its metric, so both go through feedback_string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def gap_phrase(*, judge_score: int, gold: float) -> str:
    """'judge 5, humans 2: over by 3' — the prediction, gold and the signed gap."""
    delta = judge_score - gold
    if delta > 0:
        gap = f"over by {_number(delta)}"
    elif delta < 0:
        gap = f"under by {_number(-delta)}"
    else:
        gap = "agreed"
    return f"judge {_number(judge_score)}, humans {_number(gold)}: {gap}"


def direction_phrase(*, judge_score: int, gold: float) -> str:
    if judge_score > gold:
        return "The judge was too lenient."
    if judge_score < gold:
        return "The judge was too strict."
    return "The judge agreed with the humans."


def feedback_string(
    *,
    judge_score: int | None,
    gold: float,
    scale_min: int,
    scale_max: int,
    human_rationales: Iterable[str],
    judge_reasoning: str,
    guardrail_text: str,
    raw_output: str = "",
    missing_fields: Iterable[str] = (),
) -> str:
    """One disagreement, in order: prediction vs gold with the signed gap, the direction in words, the
    human rationale (when one was given), the judge's reasoning, the project's guardrail text.

    A malformed judgment (judge_score None) says so instead of a gap, and names the scale it missed;
    a reply that parsed only in part (say a reasoning but no score) also names the missing fields and
    quotes the reply, so the reflection model sees what broke.
    """
    if judge_score is None:
        head = (
            f"judge gave no valid score, humans {_number(gold)}: the output did not parse to an integer "
            f"from {scale_min} to {scale_max}."
        )
        direction = "The judge broke the output format."
        reasoning = (judge_reasoning or raw_output or "").strip()
    else:
        head = gap_phrase(judge_score=judge_score, gold=gold) + "."
        direction = direction_phrase(judge_score=judge_score, gold=gold)
        reasoning = (judge_reasoning or "").strip()
    rationales = [text.strip() for text in human_rationales if text and text.strip()]
    lines = [head, direction]
    # Labels imported without rationales would repeat "(none given)" on every bullet: say nothing instead.
    if rationales:
        lines.append("Human rationale: " + " / ".join(rationales))
    lines.append("Judge reasoning: " + (reasoning or "(none given)"))
    missing = [name for name in missing_fields if name]
    if judge_score is None and missing:
        names = ", ".join(f"`{name}`" for name in missing)
        lines.append(
            f"The reply was missing its {names} field{'s' if len(missing) > 1 else ''}: "
            f"the score was missing, so the item counted as the worst case."
            if "score" in missing
            else f"The reply was missing its {names} field{'s' if len(missing) > 1 else ''}."
        )
        if raw_output.strip():
            lines.append("The broken reply was:\n" + raw_output.strip()[:1500])
    if guardrail_text.strip():
        lines.append("Guardrail: " + guardrail_text.strip())
    return "\n".join(lines)


def rejection_feedback(findings: Sequence[dict]) -> str:
    """What the reflection model reads about a proposal the guardrails rejected before evaluation."""
    reasons = "; ".join(f"{finding['rule']}: {finding['detail']}" for finding in findings)
    return (
        f"Rejected before evaluation by Flywheel's guardrails ({reasons}). A new instruction must be an "
        "instruction for the judge itself, state the project's score scale, name the output fields "
        "(reasoning, score) and never copy text from the examples."
    )
