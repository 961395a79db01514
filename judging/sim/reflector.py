"""The simulated reflection / proposal model.

It answers three kinds of request:

1. DSPy adapter requests (ChatAdapter or JSONAdapter, see `dspy_format`): every requested output field is
   filled with a well-typed value. A field whose name mentions "instruction" (`new_instruction` of
   dspy.GEPA's built-in `InstructionProposer`, `proposed_instruction` of MIPROv2's GroundedProposer,
   `shortened_instruction`, ...) gets a rewritten instruction; the rest get short, sensible text.
2. GEPA's raw reflection prompt (`gepa.strategies.instruction_proposal.InstructionProposalSignature`:
   "I provided an assistant with the following instructions ... ```<instruction>``` ... Provide the new
   instructions within ``` blocks."): the reply is the new instruction inside a ``` block.
3. Anything else: a short plain-text answer.

Rewriting: the current instruction is kept verbatim (so the scale and output format it states survive),
and general lines are appended for the failure modes the feedback shows (at most two per proposal, most
frequent first): over-scored keyword stuffing / repeated terms, under-scored partial answers, output
that failed to parse, leniency on long documents. The lines use the words that `judge.CORRECTIONS`
recognises, so they fix the sim judge. With no feedback (MIPROv2) the lines are picked at random
(deterministically). About one proposal in four also copies a verbatim 8-word phrase from an example
document into the instruction, so the leakage guardrail has something to catch.
"""

from __future__ import annotations

import json
import re
from random import Random
from typing import Any

from judging.sim.dspy_format import DSPyRequest, default_value, format_reply, parse_sections
from judging.sim.judge import CORRECTIONS

LEAK_RATE = 0.25
LEAK_WORDS = 8
MAX_NEW_LINES = 2

THEME_LINES: dict[str, str] = {
    "keyword_stuffing": (
        "Do not reward keyword stuffing: a document that merely repeats the query terms without substantive "
        "content is not relevant, however often the terms appear."
    ),
    "partial_relevance": (
        "Give partial credit: a partially relevant document that answers part of the query deserves a middle "
        "score, not the lowest one."
    ),
    "output_format": (
        "Follow the output format exactly: always include the score field, as a single integer that is "
        "exactly one of the allowed values of the scale; never omit it, spell it out in words or go off "
        "the scale."
    ),
    "long_documents": (
        "Do not reward length: judge a long document by how much of the query it actually answers, "
        "regardless of its length."
    ),
}
THEME_ORDER = tuple(THEME_LINES)
GENERIC_LINES = (
    "Base the score on how directly and completely the document answers the query.",
    "Read the whole document before scoring and explain the main evidence in the reasoning.",
)

# Feedback evidence per theme: (strong, weak) patterns and the direction of error the theme explains.
# An example counts for a theme when its strong evidence matches and the example's direction (judge over /
# under the humans) does not contradict the theme, or when its weak evidence matches and the direction agrees.
THEME_EVIDENCE: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None, str | None]] = {
    "keyword_stuffing": (
        re.compile(
            r"keyword[- ]?stuff|stuffed|stuffing|repeats? (?:the )?(?:query )?(?:terms|keywords)|repetit",
            re.I,
        ),
        re.compile(r"(?:appear|repeated) \d+ times", re.I),
        "over",
    ),
    "partial_relevance": (
        re.compile(r"partial|part of the query", re.I),
        re.compile(r"not a full answer|mentions \d+ of \d+ query terms", re.I),
        "under",
    ),
    "output_format": (
        re.compile(
            r"failed to parse|couldn't parse|could not parse|malformed|no score|missing score|invalid score"
            r"|off[- ]scale|not on the scale|output format",
            re.I,
        ),
        None,
        None,
    ),
    "long_documents": (
        re.compile(r"long document|lengthy|verbose|length is not", re.I),
        re.compile(r"\blong\b|\d{3,} words", re.I),
        "over",
    ),
}
OVER_RE = re.compile(r"over by|too lenient|too high|overrat|over-scor|higher than", re.I)
UNDER_RE = re.compile(r"under by|too strict|too harsh|too low|underrat|under-scor|lower than", re.I)


def _examples(feedback: Any) -> list[str]:
    """Split the examples-with-feedback material into one text per example."""
    if isinstance(feedback, str):
        try:
            feedback = json.loads(feedback)
        except ValueError:
            chunks = re.split(r"(?m)^#{1,3} Example \d+\s*$", feedback)
            return [c for c in chunks if c.strip()] or [feedback]
    if isinstance(feedback, list):
        return [json.dumps(item) if not isinstance(item, str) else item for item in feedback]
    return [json.dumps(feedback) if not isinstance(feedback, str) else feedback]


