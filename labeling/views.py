from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from labeling import selectors, services
from labeling.exporting import items_export_lines
from labeling.forms import ImportForm, ProjectForm
from labeling.models import ImportJob, Project
from labeling.roles import LEAD, REVIEWER, role_required

_EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def home(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.all()
    return render(request, "labeling/home.html", {"projects": projects})


@role_required(LEAD)
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = form.save()
        messages.success(request, f"Project “{project.name}” created.")
        return redirect(project)
    return render(request, "labeling/project_form.html", {"form": form})


def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_object_or_404(Project, slug=slug)
    context = {
        "project": project,
        "splits": selectors.project_split_counts(project=project),
        "import_jobs": project.import_jobs.select_related("created_by")[:5],
    }
    return render(request, "labeling/project_detail.html", context)


@role_required(LEAD)
@require_http_methods(["GET", "POST"])
def items_import(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_object_or_404(Project, slug=slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.import_job_create(
            project=project,
            user=request.user,
            upload=form.cleaned_data["file"],
            options=form.import_options(),
        )
        return redirect("labeling:import_job", slug=project.slug, job_id=job.pk)
    return render(request, "labeling/import_form.html", {"project": project, "form": form})


@role_required(LEAD)
def import_job(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("project"), pk=job_id, project__slug=slug)
    if request.htmx:
        response = render(request, "labeling/import_job.html#status", {"job": job})
        if job.is_finished:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "labeling/import_job.html", {"job": job, "project": job.project})


@role_required(REVIEWER)
def items_export(request: HttpRequest, slug: str, fmt: str) -> StreamingHttpResponse:
    project = get_object_or_404(Project, slug=slug)
    response = StreamingHttpResponse(
        items_export_lines(project=project, fmt=fmt), content_type=_EXPORT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-items.{fmt}"'
    return response
