"""The JSON API: production prompts (with their DSPy program JSON), items and labels import, metrics.

Authentication is a per-user bearer token in the Authorization header only (judging.tokens); there is
no session and so no CSRF. Each endpoint needs one token scope, and a token never does more than its
owner's role allows. Errors are JSON: {"error": "..."}."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from judging.models import ApiToken, ModelEndpoint, PromptVersion
from judging.openapi import openapi_schema
from judging.tokens import SCOPE_ROLES, TOKEN_PREFIX, token_authenticate
from judging.versions import production_version, version_program_json, versions_measurements
from labeling.importing import FIELDS, SUFFIX_FORMATS
from labeling.models import ImportJob, Project
from labeling.roles import has_role
from labeling.services import import_job_queue

# Never accepted from a URL: query strings end up in access logs, browser history and proxies.
_QUERY_TOKEN_NAMES = ("token", "access_token", "api_token", "api_key", "key", "bearer")
_BODY_TYPES = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
    "application/json-lines": "jsonl",
    "text/csv": "csv",
}
_CHUNK = 64 * 1024


class BodyTooLarge(ValueError):
    pass


def api_error(status: int, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="flywheel"'
    return response


def token_required(scope: str) -> Callable:
    """View decorator: a valid, unrevoked bearer token holding `scope`, whose owner still has the role."""

    def decorator(view: Callable) -> Callable:
        @login_not_required  # the token is the login; LoginRequiredMiddleware would redirect to a form
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if any(name in request.GET for name in _QUERY_TOKEN_NAMES) or any(
                value.startswith(TOKEN_PREFIX) for _, values in request.GET.lists() for value in values
            ):
                return api_error(
                    400,
                    "Send the token in the Authorization header (Authorization: Bearer …), never in the URL.",
                )
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                return api_error(401, "Send a token: Authorization: Bearer <token>.")
            token = token_authenticate(secret.strip())
            if token is None:
                return api_error(401, "Unknown or revoked token.")
            if scope not in token.scopes:
                return api_error(403, f"This token lacks the scope {scope}.", required_scope=scope)
            role = SCOPE_ROLES[scope]
            if not has_role(token.user, role):
                return api_error(403, f"The token's owner does not hold the {role} role that {scope} needs.")
            request.user = token.user
            request.api_token = token
            request.api_scope = scope
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _project(request: HttpRequest, slug: str) -> Project | None:
    """The project, found through the token owner's memberships: None (a 404) for one they are not a
    member of, or in which their role is below what the token's scope needs."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not has_role(request.user, SCOPE_ROLES[request.api_scope], project):
        return None
    return project


def _endpoint_named(request: HttpRequest) -> ModelEndpoint | None:
    name = request.GET.get("model", "").strip()
    return ModelEndpoint.objects.filter(name=name).first() if name else None


@require_GET
@token_required(ApiToken.Scope.PROMPTS_READ)
def production_prompt(request: HttpRequest, slug: str) -> JsonResponse:
    """The production prompt of (project, model): what a service needs to run the judge itself."""
    project = _project(request, slug)
    if project is None:
        return api_error(404, f"No project {slug!r}.")
    endpoint = _endpoint_named(request)
    if endpoint is None:
        return api_error(400, "Name the model endpoint: ?model=<endpoint name>.")
    version = production_version(project=project, target_model=endpoint)
    if version is None:
        return api_error(404, f"No production version for {endpoint.name} in {project.slug}.")
    program = version_program_json(version)
    description = program["flywheel"]
    return JsonResponse(
        {
            "project": project.slug,
            "model": endpoint.name,
            "version": version.pk,
            "parent": version.parent_id,
            "origin": version.origin,
            "instructions": version.instructions,
            "demos": version.demos,
            "scale": {
                "min": project.scale_min,
                "max": project.scale_max,
                "descriptions": project.scale_descriptions,
            },
            "input_fields": description["inputs"],
            "output_fields": description["outputs"],
            "program": program,
        }
    )


@require_GET
@token_required(ApiToken.Scope.METRICS_READ)
def metrics(request: HttpRequest, slug: str) -> JsonResponse:
    """Metrics per split of the project's production versions (or of every version with ?status=any),
    each measured on its own target model; ?model= narrows to one endpoint."""
    project = _project(request, slug)
    if project is None:
        return api_error(404, f"No project {slug!r}.")
    versions = project.prompt_versions.select_related("target_model")
    if request.GET.get("status", "production") != "any":
        versions = versions.filter(status=PromptVersion.Status.PRODUCTION)
    if request.GET.get("model"):
        endpoint = _endpoint_named(request)
        if endpoint is None:
            return api_error(404, f"No model endpoint {request.GET['model']!r}.")
        versions = versions.filter(target_model=endpoint)
    versions = list(versions)
    measurements = versions_measurements(versions)
    return JsonResponse(
        {
            "project": project.slug,
            "versions": [
                {
                    "version": version.pk,
                    "model": version.target_model.name,
                    "status": version.status,
                    "origin": version.origin,
                    "flagged": version.is_flagged,
                    "metrics": {
                        split: measured.as_dict() for split, measured in measurements[version.pk].items()
                    },
                }
                for version in versions
            ],
        }
    )


