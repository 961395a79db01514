from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from judging import charts, intervals, runs, selectors, services, stored_metrics
from judging.access import project_for, run_for
from judging.amplification import expected_quality, run_export_lines
from judging.forms import JudgeRunForm, ModelEndpointForm
from judging.models import JudgeRun, ModelEndpoint
from judging.sim import SIM_MODELS
from labeling.gold import item_gold
from labeling.lifecycle import TransitionRefused, refused_response
from labeling.models import SPLITS
from labeling.roles import LEAD, REVIEWER, require_role, role_required

_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@role_required(LEAD)
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = ModelEndpoint.objects.all()
    return render(request, "judging/endpoint_list.html", {"endpoints": endpoints, "sim_models": SIM_MODELS})


@role_required(LEAD)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    endpoint = get_object_or_404(ModelEndpoint, pk=pk) if pk else None
    form = ModelEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved endpoint “{saved.name}”.")
        return redirect("judging:endpoints")
    return render(request, "judging/endpoint_form.html", {"form": form, "endpoint": endpoint})


@role_required(LEAD)
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(ModelEndpoint, pk=pk)
    result = services.endpoint_test_call(endpoint=endpoint)
    return render(request, "judging/endpoint_list.html#test_result", {"endpoint": endpoint, "result": result})


@require_http_methods(["GET", "POST"])
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's judge runs, the chart across prompt versions and (for a lead) the form to start one."""
    project = project_for(request, slug, REVIEWER)
    form = JudgeRunForm(request.POST or None, project=project)
    if request.method == "POST":
        require_role(request.user, LEAD, project)
        if form.is_valid():
            run = runs.judge_run_start(user=request.user, **form.cleaned_data)
            return redirect("judging:run", pk=run.pk)
    history = selectors.project_run_history(project)
    context = {
        "project": project,
        "form": form,
        "runs": project.judge_runs.select_related("prompt_version", "endpoint", "created_by")[:50],
        "versions_chart": charts.versions_chart(history) if history else None,
    }
    return render(request, "judging/run_list.html", context)


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_for(request, pk, REVIEWER)
    progress = selectors.run_progress(run)
    if request.htmx and request.GET.get("part") == "progress":
        response = render(request, "judging/run_detail.html#progress", {"run": run, "progress": progress})
        if not run.is_active:
            # One last swap, then the full page reloads to show the metrics of the finished run.
            response.status_code = HttpResponseStopPolling.status_code
            response["HX-Refresh"] = "true"
        return response
    splits = stored_metrics.run_figures(run).splits if progress["done"] else {}
    overall = splits.get("all")
    context = {
        "run": run,
        "project": run.project,
        "progress": progress,
        "metrics": [
            (split, splits[split].metrics, intervals.shown_figures(splits[split].intervals))
            for split in selectors.shown_splits(splits)
        ],
        "confusion": charts.confusion_heatmap(overall.metrics.confusion, run.project.scale_min)
        if overall
        else None,
        "is_simulator": run.endpoint.is_simulator,
    }
    if run.item_set == JudgeRun.ItemSet.UNLABELED:
        context["expected"] = expected_quality(prompt_version=run.prompt_version, endpoint=run.endpoint)
    return render(request, "judging/run_detail.html", context)


@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_for(request, pk, LEAD)
    try:
        status = runs.judge_run_cancel(run=run)
    except TransitionRefused as refused:
        return refused_response(request, refused, back_url=reverse("judging:run", args=[run.pk]))
    if status == JudgeRun.Status.CANCELLED:
        messages.info(request, "Cancelled.")
    else:
        messages.info(request, "Cancelling: calls in flight finish, no new ones start.")
    return redirect("judging:run", pk=run.pk)


@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_for(request, pk, LEAD)
    try:
        runs.judge_run_resume(run=run, include_cancelled=request.POST.get("include_cancelled") == "1")
    except TransitionRefused as refused:
        return refused_response(request, refused, back_url=reverse("judging:run", args=[run.pk]))
    messages.info(request, "Resumed: only items without a judgment (or with an error) are judged.")
    return redirect("judging:run", pk=run.pk)


DISAGREEMENTS_PER_PAGE = 50


def _disagreement_filters(request: HttpRequest) -> dict[str, str]:
    """The filters of the disagreements page, as the page and the item pages pass them along."""
    direction = request.GET.get("direction", "")
    split = request.GET.get("split", "")
    return {
        "direction": direction if direction in ("lenient", "strict") else "",
        "split": split if split in SPLITS else "",
        "query": request.GET.get("query", "").strip()[:200],
    }


def _filtered_disagreements(run: JudgeRun, filters: dict[str, str]) -> list[selectors.Disagreement]:
    return selectors.run_disagreements(
        run,
        direction=filters["direction"],
        splits=[filters["split"]] if filters["split"] else (),
        query=filters["query"],
    )


def _filter_query(filters: dict[str, str], **extra) -> str:
    """ "?direction=lenient&split=train" for the filters that are set (and the extra parameters); ""."""
    chosen = {key: value for key, value in {**filters, **extra}.items() if value}
    return f"?{urlencode(chosen)}" if chosen else ""


@require_GET
def run_disagreements(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_for(request, pk, REVIEWER)
    filters = _disagreement_filters(request)
    rows = _filtered_disagreements(run, filters)
    page = Paginator(rows, DISAGREEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "run": run,
        "project": run.project,
        "filters": filters,
        "filter_query": _filter_query(filters),
        "page": page,
        "rows": selectors.disagreement_judgments(list(page.object_list)),
        "total": len(rows),
        "splits": SPLITS,
    }
    template = "judging/disagreements.html#table" if request.htmx else "judging/disagreements.html"
    return render(request, template, context)


@require_GET
def run_item(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Side by side: query, document, every human label with its rationale, the judge's answer; and the
    way to the previous and next disagreement of the list the reviewer filtered."""
    run = run_for(request, pk, REVIEWER)
    judgment = get_object_or_404(run.judgments.select_related("item"), item_id=item_id)
    item = judgment.item
    labels = list(item.labels.select_related("annotator").order_by("created_at"))
    gold = item_gold(item.adjudicated_score, [label.score for label in labels])
    delta = judgment.score - gold if judgment.score is not None and gold is not None else None
    filters = _disagreement_filters(request)
    neighbours = selectors.disagreement_neighbours(_filtered_disagreements(run, filters), item.pk)
    # Back to the page of the list this item is on.
    list_page = (neighbours.position - 1) // DISAGREEMENTS_PER_PAGE + 1 if neighbours.position else None
    context = {
        "run": run,
        "project": run.project,
        "item": item,
        "judgment": judgment,
        "labels": labels,
        "gold": gold,
        "delta": delta,
        "gap": abs(delta) if delta is not None else None,
        "filters": filters,
        "filter_query": _filter_query(filters),
        "back_query": _filter_query(filters, page=list_page if list_page and list_page > 1 else ""),
        "neighbours": neighbours,
        # Through the reverse relation, so judging imports nothing from the optimizer app.
        "bullet_id": item.bullets.filter(prompt_version=run.prompt_version_id, endpoint=run.endpoint_id)
        .values_list("pk", flat=True)
        .first(),
    }
    return render(request, "judging/run_item.html", context)


@require_GET
def run_export(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    """Machine labels of the run, with the test metrics of the (prompt version, model) that made them."""
    run = run_for(request, pk, REVIEWER)
    response = StreamingHttpResponse(run_export_lines(run=run, fmt=fmt), content_type=_EXPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="judge-run-{run.pk}.{fmt}"'
    return response
