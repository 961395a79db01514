"""Generated query–document items that exercise the sim judge's failure modes (for tests and benchmarks).

Each item has a kind, a gold score and a human-style rationale:

- relevant:   every query term appears in natural sentences        -> gold max
- partial:    some of the query terms appear                       -> gold min + coverage · (max − min)
- stuffed:    query terms repeated with little else (keyword stuffing) -> gold min
- irrelevant: no query term                                        -> gold min
- long:       150+ words of filler and one sentence with a few terms -> same gold as a short partial

Gold is what an honest lexical judge gives, so a sim judge whose flaws are all corrected by its
instructions agrees with it up to its noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from judging.sim.text import content_terms, stable_rng

KINDS = ("relevant", "partial", "stuffed", "irrelevant", "long")

QUERIES = (
    "cheap flights to paris",
    "symptoms of vitamin deficiency in adults",
    "how to repot a snake plant",
    "python list comprehension examples",
    "best running shoes for flat feet",
    "history of roman aqueducts",
    "mortgage refinance closing costs",
    "train a puppy to sit",
    "solar panel installation cost",
    "causes of tomato leaf curl",
    "beginner guitar chord progressions",
    "electric car battery lifespan",
)

TERM_SENTENCES = (
    "This page explains {a} and {b} with practical advice.",
    "Readers asking about {a} will find detailed notes on {b} here.",
    "We compare several options for {a}, including {b}.",
    "The section on {a} also walks through {b} step by step.",
    "Experts agree that {a} matters, and {b} deserves attention too.",
)

FILLER = (
    "The committee met on Tuesday to review the annual budget.",
    "Several volunteers helped organise the neighbourhood festival last spring.",
    "The museum extended its opening hours during the summer months.",
    "A new bakery opened near the station and draws long queues.",
    "The weather stayed mild for most of the week, with light wind.",
    "Local schools introduced a reading programme for younger pupils.",
    "The bridge renovation is expected to finish before winter.",
    "Our newsletter is published every second Friday of the month.",
    "Visitors praised the friendly staff and the quiet atmosphere.",
    "The library added a collection of maps and old photographs.",
    "Parking is free on weekends in the lots behind the town hall.",
    "The orchestra rehearses in the community centre on Thursdays.",
    "Many residents prefer cycling to work when the roads are dry.",
    "The farmers market sells honey, cheese and seasonal vegetables.",
    "A short documentary about the harbour premiered at the film club.",
    "The council approved funding for new benches along the river path.",
    "Students presented their science projects in the main hall.",
    "The ferry timetable changes slightly during public holidays.",
    "Our office will be closed for maintenance on the first Monday.",
    "The choir is looking for tenors for its autumn concert.",
)

RATIONALES = {
    "relevant": "Answers the query completely.",
    "partial": "Answers part of the query but not all of it; partially relevant.",
    "stuffed": "Keyword stuffing: repeats the query terms without saying anything useful.",
    "irrelevant": "Unrelated to the query.",
    "long": "Long document that only briefly touches part of the query; length is not relevance.",
}


@dataclass(frozen=True)
class SampleItem:
    id: str
    query: str
    document: str
    gold: int
    kind: str
    rationale: str


def _surface_terms(query: str) -> list[str]:
    stems = content_terms(query)
    words = [w for w in query.lower().split() if w.isalnum()]
    out = []
    for s in stems:
        out.append(next((w for w in words if w.startswith(s)), s))
    return out


def _filler(rng, query: str, count: int) -> list[str]:
    stems = set(content_terms(query))
    pool = [s for s in FILLER if not stems & set(content_terms(s))]
    return [pool[rng.randrange(len(pool))] for _ in range(count)]


def _term_sentences(rng, terms: list[str]) -> list[str]:
    out = []
    for i in range(0, len(terms), 2):
        pair = terms[i : i + 2]
        a, b = pair[0], pair[1] if len(pair) > 1 else "related questions"
        out.append(TERM_SENTENCES[rng.randrange(len(TERM_SENTENCES))].format(a=a, b=b))
    return out


def make_item(index: int, kind: str, *, seed: int = 0, scale: tuple[int, int] = (1, 5)) -> SampleItem:
    lo, hi = scale
    rng = stable_rng("sample", str(seed), str(index), kind)
    query = QUERIES[rng.randrange(len(QUERIES))]
    terms = _surface_terms(query)
    if kind == "relevant":
        sentences = _term_sentences(rng, terms) + _filler(rng, query, 2)
        gold = hi
    elif kind in ("partial", "long"):
        k = rng.randint(1, max(1, len(terms) - 1))
        chosen = sorted(rng.sample(range(len(terms)), k))
        coverage = k / len(terms)
        gold = int(lo + coverage * (hi - lo) + 0.5)
        if kind == "partial":
            sentences = _term_sentences(rng, [terms[i] for i in chosen]) + _filler(rng, query, 2)
        else:
            sentences = _filler(rng, query, 17) + _term_sentences(rng, [terms[i] for i in chosen])
            rng.shuffle(sentences)
    elif kind == "stuffed":
        repeated = " ".join(terms * rng.randint(3, 4))
        sentences = [f"{repeated.capitalize()}.", f"Best {terms[0]} deals, click here for {' '.join(terms)}."]
        gold = lo
    elif kind == "irrelevant":
        sentences = _filler(rng, query, 3)
        gold = lo
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return SampleItem(
        id=f"sim-{seed}-{index}",
        query=query,
        document=" ".join(sentences),
        gold=gold,
        kind=kind,
        rationale=RATIONALES[kind],
    )


def sample_items(n: int, *, seed: int = 0, scale: tuple[int, int] = (1, 5), kinds=KINDS) -> list[SampleItem]:
    """n items, kinds in rotation, deterministic for a seed."""
    return [make_item(i, kinds[i % len(kinds)], seed=seed, scale=scale) for i in range(n)]
