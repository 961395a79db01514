"""The simulated judge: scores query–document relevance from lexical evidence, with named flaws.

Evidence (see `evidence()`): the query's content terms (stop words dropped, crude stemming), which of
them occur in the document (coverage = matched / all), how often (occurrences, density = occurrences /
document words), and the document's length.

- A document is *keyword-stuffed* when query terms occur 6+ times and make up 25%+ of its words (or one
  term repeats 4+ times in a document whose distinct-word ratio is below 0.55).
- A document is *partially relevant* when 0 < coverage < 1, and *long* at 150+ words.

The honest score is `min + coverage · (max − min)`, rounded half up. The flaws (per profile, see
`registry.JUDGE_PROFILES`) and the instruction text that corrects each one (`CORRECTIONS`):

- keyword_stuffing: a stuffed document scores `min + strength · (max − min)` whatever its coverage
  (strength 1.0 for the small judge: the top score; 0.6 for the large one). Corrected by
  instructions mentioning keyword stuffing / repeated query terms: a stuffed document then gets `min`.
- partial_relevance: a partially relevant document gets half its credit, rounded down. Corrected by
  instructions mentioning partial relevance / partial answers / partial credit.
- output_format: a share of outputs is malformed (the score field is missing, spelled out as a word,
  off the scale, or the reply has no field markers). Instructions insisting on the output format / the
  exact scale ("exactly one of", "a single integer", "never omit", "output format") cut the rate.
- long_documents: a long document gets one point extra (and escapes the partial-relevance flaw: it
  looks thorough). Corrected by "do not reward length",
  "regardless of length", "length alone", ...

On top of that a small share of scores moves one point at random. Every random draw comes from a hash
of (model, the whole prompt: system message + demos + the inputs), so the same request always gets the
same reply, and a different instruction may change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from random import Random

from judging.sim.dspy_format import DSPyRequest, FieldSpec, default_value, format_reply
from judging.sim.registry import JudgeProfile
from judging.sim.text import STOPWORDS, content_terms, stem, words

CORRECTIONS: dict[str, re.Pattern[str]] = {
    "keyword_stuffing": re.compile(
        r"keyword[- ]?stuff|stuff(?:ed|ing)\b"
        r"|repeat(?:s|ed|ing)? (?:the )?(?:query )?(?:terms|keywords|words)"
        r"|repetition of (?:the )?(?:query )?(?:terms|keywords|words)",
        re.I,
    ),
    "partial_relevance": re.compile(
        r"partial(?:ly)?[- ]?(?:relevan|answer|credit|match)|answers? (?:only )?part of", re.I
    ),
    "output_format": re.compile(
        r"output format|exactly one of|exact scale|never (?:omit|spell|write)"
        r"|(?:single|one) (?:integer|digit)"
        r"|must be (?:a |an )?(?:single )?(?:integer|digit|number|one of)|format strictly",
        re.I,
    ),
    "long_documents": re.compile(
        r"do not reward length|don't reward length|length alone"
        r"|regardless of (?:its |their |document )?length"
        r"|not (?:by|on) (?:how long|(?:its |their )?length)|longer is not better",
        re.I,
    ),
}

STUFFING_MIN_OCCURRENCES = 6
STUFFING_MIN_DENSITY = 0.25
LONG_DOCUMENT_WORDS = 150
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
MALFORMED_KINDS = ("missing_score", "word_score", "off_scale", "no_markers")


@dataclass(frozen=True)
class Evidence:
    terms: list[str]
    surface: dict[str, str]
    matched: list[str]
    occurrences: int
    n_words: int
    density: float
    distinct_ratio: float
    max_repeat: int

    @property
    def coverage(self) -> float:
        return len(self.matched) / len(self.terms) if self.terms else 0.0

    @property
    def stuffed(self) -> bool:
        if self.occurrences < STUFFING_MIN_OCCURRENCES:
            return False
        return self.density >= STUFFING_MIN_DENSITY or (self.max_repeat >= 4 and self.distinct_ratio < 0.55)

    @property
    def partial(self) -> bool:
        return 0.0 < self.coverage < 1.0

    @property
    def long(self) -> bool:
        return self.n_words >= LONG_DOCUMENT_WORDS


def evidence(query: str, document: str) -> Evidence:
    terms = content_terms(query)
    surface: dict[str, str] = {}
    for word in words(query):
        if word not in STOPWORDS:
            surface.setdefault(stem(word), word)
    doc_words = words(document)
    counts = dict.fromkeys(terms, 0)
    for word in doc_words:
        key = stem(word)
        if key in counts:
            counts[key] += 1
    occurrences = sum(counts.values())
    n = len(doc_words)
    return Evidence(
        terms=terms,
        surface=surface,
        matched=[t for t in terms if counts[t] > 0],
        occurrences=occurrences,
        n_words=n,
        density=occurrences / n if n else 0.0,
        distinct_ratio=len(set(doc_words)) / n if n else 1.0,
        max_repeat=max(counts.values(), default=0),
    )


def corrections_in(text: str) -> set[str]:
    """The failure modes that `text` (instructions) addresses."""
    return {name for name, pattern in CORRECTIONS.items() if pattern.search(text or "")}


@dataclass(frozen=True)
class Scale:
    lo: int
    hi: int
    allowed: tuple[int, ...]


def find_scale(score_field: FieldSpec | None, instructions: str) -> Scale:
    if score_field is not None:
        options = score_field.literal_options
        if options:
            try:
                ints = sorted(int(o) for o in options)
                return Scale(ints[0], ints[-1], tuple(ints))
            except (TypeError, ValueError):
                pass
    match = re.search(r"\b(\d{1,2})\s*(?:-|–|to|\.\.)\s*(\d{1,2})\b", instructions or "")
    if match and int(match[1]) < int(match[2]) <= 10:
        lo, hi = int(match[1]), int(match[2])
        return Scale(lo, hi, tuple(range(lo, hi + 1)))
    return Scale(1, 5, (1, 2, 3, 4, 5))


def find_score_field(request: DSPyRequest) -> FieldSpec | None:
    named = request.output("score")
    if named is not None:
        return named
    for spec in request.output_fields:
        options = spec.literal_options
        if options and all(isinstance(o, int) for o in options):
            return spec
    return next((s for s in request.output_fields if s.base_type == "int"), None)


def _pick_input(request: DSPyRequest, names: tuple[str, ...], position: int) -> str:
    for name in names:
        if name in request.values:
            return request.values[name]
    ordered = [request.values.get(f.name, "") for f in request.input_fields]
    return ordered[position] if len(ordered) > position else ""


@dataclass(frozen=True)
class JudgeDecision:
    score: int
    reasoning: str
    malformed: str | None  # None or one of MALFORMED_KINDS


def decide(profile: JudgeProfile, instructions: str, query: str, document: str, scale: Scale, rng: Random):
    """The judge's verdict on one item (before output formatting)."""
    # Draw every random number up front, in a fixed order, so the draws never depend on the branch taken.
    u_malformed, u_kind, u_noise, u_dir, u_off = (rng.random() for _ in range(5))
    fixed = corrections_in(instructions)
    ev = evidence(query, document)
    span = scale.hi - scale.lo
    notes = []
    shown = [ev.surface.get(t, t) for t in ev.matched[:5]]
    notes.append(
        f"The document ({ev.n_words} words) mentions {len(ev.matched)} of {len(ev.terms)} query terms"
        + (f" ({', '.join(shown)})." if shown else ".")
    )

    fraction = ev.coverage
    floor = False  # a judge that misses partial relevance rounds its half credit down
    lenient_long = ev.long and profile.lenient_on_long and "long_documents" not in fixed
    if ev.partial:
        # A long document looks thorough to a judge lenient on length: it gets full partial credit, plus one.
        if profile.misses_partial and "partial_relevance" not in fixed and not lenient_long:
            fraction = ev.coverage * 0.5
            floor = True
            notes.append("It does not cover the whole query, so it is not a full answer.")
        else:
            notes.append("It answers part of the query, so it earns partial credit.")
    elif ev.coverage == 0:
        notes.append("None of the query terms appear; it looks unrelated.")
    raw = scale.lo + fraction * span

    if ev.stuffed and profile.stuffing_strength > 0:
        if "keyword_stuffing" in fixed:
            raw = scale.lo
            notes.append(
                f"The query terms are repeated {ev.occurrences} times with little substance around them "
                "(keyword stuffing), so it earns no credit."
            )
        else:
            raw = scale.lo + profile.stuffing_strength * span
            notes.append(f"Query terms appear {ev.occurrences} times, which signals a strong match.")
    elif ev.coverage == 1:
        notes.append("It addresses every part of the query.")

    if lenient_long:
        raw += 1
        notes.append("It is long and detailed, which suggests thorough coverage.")

    score = int(raw) if floor else int(raw + 0.5)
    if u_noise < profile.noise_rate:
        score += 1 if u_dir < 0.5 else -1
    score = min(scale.hi, max(scale.lo, score))
    if score not in scale.allowed:
        score = min(scale.allowed, key=lambda v: abs(v - score))

    rate = profile.malformed_rate_corrected if "output_format" in fixed else profile.malformed_rate
    malformed = MALFORMED_KINDS[int(u_kind * len(MALFORMED_KINDS))] if u_malformed < rate else None
    if malformed == "off_scale":
        # Remember the off-scale value in the score slot: above the top, or below zero.
        score = scale.hi + 1 + int(u_off * 5) if u_off < 0.8 else scale.lo - 1 - int(u_off * 3)
    return JudgeDecision(score=score, reasoning=" ".join(notes), malformed=malformed)


