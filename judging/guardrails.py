"""Guardrails on every prompt version and library instruction, whatever its origin (DESIGN.md, Guardrails).

- leakage: a verbatim run of words from a training item's query or document, a rare term that occurs
  only in training items, or a user name;
- invariants: the prompt states the project's scale (and no other) and keeps the output fields;
- length: a prompt may not grow past a maximum, or optimizers grow it without bound.

They always read the whole text: a copy inherited from a parent is still a copy. Only the project's own
rubric, guardrail text and score meanings may be repeated. Each finding is a dict {"rule": ..., "detail":
...}: stored as it is on the prompt version or instruction, shown to people as it is, and a non-empty list
bars promotion.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model

from labeling.importing import LABEL_SOURCE_GROUP
from labeling.roles import ROLES

# Six words in a row from a training item are no accident in a general instruction.
LEAK_MIN_RUN = 6
MAX_PROMPT_CHARS = 8000
OUTPUT_FIELDS = ("reasoning", "score")
# A term is rare when at most this many training items (or 1% of them, if more) hold it.
RARE_TERM_MAX_ITEMS = 3
# Shorter words are too often abbreviations or plain words to call one a leak.
RARE_TERM_MIN_LENGTH = 4

# Apostrophes split words, so "alice's" still names alice.
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_COMMON_WORDS_FILE = Path(__file__).with_name("common_words.txt")


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD_RE.findall(text or "")]


def _shingles(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


# Leakage


def leakage_flags(
    text: str,
    *,
    training_texts: Iterable[str],
    user_names: Iterable[str] = (),
    reference_text: str = "",
    min_run: int = LEAK_MIN_RUN,
) -> list[dict]:
    """Verbatim runs of min_run+ words copied from a training text, and user names, found in text.

    reference_text is what the prompt may legitimately repeat (the project's rubric and guardrail text,
    never a parent prompt): a run or a name that already appears there is not a leak.
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


@functools.cache
def common_words() -> frozenset[str]:
    """A small general English vocabulary shipped with Flywheel: words no project's data owns."""
    lines = _COMMON_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _is_ordinary(word: str, ordinary: frozenset[str] | set[str]) -> bool:
    """In the vocabulary as it is or with a plain English ending taken off ("documents", "stated")."""
    if word in ordinary:
        return True
    for ending in ("s", "es", "ed", "d", "ing", "ly", "er", "ers"):
        if word.endswith(ending) and word[: -len(ending)] in ordinary:
            return True
    return False


def training_term_counts(training_texts: Iterable[str]) -> Counter:
    """How many training texts hold each word."""
    counts: Counter = Counter()
    for text in training_texts:
        counts.update(set(words(text)))
    return counts


