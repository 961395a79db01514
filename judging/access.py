"""How judging's views find objects: through the project they belong to and the user's membership in it
(404 to outsiders, 403 below the role); see labeling.access."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from judging.models import JudgeRun, PromptVersion
from labeling.access import project_checked, project_for

__all__ = ["project_for", "run_for", "version_for"]


def run_for(request: HttpRequest, pk: int, role: str) -> JudgeRun:
    run = JudgeRun.objects.select_related("project", "prompt_version", "endpoint").filter(pk=pk).first()
    if run is None:
        raise Http404("No such judge run.")
    project_checked(request, run.project, role)
    return run


def version_for(request: HttpRequest, pk: int, role: str) -> PromptVersion:
    version = (
        PromptVersion.objects.select_related("project", "target_model", "parent", "created_by")
        .filter(pk=pk)
        .first()
    )
    if version is None:
        raise Http404("No such prompt version.")
    project_checked(request, version.project, role)
    return version
