"""How views find a project: through the user's memberships. An outsider gets 404 (they cannot even
learn that the project exists); a member whose role is too low gets 403."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from labeling.models import Project
from labeling.roles import is_member, require_role


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
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404("No such project.")
    return project_checked(request, project, role)


def object_checked(request: HttpRequest, found, role: str, what: str):
    """An object of a project (or None: a 404 naming `what`), checked as its project is."""
    if found is None:
        raise Http404(f"No such {what}.")
    project_checked(request, found.project, role)
    return found
