"""The three roles (annotator < reviewer < lead) and the server-side checks that enforce them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models.signals import post_migrate

ANNOTATOR, REVIEWER, LEAD = "annotator", "reviewer", "lead"
ROLES = (ANNOTATOR, REVIEWER, LEAD)
FLYWHEEL_APPS = ("labeling", "judging", "optimizer")
# A reviewer may also label and a lead may do everything a reviewer does.
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def user_rank(user) -> int:
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return -1
    if user.is_superuser:
        return _RANK[LEAD]
    cached = getattr(user, "_flywheel_rank", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max((_RANK[name] for name in names if name in _RANK), default=-1)
        user._flywheel_rank = cached
    return cached


def has_role(user, role: str) -> bool:
    return user_rank(user) >= _RANK[role]


def require_role(user, role: str) -> None:
    if not has_role(user, role):
        raise PermissionDenied(f"This needs the {role} role.")


def role_required(role: str) -> Callable:
    """View decorator: 403 unless the user holds `role` (or a higher one)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_role(request.user, role)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def user_grant_role(user, role: str) -> None:
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user.__dict__.pop("_flywheel_rank", None)


def roles_context(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "is_annotator": has_role(user, ANNOTATOR) if user else False,
        "is_reviewer": has_role(user, REVIEWER) if user else False,
        "is_lead": has_role(user, LEAD) if user else False,
    }


def _create_groups(sender, **kwargs) -> None:
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    # Leads who are also staff manage every Flywheel model in the admin.
    lead = Group.objects.get(name=LEAD)
    lead.permissions.set(Permission.objects.filter(content_type__app_label__in=FLYWHEEL_APPS))


def connect_signals() -> None:
    post_migrate.connect(_create_groups, dispatch_uid="flywheel_create_role_groups")
