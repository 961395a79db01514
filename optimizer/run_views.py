"""Pages of optimization runs: launch with an estimate, live progress, candidates, before/after."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from judging.models import Judgment, ModelEndpoint, PromptVersion
from judging.versions import word_diff
from labeling.lifecycle import TransitionRefused, refused_response
from labeling.models import Project
from labeling.roles import LEAD, REVIEWER, has_role
from optimizer import charts, runs
from optimizer.access import optimization_for, project_for
from optimizer.models import OptimizationRun
from optimizer.run_forms import OptimizationRunForm
from optimizer.selectors import run_before_after


@require_http_methods(["GET", "POST"])
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    form = OptimizationRunForm(project=project, initial=_prefill(request, project))
    if request.method == "POST":
        if not has_role(request.user, LEAD, project):
            return HttpResponse("Only a lead can launch optimization runs.", status=403)
        form = OptimizationRunForm(request.POST, project=project)
        if form.is_valid():
            try:
                run = runs.optimization_run_start(project=project, user=request.user, **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                return redirect("optimizer:run", pk=run.pk)
    context = {
        "project": project,
        "form": form,
        "estimate": _estimate(form, project),
        "runs": project.optimization_runs.select_related("base_version", "target_endpoint", "best_version")[
            :50
        ],
        "production": PromptVersion.objects.filter(
            project=project, status=PromptVersion.Status.PRODUCTION
        ).select_related("target_model"),
        "is_lead": has_role(request.user, LEAD, project),
    }
    return render(request, "optimizer/run_list.html", context)


@require_GET
def run_estimate(request: HttpRequest, slug: str) -> HttpResponse:
    """The estimate partial, redrawn by htmx whenever the launch form changes."""
    project = project_for(request, slug, LEAD)
    form = OptimizationRunForm(request.GET, project=project)
    return render(request, "optimizer/run_list.html#estimate", {"estimate": _estimate(form, project)})


def _prefill(request: HttpRequest, project: Project) -> dict:
    """?base=<version id> starts from that version; ?adapt=<version id> is "adapt to another model": a
    cross-model run from it, aimed at the first other judge endpoint."""
    versions = PromptVersion.objects.filter(project=project)
    adapt = versions.filter(pk=request.GET.get("adapt") or 0).first()
    if adapt is not None:
        other = (
            ModelEndpoint.objects.exclude(pk=adapt.target_model_id)
            .exclude(model="sim/reflector")
            .order_by("name")
            .first()
        )
        return {
            "regime": OptimizationRun.Regime.CROSS_MODEL,
            "base_version": adapt.pk,
            "target_endpoint": other.pk if other else None,
        }
    base = versions.filter(pk=request.GET.get("base") or 0).first()
    if base is not None:
        return {"base_version": base.pk, "target_endpoint": base.target_model_id}
    return {}


def _estimate(form: OptimizationRunForm, project: Project) -> dict | None:
    """Calls and dollars for what the form says now: its submitted values, or what it shows at first."""
    if form.is_bound:
        if not form.is_valid():
            return None
        data = form.cleaned_data
    else:
        data = {}
        for name, field in form.fields.items():
            value = form.get_initial_for_field(field, name)
            if isinstance(field, forms.ModelChoiceField):
                value = field.queryset.filter(pk=value).first() if value else None
            data[name] = value
        if not all(data.get(name) for name in ("base_version", "target_endpoint", "reflection_endpoint")):
            return None
    estimate = runs.run_estimate(
        project=project,
        base_version=data["base_version"],
        target_endpoint=data["target_endpoint"],
        reflection_endpoint=data["reflection_endpoint"],
        algorithm=runs.algorithm_for(data["regime"], data["algorithm"]),
        max_metric_calls=data["max_metric_calls"],
        seed=data.get("seed") or 0,
    )
    return {**estimate, "summary": runs.estimate_summary(estimate), "max_dollars": data.get("max_dollars")}


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = optimization_for(request, pk, REVIEWER)
    candidates = list(run.candidates.select_related("prompt_version"))
    live = {
        "run": run,
        "chart": charts.progress_chart(
            run.progress, base_score=run.base_dev_score, budget=run.max_metric_calls
        ),
        "candidates": candidates,
        "candidates_kept": len(candidates),
        # Flagged candidates are kept and shown but cannot be promoted: the count says so.
        "candidates_flagged": sum(1 for c in candidates if c.prompt_version.guardrail_flags),
        "is_lead": has_role(request.user, LEAD, run.project),
    }
    if request.htmx and request.GET.get("part") == "live":
        response = HttpResponse(
            render_to_string("optimizer/run_detail.html#live", live, request=request)
            + render_to_string("optimizer/run_detail.html#candidates", {**live, "oob": True}, request=request)
        )
        if not run.is_active:
            response.status_code = HttpResponseStopPolling.status_code
            response["HX-Refresh"] = "true"
        return response
    context = {
        **live,
        "project": run.project,
        "rejected": run.rejected_proposals.all(),
        "comparison": run_before_after(run),
        "diff": word_diff(run.base_version.instructions, run.best_version.instructions)
        if run.best_version
        else None,
        "test_cost": Judgment.objects.filter(
            run_id__in=[run.base_test_run_id, run.best_test_run_id]
        ).aggregate(total=Sum("cost"))["total"]
        or 0,
    }
    return render(request, "optimizer/run_detail.html", context)


@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = optimization_for(request, pk, LEAD)
    try:
        status = runs.optimization_run_cancel(run=run)
    except TransitionRefused as refused:
        return refused_response(request, refused, back_url=reverse("optimizer:run", args=[run.pk]))
    if status == OptimizationRun.Status.CANCELLED:
        messages.info(request, "Cancelled.")
    else:
        messages.info(
            request, "Cancelling: the search stops after its current iteration and keeps its best candidate."
        )
    return redirect("optimizer:run", pk=run.pk)


@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    run = optimization_for(request, pk, LEAD)
    try:
        runs.optimization_run_resume(run=run, include_cancelled=request.POST.get("include_cancelled") == "1")
    except TransitionRefused as refused:
        return refused_response(request, refused, back_url=reverse("optimizer:run", args=[run.pk]))
    messages.info(request, "Resumed: GEPA continues from its last checkpoint.")
    return redirect("optimizer:run", pk=run.pk)