def number_word(value: int) -> str:
    return NUMBER_WORDS[value] if 0 <= value < len(NUMBER_WORDS) else str(value)


def judge_reply(profile: JudgeProfile, request: DSPyRequest, rng: Random) -> str:
    """The reply text for one judge request in the adapter's format (ChatAdapter sections or JSON)."""
    score_field = find_score_field(request)
    text_for_rules = " ".join(
        [
            request.instructions,
            *(f.desc for f in request.input_fields),
            *(f.desc for f in request.output_fields),
        ]
    )
    scale = find_scale(score_field, request.instructions)
    query = _pick_input(request, ("query", "question", "q"), 0)
    document = _pick_input(request, ("document", "passage", "doc", "text", "context"), 1)
    decision = decide(profile, text_for_rules, query, document, scale, rng)

    fields: list[tuple[str, object]] = []
    for spec in request.output_fields:
        if score_field is not None and spec.name == score_field.name:
            if decision.malformed == "missing_score":
                continue
            if decision.malformed == "word_score":
                fields.append((spec.name, number_word(decision.score)))
            else:
                fields.append((spec.name, decision.score))
        elif spec.base_type == "str" and spec.literal_options is None:
            fields.append((spec.name, decision.reasoning))
        else:
            fields.append((spec.name, default_value(spec, decision.reasoning)))

    if decision.malformed == "no_markers":
        word = number_word(decision.score)
        return f"Reasoning: {decision.reasoning}\nscore: {word}"
    return format_reply(fields, request.style)
