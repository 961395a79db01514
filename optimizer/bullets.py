"""The rules of disagreement bullets: generation from a judge run, the reviewer's actions (each one
recorded as a BulletChange with who, when, before and after) and merge suggestions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from judging.guardrails import words
from judging.models import JudgeRun
from judging.selectors import disagreement_judgments, run_disagreements
from optimizer.feedback import feedback_string
from optimizer.models import Bullet, BulletChange

# Bullets teach the optimizer; the test split only ever measures it.
BULLET_SPLITS = ("train", "dev")
# Average TF-IDF cosine similarity (human rationale + judge reasoning, the item's query words left out)
# from which open bullets of one direction are suggested as one failure. Tuned on the demo project's
# 61 bullets of the baseline prompt: at 0.3 the 12 groups cover 55 of them and each holds a single kind
# of document (0.5 splits keyword stuffing in two; 0.2 mixes kinds). Without masking the query words,
# groups follow the topic instead of the failure.
MERGE_SIMILARITY = 0.3

M = TypeVar("M", bound=Model)


def bullet_snapshot(bullet: Bullet) -> dict:
    """What a BulletChange keeps of a bullet before and after an action."""
    return {"status": bullet.status, "text": bullet.text, "merged_into": bullet.merged_into_id}


def _record(bullet: Bullet, *, action: str, user, before: dict) -> BulletChange:
    return BulletChange.objects.create(
        bullet=bullet, user=user, action=action, before=before, after=bullet_snapshot(bullet)
    )


# Generation


@dataclass(frozen=True)
class Generated:
    created: int
    existing: int


def _human_rationale(item) -> str:
    notes = [item.adjudication_note] if item.adjudicated_score is not None else []
    rationales = [label.rationale for label in item.labels.all()]
    return " / ".join(text.strip() for text in (*notes, *rationales) if text and text.strip())


@transaction.atomic
def bullets_generate_from_run(
    *, run: JudgeRun, user=None, item_ids: Iterable[int] | None = None
) -> Generated:
    """One open bullet per disagreement of the run on a train or dev item (or on the given items only).

    The unique (prompt version, endpoint, item) constraint makes this idempotent: an item that already
    has its bullet keeps it as it is, with whatever reviewers did to it.
    """
    project = run.project
    wanted = None if item_ids is None else set(item_ids)
    rows = [d for d in run_disagreements(run, splits=BULLET_SPLITS) if wanted is None or d.item_id in wanted]
    already = set(
        Bullet.objects.filter(
            prompt_version=run.prompt_version_id,
            endpoint=run.endpoint_id,
            item_id__in=[d.item_id for d in rows],
        ).values_list("item_id", flat=True)
    )
    fresh = [d for d in rows if d.item_id not in already]
    judged = disagreement_judgments(fresh)
    items = {
        item.pk: item
        for item in project.items.filter(pk__in=[d.item_id for d in fresh])
        .prefetch_related("labels")
        .order_by()
    }
    bullets = []
    for disagreement, judgment in judged:
        item = items[disagreement.item_id]
        rationale = _human_rationale(item)
        text = feedback_string(
            judge_score=disagreement.score,
            gold=disagreement.gold,
            scale_min=project.scale_min,
            scale_max=project.scale_max,
            human_rationales=[rationale],
            judge_reasoning=judgment.reasoning,
            guardrail_text=project.guardrail_text,
        )
        bullets.append(
            Bullet(
                project=project,
                prompt_version_id=run.prompt_version_id,
                endpoint_id=run.endpoint_id,
                item=item,
                judge_run=run,
                judgment=judgment,
                gold=disagreement.gold,
                judge_score=disagreement.score,
                delta=disagreement.delta,
                human_rationale=rationale,
                judge_reasoning=judgment.reasoning,
                generated_text=text,
                text=text,
            )
        )
    # ignore_conflicts: a generation running at the same moment may have created some of them already.
    Bullet.objects.bulk_create(bullets, ignore_conflicts=True)
    created = list(
        Bullet.objects.filter(
            prompt_version=run.prompt_version_id,
            endpoint=run.endpoint_id,
            item_id__in=[b.item_id for b in bullets],
            changes__isnull=True,
        )
    )
    BulletChange.objects.bulk_create(
        BulletChange(bullet=b, user=user, action=BulletChange.Action.CREATE, after=bullet_snapshot(b))
        for b in created
    )
    in_scope = sum(1 for d in rows if d.item_id in already or d.item_id in items)
    return Generated(created=len(created), existing=in_scope - len(created))


# The reviewer's actions


def _require_status(bullet: Bullet, allowed: Sequence[str], doing: str) -> None:
    if bullet.status not in allowed:
        raise ValidationError(f"Bullet #{bullet.pk} is {bullet.status}: it cannot be {doing}.")


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError("A bullet needs some text.")
    return text


def row_locked(obj: M) -> M:
    """The object, reloaded with its row locked for the rest of the transaction, so two reviewers act
    one after the other and each change's "before" is what the other left."""
    list(type(obj).objects.select_for_update().filter(pk=obj.pk).values_list("pk"))
    obj.refresh_from_db()
    return obj


