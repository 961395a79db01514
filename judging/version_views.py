"""Pages of prompt versions (history, detail, diff, hand edit, promotion, program download), the model
comparison page and the API token page."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from judging import charts, comparison, intervals, promotion, runs, tokens, versions
from judging.access import project_for, version_for
from judging.models import ApiToken, JudgeRun, ModelEndpoint, PromotionLog, PromptVersion
from judging.version_forms import ApiTokenForm, VersionDiffForm, VersionDraftForm
from labeling import numbers
from labeling.models import SPLITS, Project
from labeling.roles import ANNOTATOR, LEAD, REVIEWER, role_required

# The test-split figures set side by side on the promotion page: label, attribute of the metrics (or of the
# measurement), whether lower is better (None: neither), and how to show it (rounded for people).
COMPARED = (
    ("NMSE (0–100)", "nmse", True, partial(numbers.metric, "nmse")),
    ("Malformed rate", "malformed_rate", True, partial(numbers.metric, "malformed_rate")),
    ("MAE", "mae", True, partial(numbers.metric, "mae")),
    ("Exact agreement", "exact", False, partial(numbers.metric, "exact")),
    ("Kappa (quadratic)", "kappa", False, partial(numbers.metric, "kappa")),
    ("Bias (judge − gold)", "bias", None, partial(numbers.metric, "bias", signed=True)),
    ("Dollars per 1,000 judgments", "dollars_per_1000", True, numbers.dollars),
    ("Latency p50 (ms)", "latency_p50_ms", True, numbers.significant),
)


@require_GET
def version_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    endpoints = ModelEndpoint.objects.filter(prompt_versions__project=project).distinct()
    model = (
        endpoints.filter(pk=request.GET.get("model")).first()
        if request.GET.get("model", "").isdigit()
        else None
    )
    promotions = PromotionLog.objects.filter(project=project).select_related(
        "version", "previous", "target_model", "promoted_by"
    )
    if model is not None:
        promotions = promotions.filter(target_model=model)
    context = {
        "project": project,
        "endpoints": endpoints,
        "model": model,
        "rows": versions.version_history(project=project, target_model=model),
        "splits": SPLITS,
        "promotions": promotions[:100],
        "diff_form": VersionDiffForm(project=project),
    }
    return render(request, "judging/version_list.html", context)


@require_GET
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = version_for(request, pk, REVIEWER)
    measurements = versions.version_measurements(version)
    context = {
        "version": version,
        "project": version.project,
        "lineage": versions.version_lineage(version)[1:],
        "measurements": [
            (measurements[s], intervals.shown_figures(measurements[s].intervals))
            for s in SPLITS
            if s in measurements
        ],
        "refusals": promotion.promotion_refusals(version, measurements.get("test")),
        # Already measured on test: say which run rather than offer it as if it were still to do.
        "test_run_id": measurements["test"].run_id if "test" in measurements else None,
        "promotions": version.promotions.select_related("previous", "promoted_by"),
        "children": version.children.all(),
    }
    return render(request, "judging/version_detail.html", context)


@require_POST
def version_judge_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a judge run of the version on its own target model over the test split: what promotion needs."""
    version = version_for(request, pk, LEAD)
    run = runs.judge_run_start(
        prompt_version=version,
        endpoint=version.target_model,
        item_set=JudgeRun.ItemSet.TEST,
        user=request.user,
    )
    messages.success(request, f"Judging v{version.pk} on the test split with {version.target_model.name}.")
    return redirect("judging:run", pk=run.pk)


