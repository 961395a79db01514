"""The demo project: generated items and labels, sim model endpoints, a hand-written baseline prompt,
and three accounts. Seeding is idempotent: a second run changes nothing."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from judging.local_model import LOCAL_ENDPOINT_NAME, LOCAL_ENDPOINT_SETTINGS, local_model_answers
from judging.models import ModelEndpoint, PromptVersion
from judging.versions import version_create
from labeling import demo_data
from labeling.models import Item, Label, Membership, Project, split_for
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, membership_set

DEMO_SLUG = "web-relevance-demo"
# The two extra annotators exist so that the demo has human–human disagreement to show.
DEMO_LABELERS = ("annotator", "annotator2", "annotator3")
# Nominal prices (dollars per million tokens in, out) so that the demo's cost figures move.
SIM_ENDPOINT_PRICES = {
    "sim/judge-small": (Decimal("0.10"), Decimal("0.40")),
    "sim/judge-large": (Decimal("2.00"), Decimal("8.00")),
    "sim/reflector": (Decimal("2.00"), Decimal("8.00")),
}


@dataclass(frozen=True)
class DemoSeed:
    project: Project
    items: int
    labels: int


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str


@transaction.atomic
def demo_seed(*, seed: int = 7) -> DemoSeed:
    project, created = Project.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Web relevance (demo)",
            "rubric": demo_data.DEMO_RUBRIC,
            "scale_min": 1,
            "scale_max": 5,
            "scale_descriptions": demo_data.DEMO_SCALE_DESCRIPTIONS,
            "labels_per_item": 1,
        },
    )
    if created:
        _seed_items_and_labels(project, seed)
    for name, (price_in, price_out) in SIM_ENDPOINT_PRICES.items():
        ModelEndpoint.objects.get_or_create(
            name=name,
            defaults={
                "model": name,
                "concurrency": 16,
                "price_input_per_mtok": price_in,
                "price_output_per_mtok": price_out,
            },
        )
    small = ModelEndpoint.objects.get(name="sim/judge-small")
    if not PromptVersion.objects.filter(
        project=project, target_model=small, origin="hand-written", parent=None
    ).exists():
        version_create(
            project=project, target_model=small, instructions=demo_data.BASELINE_JUDGE_INSTRUCTIONS
        )
    return DemoSeed(
        project=project,
        items=project.items.count(),
        labels=Label.objects.filter(item__project=project).count(),
    )


def demo_local_model_register(*, project: Project, answers=local_model_answers) -> ModelEndpoint | None:
    """While `make local-llm` serves its model, register it beside the sims (with the demo's baseline
    prompt written for it). When nothing answers, nothing changes: an endpoint registered before stays."""
    if not answers():
        return None
    with transaction.atomic():
        endpoint, _ = ModelEndpoint.objects.get_or_create(
            name=LOCAL_ENDPOINT_NAME, defaults=LOCAL_ENDPOINT_SETTINGS
        )
        if not PromptVersion.objects.filter(
            project=project, target_model=endpoint, origin="hand-written", parent=None
        ).exists():
            version_create(
                project=project, target_model=endpoint, instructions=demo_data.BASELINE_JUDGE_INSTRUCTIONS
            )
    return endpoint


def _seed_items_and_labels(project: Project, seed: int) -> None:
    generated = demo_data.demo_items(seed=seed)
    Item.objects.bulk_create(
        Item(
            project=project,
            external_id=g.external_id,
            query=g.query,
            document=g.document,
            metadata=g.metadata,
            split=split_for(g.external_id),
        )
        for g in generated
    )
    item_ids = dict(project.items.values_list("external_id", "id"))
    labelers = {name: _labeler(name, project) for name in DEMO_LABELERS}
    Label.objects.bulk_create(
        Label(
            item_id=item_ids[label.external_id],
            annotator=labelers[label.annotator],
            score=label.score,
            rationale=label.rationale,
        )
        for label in demo_data.demo_labels(generated, list(DEMO_LABELERS), seed=seed)
    )


def _labeler(username: str, project: Project):
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save()
    if not Membership.objects.filter(project=project, user=user).exists():
        membership_set(project=project, user=user, role=ANNOTATOR)
    return user


def demo_accounts_ensure(*, path: Path) -> list[DemoAccount]:
    """The three demo accounts, with passwords generated on the first run and reused after; each holds its
    role in the demo project."""
    project = Project.objects.get(slug=DEMO_SLUG)
    saved = json.loads(path.read_text()) if path.exists() else {}
    accounts = []
    for role in (ANNOTATOR, REVIEWER, LEAD):
        username = role
        password = saved.get(username) or secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username=username)
        if not user.check_password(password):
            user.set_password(password)
        if role == LEAD:
            user.is_staff = True  # the demo's lead is also its operator: the admin shows every model
            user.groups.add(Group.objects.get_or_create(name=LEAD)[0])  # the admin's permissions
        user.save()
        membership_set(project=project, user=user, role=role)
        accounts.append(DemoAccount(role=role, username=username, password=password))
    path.write_text(json.dumps({a.username: a.password for a in accounts}, indent=2))
    path.chmod(0o600)
    return accounts
