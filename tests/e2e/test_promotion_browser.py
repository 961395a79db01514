"""In Chromium: a lead promotes a measured version after reading its before/after metrics, rolls back,
and compares the models (table and drawn chart)."""

from __future__ import annotations

import pytest

from judging.models import PromotionLog, PromptVersion
from tests.judging.versioning import baseline, child_of, measure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_lead_promotes_and_rolls_back_in_the_browser(
    page, log_in, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    old = baseline(demo_project)
    new = child_of(old, old.instructions + "\nKeyword overlap alone is not relevance.")
    for version in (old, new):
        measure(version, django_capture_on_commit_callbacks)
    log_in(lead)

    for version, previous in ((old, None), (new, old), (old, new)):
        page.goto(f"/versions/{version.pk}/")
        page.click("text=Promote to production…")
        table = page.locator("#before-after")
        assert "NMSE" in table.text_content()
        if previous is None:
            assert "in production yet" in page.locator("#paired-comparison").text_content()
        else:
            assert f"v{previous.pk}" in table.text_content()
            assert "95% interval" in page.locator("#paired-comparison").text_content()
            if page.locator("#id_reason").count():  # not surely better than production
                page.fill("#id_reason", f"Reviewed v{version.pk} by hand.")
        page.click("form.card button[type=submit]")
        page.wait_for_url(f"**/versions/{version.pk}/")
        assert page.locator("[data-status]").text_content() == "production"

    assert list(PromotionLog.objects.order_by("id").values_list("is_rollback", flat=True)) == [
        False,
        False,
        True,
    ]
    page.goto(f"/projects/{demo_project.slug}/versions/")
    assert page.locator("#promotions [data-promotion]").count() == 3
    assert "rollback" in page.locator("#promotions").text_content()
    new.refresh_from_db()
    assert new.status == PromptVersion.Status.ARCHIVED

    page.goto(f"/projects/{demo_project.slug}/models/")
    assert page.locator('#models tr[data-endpoint="sim/judge-small"]').count() == 2  # both measured
    page.click('.filter-tabs a[href="?show=production"]')
    page.wait_for_url("**/models/?show=production")
    assert f"v{old.pk}" in page.locator('#models tr[data-endpoint="sim/judge-small"]').text_content()
    page.wait_for_selector('[data-plotly="models-chart"] .main-svg')
