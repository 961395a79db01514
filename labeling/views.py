from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from labeling import charts, selectors, services
from labeling.access import item_for, project_for
from labeling.agreement import agreement_compute
from labeling.exporting import items_export_lines
from labeling.forms import AdjudicationForm, ImportForm, LabelForm, MembershipForm, ProjectForm, shown_stamp
from labeling.models import ImportJob, Item, Label, Project
from labeling.roles import (
    ANNOTATOR,
    LEAD,
    REVIEWER,
    membership_remove,
    membership_set,
    projects_of,
    role_required,
)

_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # Only the projects the user is a member of; without any membership they are not admitted yet.
    projects = projects_of(request.user)
    return render(request, "labeling/home.html", {"projects": projects})


@role_required(LEAD)
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            project = form.save()
            membership_set(project=project, user=request.user, role=LEAD)  # its creator leads it
        messages.success(request, f"Project “{project.name}” created.")
        return redirect(project)
    return render(request, "labeling/project_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, LEAD)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        project = form.save()
        messages.success(request, f"Settings of “{project.name}” saved.")
        return redirect(project)
    context = {"form": form, "project": project} | _members_context(project)
    return render(request, "labeling/project_form.html", context)


def _members_context(project: Project) -> dict:
    return {"members": project.memberships.select_related("user"), "member_form": MembershipForm()}


@require_POST
def project_members(request: HttpRequest, slug: str) -> HttpResponse:
    """A lead of the project adds a member, changes a member's role or takes a member out."""
    project = project_for(request, slug, LEAD)
    form = MembershipForm(request.POST)
    if form.is_valid():
        user, role = form.cleaned_data["username"], form.cleaned_data["role"]
        try:
            if role == MembershipForm.REMOVE:
                membership_remove(project=project, user=user)
                done = f"{user} is no longer a member of “{project.name}”."
            else:
                membership_set(project=project, user=user, role=role)
                done = f"{user} is now {role} in “{project.name}”."
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, done)
    else:
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
    return redirect("labeling:project_edit", slug=project.slug)


@require_GET
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, ANNOTATOR)
    splits = selectors.project_split_counts(project=project)
    totals = selectors.split_counts_total(splits)
    labels_today = selectors.project_labels_today(project=project)
    context = {
        "project": project,
        "splits": splits,
        "totals": totals,
        "label_distribution": selectors.project_label_distribution(project=project),
        "labels_today": labels_today,
        "labels_today_total": sum(count for _, count in labels_today),
        "import_jobs": project.import_jobs.select_related("created_by")[:5],
    }
    return render(request, "labeling/project_detail.html", context)


@require_http_methods(["GET", "POST"])
def items_import(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, LEAD)
    form = ImportForm(request.POST or None, request.FILES or None, project=project)
    if request.method == "POST" and form.is_valid():
        job = services.import_job_create(
            project=project,
            user=request.user,
            upload=form.cleaned_data["file"],
            options=form.import_options(),
        )
        return redirect("labeling:import_job", slug=project.slug, job_id=job.pk)
    return render(request, "labeling/import_form.html", {"project": project, "form": form})


@require_GET
def import_job(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    project = project_for(request, slug, LEAD)
    job = get_object_or_404(ImportJob.objects.select_related("project"), pk=job_id, project=project)
    if request.htmx:
        response = render(request, "labeling/import_job.html#status", {"job": job})
        if not job.is_active:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "labeling/import_job.html", {"job": job, "project": job.project})


