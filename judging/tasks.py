from __future__ import annotations

from celery import shared_task

from judging import runs
from judging.models import JudgeRun
from labeling.roles import LEAD, has_role


def starter_may_start(run: JudgeRun) -> bool:
    """A run a lead queued starts only if they still lead its project when a worker takes it up (a
    resume was checked when it was asked for; a run from the shell has no starter to check)."""
    first_start = run.started_at is None
    return run.created_by is None or not first_start or has_role(run.created_by, LEAD, run.project)


# Both on the judge queue (settings.CELERY_TASK_ROUTES). A dispatch delivered twice queues chunks once:
# only the delivery that takes the queued run dispatches it.
@shared_task(time_limit=300)
def judge_run_dispatch_task(run_id: int) -> int:
    run = JudgeRun.objects.select_related("project", "created_by").get(pk=run_id)
    if not starter_may_start(run):
        runs.judge_run_cancel(run=run)
        return 0
    return len(runs.judge_run_dispatch(run=run))


# acks_late (the project default) and a redelivery after a lost worker make a chunk safe to run twice:
# it judges only what has no settled judgment and no live chunk's lease.
@shared_task(time_limit=3600, soft_time_limit=3500)
def judge_chunk_task(run_id: int, item_ids: list[int]) -> int:
    return runs.judge_chunk_process(run_id=run_id, item_ids=item_ids).judged
