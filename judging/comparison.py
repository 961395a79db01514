"""The models page: measured prompt versions side by side across the project's judge models, filtered
to production, candidates or all, so a candidate on one model can be weighed against another model."""

from __future__ import annotations

from django.db.models import Q

from judging.models import ModelEndpoint, PromptVersion
from judging.versions import versions_measurements
from labeling.models import Project

SHOW = {
    "all": "All measured versions",
    "production": "Production",
    "candidates": "Candidates",
}


def judge_endpoints(project: Project):
    """Endpoints that judge in this project: a prompt version is written for them, or they ran a judge
    run. Reflection/proposal models (sim/reflector) do neither, so they are not listed as judges."""
    return (
        ModelEndpoint.objects.filter(Q(prompt_versions__project=project) | Q(judge_runs__project=project))
        .distinct()
        .order_by("name")
    )


def model_comparison(*, project: Project, show: str) -> dict:
    """Rows of (judge model, version, its test-split measurement), best NMSE first within each model;
    the judges with no row under this filter; and how many versions still lack a test-split run."""
    show = show if show in SHOW else "all"
    chosen = project.prompt_versions.select_related("target_model").order_by("-created_at", "-id")
    if show == "production":
        chosen = chosen.filter(status=PromptVersion.Status.PRODUCTION)
    elif show == "candidates":
        chosen = chosen.filter(status=PromptVersion.Status.CANDIDATE)
    chosen = list(chosen)
    measured = versions_measurements(chosen)
    rows, unmeasured = [], 0
    for version in chosen:
        test = measured[version.pk].get("test")
        if test is None:
            unmeasured += 1
            continue
        rows.append({"endpoint": version.target_model, "version": version, "test": test})
    rows.sort(key=lambda row: (row["endpoint"].name, row["test"].metrics.nmse, row["version"].pk))
    with_rows = {row["endpoint"].pk for row in rows}
    return {
        "show": show,
        "rows": rows,
        "judges_without_rows": [e for e in judge_endpoints(project) if e.pk not in with_rows],
        "unmeasured": unmeasured,
    }