def _review(bullet: Bullet, *, status: str, user, action: str, allowed: Sequence[str], doing: str) -> Bullet:
    locked = row_locked(bullet)
    _require_status(locked, allowed, doing)
    before = bullet_snapshot(locked)
    locked.status = status
    locked.merged_into = None
    locked.reviewed_by = user
    locked.reviewed_at = timezone.now()
    locked.save()
    _record(locked, action=action, user=user, before=before)
    return locked


@transaction.atomic
def bullet_approve(*, bullet: Bullet, user) -> Bullet:
    return _review(
        bullet,
        status=Bullet.Status.APPROVED,
        user=user,
        action=BulletChange.Action.APPROVE,
        allowed=[Bullet.Status.OPEN],
        doing="approved",
    )


@transaction.atomic
def bullet_reject(*, bullet: Bullet, user) -> Bullet:
    return _review(
        bullet,
        status=Bullet.Status.REJECTED,
        user=user,
        action=BulletChange.Action.REJECT,
        allowed=[Bullet.Status.OPEN, Bullet.Status.APPROVED],
        doing="rejected",
    )


@transaction.atomic
def bullet_reopen(*, bullet: Bullet, user) -> Bullet:
    """Back to open, for a second look; a merged bullet leaves its survivor (which keeps its text)."""
    return _review(
        bullet,
        status=Bullet.Status.OPEN,
        user=user,
        action=BulletChange.Action.REOPEN,
        allowed=[Bullet.Status.APPROVED, Bullet.Status.REJECTED, Bullet.Status.MERGED],
        doing="reopened",
    )


@transaction.atomic
def bullet_edit(*, bullet: Bullet, user, text: str) -> Bullet:
    """New wording for an open or approved bullet; its status stays as it was."""
    locked = row_locked(bullet)
    _require_status(locked, [Bullet.Status.OPEN, Bullet.Status.APPROVED], "edited")
    text = _clean_text(text)
    if text == locked.text:
        return locked
    before = bullet_snapshot(locked)
    locked.text = text
    locked.save()
    _record(locked, action=BulletChange.Action.EDIT, user=user, before=before)
    return locked


@transaction.atomic
def bullets_merge(*, bullets: Sequence[Bullet], survivor: Bullet, user, text: str) -> Bullet:
    """Bullets that describe one failure become one: the survivor is approved with the reviewer's text,
    the others are marked merged into it (and so feed the optimizer through the survivor's text)."""
    locked = list(Bullet.objects.select_for_update().filter(pk__in={b.pk for b in bullets} | {survivor.pk}))
    if len(locked) < 2:
        raise ValidationError("Choose at least two bullets to merge.")
    if survivor.pk not in {b.pk for b in bullets}:
        raise ValidationError("The surviving bullet must be one of the merged ones.")
    for bullet in locked:
        _require_status(bullet, [Bullet.Status.OPEN, Bullet.Status.APPROVED], "merged")
    if len({(b.project_id, b.prompt_version_id) for b in locked}) > 1:
        raise ValidationError("Only bullets of the same prompt version can be merged.")
    if len({b.direction for b in locked}) > 1:
        raise ValidationError("A too-lenient and a too-strict bullet describe different failures.")
    text = _clean_text(text)
    now = timezone.now()
    keep = next(b for b in locked if b.pk == survivor.pk)
    before = bullet_snapshot(keep)
    keep.text = text
    keep.status = Bullet.Status.APPROVED
    keep.reviewed_by, keep.reviewed_at = user, now
    keep.save()
    _record(keep, action=BulletChange.Action.MERGE, user=user, before=before)
    for other in locked:
        if other.pk == keep.pk:
            continue
        before = bullet_snapshot(other)
        other.status = Bullet.Status.MERGED
        other.merged_into = keep
        other.reviewed_by, other.reviewed_at = user, now
        other.save()
        _record(other, action=BulletChange.Action.MERGE, user=user, before=before)
        # Bullets merged into this one earlier follow it to the new survivor.
        for earlier in Bullet.objects.filter(merged_into=other):
            before = bullet_snapshot(earlier)
            earlier.merged_into = keep
            earlier.save()
            _record(earlier, action=BulletChange.Action.MERGE, user=user, before=before)
    return keep


# Merge suggestions