def _documents(feedback: Any) -> list[str]:
    """Example documents quoted in the feedback material (for the deliberate leak)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and key.lower() in ("document", "passage", "doc"):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    if isinstance(feedback, str):
        try:
            walk(json.loads(feedback))
        except ValueError:
            for match in re.finditer(r"(?ms)^#{2,6} (?:document|passage)\s*\n(.*?)(?=^#|\Z)", feedback):
                found.append(match.group(1).strip())
            for match in re.finditer(r"(?m)^\s*\"?document\"?\s*[:=]\s*(.+)$", feedback):
                found.append(match.group(1).strip().strip("\"',"))
    else:
        walk(feedback)
    return [d for d in found if len(d.split()) >= LEAK_WORDS]


def themes_in_feedback(feedback: Any) -> list[str]:
    """Failure modes the feedback shows, most frequent first (ties in THEME_ORDER)."""
    counts = dict.fromkeys(THEME_ORDER, 0)
    for example in _examples(feedback):
        over, under = bool(OVER_RE.search(example)), bool(UNDER_RE.search(example))
        direction = "over" if over and not under else "under" if under and not over else None
        for theme, (strong, weak, wanted) in THEME_EVIDENCE.items():
            agrees = wanted is None or direction == wanted
            unknown = direction is None
            if strong.search(example) and (agrees or unknown):
                counts[theme] += 1
            elif weak is not None and weak.search(example) and agrees and not unknown:
                counts[theme] += 1
    return [t for t in sorted(THEME_ORDER, key=lambda t: (-counts[t], THEME_ORDER.index(t))) if counts[t]]


def addressed(instruction: str) -> set[str]:
    return {theme for theme, pattern in CORRECTIONS.items() if pattern.search(instruction or "")}


def rewrite_instruction(current: str, feedback: Any, rng: Random, *, has_feedback: bool = True) -> str:
    """The current instruction plus general lines for the failure modes the feedback shows."""
    current = (current or "").strip()
    done = addressed(current)
    if has_feedback:
        themes = [t for t in themes_in_feedback(feedback) if t not in done][:MAX_NEW_LINES]
    else:
        pool = [t for t in THEME_ORDER if t not in done]
        rng.shuffle(pool)
        themes = pool[: rng.randint(0, min(MAX_NEW_LINES, len(pool)))]
    lines = [THEME_LINES[t] for t in themes]
    if not lines:
        lines = [line for line in GENERIC_LINES if line not in current][:1]

    documents = _documents(feedback)
    if documents and rng.random() < LEAK_RATE:
        document = documents[rng.randrange(len(documents))]
        doc_words = document.split()
        start = rng.randrange(len(doc_words) - LEAK_WORDS + 1)
        phrase = " ".join(doc_words[start : start + LEAK_WORDS])
        lines.append(f'For example, a document saying "{phrase}" shows what to look for.')

    if not lines:
        return current
    return (current + "\n" + "\n".join(lines)).strip()


DESCRIPTIONS = {
    "observation": (
        "The examples are query-document pairs, each rated for relevance on an ordinal scale. Documents "
        "range from unrelated to complete answers; some repeat query terms without substance, some answer "
        "only part of the query."
    ),
    "summary": (
        "Query-document pairs rated for relevance on an ordinal scale; the hard cases are keyword-stuffed "
        "documents, partial answers and long documents."
    ),
    "description": (
        "The program reads a query and a document and judges how relevant the document is to the query, "
        "writing its reasoning and a score on the project's scale."
    ),
    "reasoning": "I considered the inputs, the task and the feedback, and wrote the requested fields.",
}


def _text_for(name: str) -> str:
    lowered = name.lower()
    for key, text in DESCRIPTIONS.items():
        if key in lowered:
            return text
    return f"{name.replace('_', ' ').capitalize()}: based on the inputs above."


def _current_instruction(values: dict[str, str]) -> str:
    for name in (
        "current_instruction",
        "basic_instruction",
        "instruction",
        "instructions",
        "current_instructions",
    ):
        if values.get(name):
            return values[name]
    return next((v for k, v in values.items() if "instruction" in k and "previous" not in k), "")


def reflector_fields(request: DSPyRequest, rng: Random) -> str:
    """Reply to any DSPy adapter request by filling every output field."""
    values = request.values
    feedback_keys = [k for k in values if "feedback" in k or k in ("examples", "dataset_with_feedback")]
    has_feedback = any("feedback" in k for k in feedback_keys)
    feedback: Any = values[feedback_keys[0]] if feedback_keys else "\n\n".join(values.values())
    fields: list[tuple[str, Any]] = []
    for spec in request.output_fields:
        if "instruction" in spec.name.lower() and spec.base_type == "str":
            if spec.name.startswith("shortened") and values.get("instruction"):
                value = _shorten(values["instruction"])
            else:
                value = rewrite_instruction(
                    _current_instruction(values), feedback, rng, has_feedback=has_feedback
                )
            fields.append((spec.name, value or "Judge how relevant the document is to the query."))
        else:
            fields.append((spec.name, default_value(spec, _text_for(spec.name))))
    return format_reply(fields, request.style)


def _shorten(instruction: str) -> str:
    """Drop repeated lines and squeeze whitespace (the sim's idea of compression)."""
    seen: list[str] = []
    for line in instruction.splitlines():
        line = " ".join(line.split())
        if line and line not in seen:
            seen.append(line)
    return "\n".join(seen)


GEPA_PROMPT_MARK = "I provided an assistant with the following instructions"


def reflector_raw(prompt: str, rng: Random) -> str:
    """Reply to a plain prompt: GEPA's raw reflection template, or anything else."""
    if GEPA_PROMPT_MARK in prompt:
        block = re.search(r"```[^\n`]*\n(.*?)\n```", prompt, re.S)
        current = block.group(1) if block else ""
        side_info = prompt[block.end() :] if block else prompt
        new = rewrite_instruction(current, side_info, rng)
        return f"```\n{new}\n```"
    sections = parse_sections(prompt)
    if sections:
        return "\n".join(f"{name}: {_text_for(name)}" for name in sections)
    return "This is a simulated reply (sim/reflector): no real model was called."
