"""Per-user API tokens: created with scopes, shown once, stored only as a SHA-256, revocable.

A token is "fw_" + 40 random url-safe characters; the database keeps its hash and its first characters
(to tell tokens apart in a list), never the token itself."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from judging.models import ApiToken
from labeling.roles import LEAD, REVIEWER, has_role

TOKEN_PREFIX = "fw_"
PREFIX_SHOWN = 8
# The role a user needs for a token scope to do anything: a token never grants more than its owner has.
SCOPE_ROLES = {
    ApiToken.Scope.PROMPTS_READ: REVIEWER,
    ApiToken.Scope.METRICS_READ: REVIEWER,
    ApiToken.Scope.ITEMS_WRITE: LEAD,
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def scopes_allowed(user) -> list[str]:
    return [scope for scope, role in SCOPE_ROLES.items() if has_role(user, role)]


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown to its owner once, then gone


def token_create(*, user, name: str, scopes: list[str], expires_in_days: int | None = None) -> CreatedToken:
    name = name.strip()
    if not name:
        raise ValidationError("Give the token a name.")
    if not scopes:
        raise ValidationError("Choose at least one scope.")
    if expires_in_days is not None and expires_in_days < 1:
        raise ValidationError("A token expires at least one day after it is made.")
    not_allowed = sorted(set(scopes) - set(scopes_allowed(user)))
    if not_allowed:
        raise ValidationError(f"Your role does not allow the scope {', '.join(not_allowed)}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[:PREFIX_SHOWN],
        token_hash=token_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return CreatedToken(token=token, secret=secret)


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The active token with this secret, its use recorded; None for an unknown, revoked or expired one."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is not None:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
