"""The demo dataset, generated here and deterministic from a seed: web-search items with a hidden true
grade, three annotators' noisy labels with rationales, the rubric, and a hand-written baseline prompt.

Plain Python (no ORM); `judging.demo` stores the result. The text fragments live in `demo_corpus`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from labeling.demo_corpus import (
    ANSWER_OPENERS,
    CLOSERS,
    STUFFING_KEYWORD_TEMPLATES,
    STUFFING_QUERY_TEMPLATES,
    TOPICS,
    Topic,
)

DEMO_RUBRIC = (
    "Rate how well the document answers the search query. Picture the person who typed the query and "
    "clicked on this result: would it give them what they were looking for? A document earns credit for "
    "the information it actually gives, not for being on the same subject as the query. Judge the "
    "document as written, without filling gaps from your own knowledge, and prefer the lower score when "
    "you hesitate between two."
)

DEMO_SCALE_DESCRIPTIONS = {
    "1": "Irrelevant: nothing in the document helps with the query; it is about something else or says "
    "nothing of substance.",
    "2": "Related: on the subject of the query, but it does not answer what was asked.",
    "3": "Partial: covers some of what was asked or gives a vague answer; the searcher still needs another "
    "source.",
    "4": "Highly relevant: answers the main question, but misses a detail or needs a little interpretation.",
    "5": "Perfect: answers the query completely and directly; the searcher could stop here.",
}

# Deliberately decent but naive: it never mentions documents that only repeat the query's words, nor
# how to credit an incomplete answer, so the optimizer has something to find.
BASELINE_JUDGE_INSTRUCTIONS = (
    "You are a search quality rater. You will be given a search query and a document returned for it, "
    "and you must rate how relevant the document is to the query.\n\n"
    "Use a scale from 1 to 5: 1 means irrelevant, 2 means loosely related, 3 means somewhat relevant, "
    "4 means highly relevant and 5 means a perfect match for the query.\n\n"
    "Read the query and the document carefully. A document that discusses the things the query asks "
    "about is relevant, and the more of the query it covers, the higher its score should be.\n\n"
    "Explain your reasoning in a sentence or two, then give your score."
)

DEMO_ANNOTATORS = ("alice", "bob", "carol")

KINDS = ("perfect", "partial", "related", "stuffed", "offtopic")
# Twenty documents per query; "mostly" is a partial document that answers most of the query (grade 4).
DOCUMENT_PLAN = (
    ("perfect",) * 4
    + ("mostly",) * 3
    + ("partial",) * 3
    + ("related",) * 4
    + ("stuffed",) * 3
    + ("offtopic",) * 3
)
GRADES = {"perfect": 5, "mostly": 4, "partial": 3, "related": 2, "stuffed": 1, "offtopic": 1}


@dataclass(frozen=True)
class DemoItem:
    """metadata is {"query_id": "q03", "kind": one of KINDS}; true_grade is the grade the document was
    written to deserve, which the noisy labels scatter around."""

    external_id: str
    query: str
    document: str
    metadata: dict = field(hash=False)
    true_grade: int


@dataclass(frozen=True)
class DemoLabel:
    external_id: str
    annotator: str
    score: int
    rationale: str


def demo_items(seed: int = 7) -> list[DemoItem]:
    """Twenty documents for each of the corpus's queries, from perfect answers to keyword spam."""
    rng = random.Random(seed)
    items = []
    seen: set[str] = set()
    for q_index, topic in enumerate(TOPICS, start=1):
        query_id = f"q{q_index:02d}"
        others = [t for t in TOPICS if t is not topic]
        plan = list(DOCUMENT_PLAN)
        rng.shuffle(plan)
        pools = {
            "perfect": rng.sample(topic.answers, len(topic.answers)),
            "mostly": rng.sample(topic.mostly, len(topic.mostly)),
            "partial": rng.sample(topic.partial, len(topic.partial)),
            "offtopic": rng.sample(others, 3),
        }
        for d_index, plan_kind in enumerate(plan, start=1):
            # Each perfect, partial and off-topic document is built around its own lead: an answer, a
            # partial answer, or another query's topic.
            lead = pools[plan_kind].pop() if plan_kind in pools else None
            document = _unique_document(plan_kind, topic, lead, seen, rng)
            seen.add(document)
            kind = "partial" if plan_kind == "mostly" else plan_kind
            items.append(
                DemoItem(
                    external_id=f"{query_id}-d{d_index:02d}",
                    query=topic.query,
                    document=document,
                    metadata={"query_id": query_id, "kind": kind},
                    true_grade=GRADES[plan_kind],
                )
            )
    return items


