from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.runs import judge_run_start
from optimizer.models import Bullet

pytestmark = pytest.mark.django_db


def bullets_make(run_id: int) -> str:
    out = StringIO()
    call_command("bullets_make", str(run_id), stdout=out)
    return out.getvalue()


def test_bullets_make_turns_a_finished_runs_disagreements_into_open_bullets_once(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_run_start(
            prompt_version=PromptVersion.objects.get(project=demo_project, origin="hand-written"),
            endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
            item_set="labeled",
        )
    out = bullets_make(run.pk)
    made = Bullet.objects.filter(prompt_version=run.prompt_version, status="open").count()
    assert made > 0 and out.startswith(f"{made} new bullets from run #{run.pk} (0 existed already).")
    assert bullets_make(run.pk).startswith(f"0 new bullets from run #{run.pk} ({made} existed already).")


def test_bullets_make_refuses_a_run_that_has_not_finished(demo_project):
    run = JudgeRun.objects.create(
        project=demo_project,
        prompt_version=PromptVersion.objects.get(project=demo_project, origin="hand-written"),
        endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
        item_set="dev",
    )
    with pytest.raises(CommandError, match=f"Judge run #{run.pk} is queued"):
        bullets_make(run.pk)
