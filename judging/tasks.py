from __future__ import annotations

from celery import shared_task

from judging import runs
from judging.models import JudgeRun


# Both on the judge queue (settings.CELERY_TASK_ROUTES). A dispatch delivered twice queues chunks once:
# only the delivery that takes the queued run dispatches it.
@shared_task(time_limit=300)
def judge_run_dispatch_task(run_id: int) -> int:
    return len(runs.judge_run_dispatch(run=JudgeRun.objects.select_related("project").get(pk=run_id)))


# acks_late (the project default) and a redelivery after a lost worker make a chunk safe to run twice:
# it judges only what has no settled judgment and no live chunk's lease.
@shared_task(time_limit=3600, soft_time_limit=3500)
def judge_chunk_task(run_id: int, item_ids: list[int]) -> int:
    return runs.judge_chunk_process(run_id=run_id, item_ids=item_ids).judged