def rare_term_flags(
    text: str, *, training_counts: Counter, ordinary_words: frozenset[str] | set[str], training_items: int
) -> list[dict]:
    """Words of the text that occur only in training items, and in few of them: a name, a product, a
    place from one example, which a general instruction has no business knowing. A word of the other
    splits, of the project's rubric or of the common vocabulary is never one."""
    most = max(RARE_TERM_MAX_ITEMS, training_items // 100)
    rare = []
    for word in dict.fromkeys(words(text)):
        if (
            len(word) >= RARE_TERM_MIN_LENGTH
            and not word[0].isdigit()  # "1950s", "21st", "100mg": figures, not names
            and 0 < training_counts.get(word, 0) <= most
            and not _is_ordinary(word, ordinary_words)
            and not _is_ordinary(word, common_words())
        ):
            rare.append(word)
    if not rare:
        return []
    shown = ", ".join(f'"{word}"' for word in rare[:5])
    return [{"rule": "leakage", "detail": f"uses terms found only in training items: {shown}"}]


# Invariants

# A number, not the minus of "0-3": a minus counts only where no word or digit comes right before it.
_NUM = r"(?<![\w.])(-?\d+)(?![\w.]\d)"
_SCALE_RANGES = re.compile(
    rf"\bfrom\s+{_NUM}(?:\s*\([^)]{{0,80}}\))?[^.;:\d]{{0,60}}?\bto\s+{_NUM}"
    rf"|\bbetween\s+{_NUM}\s+and\s+{_NUM}"
    rf"|{_NUM}\s*(?:-|–|—|\.\.|\bto\b|\bthrough\b)\s*{_NUM}",
    re.IGNORECASE,
)
# Words that make a range of numbers a statement of the scale, when they come just before it.
_SCALE_WORDS = re.compile(r"\b(scal\w*|scor\w*|rat(e|es|ed|ing)|grad\w*|label\w*|relevance|points?)\b", re.I)
_SCALE_CONTEXT_CHARS = 60


def stated_scales(text: str) -> list[tuple[int, int]]:
    """The score ranges the text states: "0-3", "0–3", "0 to 3", "from 0 (…) to 3", "between 0 and 3"
    after a word such as "scale", "score" or "rate"."""
    found = []
    for match in _SCALE_RANGES.finditer(text or ""):
        low, high = (int(n) for n in match.groups() if n is not None)
        before = text[max(0, match.start() - _SCALE_CONTEXT_CHARS) : match.start()]
        if low < high and (_SCALE_WORDS.search(before) or _SCALE_WORDS.search(match.group(0))):
            found.append((low, high))
    return found


def _states_scale(text: str, scale_min: int, scale_max: int) -> bool:
    """The text states the scale as a range, or at least names both ends as numbers ("0 means …")."""
    if (scale_min, scale_max) in stated_scales(text) or f"{scale_min}-{scale_max}" in (text or ""):
        return True
    numbers = {int(n) for n in re.findall(_NUM, text or "")}
    return scale_min in numbers and scale_max in numbers


def invariant_flags(
    text: str,
    *,
    scale_min: int,
    scale_max: int,
    output_fields: Sequence[str] = OUTPUT_FIELDS,
    base_text: str = "",
) -> list[dict]:
    """The prompt states the project's scale and no other (checked against the project, so a first
    version with nothing before it must state it too), and still names the output fields its base named
    (the signature's own fields cannot change)."""
    flags = []
    other = sorted({scale for scale in stated_scales(text) if scale != (scale_min, scale_max)})
    if other:
        shown = ", ".join(f"{low}–{high}" for low, high in other)
        flags.append(
            {"rule": "scale", "detail": f"states a {shown} scale; the project's is {scale_min}–{scale_max}"}
        )
    elif not _states_scale(text, scale_min, scale_max):
        flags.append(
            {"rule": "scale", "detail": f"does not state the project's {scale_min}–{scale_max} scale"}
        )
    base_words = set(words(base_text))
    text_words = set(words(text))
    for field in output_fields:
        if field.lower() in base_words and field.lower() not in text_words:
            flags.append({"rule": "output", "detail": f'no longer mentions the output field "{field}"'})
    return flags


def length_flags(text: str, *, max_chars: int = MAX_PROMPT_CHARS) -> list[dict]:
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
    reference_text: str = "",
    base_text: str = "",
    output_fields: Sequence[str] = OUTPUT_FIELDS,
    max_chars: int = MAX_PROMPT_CHARS,
) -> list[dict]:
    """Every guardrail on a prompt, but the rare-term rule (which needs the project's other splits), in
    one list (empty when clean). base_text is the parent's prompt: only its output fields count."""
    return [
        *leakage_flags(
            text, training_texts=training_texts, user_names=user_names, reference_text=reference_text
        ),
        *invariant_flags(
            text, scale_min=scale_min, scale_max=scale_max, output_fields=output_fields, base_text=base_text
        ),
        *length_flags(text, max_chars=max_chars),
    ]


# One project's guardrails


