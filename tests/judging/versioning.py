"""Builders for the prompt-version tests: measure a version on a split with a real (eager) judge run."""

from __future__ import annotations

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.runs import judge_run_start


def measure(
    version: PromptVersion, capture, item_set: str = "test", endpoint: ModelEndpoint | None = None
) -> JudgeRun:
    """Judge `item_set` with the version (on its own model unless told); needs the eager_celery fixture
    and django_capture_on_commit_callbacks passed as `capture`."""
    with capture(execute=True):
        run = judge_run_start(
            prompt_version=version, endpoint=endpoint or version.target_model, item_set=item_set
        )
    run.refresh_from_db()
    assert run.status == JudgeRun.Status.DONE, (run.status, run.error, run.judgments.count(), run.total_items)
    return run


def baseline(project) -> PromptVersion:
    return PromptVersion.objects.get(project=project, origin="hand-written", parent=None)


def child_of(version: PromptVersion, instructions: str, **fields) -> PromptVersion:
    return PromptVersion.objects.create(
        project=version.project,
        target_model=version.target_model,
        parent=version,
        instructions=instructions,
        origin=fields.pop("origin", "GEPA run #1"),
        status=fields.pop("status", PromptVersion.Status.CANDIDATE),
        **fields,
    )
