"""Every URL pattern of Flywheel with the lowest role that may GET it and the lowest that may POST to it,
and whether it names an object of a project (then the role is the one held in that project, and a user
who is no member of the project gets 404).

The table is the security suite's single source: the role tests and the CSRF tests read it, and a test
walks django.urls.get_resolver() so that a URL added without a row here fails the suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from labeling.roles import ANNOTATOR, LEAD, REVIEWER
from tests.security.world import ANONYMOUS, NO_ROLE, World

# Levels besides the three roles.
PUBLIC = "public"  # anyone, even without logging in
LOGGED_IN = "logged in"  # any user, with or without a role
TOKEN = "token"  # the JSON API: a bearer token in the Authorization header, never a session

# Not in the table, on purpose: Django's own login/logout views and the admin (staff only, tested in
# tests/labeling/test_access.py). Static files are served by WhiteNoise's middleware, not by a URL
# pattern, so there is nothing of theirs to exempt from the walk.
EXEMPT_NAMES = {"login", "logout"}
EXEMPT_NAMESPACES = {"admin"}

_RANK = {ANONYMOUS: -2, NO_ROLE: -1, ANNOTATOR: 0, REVIEWER: 1, LEAD: 2}
_LEVEL_RANK = {PUBLIC: -2, LOGGED_IN: -1, ANNOTATOR: 0, REVIEWER: 1, LEAD: 2}

Kwargs = Callable[[World, str], dict]


@dataclass(frozen=True)
class Route:
    kwargs: Kwargs
    get: str | None  # the lowest level that may GET; None: GET is refused (405)
    post: str | None  # the same for POST

    @property
    def scoped(self) -> bool:
        """The URL names a project or one of its objects (not an endpoint, a token or nothing)."""
        return self.kwargs not in (_none, _endpoint, _token)

    @property
    def is_api(self) -> bool:
        return TOKEN in (self.get, self.post)

    @property
    def takes_post(self) -> bool:
        return self.post is not None


def _none(world: World, person: str) -> dict:
    return {}


def _endpoint(world: World, person: str) -> dict:
    return {"pk": world.endpoint.pk}


def _token(world: World, person: str) -> dict:
    return {"pk": world.own_token(person).pk}


def _slug(world: World, person: str) -> dict:
    return {"slug": world.project.slug}


def _item(world: World, person: str) -> dict:
    return {"slug": world.project.slug, "item_id": world.item.pk}


def _run(world: World, person: str) -> dict:
    return {"pk": world.run.pk}


def _version(world: World, person: str) -> dict:
    return {"pk": world.version.pk}


def _bullet(world: World, person: str) -> dict:
    return {"pk": world.bullet.pk}


def _instruction(world: World, person: str) -> dict:
    return {"pk": world.instruction.pk}


def _optimization(world: World, person: str) -> dict:
    return {"pk": world.optimization.pk}


def page(level: str, kwargs: Kwargs) -> Route:
    """A page: GET only, POST is 405."""
    return Route(kwargs, level, None)


def form(level: str, kwargs: Kwargs, *, post: str | None = None) -> Route:
    """GET shows a form, POST submits it (to the same or a higher level)."""
    return Route(kwargs, level, post or level)


def action(level: str, kwargs: Kwargs) -> Route:
    """POST only: GET is 405."""
    return Route(kwargs, None, level)


ROUTES: dict[str, Route] = {
    # labeling
    "labeling:home": page(LOGGED_IN, _none),
    "labeling:project_create": form(LEAD, _none),
    "labeling:project": page(ANNOTATOR, _slug),
    "labeling:project_edit": form(LEAD, _slug),
    "labeling:members": action(LEAD, _slug),
    "labeling:import": form(LEAD, _slug),
    "labeling:import_job": page(LEAD, lambda w, p: {"slug": w.project.slug, "job_id": w.import_job.pk}),
    "labeling:export": page(REVIEWER, lambda w, p: {"slug": w.project.slug, "fmt": "csv"}),
    "labeling:label": page(ANNOTATOR, _slug),
    "labeling:label_undo": action(ANNOTATOR, _slug),
    "labeling:label_submit": action(ANNOTATOR, _item),
    "labeling:label_skip": action(ANNOTATOR, _item),
    "labeling:my_labels": page(ANNOTATOR, _slug),
    "labeling:my_label_edit": form(
        ANNOTATOR, lambda w, p: {"slug": w.project.slug, "label_id": w.own_label(p).pk}
    ),
    "labeling:adjudication": page(REVIEWER, _slug),
    "labeling:adjudicate": form(REVIEWER, _item),
    "labeling:agreement": page(REVIEWER, _slug),
    # judging: endpoints and judge runs
    "judging:endpoints": page(LEAD, _none),
    "judging:endpoint_new": form(LEAD, _none),
    "judging:endpoint_edit": form(LEAD, _endpoint),
    "judging:endpoint_test": action(LEAD, _endpoint),
    "judging:runs": form(REVIEWER, _slug, post=LEAD),
    "judging:run": page(REVIEWER, _run),
    "judging:run_cancel": action(LEAD, _run),
    "judging:run_resume": action(LEAD, _run),
    "judging:disagreements": page(REVIEWER, _run),
    "judging:run_item": page(REVIEWER, lambda w, p: {"pk": w.run.pk, "item_id": w.item.pk}),
    "judging:run_export": page(REVIEWER, lambda w, p: {"pk": w.run.pk, "fmt": "jsonl"}),
    # judging: prompt versions, promotion, model comparison, API tokens
    "judging:versions": page(REVIEWER, _slug),
    "judging:version_diff": page(REVIEWER, _slug),
    "judging:model_comparison": page(REVIEWER, _slug),
    "judging:version": page(REVIEWER, _version),
    "judging:version_edit": form(LEAD, _version),
    "judging:version_new": form(LEAD, _slug),
    "judging:version_promote": form(LEAD, _version),
    "judging:version_judge_test": action(LEAD, _version),
    "judging:version_program": page(REVIEWER, _version),
    "judging:tokens": form(ANNOTATOR, _none),
    "judging:token_revoke": action(ANNOTATOR, _token),
    # the JSON API
    "api:prompt": Route(_slug, TOKEN, None),
    "api:items": Route(_slug, None, TOKEN),
    "api:import_job": Route(lambda w, p: {"slug": w.project.slug, "job_id": w.import_job.pk}, TOKEN, None),
    "api:metrics": Route(_slug, TOKEN, None),
    "api:openapi": Route(_none, PUBLIC, None),
    # optimizer: bullets and the library
    "optimizer:bullets": page(REVIEWER, _slug),
    "optimizer:merge": form(REVIEWER, _slug),
    "optimizer:counts": page(REVIEWER, _slug),
    "optimizer:library": page(REVIEWER, _slug),
    "optimizer:instruction_new": form(REVIEWER, _slug),
    "optimizer:generate": action(REVIEWER, _run),
    "optimizer:bullet": page(REVIEWER, _bullet),
    "optimizer:approve": action(REVIEWER, _bullet),
    "optimizer:reject": action(REVIEWER, _bullet),
    "optimizer:reopen": action(REVIEWER, _bullet),
    "optimizer:edit": form(REVIEWER, _bullet),
    "optimizer:instruction_edit": form(REVIEWER, _instruction),
    "optimizer:instruction_move": action(REVIEWER, _instruction),
    "optimizer:instruction_active": action(REVIEWER, _instruction),
    # optimizer: optimization runs
    "optimizer:runs": form(REVIEWER, _slug, post=LEAD),
    "optimizer:run_estimate": page(LEAD, _slug),
    "optimizer:run": page(REVIEWER, _optimization),
    "optimizer:run_cancel": action(LEAD, _optimization),
    "optimizer:run_resume": action(LEAD, _optimization),
}


def url_names(resolver: URLResolver | None = None, namespace: str = "") -> list[str]:
    """The qualified name of every URL pattern, found by walking the resolvers recursively; patterns
    without a name are returned as their regex so that they cannot slip through."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(url_names(entry, inner))
        elif isinstance(entry, URLPattern):
            found.append(f"{namespace}{entry.name or f'<unnamed {entry.pattern}>'}")
    return found