@dataclass(frozen=True)
class ProjectGuardrails:
    """What the guardrails of one project read, gathered once (an optimizer run checks many candidates)."""

    scale_min: int
    scale_max: int
    training_texts: tuple[str, ...]
    training_counts: Counter
    ordinary_words: frozenset[str]
    reference_text: str
    user_names: tuple[str, ...]
    # Findings by (text, base text): an optimizer run screens a proposal before evaluating it and checks
    # it again when it records it as a version; the second check is a lookup.
    checked: dict[tuple[str, str], list[dict]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def leakage(self, text: str) -> list[dict]:
        return [
            *leakage_flags(
                text,
                training_texts=self.training_texts,
                user_names=self.user_names,
                reference_text=self.reference_text,
            ),
            *rare_term_flags(
                text,
                training_counts=self.training_counts,
                ordinary_words=self.ordinary_words,
                training_items=len(self.training_texts),
            ),
        ]

    def prompt(self, text: str, *, base_text: str = "") -> list[dict]:
        found = self.checked.get((text, base_text))
        if found is None:
            found = self.checked[text, base_text] = [
                *self.leakage(text),
                *invariant_flags(
                    text, scale_min=self.scale_min, scale_max=self.scale_max, base_text=base_text
                ),
                *length_flags(text),
            ]
        return [dict(finding) for finding in found]


def project_guardrails(
    project, *, training_texts: Sequence[str] | None = None, user_names: Iterable[str] | None = None
) -> ProjectGuardrails:
    """The project's guardrails: its training items are what a prompt may not copy; its other splits,
    rubric, guardrail text and score meanings are ordinary words; the people are every user but the
    label sources an import named (such as "nist")."""
    if training_texts is None:
        training_texts = [
            f"{query}\n{document}"
            for query, document in project.items.filter(split="train")
            .values_list("query", "document")
            .iterator()
        ]
    users = get_user_model().objects
    if user_names is None:
        user_names = users.values_list("username", flat=True)
    label_sources = set(users.filter(groups__name=LABEL_SOURCE_GROUP).values_list("username", flat=True))
    # The demo's accounts are named after their roles: "the reviewer" is no leak.
    reference_text = "\n".join(
        [project.rubric, project.guardrail_text, *_scale_meanings(project), *ROLES, _program_text(project)]
    )
    ordinary = set(words(reference_text))
    for query, document in project.items.exclude(split="train").values_list("query", "document").iterator():
        ordinary.update(words(query))
        ordinary.update(words(document))
    return ProjectGuardrails(
        scale_min=project.scale_min,
        scale_max=project.scale_max,
        training_texts=tuple(training_texts),
        training_counts=training_term_counts(training_texts),
        ordinary_words=frozenset(ordinary),
        reference_text=reference_text,
        user_names=tuple(name for name in user_names if name not in label_sources),
    )


def _program_text(project) -> str:
    """What the judge program itself tells the model about its fields ("score: relevance, an integer from 0
    to 3"): a prompt that repeats it names nothing of the training items, whatever words they hold."""
    from judging.program import judge_signature

    signature = judge_signature(scale_min=project.scale_min, scale_max=project.scale_max, instructions="")
    return "\n".join(
        f"{name}: {(field.json_schema_extra or {}).get('desc', '')}"
        for name, field in signature.fields.items()
    )


def _scale_meanings(project) -> list[str]:
    meanings = project.scale_descriptions or {}
    if isinstance(meanings, dict):
        return [str(value) for value in meanings.values()]
    if isinstance(meanings, list):
        return [str(value) for value in meanings]
    return []


def version_flags(
    *, project, instructions: str, parent=None, guardrails: ProjectGuardrails | None = None
) -> list[dict]:
    """Every guardrail on a prompt version's whole text (its instructions), whatever its origin. Few-shot
    demos are examples of items by design, so copies in them are not leaks."""
    guardrails = guardrails or project_guardrails(project)
    return guardrails.prompt(instructions, base_text=parent.instructions if parent is not None else "")