@require_GET
def items_export(request: HttpRequest, slug: str, fmt: str) -> StreamingHttpResponse:
    project = project_for(request, slug, REVIEWER)
    response = StreamingHttpResponse(
        items_export_lines(project=project, fmt=fmt), content_type=_EXPORT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-items.{fmt}"'
    return response


# Labeling: one page, its workspace swapped by htmx after each submit, skip or undo.

_LABEL_PAGE = "labeling/label.html"


def _workspace(
    request: HttpRequest,
    project: Project,
    item: Item | None,
    *,
    form: LabelForm | None = None,
    notice: str = "",
) -> HttpResponse:
    """The labeling page, or with htmx only its workspace. Blind: nothing about other labels or judges."""
    form = form or LabelForm(project=project, item=item)
    context = {
        "project": project,
        "item": item,
        "form": form,
        "selected": form.selected_score(),
        "shown": shown_stamp(item) if item else "",
        "progress": selectors.annotator_progress(project=project, annotator=request.user),
        "notice": notice,
    }
    return render(request, _LABEL_PAGE + "#workspace" if request.htmx else _LABEL_PAGE, context)


def _next(
    request: HttpRequest,
    project: Project,
    notice: str,
    *,
    item: Item | None = None,
    form: LabelForm | None = None,
) -> HttpResponse:
    """After a submit, skip or undo: the next item (or the one given) in place with htmx, else back to the
    page (PRG)."""
    if not request.htmx:
        messages.success(request, notice)
        return redirect("labeling:label", slug=project.slug)
    item = item or services.item_reserve_next(project=project, annotator=request.user)
    return _workspace(request, project, item, form=form, notice=notice)


@require_GET
def label(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, ANNOTATOR)
    return _workspace(request, project, services.item_reserve_next(project=project, annotator=request.user))


@require_POST
def label_submit(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    item = item_for(request, slug, item_id, ANNOTATOR)
    project = item.project
    form = LabelForm(request.POST, project=project, item=item)
    if not form.is_valid():
        return _workspace(request, project, item, form=form)
    label = services.label_submit(
        item=item,
        annotator=request.user,
        score=form.cleaned_data["score"],
        rationale=form.cleaned_data["rationale"],
        seconds_spent=form.cleaned_data["shown"],
    )
    return _next(request, project, notice=f"Saved {label.score} for “{item.query[:80]}”. Press U to undo.")


@require_POST
def label_skip(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    item = item_for(request, slug, item_id, ANNOTATOR)
    services.item_skip(item=item, annotator=request.user)
    project = item.project
    return _next(request, project, notice="Skipped: it comes back once the rest of your queue is done.")


@require_POST
def label_undo(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, ANNOTATOR)
    undone = services.label_undo_last(project=project, annotator=request.user)
    if undone is None:
        return _next(request, project, notice="Nothing to undo: you have no label in this project.")
    form = LabelForm(
        project=project, item=undone.item, initial={"score": undone.score, "rationale": undone.rationale}
    )
    notice = f"Undid your {undone.score} for “{undone.item.query[:80]}”: label it again."
    return _next(request, project, notice, item=undone.item, form=form)


@require_GET
def my_labels(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, ANNOTATOR)
    labels = (
        Label.objects.filter(item__project=project, annotator=request.user)
        .select_related("item")
        .annotate(edits=Count("revisions"))
        .order_by("-created_at", "-id")
    )
    page = Paginator(labels, 50).get_page(request.GET.get("page"))
    context = {"project": project, "page": page}
    if not page.paginator.count:
        # An empty list: say whether anything is waiting, so "Start labeling" is no loop back to nothing.
        context["progress"] = selectors.annotator_progress(project=project, annotator=request.user)
    return render(request, "labeling/my_labels.html", context)


@require_http_methods(["GET", "POST"])
def my_label_edit(request: HttpRequest, slug: str, label_id: int) -> HttpResponse:
    project = project_for(request, slug, ANNOTATOR)
    # Someone else's label is a 404: an annotator cannot even learn that it exists.
    label = get_object_or_404(
        Label.objects.select_related("item"), pk=label_id, item__project=project, annotator=request.user
    )
    label.item.project = project
    form = LabelForm(
        request.POST or None,
        project=project,
        item=label.item,
        initial={"score": label.score, "rationale": label.rationale},
    )
    if request.method == "POST" and form.is_valid():
        services.label_edit(
            label=label, score=form.cleaned_data["score"], rationale=form.cleaned_data["rationale"]
        )
        messages.success(
            request, f"Label changed to {label.score}; the previous value is kept in its history."
        )
        return redirect("labeling:my_labels", slug=project.slug)
    context = {
        "project": project,
        "label": label,
        "item": label.item,
        "form": form,
        "selected": form.selected_score(),
        "revisions": label.revisions.all(),  # only edits keep their label (an undo deletes it)
    }
    return render(request, "labeling/label_edit.html", context)


# Reviewers: adjudication and agreement.


@require_GET
def adjudication_queue(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    include_done = request.GET.get("show") == "all"
    items = selectors.adjudication_queue(project=project, include_done=include_done)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    context = {"project": project, "page": page, "include_done": include_done}
    return render(request, "labeling/adjudication_queue.html", context)


@require_http_methods(["GET", "POST"])
def adjudicate(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    item = get_object_or_404(Item.objects.select_related("adjudicated_by"), pk=item_id, project=project)
    item.project = project
    form = AdjudicationForm(
        request.POST or None,
        project=project,
        initial={"score": item.adjudicated_score, "note": item.adjudication_note},
    )
    if request.method == "POST" and form.is_valid():
        services.item_adjudicate(
            item=item, reviewer=request.user, score=form.cleaned_data["score"], note=form.cleaned_data["note"]
        )
        messages.success(request, f"Gold set to {item.adjudicated_score} for “{item.query[:80]}”.")
        following = selectors.adjudication_queue(project=project).first()
        if following is None:
            return redirect("labeling:adjudication", slug=project.slug)
        return redirect("labeling:adjudicate", slug=project.slug, item_id=following.pk)
    context = {
        "project": project,
        "item": item,
        "labels": item.labels.select_related("annotator").order_by("score", "annotator__username"),
        "form": form,
        "selected": form.selected_score(),
    }
    return render(request, "labeling/adjudicate.html", context)


@require_GET
def agreement(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    result = agreement_compute(
        rows=selectors.project_label_rows(project=project),
        scale_points=project.scale_points,
        sources=selectors.label_sources(),
    )
    figures = {}
    # A chart with nothing to draw is an empty axis: the page says why in words instead.
    if result.annotators:
        figures["distribution"] = charts.distribution_chart(result)
    if result.has_bias:
        figures["bias"] = charts.bias_chart(result)
    if result.pairs:
        figures["kappa"] = charts.kappa_heatmap(result)
    return render(
        request, "labeling/agreement.html", {"project": project, "agreement": result, "figures": figures}
    )