def _unique_document(plan_kind: str, topic: Topic, lead: Any, seen: set[str], rng: random.Random) -> str:
    for _ in range(50):
        document = _document(plan_kind, topic, lead, rng)
        if document not in seen:
            return document
    raise RuntimeError(f"could not write a new {plan_kind} document for {topic.query!r}")


def _document(plan_kind: str, topic: Topic, lead: Any, rng: random.Random) -> str:
    if plan_kind == "perfect":
        sentences = [lead] + rng.sample(topic.details, rng.randint(1, 3))
        if rng.random() < 0.3:
            sentences.append(rng.choice(topic.related))
        if rng.random() < 0.7:
            sentences.insert(0, rng.choice(topic.headings))
        elif rng.random() < 0.5:
            sentences.insert(0, rng.choice(ANSWER_OPENERS))
    elif plan_kind == "mostly":
        sentences = [lead] + rng.sample(topic.details, rng.randint(1, 2))
        if rng.random() < 0.4:
            sentences.append(rng.choice(topic.related))
        if rng.random() < 0.4:
            sentences.insert(0, rng.choice(topic.headings))
    elif plan_kind == "partial":
        # Details are left out: some of them would complete the answer.
        sentences = [lead] + rng.sample(topic.related, rng.randint(1, 2))
        if rng.random() < 0.3:
            sentences.reverse()
    elif plan_kind == "related":
        sentences = rng.sample(topic.related, rng.randint(2, 4))
    elif plan_kind == "stuffed":
        return _stuffed_document(topic, rng)
    else:
        sentences = rng.sample(lead.related + lead.details, rng.randint(2, 4))
    if len(sentences) < 6 and rng.random() < 0.2:
        sentences.append(rng.choice(CLOSERS))
    return " ".join(sentences)


def _stuffed_document(topic: Topic, rng: random.Random) -> str:
    """SEO spam: the query and its keywords over and over, no answer anywhere."""
    templates = rng.sample(STUFFING_QUERY_TEMPLATES, 2) + rng.sample(
        STUFFING_KEYWORD_TEMPLATES, rng.randint(1, 3)
    )
    rng.shuffle(templates)
    sentences = []
    for template in templates:
        k1, k2, k3 = rng.sample(topic.keywords, 3)
        sentences.append(
            template.format(
                q=topic.query, Q=_capitalized(topic.query), k1=k1, k2=k2, k3=k3, K1=_capitalized(k1)
            )
        )
    return " ".join(sentences)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- labels -----------------------------------------------------------------------------------------

OBSERVATIONS = {
    "perfect": (
        "Gives a direct answer to {need}, with the specifics.",
        "States {need} plainly and adds useful context.",
        "Answers {need} right away; nothing important is missing.",
    ),
    "mostly": (
        "Answers most of {need}, though {missing} is not fully there.",
        "Mostly covers {need}; it lacks {missing}.",
        "Useful on {need}, but I had to fill in {missing} myself.",
    ),
    "partial": (
        "Answers only part of {need}; it lacks {missing}.",
        "Touches on {need} but stays vague and leaves out {missing}.",
        "A partial answer: some hints about {need}, but {missing} is absent.",
    ),
    "related": (
        "About {subject} in general, but never addresses {need}.",
        "On the subject of {subject}, yet it does not say {need}.",
        "Background on {subject} only; nothing on {need}.",
    ),
    "stuffed": (
        "Keyword stuffing: repeats the query words again and again but never says {need}.",
        "Reads like SEO spam. The search terms are everywhere, the answer is nowhere.",
        "Just repeats the query terms and lists keywords; no information on {need}.",
    ),
    "offtopic": (
        "Nothing about {need}; the passage is about a different subject.",
        "Wrong topic entirely, no connection to {need}.",
        "Off-topic: it does not touch {need} at all.",
    ),
}
VERDICTS = {
    5: ("Perfect per the rubric.", "The searcher could stop here, so 5.", "Clear 5."),
    4: ("Highly relevant, not quite complete: 4.", "Close to complete, so 4.", "I'd give it a 4."),
    3: ("Partial, so 3.", "Half an answer: 3.", "Middle of the scale, 3."),
    2: ("Related at best: 2.", "Right subject, no answer: 2.", "Some topical value, so 2."),
    1: ("Irrelevant: 1.", "Nothing useful for the searcher, 1.", "Scoring it 1."),
}
GENEROUS = (
    "Being a bit generous.",
    "Giving it the benefit of the doubt.",
    "A searcher might still get something.",
)
STRICT = ("I'm being strict here.", "It feels thin to me.", "Marking it down for vagueness.")
RATIONALE_MAX = 200


