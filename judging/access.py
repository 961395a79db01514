"""How judging's views find objects: through the project they belong to and the user's membership in it
(404 to outsiders, 403 below the role); see labeling.access."""

from __future__ import annotations

from django.http import HttpRequest

from judging.models import JudgeRun, PromptVersion
from labeling.access import object_checked, project_for

__all__ = ["project_for", "run_for", "version_for"]


def run_for(request: HttpRequest, pk: int, role: str) -> JudgeRun:
    runs = JudgeRun.objects.select_related("project", "prompt_version", "endpoint")
    return object_checked(request, runs.filter(pk=pk).first(), role, "judge run")


def version_for(request: HttpRequest, pk: int, role: str) -> PromptVersion:
    versions = PromptVersion.objects.select_related("project", "target_model", "parent", "created_by")
    return object_checked(request, versions.filter(pk=pk).first(), role, "prompt version")
