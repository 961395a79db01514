"""How the optimizer's views find objects: through the project they belong to and the user's membership
in it (404 to outsiders, 403 below the role); see labeling.access."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from judging.access import project_for, run_for
from labeling.access import project_checked
from optimizer import selectors
from optimizer.models import Bullet, LibraryInstruction, OptimizationRun

__all__ = ["bullet_for", "instruction_for", "optimization_for", "project_for", "run_for"]


def bullet_for(request: HttpRequest, pk: int, role: str) -> Bullet:
    bullet = selectors.with_card_data(Bullet.objects.all()).filter(pk=pk).first()
    if bullet is None:
        raise Http404("No such bullet.")
    project_checked(request, bullet.project, role)
    return bullet


def instruction_for(request: HttpRequest, pk: int, role: str) -> LibraryInstruction:
    instruction = LibraryInstruction.objects.select_related("project").filter(pk=pk).first()
    if instruction is None:
        raise Http404("No such library instruction.")
    project_checked(request, instruction.project, role)
    return instruction


def optimization_for(request: HttpRequest, pk: int, role: str) -> OptimizationRun:
    run = (
        OptimizationRun.objects.select_related(
            "project",
            "base_version",
            "target_endpoint",
            "reflection_endpoint",
            "best_version",
            "base_test_run",
            "best_test_run",
        )
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No such optimization run.")
    project_checked(request, run.project, role)
    return run
