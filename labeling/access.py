"""How views find a project: through the user's memberships. An outsider gets 404 (they cannot even
learn that the project exists); a member whose role is too low gets 403."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest

from labeling.models import Item, Membership, Project
from labeling.roles import is_member, rank_remember, require_role


def project_checked(request: HttpRequest, project: Project, role: str) -> Project:
    """404 unless the user is a member of `project`, 403 below `role`; records the project on the request
    (for a member, even when refused) so that the templates' role flags and error pages speak of it."""
    if not is_member(request.user, project):
        raise Http404("No such project.")
    # Recorded before the role check: a member's 403 page may name the project and link back to it.
    request.flywheel_project = project
    require_role(request.user, role, project)
    return project


def project_for(request: HttpRequest, slug: str, role: str) -> Project:
    """The project `slug`, read with the user's role in it (one query), then checked."""
    project = Project.objects.filter(slug=slug).annotate(viewer_role=_role_in(request, "pk")).first()
    if project is None:
        raise Http404("No such project.")
    rank_remember(request.user, project.pk, project.viewer_role)
    return project_checked(request, project, role)


def _role_in(request: HttpRequest, project_ref: str) -> Subquery:
    """The user's role in the project of the outer query, so access costs no query of its own."""
    # order_by(): Membership's default ordering would join users and projects into the subquery for nothing.
    role = Membership.objects.of(request.user).filter(project=OuterRef(project_ref)).order_by().values("role")
    return Subquery(role[:1])


def object_checked(request: HttpRequest, found, role: str, what: str):
    """An object of a project (or None: a 404 naming `what`), checked as its project is."""
    if found is None:
        raise Http404(f"No such {what}.")
    project_checked(request, found.project, role)
    return found


def item_for(request: HttpRequest, slug: str, item_id: int, role: str) -> Item:
    """An item of the project `slug`, checked as project_for checks the project, in one query: the item,
    its project and the user's role there (the labeling page's submit and skip run on every label)."""
    item = (
        Item.objects.select_related("project")
        .filter(pk=item_id, project__slug=slug)
        .annotate(viewer_role=_role_in(request, "project_id"))
        .first()
    )
    if item is None:
        raise Http404("No such item.")
    rank_remember(request.user, item.project_id, item.viewer_role)
    project_checked(request, item.project, role)
    return item