def _similar_groups(texts: list[str], threshold: float) -> list[list[int]]:
    """Indices of texts grouped by average-linkage clustering on TF-IDF cosine distance: every pair in
    a group is about as similar as the threshold, without single-linkage chains of loosely related ones."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return []
    try:
        vectorizer = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, token_pattern=r"(?u)\b[^\W\d_]{2,}\b"
        )
        matrix = vectorizer.fit_transform(texts).toarray()
    except ValueError:  # nothing but stop words
        return []
    # A text with no word left (no rationale given, a reasoning of boilerplate only) says nothing of how
    # the judge failed: clustered, all such texts would sit at distance 0 and read as one big group.
    said = [index for index, row in enumerate(matrix) if row.any()]
    if len(said) < 2:
        return []
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1 - threshold
    ).fit_predict(matrix[said])
    groups: dict[int, list[int]] = defaultdict(list)
    for index, label in zip(said, labels, strict=True):
        groups[label].append(index)
    return [members for members in groups.values() if len(members) > 1]


def _failure_words(bullet: Bullet, common: frozenset[str] = frozenset()) -> str:
    """What the humans and the judge said, without the item's query words and the words nearly every
    bullet says: what stays is how the judge failed, not what the item was about."""
    topic = set(words(bullet.item.query))
    said = words(f"{bullet.human_rationale}\n{bullet.judge_reasoning}")
    return " ".join(word for word in said if word not in topic and word not in common)


# A word in this share of the open bullets or more is boilerplate (a judge that opens every reasoning
# with the same sentence), not a failure; with fewer bullets than the minimum, a word they all share is as
# likely the one failure they have in common, so none is dropped.
COMMON_SHARE = 0.9
COMMON_MIN_BULLETS = 10


def _common_words(bullets: list[Bullet]) -> frozenset[str]:
    if len(bullets) < COMMON_MIN_BULLETS:
        return frozenset()
    seen: dict[str, int] = defaultdict(int)
    for bullet in bullets:
        for word in set(_failure_words(bullet).split()):
            seen[word] += 1
    return frozenset(word for word, count in seen.items() if count >= COMMON_SHARE * len(bullets))


def _in_direction(bullet: Bullet, direction: str) -> bool:
    """in_direction for one bullet already loaded."""
    return {"lenient": bullet.delta > 0, "strict": bullet.delta < 0}.get(direction, True)


def in_direction(bullets: QuerySet[Bullet], direction: str) -> QuerySet[Bullet]:
    """The bullets where the judge was too lenient ("lenient") or too strict ("strict"); all for ""."""
    if direction == "lenient":
        return bullets.filter(delta__gt=0)
    if direction == "strict":
        return bullets.filter(delta__lt=0)
    return bullets


# What one suggestion shows: the first bullets of its group by id, and a merge link for the first ones
# (the merge page lists every bullet it merges, with its text). A group of 500 stays a few lines.
SUGGESTION_IDS_SHOWN = 8
MERGE_AT_ONCE = 50
SUGGESTIONS_CACHE_S = 3600


@dataclass(frozen=True)
class Suggestion:
    """One group of merge_suggestions, as the bullets page shows it."""

    bullets: list[Bullet]

    @property
    def size(self) -> int:
        return len(self.bullets)

    @property
    def first(self) -> Bullet:
        return self.bullets[0]

    @property
    def shown(self) -> list[Bullet]:
        return self.bullets[:SUGGESTION_IDS_SHOWN]

    @property
    def not_shown(self) -> int:
        return self.size - len(self.shown)

    @property
    def merge_size(self) -> int:
        return min(self.size, MERGE_AT_ONCE)

    @property
    def merge_query(self) -> str:
        """ "ids=3&ids=7…" for the merge page: the whole group, or its first MERGE_AT_ONCE bullets."""
        return urlencode([("ids", bullet.pk) for bullet in self.bullets[:MERGE_AT_ONCE]])


def merge_suggestions(
    *, project, prompt_version=None, direction: str = "", threshold: float = MERGE_SIMILARITY
) -> list[list[Bullet]]:
    """Groups of open bullets of one prompt version and one direction whose human rationale and judge
    reasoning read alike: candidates for one merged bullet. The largest group first."""
    everything = list(
        Bullet.objects.filter(project=project, status=Bullet.Status.OPEN)
        .select_related("item")
        .order_by("id")
    )
    # Boilerplate is found over every open bullet, so a filter does not change what counts as such.
    common = _common_words(everything)
    version_pk = prompt_version.pk if prompt_version is not None else None
    by_kind: dict[tuple[int, str], list[Bullet]] = defaultdict(list)
    for bullet in everything:
        if _in_direction(bullet, direction) and version_pk in (None, bullet.prompt_version_id):
            by_kind[(bullet.prompt_version_id, bullet.direction)].append(bullet)
    suggestions = []
    for members in by_kind.values():
        texts = [_failure_words(b, common) for b in members]
        suggestions.extend([members[i] for i in group] for group in _similar_groups_cached(texts, threshold))
    suggestions.sort(key=lambda group: (-len(group), group[0].pk))
    return suggestions


def _similar_groups_cached(texts: list[str], threshold: float) -> list[list[int]]:
    """_similar_groups, remembered for the same texts in the same order: the clustering takes seconds
    for a few thousand bullets, and the bullets page asks again on every load until a reviewer acts."""
    digest = hashlib.sha256(repr((threshold, texts)).encode()).hexdigest()
    key = f"merge-suggestions:{digest}"
    groups = cache.get(key)
    if groups is None:
        groups = _similar_groups(texts, threshold)
        cache.set(key, groups, timeout=SUGGESTIONS_CACHE_S)
    return groups
