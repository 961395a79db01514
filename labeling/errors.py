"""The 403 and 404 pages: styled like every page, saying what is missing or which role is needed, with a
way back. The project is named only once the access helper has found the user a member of it (it records
it on the request), so a project the user is not in stays a plain "not found"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404

from labeling.roles import NO_RANK, ROLES, user_rank


def _held_role(request: HttpRequest, project) -> str | None:
    rank = user_rank(request.user, project)
    return ROLES[rank] if rank > NO_RANK else None


def _reason(exception: Exception | None, default: str) -> str:
    """The exception's message when a view gave one in words (not the resolver's dict of patterns tried)."""
    if exception is None or isinstance(exception, Resolver404) or not exception.args:
        return default
    message = exception.args[0]
    return message if isinstance(message, str) and message else default


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    context = {
        "project": getattr(request, "flywheel_project", None),
        "reason": _reason(exception, "There is no page at this address."),
    }
    return render(request, "404.html", context, status=404)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    project = getattr(request, "flywheel_project", None)
    context = {
        "project": project,
        "reason": _reason(exception, "You may not open this page."),
        "held_role": _held_role(request, project),
    }
    return render(request, "403.html", context, status=403)
