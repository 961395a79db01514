"""Judge runs: every item judged once, malformed outputs kept with their raw text, reuse, cancel, resume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from judging import runs
from judging.models import JudgeRun, Judgment, ModelEndpoint, PromptVersion
from judging.runs import judge_chunk_process, judge_run_cancel, judge_run_resume, judge_run_start, run_items
from labeling import lifecycle

pytestmark = pytest.mark.django_db


def _silence(run: JudgeRun) -> None:
    """As if the run's worker died long ago: running, and no heartbeat since."""
    long_ago = timezone.now() - timedelta(seconds=settings.BACKGROUND_STALE_AFTER_S + 30)
    JudgeRun.objects.filter(pk=run.pk).update(
        status="running", created_at=long_ago, started_at=long_ago, heartbeat_at=long_ago
    )


def _start(project, item_set="dev", endpoint="sim/judge-small", **kwargs) -> JudgeRun:
    version = PromptVersion.objects.get(project=project, origin="hand-written")
    return judge_run_start(
        prompt_version=version, endpoint=ModelEndpoint.objects.get(name=endpoint), item_set=item_set, **kwargs
    )


def test_a_run_judges_every_item_of_its_split_once(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _start(demo_project)

    run.refresh_from_db()
    expected = set(run_items(project=demo_project, item_set="dev").values_list("id", flat=True))
    assert run.status == "done"
    assert run.total_items == len(expected) > 0
    assert set(run.judgments.values_list("item_id", flat=True)) == expected
    assert run.judgments.count() == len(expected)


def test_a_malformed_output_is_kept_with_its_raw_text_and_no_score(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = _start(demo_project, item_set="train")

    malformed = run.judgments.filter(malformed=True)
    assert malformed.exists(), "sim/judge-small is malformed about a quarter of the time"
    assert all(j.score is None and j.raw_output for j in malformed)
    assert run.judgments.filter(malformed=False, score__isnull=False).exists()


def test_an_identical_second_run_reuses_judgments_instead_of_calling_the_model(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _start(demo_project)
    with django_capture_on_commit_callbacks(execute=True):
        second = _start(demo_project)

    assert second.judgments.count() == first.judgments.count()
    assert not second.judgments.filter(reused_from__isnull=True).exists()
    pairs = {j.item_id: (j.score, j.malformed) for j in first.judgments.all()}
    assert {j.item_id: (j.score, j.malformed) for j in second.judgments.all()} == pairs


def test_forcing_fresh_calls_the_model_again(demo_project, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _start(demo_project)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = _start(demo_project, force_fresh=True)

    assert not fresh.judgments.filter(reused_from__isnull=False).exists()
    assert fresh.judgments.filter(input_tokens__gt=0).count() == fresh.judgments.count()


def test_a_changed_prompt_is_not_served_from_reuse(
    demo_project, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _start(demo_project)
    edited = PromptVersion.objects.create(
        project=demo_project,
        target_model=first.endpoint,
        instructions=first.prompt_version.instructions + "\nBeware of keyword stuffing.",
        parent=first.prompt_version,
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = judge_run_start(prompt_version=edited, endpoint=first.endpoint, item_set="dev")

    assert not second.judgments.filter(reused_from__isnull=False).exists()


def test_a_cancelled_run_judges_nothing_more(demo_project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project)
    judge_run_cancel(run=run)

    result = judge_chunk_process(
        run_id=run.pk,
        item_ids=list(run_items(project=demo_project, item_set="dev").values_list("id", flat=True)),
    )

    run.refresh_from_db()
    assert run.status == "cancelled"
    assert result.judged == 0 and run.judgments.count() == 0


def test_resuming_fills_only_what_is_missing(demo_project, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project)
    ids = list(run_items(project=demo_project, item_set="dev").values_list("id", flat=True))
    judge_chunk_process(run_id=run.pk, item_ids=ids[:5])  # as if the worker died after five items
    first_five = {j.item_id: j.pk for j in run.judgments.all()}
    _silence(run)
    assert lifecycle.runs_mark_interrupted() == 1

    with django_capture_on_commit_callbacks(execute=True):
        judge_run_resume(run=run)

    run.refresh_from_db()
    assert run.status == "done"
    assert run.judgments.count() == len(ids)
    assert {j.item_id: j.pk for j in run.judgments.filter(item_id__in=first_five)} == first_five


def test_running_a_chunk_twice_duplicates_nothing(demo_project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project)
    ids = list(run_items(project=demo_project, item_set="dev").values_list("id", flat=True))

    judge_chunk_process(run_id=run.pk, item_ids=ids)
    again = judge_chunk_process(run_id=run.pk, item_ids=ids)

    assert again.judged == 0
    assert Judgment.objects.filter(run=run).count() == len(ids)


def test_a_running_run_nobody_reports_on_is_shown_as_stalled_and_once_interrupted_offers_resume(
    demo_project, client_for, lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project)
    _silence(run)

    page = client_for(lead).get(reverse("judging:run", args=[run.pk]))
    assert b"No worker has reported on this run for" in page.content
    assert reverse("judging:run_resume", args=[run.pk]).encode() not in page.content, "it may be alive"
    run.refresh_from_db()
    assert run.status == "running", "a page view never decides that a worker is dead"

    lifecycle.runs_mark_interrupted()

    page = client_for(lead).get(reverse("judging:run", args=[run.pk]))
    assert b"stopped reporting for" in page.content
    assert reverse("judging:run_resume", args=[run.pk]).encode() in page.content
    JudgeRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    run.refresh_from_db()
    assert runs.judge_run_stalled_for(run) is None


def test_a_chunk_naming_items_outside_its_run_judges_only_the_runs_own(
    demo_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project, item_set="dev")
    dev = list(run_items(project=demo_project, item_set="dev").values_list("id", flat=True))
    train = list(run_items(project=demo_project, item_set="train").values_list("id", flat=True))

    judge_chunk_process(run_id=run.pk, item_ids=dev[:3] + train[:3])

    assert set(run.judgments.values_list("item_id", flat=True)) == set(dev[:3])


def _leased(endpoint) -> int:
    from django.db.models import Sum

    return endpoint.leases.aggregate(n=Sum("permits"))["n"] or 0


def test_two_workers_share_an_endpoints_concurrency_and_never_exceed_it(demo_project):
    from judging.runs import endpoint_lease_renew

    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    endpoint.concurrency = 4
    endpoint.save()

    assert endpoint_lease_renew(endpoint=endpoint, holder="a", want=4, in_flight=0) == 4
    assert endpoint_lease_renew(endpoint=endpoint, holder="b", want=4, in_flight=0) == 0
    # a is told to halve, but its four calls in flight still count until they end.
    assert endpoint_lease_renew(endpoint=endpoint, holder="a", want=4, in_flight=4) == 2
    assert endpoint_lease_renew(endpoint=endpoint, holder="b", want=4, in_flight=0) == 0
    assert _leased(endpoint) == 4
    assert endpoint_lease_renew(endpoint=endpoint, holder="a", want=4, in_flight=2) == 2
    assert endpoint_lease_renew(endpoint=endpoint, holder="b", want=4, in_flight=0) == 2
    assert _leased(endpoint) == 4


def test_the_lease_of_a_worker_that_died_expires(demo_project):
    from datetime import timedelta

    from django.utils import timezone

    from judging.models import EndpointLease
    from judging.runs import endpoint_lease_renew

    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    assert endpoint_lease_renew(endpoint=endpoint, holder="dead", want=16, in_flight=0) == 16
    assert endpoint_lease_renew(endpoint=endpoint, holder="alive", want=16, in_flight=0) == 0
    EndpointLease.objects.filter(holder="dead").update(expires_at=timezone.now() - timedelta(seconds=1))

    assert endpoint_lease_renew(endpoint=endpoint, holder="alive", want=16, in_flight=0) == 16


def test_a_finished_chunk_gives_its_calls_back(demo_project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project)
    ids = list(run_items(project=demo_project, item_set="dev").values_list("id", flat=True))

    judge_chunk_process(run_id=run.pk, item_ids=ids[:10])

    assert not run.endpoint.leases.exists()


def test_a_chunk_looks_up_its_already_judged_items_once_however_many_items_it_holds(
    demo_project, django_capture_on_commit_callbacks
):
    """A lookup per item made a 200-item chunk wait on 200 queries before its first model call."""
    with django_capture_on_commit_callbacks(execute=False):
        run = _start(demo_project, item_set="train")
    ids = list(run_items(project=demo_project, item_set="train").values_list("id", flat=True))
    assert len(ids) > 20

    with CaptureQueriesContext(connection) as queries:
        judge_chunk_process(run_id=run.pk, item_ids=ids)

    judgment_reads = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT") and "judgment" in q["sql"]
    ]
    assert run.judgments.count() == len(ids)
    # The chunk's items, their re-check under the chunk's lease, the donors to reuse, and finishing (is
    # anything missing, and which errors are left): a handful, not one per item.
    assert len(judgment_reads) <= 5, judgment_reads