def demo_labels(
    items: list[DemoItem], annotators: list[str], seed: int = 7, *, overlap: int = 60, single: int = 90
) -> list[DemoLabel]:
    """Every annotator labels the first `overlap` items of a shuffled order; each of the next `single`
    items gets one label, annotators taking turns; the rest stay unlabeled.

    Scores are the true grade plus noise: mostly exact, sometimes one off, now and then two off (more
    often on partial and related documents, which people read differently). The second annotator leans
    lenient.
    """
    if not annotators:
        return []
    rng = random.Random(seed)
    order = list(items)
    rng.shuffle(order)
    assignments: list[tuple[DemoItem, int]] = []
    for item in order[:overlap]:
        assignments.extend((item, a) for a in range(len(annotators)))
    for n, item in enumerate(order[overlap : overlap + single]):
        assignments.append((item, n % len(annotators)))
    labels = []
    for item, a in assignments:
        lenient = a == 1
        score = _noisy_score(item, lenient, rng)
        labels.append(DemoLabel(item.external_id, annotators[a], score, _rationale(item, score, rng)))
    position = {item.external_id: i for i, item in enumerate(items)}
    labels.sort(key=lambda label: (position[label.external_id], annotators.index(label.annotator)))
    return labels


def _noisy_score(item: DemoItem, lenient: bool, rng: random.Random) -> int:
    hard = item.metadata.get("kind") in ("partial", "related")
    two_off, one_off = (0.10, 0.28) if hard else (0.04, 0.16)
    draw = rng.random()
    delta = 2 if draw < two_off else 1 if draw < two_off + one_off else 0
    if delta and rng.random() >= (0.8 if lenient else 0.5):
        delta = -delta
    if lenient and delta == 0 and rng.random() < 0.08:
        delta = 1
    return min(5, max(1, item.true_grade + delta))


def _rationale(item: DemoItem, score: int, rng: random.Random) -> str:
    topic = _topic_for(item)
    kind = (
        "mostly"
        if item.metadata.get("kind") == "partial" and item.true_grade >= 4
        else item.metadata.get("kind")
    )
    observations = OBSERVATIONS.get(kind, OBSERVATIONS["related"])
    words = {
        "need": topic.need if topic else "what the query asks",
        "subject": topic.subject if topic else "the query's subject",
        "missing": topic.missing if topic else "the rest of the answer",
    }
    parts = [rng.choice(observations).format(**words)]
    gap = score - item.true_grade
    if gap and (abs(gap) >= 2 or rng.random() < 0.5):
        parts.append(rng.choice(GENEROUS if gap > 0 else STRICT))
    parts.append(rng.choice(VERDICTS[score]))
    while len(" ".join(parts)) > RATIONALE_MAX and len(parts) > 2:
        parts.pop(1)
    return " ".join(parts)


def _topic_for(item: DemoItem) -> Topic | None:
    query_id = item.metadata.get("query_id", "")
    index = int(query_id[1:]) - 1 if query_id[1:].isdigit() else -1
    return TOPICS[index] if 0 <= index < len(TOPICS) else None
