"""The three roles (annotator < reviewer < lead), held per project through memberships, and the
server-side checks that enforce them.

A role is always a role *in a project* (labeling.models.Membership). Pages that belong to no project (the
model endpoints, the API tokens, creating a project) ask for a role in *some* project. Superusers are
leads everywhere. The global groups named like the roles no longer grant anything in a project: the
"lead" group only carries the admin permissions of staff (see _create_groups)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_migrate

ANNOTATOR, REVIEWER, LEAD = "annotator", "reviewer", "lead"
ROLES = (ANNOTATOR, REVIEWER, LEAD)
FLYWHEEL_APPS = ("labeling", "judging", "optimizer")
# A reviewer may also label and a lead may do everything a reviewer does.
_RANK = {role: rank for rank, role in enumerate(ROLES)}
NO_RANK = -1


def _ranks(user) -> dict[int, int]:
    """{project id: rank} of the user's memberships, read once per user object (once per request)."""
    cached = getattr(user, "_flywheel_ranks", None)
    if cached is None:
        from labeling.models import Membership

        cached = {
            project_id: _RANK[role]
            for project_id, role in Membership.objects.of(user).values_list("project_id", "role")
        }
        user._flywheel_ranks = cached
    return cached


def rank_remember(user, project_id: int, role: str | None) -> None:
    """The user's role in one project, read along with something else (see access.item_for): later
    checks in that project this request need no query of their own."""
    known = user.__dict__.setdefault("_flywheel_project_ranks", {})
    known[project_id] = _RANK[role] if role else NO_RANK


def user_rank(user, project=None) -> int:
    """The user's rank in `project`, or with no project their highest rank in any project."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_RANK
    if user.is_superuser:
        return _RANK[LEAD]
    if project is None:
        return max(_ranks(user).values(), default=NO_RANK)
    project_id = project.pk if hasattr(project, "pk") else project
    known = getattr(user, "_flywheel_project_ranks", {})
    if project_id in known:
        return known[project_id]
    return _ranks(user).get(project_id, NO_RANK)


def has_role(user, role: str, project=None) -> bool:
    """`role` (or a higher one) in `project`; with no project, in at least one project."""
    return user_rank(user, project) >= _RANK[role]


def is_member(user, project) -> bool:
    return user_rank(user, project) > NO_RANK


def require_role(user, role: str, project=None) -> None:
    if not has_role(user, role, project):
        where = f" in {project}" if project is not None else " in a project"
        raise PermissionDenied(f"This needs the {role} role{where}.")


def role_required(role: str) -> Callable:
    """View decorator for pages of no project: 403 unless the user holds `role` (or a higher one) in at
    least one project. Pages of a project check through their access helper instead (404 to outsiders)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_role(request.user, role)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def projects_of(user, role: str = ANNOTATOR):
    """The projects in which the user holds `role` or a higher one."""
    from labeling.models import Membership, Project

    if user is None or not user.is_authenticated or not user.is_active:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    roles = [name for name in ROLES if _RANK[name] >= _RANK[role]]
    return Project.objects.filter(
        pk__in=Membership.objects.of(user).filter(role__in=roles).values("project_id")
    )


def _forget_ranks(user) -> None:
    user.__dict__.pop("_flywheel_ranks", None)
    user.__dict__.pop("_flywheel_project_ranks", None)


def _refuse_losing_the_last_lead(membership) -> None:
    from labeling.models import Membership

    others = Membership.objects.filter(project_id=membership.project_id, role=LEAD).exclude(pk=membership.pk)
    if membership.role == LEAD and not others.exists():
        raise ValidationError(
            f"{membership.user} is the last lead of {membership.project}: make someone else lead first."
        )


@transaction.atomic
def membership_set(*, project, user, role: str):
    """Give `user` exactly `role` in `project` (adding them, or changing the role they had); refused when
    it would leave the project without a lead."""
    from labeling.models import Membership

    if role not in _RANK:
        raise ValidationError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}.")
    current = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if current is not None and role != LEAD:
        _refuse_losing_the_last_lead(current)
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    _forget_ranks(user)
    return membership


@transaction.atomic
def membership_remove(*, project, user) -> bool:
    """Take `user` out of `project`; refused for its last lead (nobody could manage it then)."""
    from labeling.models import Membership

    membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if membership is None:
        return False
    _refuse_losing_the_last_lead(membership)
    membership.delete()
    _forget_ranks(user)
    return True


def roles_context(request) -> dict:
    """is_annotator/is_reviewer/is_lead for the templates: in the project the view looked up (the access
    helper records it on the request), else in any project (for the navigation of pages of no project)."""
    user = getattr(request, "user", None)
    project = getattr(request, "flywheel_project", None)
    return {
        "is_annotator": has_role(user, ANNOTATOR, project) if user else False,
        "is_reviewer": has_role(user, REVIEWER, project) if user else False,
        "is_lead": has_role(user, LEAD, project) if user else False,
    }


def _create_groups(sender, **kwargs) -> None:
    for role in ROLES:
        Group.objects.get_or_create(name=role)
    # Staff in the "lead" group manage every Flywheel model in the admin (operators, not a project role).
    lead = Group.objects.get(name=LEAD)
    lead.permissions.set(Permission.objects.filter(content_type__app_label__in=FLYWHEEL_APPS))


def connect_signals() -> None:
    post_migrate.connect(_create_groups, dispatch_uid="flywheel_create_role_groups")
