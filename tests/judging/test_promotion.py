"""Promotion: one production version per (project, model), refused for flagged or unmeasured versions,
confirmed against the current production's test metrics, rolled back by promoting an older version,
and every promotion audited."""

from __future__ import annotations

import re
from html import escape
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from judging import intervals
from judging.intervals import Interval
from judging.models import JudgeRun, Judgment, ModelEndpoint, PromotionLog, PromptVersion
from judging.promotion import (
    GatedMetric,
    PromotionComparison,
    PromotionRefused,
    promotion_comparison,
    version_promote,
)
from judging.versions import version_test_metrics
from labeling.gold import gold_scores
from labeling.numbers import metric
from tests.judging.versioning import baseline, child_of, measure

pytestmark = pytest.mark.django_db

PRODUCTION, ARCHIVED = PromptVersion.Status.PRODUCTION, PromptVersion.Status.ARCHIVED


@pytest.fixture
def measured_pair(demo_project, eager_celery, django_capture_on_commit_callbacks):
    """The baseline and a child of it, both measured on the test split of their model."""
    old = baseline(demo_project)
    new = child_of(
        old, old.instructions + "\nA document that only mentions the query's words is not relevant."
    )
    measure(old, django_capture_on_commit_callbacks)
    measure(new, django_capture_on_commit_callbacks)
    return old, new


def _promote(client, version, previous=None, reason=""):
    return client.post(
        reverse("judging:version_promote", args=[version.pk]),
        {"previous": previous.pk if previous else "", "reason": reason},
    )


def test_a_lead_promotes_rolls_back_and_both_are_audited(client_for, lead, measured_pair):
    old, new = measured_pair
    client = client_for(lead)

    assert _promote(client, old).status_code == 302
    response = _promote(client, new, previous=old, reason="Reads the rubric more closely.")
    assert response.status_code == 302 and response["Location"] == reverse("judging:version", args=[new.pk])
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.status, new.status) == (ARCHIVED, PRODUCTION)

    # Rollback is promoting the older version again.
    assert _promote(client, old, previous=new, reason="The new wording confused users.").status_code == 302
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.status, new.status) == (PRODUCTION, ARCHIVED)
    assert PromptVersion.objects.filter(project=old.project, status=PRODUCTION).count() == 1

    first, second, rollback = PromotionLog.objects.order_by("id")
    assert (first.version, first.previous, first.is_rollback) == (old, None, False)
    assert (second.version, second.previous, second.is_rollback) == (new, old, False)
    assert (rollback.version, rollback.previous, rollback.is_rollback) == (old, new, True)
    assert rollback.reason == "The new wording confused users." and first.reason == ""
    assert all(
        log.promoted_by == lead and log.target_model == old.target_model for log in (first, second, rollback)
    )
    old_test, new_test = version_test_metrics(old), version_test_metrics(new)
    assert rollback.metrics["version"]["nmse"] == pytest.approx(old_test.metrics.nmse)
    assert rollback.metrics["previous"]["nmse"] == pytest.approx(new_test.metrics.nmse)
    assert rollback.metrics["version"]["run"] == old_test.run_id

    history = client.get(reverse("judging:versions", args=[old.project.slug]))
    page = history.content.decode()
    assert page.count("data-promotion=") == 3
    assert "rollback" in page and lead.username in page
    assert "The new wording confused users." in page
    assert f"{metric('nmse', new_test.metrics.nmse)} → {metric('nmse', old_test.metrics.nmse)}" in page
    rows = {row.version.pk: row.version.status for row in history.context["rows"]}
    assert rows[old.pk] == PRODUCTION and rows[new.pk] == ARCHIVED


def test_the_confirmation_shows_test_metrics_before_and_after(client_for, lead, measured_pair):
    old, new = measured_pair
    version_promote(version=old, user=lead)
    response = client_for(lead).get(reverse("judging:version_promote", args=[new.pk]))
    assert response.status_code == 200
    assert response.context["current"] == old
    assert response.context["before"].metrics.nmse == pytest.approx(version_test_metrics(old).metrics.nmse)
    assert response.context["after"].metrics.nmse == pytest.approx(version_test_metrics(new).metrics.nmse)
    page = response.content.decode()
    assert "Now in production" in page and f"v{old.pk}" in page
    assert metric("nmse", version_test_metrics(new).metrics.nmse) in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Bias (judge − gold)" in page and "judge − gold: positive = too lenient" in page


def test_a_guardrail_flagged_version_is_refused_with_the_reason(client_for, lead, measured_pair):
    old, new = measured_pair
    new.guardrail_flags = [{"rule": "leakage", "detail": "copies 7 words of a training document"}]
    new.save()
    response = _promote(client_for(lead), new)
    assert response.status_code == 409
    assert "flagged by the guardrails" in response.content.decode()
    assert "copies 7 words of a training document" in response.content.decode()
    new.refresh_from_db()
    assert new.status == PromptVersion.Status.CANDIDATE
    assert not PromotionLog.objects.exists()


