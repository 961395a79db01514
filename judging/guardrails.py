"""Guardrails on every candidate prompt and library instruction (DESIGN.md, Guardrails).

- leakage: a verbatim run of words from a training item's query or document, or a user name (a "rare
  term" check was tried and dropped: without a vocabulary it flagged plain words like "evidence" on
  small projects, and a guardrail that cries wolf gets ignored);
- invariants: the prompt still states the project's scale and keeps the output fields;
- length: a prompt may not grow past a maximum, or optimizers grow it without bound.

Each finding is a dict {"rule": ..., "detail": ...}: stored as it is on the prompt version or
instruction, shown to people as it is, and a non-empty list bars promotion.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

# Six words in a row from a training item are no accident in a general instruction.
LEAK_MIN_RUN = 6
DEFAULT_MAX_PROMPT_CHARS = 6000

# Apostrophes split words, so "alice's" still names alice.
_WORD_RE = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD_RE.findall(text or "")]


def _shingles(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def leakage_flags(
    text: str,
    *,
    training_texts: Iterable[str],
    user_names: Iterable[str] = (),
    reference_text: str = "",
    min_run: int = LEAK_MIN_RUN,
) -> list[dict]:
    """Verbatim runs of min_run+ words copied from a training text, and user names, found in text.

    reference_text is what the prompt may legitimately repeat (its base prompt, the rubric): a run or a
    name that already appears there is not a leak.
    """
    tokens = words(text)
    reference = words(reference_text)
    allowed = _shingles(reference, min_run)
    candidate = _shingles(tokens, min_run) - allowed
    flags: list[dict] = []
    if candidate:
        copied = candidate & _training_shingles(tuple(training_texts), min_run)
        for run in _merge_runs(tokens, copied, min_run)[:3]:
            flags.append({"rule": "leakage", "detail": f'copies training text verbatim: "{run}"'})
    reference_words = set(reference)
    token_set = set(tokens)
    for name in sorted({name.strip() for name in user_names if name and name.strip()}):
        name_words = words(name)
        if (
            len(name) >= 3
            and name_words
            and all(w in token_set for w in name_words)
            and not all(w in reference_words for w in name_words)
            and _contains_run(tokens, name_words)
        ):
            flags.append({"rule": "leakage", "detail": f'names a user: "{name}"'})
    return flags


@functools.lru_cache(maxsize=4)
def _training_shingles(training_texts: tuple[str, ...], size: int) -> frozenset[tuple[str, ...]]:
    """Every run of `size` words in the training texts; kept for the next candidate of the same run."""
    return frozenset(shingle for text in training_texts for shingle in _shingles(words(text), size))


def _contains_run(tokens: Sequence[str], run: Sequence[str]) -> bool:
    size = len(run)
    return any(list(tokens[i : i + size]) == list(run) for i in range(len(tokens) - size + 1))


def _merge_runs(tokens: Sequence[str], copied: set[tuple[str, ...]], size: int) -> list[str]:
    """Overlapping copied shingles joined back into the longest phrases, in prompt order."""
    phrases: list[str] = []
    i = 0
    while i <= len(tokens) - size:
        if tuple(tokens[i : i + size]) in copied:
            end = i + size
            while end - size + 1 <= len(tokens) - size and tuple(tokens[end - size + 1 : end + 1]) in copied:
                end += 1
            phrases.append(" ".join(tokens[i:end]))
            i = end
        else:
            i += 1
    return phrases


def invariant_flags(
    text: str, *, scale_min: int, scale_max: int, output_fields: Sequence[str] = (), base_text: str = ""
) -> list[dict]:
    """The candidate still states the scale (both ends, as numbers) and the output fields, where the base
    did ("still": a prompt composed from library lines never stated them, and the judge program's
    Literal score field enforces the scale anyway); the signature's own fields cannot change."""
    flags = []
    if _states_scale(base_text, scale_min, scale_max) and not _states_scale(text, scale_min, scale_max):
        flags.append(
            {"rule": "scale", "detail": f"no longer states the {scale_min}–{scale_max} scale of the project"}
        )
    base_words = set(words(base_text))
    text_words = set(words(text))
    for field in output_fields:
        if field.lower() in base_words and field.lower() not in text_words:
            flags.append({"rule": "output", "detail": f'no longer mentions the output field "{field}"'})
    return flags


def _states_scale(text: str, scale_min: int, scale_max: int) -> bool:
    numbers = set(re.findall(r"-?\d+", text or ""))
    return str(scale_min) in numbers and str(scale_max) in numbers


def length_flags(text: str, *, max_chars: int = DEFAULT_MAX_PROMPT_CHARS) -> list[dict]:
    if len(text or "") > max_chars:
        return [{"rule": "length", "detail": f"{len(text)} characters, over the maximum of {max_chars}"}]
    return []


def prompt_flags(
    text: str,
    *,
    scale_min: int,
    scale_max: int,
    training_texts: Sequence[str],
    user_names: Iterable[str] = (),
    base_text: str = "",
    output_fields: Sequence[str] = ("reasoning", "score"),
    max_chars: int = DEFAULT_MAX_PROMPT_CHARS,
) -> list[dict]:
    """Every guardrail on a candidate prompt, in one list (empty when clean)."""
    return [
        *leakage_flags(text, training_texts=training_texts, user_names=user_names, reference_text=base_text),
        *invariant_flags(
            text, scale_min=scale_min, scale_max=scale_max, output_fields=output_fields, base_text=base_text
        ),
        *length_flags(text, max_chars=max_chars),
    ]


def project_training_texts(project) -> list[str]:
    """The query and document of each of the project's training items: what a prompt may not copy."""
    return [
        f"{query}\n{document}"
        for query, document in project.items.filter(split="train").values_list("query", "document").iterator()
    ]


def version_flags(
    *, project, instructions: str, parent=None, training_texts=None, user_names=None
) -> list[dict]:
    """Every guardrail on a prompt version's whole text, whatever its origin."""
    from django.contrib.auth import get_user_model

    return prompt_flags(
        instructions,
        scale_min=project.scale_min,
        scale_max=project.scale_max,
        training_texts=project_training_texts(project) if training_texts is None else training_texts,
        user_names=get_user_model().objects.values_list("username", flat=True)
        if user_names is None
        else user_names,
        base_text=parent.instructions if parent is not None else "",
    )
