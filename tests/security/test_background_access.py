"""Background tasks act through memberships too: a run a lead queued does not start if, by the time a
worker takes it up, that lead no longer leads its project (an import job likewise:
tests/security/test_import_failures.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.runs import judge_run_start
from judging.tasks import judge_run_dispatch_task
from labeling.models import Membership
from labeling.roles import REVIEWER
from optimizer.models import OptimizationRun
from optimizer.tasks import optimization_run_task

pytestmark = pytest.mark.django_db


def _demote(user, project) -> None:
    Membership.objects.filter(user=user, project=project).update(role=REVIEWER)


def test_a_judge_run_whose_lead_lost_the_role_before_a_worker_took_it_never_starts(
    demo_project, lead, django_capture_on_commit_callbacks
):
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    with django_capture_on_commit_callbacks(execute=False):
        run = judge_run_start(
            prompt_version=version, endpoint=version.target_model, item_set="labeled", user=lead
        )
    _demote(lead, demo_project)

    assert judge_run_dispatch_task(run.pk) == 0

    run.refresh_from_db()
    assert run.status == JudgeRun.Status.CANCELLED and not run.judgments.exists()


def test_a_judge_run_whose_lead_still_leads_starts(
    demo_project, lead, eager_celery, django_capture_on_commit_callbacks
):
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    with django_capture_on_commit_callbacks(execute=False):
        run = judge_run_start(
            prompt_version=version, endpoint=version.target_model, item_set="test", user=lead
        )

    assert judge_run_dispatch_task(run.pk) > 0

    assert run.judgments.exists()


def test_an_optimization_run_whose_lead_lost_the_role_never_starts(demo_project, lead):
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    run = OptimizationRun.objects.create(
        project=demo_project,
        base_version=version,
        target_endpoint=version.target_model,
        reflection_endpoint=ModelEndpoint.objects.get(name="sim/reflector"),
        created_by=lead,
        created_at=timezone.now(),
    )
    _demote(lead, demo_project)

    assert optimization_run_task(run.pk) == OptimizationRun.Status.CANCELLED
    run.refresh_from_db()
    assert run.started_at is None and not run.candidates.exists()
