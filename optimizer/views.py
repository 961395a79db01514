"""Reviewers' pages: the bullet queue (htmx actions per bullet), merging, the instruction library and the
flywheel's counts per prompt version."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from judging import charts
from judging.models import PromptVersion
from judging.selectors import bullet_runs
from labeling.roles import REVIEWER
from optimizer import bullets as rules
from optimizer import library, selectors
from optimizer.access import bullet_for, instruction_for, project_for, run_for
from optimizer.forms import BulletTextForm, InstructionForm, InstructionFromBulletsForm, MergeForm
from optimizer.models import Bullet, LibraryInstruction

_DIRECTIONS = ("lenient", "strict")
# Merge suggestions shown at a time on the bullets page; "more" brings the next ones.
SUGGESTIONS_PER_PAGE = 10


def _ids(request: HttpRequest, name: str) -> list[int]:
    return [int(value) for value in request.GET.getlist(name) if value.isdigit()]


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# The queue


@require_GET
def bullet_queue(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    status = request.GET.get("status", "open")
    filters = {
        "status": status if status in Bullet.Status.values else "",
        "direction": request.GET.get("direction", "") if request.GET.get("direction") in _DIRECTIONS else "",
        "version": request.GET.get("version", "") if request.GET.get("version", "").isdigit() else "",
    }
    bullets = selectors.bullet_queue(
        project=project,
        status=filters["status"],
        direction=filters["direction"],
        prompt_version_id=int(filters["version"]) if filters["version"] else None,
    )
    page = Paginator(bullets, 25).get_page(request.GET.get("page"))
    versions = PromptVersion.objects.filter(project=project, bullets__isnull=False).distinct()
    groups = []
    if filters["status"] in ("open", ""):
        version = versions.filter(pk=filters["version"]).first() if filters["version"] else None
        groups = rules.merge_suggestions(
            project=project, prompt_version=version, direction=filters["direction"]
        )
    suggestions = Paginator([rules.Suggestion(group) for group in groups], SUGGESTIONS_PER_PAGE).get_page(
        request.GET.get("suggestions")
    )
    context = {
        "project": project,
        "filters": filters,
        "page": page,
        "statuses": Bullet.Status.values,
        "versions": versions,
        "suggestions": suggestions,
        "suggested_bullets": sum(len(group) for group in groups),
        "query_without_page": urlencode(filters) + "&",
        "latest_bullet_run": bullet_runs(project).first(),
        # Said once above the list rather than by every bullet.
        "no_rationale_on_page": bool(page) and not any(bullet.human_rationale for bullet in page),
    }
    if request.htmx and request.GET.get("part") == "suggestions":
        return render(request, "optimizer/bullet_queue.html#suggestions", context)
    return render(request, "optimizer/bullet_queue.html", context)


def _card(request: HttpRequest, bullet: Bullet, *, error: str = "") -> HttpResponse:
    """The bullet's card for an htmx swap; without htmx, back to the page the reviewer came from."""
    if request.htmx:
        bullet = bullet_for(request, bullet.pk, REVIEWER)
        return render(request, "optimizer/bullet_queue.html#card", {"bullet": bullet, "error": error})
    if error:
        messages.error(request, error)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("optimizer:bullets", args=[bullet.project.slug])
    return redirect(back)


@require_GET
def bullet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bullet = bullet_for(request, pk, REVIEWER)
    if request.htmx:
        return render(request, "optimizer/bullet_queue.html#card", {"bullet": bullet})
    context = {
        "bullet": bullet,
        "project": bullet.project,
        "merged": selectors.with_card_data(bullet.merged_bullets),
    }
    return render(request, "optimizer/bullet_detail.html", context)


def _act(action):
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        bullet = bullet_for(request, pk, REVIEWER)
        try:
            action(bullet=bullet, user=request.user)
        except ValidationError as error:
            return _card(request, bullet, error=_error_text(error))
        return _card(request, bullet)

    view.__name__ = action.__name__
    return view


bullet_approve = _act(rules.bullet_approve)
bullet_reject = _act(rules.bullet_reject)
bullet_reopen = _act(rules.bullet_reopen)