def test_a_version_without_test_split_metrics_is_refused(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = baseline(demo_project)
    measure(version, django_capture_on_commit_callbacks, item_set="dev")
    response = _promote(client_for(lead), version)
    assert response.status_code == 409
    assert "has no test-split metrics" in response.content.decode()
    version.refresh_from_db()
    assert version.status == PromptVersion.Status.DRAFT
    assert not PromotionLog.objects.exists()


def test_test_metrics_measured_on_another_model_do_not_count(
    lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = baseline(demo_project)  # targets sim/judge-small
    measure(
        version,
        django_capture_on_commit_callbacks,
        endpoint=ModelEndpoint.objects.get(name="sim/judge-large"),
    )
    with pytest.raises(PromotionRefused, match="no test-split metrics on sim/judge-small"):
        version_promote(version=version, user=lead)


def test_promotion_is_refused_when_production_changed_since_the_confirmation(client_for, lead, measured_pair):
    old, new = measured_pair
    client = client_for(lead)
    # The lead saw "no production version" on the confirmation page; meanwhile someone promoted `old`.
    version_promote(version=old, user=lead)
    response = _promote(client, new, previous=None)
    assert response.status_code == 409
    assert "changed since the confirmation page" in response.content.decode()
    new.refresh_from_db()
    assert new.status != PRODUCTION


@pytest.mark.parametrize("who", ["annotator", "reviewer"])
def test_only_a_lead_may_promote_or_write_a_draft(request, client_for, who, measured_pair):
    old, new = measured_pair
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("judging:version_promote", args=[new.pk])).status_code == 403
    assert _promote(client, new).status_code == 403
    assert client.get(reverse("judging:version_edit", args=[new.pk])).status_code == 403
    response = client.post(reverse("judging:version_edit", args=[new.pk]), {"instructions": "Be lenient."})
    assert response.status_code == 403
    new.refresh_from_db()
    assert new.status == PromptVersion.Status.CANDIDATE
    assert not PromotionLog.objects.exists() and not new.children.exists()


def test_promotion_needs_the_csrf_token(lead, measured_pair):
    old, _ = measured_pair
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    assert _promote(client, old).status_code == 403
    old.refresh_from_db()
    assert old.status != PRODUCTION


def test_the_first_promotion_needs_no_comparison_and_says_so(client_for, lead, measured_pair):
    old, _ = measured_pair
    page = client_for(lead).get(reverse("judging:version_promote", args=[old.pk])).content.decode()
    assert "No version of sim/judge-small is in production yet" in page
    assert 'name="reason"' not in page


def test_a_worse_version_is_refused_without_a_reason_and_promoted_with_one(client_for, lead, measured_pair):
    old, new = measured_pair
    version_promote(version=new, user=lead, reason="first")
    comparison = promotion_comparison(old, new)
    assert comparison.items == version_test_metrics(old).metrics.items
    assert comparison.needs_reason  # old is not surely better than new
    client = client_for(lead)

    confirmation = client.get(reverse("judging:version_promote", args=[old.pk])).content.decode()
    assert 'id="paired-differences"' in confirmation and 'name="reason"' in confirmation
    assert "95% interval" in confirmation
    nmse = comparison.metrics[0]
    assert escape(nmse.shown) in confirmation and escape(nmse.in_words) in confirmation

    refused = _promote(client, old, previous=new)
    assert refused.status_code == 409
    assert "write why you promote it anyway" in refused.content.decode()
    old.refresh_from_db()
    assert old.status != PRODUCTION and PromotionLog.objects.count() == 1
    with pytest.raises(PromotionRefused, match="write the reason"):
        version_promote(version=old, user=lead)

    assert _promote(client, old, previous=new, reason="Roll back while we look at v2.").status_code == 302
    old.refresh_from_db()
    log = PromotionLog.objects.first()
    assert old.status == PRODUCTION and log.version == old
    assert log.reason == "Roll back while we look at v2."
    assert log.metrics["paired"]["nmse"]["verdict"] == nmse.verdict


def test_the_version_page_judges_the_version_on_the_test_split_and_shows_intervals(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = baseline(demo_project)
    client = client_for(lead)
    page = client.get(reverse("judging:version", args=[version.pk])).content.decode()
    assert "Judge on the test split" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("judging:version_judge_test", args=[version.pk]))
    run = JudgeRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("judging:run", args=[run.pk])
    assert (run.prompt_version, run.endpoint, run.item_set, run.created_by) == (
        version,
        version.target_model,
        "test",
        lead,
    )

    page = client.get(reverse("judging:version", args=[version.pk])).content.decode()
    nmse = version_test_metrics(version).metrics.nmse
    assert re.search(rf"{re.escape(metric('nmse', nmse))} \([\d.]+–[\d.]+\)", page)
    assert "95% bootstrap interval" in page


def test_the_confirmation_of_an_unmeasured_version_offers_to_judge_it(client_for, lead, demo_project):
    version = baseline(demo_project)
    page = client_for(lead).get(reverse("judging:version_promote", args=[version.pk])).content.decode()
    assert reverse("judging:version_judge_test", args=[version.pk]) in page
    assert (
        f"manage.py judge {demo_project.slug} --endpoint sim/judge-small --prompt-version {version.pk}"
        in page
    )


def judged_on_test(version, score_for) -> JudgeRun:
    """A finished test-split run of the version whose judge gives score_for(gold) on every labeled item."""
    project = version.project
    items = project.items.filter(split="test")
    gold = gold_scores(items)
    run = JudgeRun.objects.create(
        project=project,
        prompt_version=version,
        endpoint=version.target_model,
        item_set="test",
        status=JudgeRun.Status.DONE,
        total_items=len(gold),
    )
    scores = {item: score_for(n, value) for n, (item, value) in enumerate(sorted(gold.items()))}
    Judgment.objects.bulk_create(
        Judgment(run=run, item_id=item, score=score, malformed=score is None, cache_key=f"{run.pk}-{item}")
        for item, score in scores.items()
    )
    return run


def exact(n, gold):
    return int(gold + 0.5)


def far_off_and_often_malformed(n, gold):
    return None if n % 4 == 0 else (1 if gold >= 3 else 5)


def in_production_and_challenged(lead, project, production_scores, challenger_scores):
    """The baseline in production and a child of it, each judged on test as the two functions say."""
    production = baseline(project)
    challenger = child_of(production, production.instructions + " Read closely.")
    judged_on_test(production, production_scores)
    judged_on_test(challenger, challenger_scores)
    version_promote(version=production, user=lead)
    return production, challenger


def test_a_clearly_worse_version_is_refused_without_a_reason_and_promoted_with_one(
    client_for, lead, demo_project
):
    production, worse = in_production_and_challenged(lead, demo_project, exact, far_off_and_often_malformed)
    comparison = promotion_comparison(worse, production)
    assert [metric.verdict for metric in comparison.metrics] == ["worse", "worse"]
    assert comparison.metrics[0].difference.low > 0  # the whole interval says worse
    with pytest.raises(PromotionRefused, match="NMSE .* worse"):
        version_promote(version=worse, user=lead, reason="  ")
    worse.refresh_from_db()
    assert worse.status != PRODUCTION

    client = client_for(lead)
    assert _promote(client, worse, previous=production, reason="Legal asked for it.").status_code == 302
    log = PromotionLog.objects.first()
    assert (log.version, log.reason) == (worse, "Legal asked for it.")
    assert (
        "Legal asked for it."
        in client.get(reverse("judging:versions", args=[demo_project.slug])).content.decode()
    )


def test_a_clearly_better_version_is_promoted_without_a_reason(lead, demo_project):
    production, better = in_production_and_challenged(lead, demo_project, far_off_and_often_malformed, exact)
    comparison = promotion_comparison(better, production)
    assert [metric.verdict for metric in comparison.metrics] == ["better", "better"]
    assert not comparison.needs_reason
    log = version_promote(version=better, user=lead)
    assert log.reason == "" and log.metrics["paired"]["nmse"]["high"] < 0


def test_prompt_promote_shows_the_paired_difference_refuses_a_worse_version_and_keeps_a_given_reason(
    lead, demo_project
):
    production, worse = in_production_and_challenged(lead, demo_project, exact, far_off_and_often_malformed)
    out = StringIO()
    with pytest.raises(CommandError, match="To promote it anyway, give the reason with --reason") as refused:
        call_command("prompt_promote", str(worse.pk), stdout=out)
    assert f"Against production v{production.pk} on the same" in out.getvalue()
    assert "worse" in out.getvalue()
    assert "Against production" not in str(refused.value)  # the comparison is printed once, not twice
    worse.refresh_from_db()
    assert worse.status != PRODUCTION

    out = StringIO()
    call_command(
        "prompt_promote", str(worse.pk), "--reason", "Legal asked for it.", "--user", "carol", stdout=out
    )
    assert f"v{worse.pk} is now in production on {worse.target_model.name}, replacing v{production.pk}." in (
        out.getvalue()
    )
    log = PromotionLog.objects.first()
    assert (log.version, log.reason, log.promoted_by) == (worse, "Legal asked for it.", lead)


def test_a_version_leaning_worse_within_the_interval_is_uncertain_and_still_needs_a_reason(measured_pair):
    old, _ = measured_pair
    leaning_worse = Interval(estimate=0.274, low=-0.736, high=1.32)
    nmse = GatedMetric("nmse", "NMSE", leaning_worse, intervals.verdict("nmse", leaning_worse))
    comparison = PromotionComparison(production=old, items=1384, metrics=[nmse])
    assert nmse.verdict == "uncertain" and nmse.in_words.startswith("uncertain")
    assert comparison.needs_reason and not comparison.is_worse
    assert "NMSE +0.27 (-0.74 to +1.32), uncertain" in comparison.summary()