def is_exempt(name: str) -> bool:
    return name in EXEMPT_NAMES or name.split(":")[0] in EXEMPT_NAMESPACES


ALLOWED, FORBIDDEN, TO_LOGIN, NOT_ALLOWED, NO_TOKEN, NOT_FOUND = "allowed", 403, "login", 405, 401, 404


def expected(route: Route, method: str, person: str, *, member: bool = True):
    """What `person` gets for `method` on the route: ALLOWED (200, or 302 to a page), FORBIDDEN (403),
    TO_LOGIN (302 to the login page), NOT_ALLOWED (405), NO_TOKEN (401 JSON) or NOT_FOUND (404).
    `member`: the URL names an object of a project the person belongs to (False: another team's)."""
    level = route.get if method == "get" else route.post
    if route.is_api:
        return NO_TOKEN if level is not None else NOT_ALLOWED
    if PUBLIC in (route.get, route.post):
        return ALLOWED if level is not None else NOT_ALLOWED
    if person == ANONYMOUS:
        return TO_LOGIN
    if route.scoped:
        # The method first (a 405 comes from the URL pattern alone and names no object), then the
        # membership (404: an outsider cannot even learn that the project exists), then the role.
        if level is None:
            return NOT_ALLOWED
        if not member or person == NO_ROLE:
            return NOT_FOUND
        return FORBIDDEN if _RANK[person] < _LEVEL_RANK[level] else ALLOWED
    # Pages of no project check the role (held in any project) before the method.
    gate = level if level is not None else (route.post if method == "get" else route.get)
    if _RANK[person] < _LEVEL_RANK[gate]:
        return FORBIDDEN
    return ALLOWED if level is not None else NOT_ALLOWED
