"""Small text helpers shared by the simulators: tokens, rough token counts, seeded RNGs."""

from __future__ import annotations

import hashlib
import random
import re

WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOPWORDS = frozenset(
    """a an and are as at be but by can do does did for from had has have how i if in into is it its of on
    or over so than that the their them then there these they this to was were what when where which who
    whom why will with you your about after all also any been before being both each few more most no nor
    not only other our out own same should some such too under until up very we would could my me he she
    his her him us vs via per""".split()
)


def words(text: str) -> list[str]:
    return WORD_RE.findall((text or "").lower())


def stem(word: str) -> str:
    """A deliberately crude stemmer: enough to match 'cats' with 'cat' and 'running' with 'runn'."""
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> list[str]:
    """Distinct, stemmed, non-stopword terms in order of first appearance."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word in STOPWORDS or len(word) < 2:
            continue
        seen.setdefault(stem(word), None)
    return list(seen)


def approx_tokens(text: str) -> int:
    """Roughly four tokens for every three words, at least one."""
    return max(1, round(len((text or "").split()) * 4 / 3))


def stable_rng(*parts: str) -> random.Random:
    """A Random seeded from a SHA-256 of the parts: same parts, same draws, in any process."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