@require_GET
def version_program(request: HttpRequest, pk: int) -> JsonResponse:
    """The version's judge as DSPy program JSON (what Module.save(path.json) writes), as a download."""
    version = version_for(request, pk, REVIEWER)
    response = JsonResponse(versions.version_program_json(version), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{version.project.slug}-v{version.pk}.json"'
    return response


@require_GET
def version_diff(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    form = VersionDiffForm(request.GET or None, project=project)
    context = {"project": project, "form": form}
    if form.is_valid():
        old, new = form.cleaned_data["a"], form.cleaned_data["b"]
        removed, added = versions.diff_counts(old.instructions, new.instructions)
        context |= {
            "old": old,
            "new": new,
            "diff": versions.word_diff(old.instructions, new.instructions),
            "removed": removed,
            "added": added,
            "demos_changed": old.demos != new.demos,
        }
    return render(request, "judging/version_diff.html", context)


@require_http_methods(["GET", "POST"])
def version_new(request: HttpRequest, slug: str) -> HttpResponse:
    """A lead writes a project's new version for a model of their choice, from a draft of the rubric."""
    project = project_for(request, slug, LEAD)
    form = VersionDraftForm(request.POST or None, project=project)
    return _save_draft(request, form, project=project, parent=None)


@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """A lead writes a new draft from any version; the version becomes its parent."""
    parent = version_for(request, pk, LEAD)
    form = VersionDraftForm(request.POST or None, project=parent.project, parent=parent)
    return _save_draft(request, form, project=parent.project, parent=parent)


def _save_draft(
    request: HttpRequest, form: VersionDraftForm, *, project: Project, parent: PromptVersion | None
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            draft = versions.version_create(
                project=project,
                target_model=parent.target_model if parent else form.cleaned_data["target_model"],
                parent=parent,
                instructions=form.cleaned_data["instructions"],
                demos=form.cleaned_data["demos"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            source = f" (from v{parent.pk})" if parent else f" for {draft.target_model.name}"
            flagged = " The guardrails flagged it: see below." if draft.is_flagged else ""
            messages.success(request, f"Saved draft v{draft.pk}{source}.{flagged}")
            return redirect("judging:version", pk=draft.pk)
    return render(request, "judging/version_form.html", {"form": form, "parent": parent, "project": project})


@require_http_methods(["GET", "POST"])
def version_promote(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation, test metrics before and after. POST: promote (or say why not)."""
    version = version_for(request, pk, LEAD)
    refusals: list[str] = []
    reason = request.POST.get("reason", "") if request.method == "POST" else ""
    if request.method == "POST":
        previous = request.POST.get("previous", "")
        try:
            log = promotion.version_promote(
                version=version,
                user=request.user,
                expected_previous_id=int(previous) if previous.isdigit() else None,
                reason=reason,
            )
        except promotion.PromotionRefused as refused:
            # Wanting only a reason is no refusal: the page asks for it next to the figures.
            refusals = [] if refused.needs_reason else refused.reasons
        else:
            if log.is_rollback:
                messages.success(request, f"Rolled back {version.target_model.name} to v{version.pk}.")
            else:
                messages.success(
                    request, f"v{version.pk} is now in production on {version.target_model.name}."
                )
            return redirect("judging:version", pk=version.pk)
        version.refresh_from_db()
    current = versions.production_version(project=version.project, target_model=version.target_model)
    current = None if current == version else current  # what promoting would replace
    after = versions.version_test_metrics(version)
    before = versions.version_test_metrics(current) if current else None
    refusals = refusals or promotion.promotion_refusals(version, after)
    comparison = promotion.promotion_comparison(version, current) if after else None
    context = {
        "comparison": comparison,
        "reason": reason,
        "reason_missing": request.method == "POST" and comparison is not None and comparison.needs_reason,
        "version": version,
        "project": version.project,
        "current": current,
        "before": before,
        "after": after,
        "rows": _compared_rows(before, after),
        "refusals": refusals,
        "is_rollback": versions.is_rollback(version, current),
        "diff": versions.word_diff(current.instructions, version.instructions) if current else None,
    }
    return render(
        request, "judging/version_promote.html", context, status=409 if request.method == "POST" else 200
    )


def _compared_rows(before, after) -> list[dict]:
    rows = []
    for label, attribute, lower_is_better, shown in COMPARED:
        old, new = _figure(before, attribute), _figure(after, attribute)
        better = None
        if old is not None and new is not None and lower_is_better is not None and old != new:
            better = (new < old) if lower_is_better else (new > old)
        rows.append(
            {
                "label": label,
                "before": shown(old),
                "after": shown(new),
                "better": better,
            }
        )
    return rows


def _figure(measurement, attribute: str) -> float | None:
    if measurement is None:
        return None
    source = measurement.metrics if hasattr(measurement.metrics, attribute) else measurement
    value = getattr(source, attribute)
    return None if value is None else float(value)


@require_GET
def model_comparison(request: HttpRequest, slug: str) -> HttpResponse:
    """Measured versions of the project across its judge models, with their test-split figures: the page
    a lead opens before switching to a cheaper model (?show=production|candidates|all)."""
    project = project_for(request, slug, REVIEWER)
    found = comparison.model_comparison(project=project, show=request.GET.get("show", "all"))
    context = {
        "project": project,
        **found,
        "filters": comparison.SHOW,
        "chart": charts.models_chart(found["rows"]) if found["rows"] else None,
    }
    return render(request, "judging/compare.html", context)


# API tokens


@never_cache
@role_required(ANNOTATOR)
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's own tokens. A new token is shown once, in the response to the form that made it."""
    allowed = tokens.scopes_allowed(request.user)
    form = ApiTokenForm(request.POST or None, allowed_scopes=allowed)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = tokens.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = ApiTokenForm(allowed_scopes=allowed)
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.filter(user=request.user),
        "can_use_api": bool(allowed),
    }
    return render(request, "judging/tokens.html", context)


@role_required(ANNOTATOR)
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.token_revoke(token=token)
    messages.success(request, f"Revoked the token “{token.name}” ({token.prefix}…).")
    return redirect("judging:tokens")
