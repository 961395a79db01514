"""How the optimizer's views find objects: through the project they belong to and the user's membership
in it (404 to outsiders, 403 below the role); see labeling.access."""

from __future__ import annotations

from django.http import HttpRequest

from judging.access import project_for, run_for
from labeling.access import object_checked
from optimizer import selectors
from optimizer.models import Bullet, LibraryInstruction, OptimizationRun

__all__ = ["bullet_for", "instruction_for", "optimization_for", "project_for", "run_for"]


def bullet_for(request: HttpRequest, pk: int, role: str) -> Bullet:
    bullets = selectors.with_card_data(Bullet.objects.all())
    return object_checked(request, bullets.filter(pk=pk).first(), role, "bullet")


def instruction_for(request: HttpRequest, pk: int, role: str) -> LibraryInstruction:
    instructions = LibraryInstruction.objects.select_related("project")
    return object_checked(request, instructions.filter(pk=pk).first(), role, "library instruction")


def optimization_for(request: HttpRequest, pk: int, role: str) -> OptimizationRun:
    runs = OptimizationRun.objects.select_related(
        "project",
        "base_version",
        "target_endpoint",
        "reflection_endpoint",
        "best_version",
        # With their project: whether their stored figures still hold depends on its gold revision.
        "base_test_run__project",
        "best_test_run__project",
    )
    return object_checked(request, runs.filter(pk=pk).first(), role, "optimization run")
