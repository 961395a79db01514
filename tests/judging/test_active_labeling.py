"""Active labeling: once judge runs exist, a project can put first in the annotators' queue the unlabeled
items where the judgments disagree with each other (or came out malformed)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from labeling import services
from labeling.models import Project
from tests.labeling.factories import items_make, label_make
from tests.labeling.test_labeling_pages import LABEL_PAGE_QUERIES, _grow, _label_page_queries

pytestmark = pytest.mark.django_db

DISAGREEMENT = Project.QueueOrder.DISAGREEMENT


def _run(project, model: str, scores: dict, *, status: str = JudgeRun.Status.DONE) -> JudgeRun:
    """A judge run with a judgment per item: a score, "malformed", or "error" (a call that failed)."""
    endpoint, _ = ModelEndpoint.objects.get_or_create(name=model, defaults={"model": model})
    version = PromptVersion.objects.create(project=project, target_model=endpoint, instructions="Judge it.")
    run = JudgeRun.objects.create(
        project=project, prompt_version=version, endpoint=endpoint, item_set="unlabeled", status=status
    )
    for item, outcome in scores.items():
        Judgment.objects.create(
            run=run,
            item=item,
            score=outcome if isinstance(outcome, int) else None,
            malformed=outcome == "malformed",
            error_kind="timeout" if outcome == "error" else "",
            cache_key=f"{run.pk}-{item.pk}",
        )
    return run


@pytest.fixture
def judged(project):
    """A: both runs say 3 (agree). B: 1 and 5 (disagree by 4). C: 4 and 4, then a malformed output."""
    a, b, c = items_make(project, 3)
    _run(project, "sim/judge-small", {a: 3, b: 1, c: 4})
    _run(project, "sim/judge-large", {a: 3, b: 5, c: 4})
    _run(project, "sim/judge-small", {c: "malformed"})
    return a, b, c


def _queue(project, annotator) -> list:
    """Items in the order the annotator is offered them (labeling each one to get the next)."""
    offered = []
    while (item := services.item_reserve_next(project=project, annotator=annotator)) is not None:
        offered.append(item)
        services.label_submit(item=item, annotator=annotator, score=3, rationale="Labelled for the test.")
    return offered


def test_with_the_setting_on_the_item_the_judgments_disagree_on_comes_first(project, annotator, judged):
    a, b, c = judged
    project.queue_order = DISAGREEMENT
    project.save()

    assert _queue(project, annotator) == [b, c, a]  # spread 4, then malformed, then agreement


def test_with_the_setting_off_the_queue_keeps_id_order(project, annotator, judged):
    a, b, c = judged

    assert project.queue_order == Project.QueueOrder.ID
    assert _queue(project, annotator) == [a, b, c]


def test_only_finished_runs_and_real_answers_count(project, annotator):
    a, b = items_make(project, 2)
    _run(project, "sim/judge-small", {a: 1, b: 2})
    _run(project, "sim/judge-large", {a: 5}, status=JudgeRun.Status.RUNNING)  # not finished yet
    _run(project, "sim/judge-large", {a: "error", b: 4})  # a failed call says nothing about a
    project.queue_order = DISAGREEMENT
    project.save()

    assert _queue(project, annotator) == [b, a]


def test_labeled_and_held_items_stay_out_of_the_queue_whatever_the_order(
    project, annotator, reviewer, judged
):
    a, b, c = judged
    project.queue_order = DISAGREEMENT
    project.save()
    label_make(b, reviewer, 2)  # b reached its one label
    assert services.item_reserve_next(project=project, annotator=reviewer) == c  # c held by bob

    assert services.item_reserve_next(project=project, annotator=annotator) == a


def test_the_labeling_page_runs_the_same_queries_in_disagreement_order(
    client_for, annotator, reviewer, lead, project
):
    _grow(project, annotator, [reviewer, lead], 30)
    project.queue_order = DISAGREEMENT
    project.save()
    client = client_for(annotator)
    client.get("/")

    assert _label_page_queries(client, project) == LABEL_PAGE_QUERIES


def test_a_lead_sets_the_queue_order_on_the_project_settings_page(client_for, lead, project):
    client = client_for(lead)
    url = reverse("labeling:project_edit", args=[project.slug])
    assert "Most likely disagreement first" in client.get(url).content.decode()
    fields = {
        "name": project.name,
        "slug": project.slug,
        "rubric": project.rubric,
        "scale_min": 1,
        "scale_max": 5,
        "guardrail_text": project.guardrail_text,
        "labels_per_item": 1,
        "rationale_min_length": 20,
        "adjudication_spread": 2,
        "queue_order": "disagreement",
    }

    response = client.post(url, fields)

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.queue_order == DISAGREEMENT
    assert "queue: most likely disagreement first" in client.get(project.get_absolute_url()).content.decode()


def test_only_a_lead_may_open_the_project_settings(client_for, reviewer, project):
    url = reverse("labeling:project_edit", args=[project.slug])

    assert client_for(reviewer).get(url).status_code == 403
    assert client_for(reviewer).post(url, {"queue_order": "disagreement"}).status_code == 403