@require_http_methods(["GET", "POST"])
def bullet_edit(request: HttpRequest, pk: int) -> HttpResponse:
    bullet = bullet_for(request, pk, REVIEWER)
    form = BulletTextForm(request.POST or None, initial={"text": bullet.text}, bullet_pk=bullet.pk)
    if request.method == "POST" and form.is_valid():
        try:
            rules.bullet_edit(bullet=bullet, user=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            return _card(request, bullet, error=_error_text(error))
        return _card(request, bullet)
    context = {"bullet": bullet, "project": bullet.project, "form": form}
    if request.htmx:
        return render(request, "optimizer/bullet_queue.html#card_edit", context)
    return render(request, "optimizer/bullet_edit.html", context)


@require_POST
def bullets_generate(request: HttpRequest, pk: int) -> HttpResponse:
    """From a finished judge run: all its train/dev disagreements, or one item's (item_id)."""
    run = run_for(request, pk, REVIEWER)
    if not run.is_finished:
        messages.error(request, "The run is still going: make bullets once it has finished.")
        return redirect("judging:run", pk=run.pk)
    item_id = request.POST.get("item_id", "")
    generated = rules.bullets_generate_from_run(
        run=run, user=request.user, item_ids=[int(item_id)] if item_id.isdigit() else None
    )
    if generated.created or generated.existing:
        messages.success(
            request,
            f"{generated.created} new bullet{'s' if generated.created != 1 else ''}; "
            f"{generated.existing} already there, left as the reviewers left them.",
        )
    else:
        messages.info(request, "No disagreement on a train or dev item here: nothing to make a bullet of.")
    # One item's bullet: land on that bullet, not on the whole list it would be lost in.
    if item_id.isdigit() and (bullet := selectors.run_item_bullet(run, int(item_id))):
        return redirect("optimizer:bullet", pk=bullet.pk)
    url = reverse("optimizer:bullets", args=[run.project.slug])
    return redirect(f"{url}?status=&version={run.prompt_version_id}")


@require_http_methods(["GET", "POST"])
def bullets_merge(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    if request.method == "POST":
        form = MergeForm(request.POST, project=project)
        chosen = list(form.fields["bullets"].queryset.filter(pk__in=request.POST.getlist("bullets")))
        if form.is_valid():
            try:
                survivor = rules.bullets_merge(
                    bullets=form.cleaned_data["bullets"],
                    survivor=form.cleaned_data["survivor"],
                    user=request.user,
                    text=form.cleaned_data["text"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"Merged {len(chosen)} bullets into #{survivor.pk}, approved with your text."
                )
                return redirect("optimizer:bullets", slug=project.slug)
    else:
        form = MergeForm(project=project)
        chosen = list(form.fields["bullets"].queryset.filter(pk__in=_ids(request, "ids")).order_by("id"))
        if chosen:
            form.initial = {"text": chosen[0].text, "survivor": chosen[0].pk}
    context = {"project": project, "form": form, "chosen": chosen}
    return render(request, "optimizer/bullet_merge.html", context)


# The flywheel's gauge


@require_GET
def version_counts(request: HttpRequest, slug: str) -> HttpResponse:
    """Disagreements and open bullets per prompt version: a page, and the part the project page loads."""
    project = project_for(request, slug, REVIEWER)
    flywheel = selectors.project_flywheel(project)
    context = {
        "project": project,
        "flywheel": flywheel,
        "trend_chart": charts.version_trend_chart(flywheel.trend) if flywheel.trend else None,
    }
    template = "optimizer/counts.html#counts" if request.htmx else "optimizer/counts.html"
    return render(request, template, context)


# The instruction library


@require_GET
def library_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request, slug, REVIEWER)
    return render(
        request,
        "optimizer/library.html",
        {"project": project, "instructions": selectors.library_all(project)},
    )


@require_http_methods(["GET", "POST"])
def instruction_new(request: HttpRequest, slug: str) -> HttpResponse:
    """A library instruction from approved bullets (those ticked in the queue)."""
    project = project_for(request, slug, REVIEWER)
    form = InstructionFromBulletsForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            instruction = library.instruction_create_from_bullets(
                project=project,
                bullets=list(form.cleaned_data["bullets"]),
                text=form.cleaned_data["text"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _say_flags(request, instruction, "Added to the library")
            return redirect("optimizer:library", slug=project.slug)
    ids = request.POST.getlist("bullets") if request.method == "POST" else _ids(request, "ids")
    candidates = form.fields["bullets"].queryset
    context = {
        "project": project,
        "form": form,
        "chosen": list(candidates.filter(pk__in=ids).order_by("id")),
        "not_approved": Bullet.objects.filter(project=project, pk__in=ids).exclude(pk__in=candidates).count(),
    }
    return render(request, "optimizer/instruction_new.html", context)


def _say_flags(request: HttpRequest, instruction: LibraryInstruction, done: str) -> None:
    if instruction.is_flagged:
        messages.error(
            request, f"{done}, flagged by the leakage guardrail: reword it before the optimizer relies on it."
        )
    else:
        messages.success(request, f"{done}.")


@require_http_methods(["GET", "POST"])
def instruction_edit(request: HttpRequest, pk: int) -> HttpResponse:
    instruction = instruction_for(request, pk, REVIEWER)
    form = InstructionForm(request.POST or None, initial={"text": instruction.text})
    if request.method == "POST" and form.is_valid():
        library.instruction_edit(instruction=instruction, text=form.cleaned_data["text"], user=request.user)
        _say_flags(request, instruction, "Saved")
        return redirect("optimizer:library", slug=instruction.project.slug)
    context = {"project": instruction.project, "instruction": instruction, "form": form}
    return render(request, "optimizer/instruction_edit.html", context)


@require_POST
def instruction_move(request: HttpRequest, pk: int) -> HttpResponse:
    instruction = instruction_for(request, pk, REVIEWER)
    offset = -1 if request.POST.get("to") == "up" else 1
    library.instruction_move(instruction=instruction, offset=offset, user=request.user)
    return redirect("optimizer:library", slug=instruction.project.slug)


@require_POST
def instruction_active(request: HttpRequest, pk: int) -> HttpResponse:
    instruction = instruction_for(request, pk, REVIEWER)
    library.instruction_set_active(
        instruction=instruction, active=request.POST.get("active") == "1", user=request.user
    )
    return redirect("optimizer:library", slug=instruction.project.slug)