@require_POST
@token_required(ApiToken.Scope.ITEMS_WRITE)
def items_import_view(request: HttpRequest, slug: str) -> JsonResponse:
    """Items (and the labels they carry) from a JSON Lines or CSV body or an uploaded file "file", queued
    as the same import job as the browser's upload: 202 with the job's URL, which says how it ended
    (all of it imported, or nothing and every bad line named)."""
    project = _project(request, slug)
    if project is None:
        return api_error(404, f"No project {slug!r}.")
    try:
        options = _import_options(request)
    except ValueError as bad:
        return api_error(400, str(bad))
    settings.UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    path = Path(settings.UPLOAD_DIR) / f"{uuid.uuid4().hex}_api"
    try:
        fmt, name = _store_body(request, path)
    except ValueError as bad:  # BodyTooLarge included
        path.unlink(missing_ok=True)
        return api_error(413 if isinstance(bad, BodyTooLarge) else 400, str(bad))
    job = import_job_queue(
        project=project, user=request.user, file_name=name, path=path, options={**options, "format": fmt}
    )
    url = request.build_absolute_uri(reverse("api:import_job", args=[project.slug, job.pk]))
    response = JsonResponse(_job_json(request, job) | {"url": url}, status=202)
    response["Location"] = url
    return response


@require_GET
@token_required(ApiToken.Scope.ITEMS_WRITE)
def import_job_view(request: HttpRequest, slug: str, job_id: int) -> JsonResponse:
    """An import job's status: queued, running, done (with its counts) or failed (with its bad lines)."""
    project = _project(request, slug)
    if project is None:
        return api_error(404, f"No project {slug!r}.")
    job = project.import_jobs.filter(pk=job_id).first()
    if job is None:
        return api_error(404, f"No import job #{job_id} in project {slug!r}.")
    return JsonResponse(_job_json(request, job))


def _job_json(request: HttpRequest, job: ImportJob) -> dict:
    return {
        "job": job.pk,
        "status": job.status,
        "items_imported": job.items_imported,
        "labels_imported": job.labels_imported,
        "error": job.error,
        "errors": job.errors,
        "page": request.build_absolute_uri(reverse("labeling:import_job", args=[job.project.slug, job.pk])),
    }


def _import_options(request: HttpRequest) -> dict:
    field_map = {}
    for mapping in request.GET.getlist("map"):
        name, sep, column = mapping.partition("=")
        if not sep or name not in FIELDS:
            raise ValueError(f"map takes field=column with a field among {', '.join(FIELDS)}.")
        field_map[name] = column
    file_scale = None
    if request.GET.get("file_scale"):
        low, sep, high = request.GET["file_scale"].partition("-")
        if not sep or not low.strip().isdigit() or not high.strip().isdigit():
            raise ValueError("file_scale takes min-max, e.g. 0-3.")
        file_scale = (int(low), int(high))
    return {
        "field_map": field_map,
        "file_scale": file_scale,
        "labels_as": request.GET.get("labels_as") or request.user.get_username(),
    }


def _store_body(request: HttpRequest, path: Path) -> tuple[str, str]:
    """Copy the upload (a multipart "file" or the raw body) to `path` in chunks; return its format and
    the name the job shows."""
    limit = settings.IMPORT_MAX_BYTES
    fmt = request.GET.get("format")
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise ValueError('Send the file in the form field "file".')
        if upload.size > limit:
            raise BodyTooLarge(f"The file is larger than the limit of {limit} bytes.")
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return fmt or SUFFIX_FORMATS.get(Path(upload.name.lower()).suffix, "jsonl"), upload.name
    written = 0
    with path.open("wb") as out:
        while chunk := request.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise BodyTooLarge(f"The body is larger than the limit of {limit} bytes.")
            out.write(chunk)
    if not written:
        raise ValueError("The body is empty: send JSON Lines (one item per line) or CSV.")
    fmt = fmt or _BODY_TYPES.get(content_type, "jsonl")
    return fmt, f"API upload ({fmt}, {written} bytes)"


@login_not_required
@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_schema())
