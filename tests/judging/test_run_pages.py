"""The judge pages: who may open them, a run's progress and metrics, disagreements side by side."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

from judging.models import JudgeRun, ModelEndpoint, PromptVersion
from judging.runs import judge_run_start
from judging.selectors import run_disagreements, run_metrics
from judging.stored_metrics import run_shown_figures
from labeling.models import Item, Label
from labeling.numbers import metric

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_run(demo_project, eager_celery, django_capture_on_commit_callbacks) -> JudgeRun:
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_run_start(
            prompt_version=version,
            endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
            item_set="labeled",
        )
    run.refresh_from_db()
    return run


def test_a_lead_starts_a_judge_run_from_the_browser(
    client_for, lead, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = PromptVersion.objects.get(project=demo_project)
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lead).post(
            reverse("judging:runs", args=[demo_project.slug]),
            {"prompt_version": version.pk, "endpoint": endpoint.pk, "item_set": "dev"},
        )
    run = JudgeRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("judging:run", args=[run.pk])
    run.refresh_from_db()
    assert run.status == "done" and run.created_by == lead


def test_a_reviewer_cannot_start_a_run_but_sees_the_list(client_for, reviewer, demo_project):
    client = client_for(reviewer)
    url = reverse("judging:runs", args=[demo_project.slug])
    assert client.get(url).status_code == 200
    assert client.post(url, {"item_set": "dev"}).status_code == 403


def test_annotators_do_not_see_judge_scores(client_for, annotator, finished_run):
    """Blind labeling: the judge's opinion is for reviewers and leads."""
    client = client_for(annotator)
    for url in (
        reverse("judging:runs", args=[finished_run.project.slug]),
        reverse("judging:run", args=[finished_run.pk]),
        reverse("judging:disagreements", args=[finished_run.pk]),
        reverse("judging:run_export", args=[finished_run.pk, "csv"]),
    ):
        assert client.get(url).status_code == 403, url


def test_the_run_page_shows_progress_metrics_and_a_confusion_heatmap(client_for, reviewer, finished_run):
    page = client_for(reviewer).get(reverse("judging:run", args=[finished_run.pk])).content.decode()
    assert "NMSE" in page and "Kappa" in page
    assert 'data-plotly="confusion-chart"' in page
    assert "simulator" in page
    assert f"{finished_run.total_items} of {finished_run.total_items} items" in page.replace(
        "</span>", ""
    ).replace("<span data-done>", "")


def test_every_metric_on_the_run_page_carries_its_95_percent_interval(client_for, reviewer, finished_run):
    page = client_for(reviewer).get(reverse("judging:run", args=[finished_run.pk])).content.decode()
    row = re.search(r'<tr data-split="all".*?</tr>', page, re.DOTALL)[0]
    nmse = run_metrics(finished_run)["all"].nmse
    figures = run_shown_figures(finished_run, "all")
    assert figures["nmse"].startswith(f"{metric('nmse', nmse)} (") and figures["nmse"] in row
    for name in ("malformed_rate", "mae", "exact", "within_one", "kappa"):
        interval = r"(-?[\d.]+%?–-?[\d.]+%?|-[\d.]+%? to -?[\d.]+%?)"
        assert re.fullmatch(rf"-?[\d.]+%? \({interval}\)", figures[name]), figures[name]
        assert figures[name] in row
    assert "95% bootstrap interval" in page


def test_the_progress_fragment_stops_polling_when_the_run_is_finished(client_for, reviewer, finished_run):
    response = client_for(reviewer).get(
        reverse("judging:run", args=[finished_run.pk]) + "?part=progress", headers={"HX-Request": "true"}
    )
    assert response.status_code == 286
    assert b"<h1>" not in response.content  # a fragment, not the page


def test_a_running_runs_fragment_keeps_polling(
    client_for, reviewer, demo_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        run = judge_run_start(
            prompt_version=PromptVersion.objects.get(project=demo_project),
            endpoint=ModelEndpoint.objects.get(name="sim/judge-small"),
            item_set="dev",
        )
    response = client_for(reviewer).get(
        reverse("judging:run", args=[run.pk]) + "?part=progress", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b'hx-trigger="every 1s"' in response.content


def test_disagreements_are_sorted_by_the_size_of_the_gap(client_for, reviewer, finished_run):
    response = client_for(reviewer).get(reverse("judging:disagreements", args=[finished_run.pk]))
    gaps = [abs(float(row["gap"])) for row in _rows(response.context["rows"])]
    assert gaps, "the sim judge disagrees with the demo labels somewhere"
    assert gaps == sorted(gaps, reverse=True)


def test_disagreements_filter_by_direction(client_for, reviewer, finished_run):
    client = client_for(reviewer)
    lenient = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "lenient"})
    strict = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "strict"})
    assert all(float(r["gap"]) > 0 for r in _rows(lenient.context["rows"]))
    assert all(float(r["gap"]) < 0 for r in _rows(strict.context["rows"]))
    both = client.get(reverse("judging:disagreements", args=[finished_run.pk]))
    assert lenient.context["total"] + strict.context["total"] == both.context["total"]


def _rows(rows):
    return [{"gap": d.delta} for d, _ in rows]


def test_the_side_by_side_view_shows_labels_rationales_and_the_judges_reasoning(
    client_for, reviewer, finished_run
):
    label = Label.objects.filter(item__judgments__run=finished_run).select_related("item").first()
    page = client_for(reviewer).get(reverse("judging:run_item", args=[finished_run.pk, label.item_id]))
    content = page.content.decode()
    assert label.rationale[:30].replace("'", "&#x27;") in content
    judgment = finished_run.judgments.get(item_id=label.item_id)
    if judgment.reasoning:
        assert judgment.reasoning[:20].replace("'", "&#x27;") in content


def test_untrusted_text_in_a_document_is_escaped_on_the_side_by_side_view(client_for, reviewer, finished_run):
    judgment = finished_run.judgments.select_related("item").first()
    Item.objects.filter(pk=judgment.item_id).update(document="<script>alert('x')</script> payload")
    page = client_for(reviewer).get(reverse("judging:run_item", args=[finished_run.pk, judgment.item_id]))
    assert b"<script>alert" not in page.content
    assert b"&lt;script&gt;alert" in page.content


def test_machine_labels_export_carries_the_test_metrics_of_the_prompt_and_model(
    client_for, reviewer, finished_run
):
    response = client_for(reviewer).get(reverse("judging:run_export", args=[finished_run.pk, "jsonl"]))
    rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(rows) == finished_run.judgments.filter(error_kind="").count()
    assert {row["model"] for row in rows} == {"sim/judge-small"}
    assert all(row["test_items"] > 0 and row["test_nmse"] is not None for row in rows)


def test_the_endpoint_form_refuses_a_key_in_place_of_a_variable_name(client_for, lead, project):
    response = client_for(lead).post(
        reverse("judging:endpoint_new"),
        {
            "name": "gpt",
            "model": "openai/gpt-4.1-mini",
            "api_key_env": "sk-abc123def456",
            "temperature": 0,
            "max_tokens": 512,
            "concurrency": 4,
            "price_input_per_mtok": 0,
            "price_output_per_mtok": 0,
        },
    )
    assert response.status_code == 200
    assert not ModelEndpoint.objects.filter(name="gpt").exists()
    assert b"sk-abc123def456" not in response.content.replace(b'value="sk-abc123def456"', b"")


def test_the_test_button_makes_one_call_and_shows_the_answer(client_for, lead, demo_project):
    endpoint = ModelEndpoint.objects.get(name="sim/judge-small")
    response = client_for(lead).post(
        reverse("judging:endpoint_test", args=[endpoint.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"data-test-result" in response.content


def test_the_test_button_says_in_words_why_the_call_failed(client_for, lead, project, monkeypatch, settings):
    settings.FLYWHEEL_KEY_ENVS = ["ACME_TEST_KEY"]
    endpoint = ModelEndpoint.objects.create(
        name="nowhere",
        model="openai/gpt-4.1-mini",
        api_base="http://127.0.0.1:9/v1",
        api_key_env="ACME_TEST_KEY",
    )
    client = client_for(lead)
    missing = client.post(reverse("judging:endpoint_test", args=[endpoint.pk]))
    assert b"ACME_TEST_KEY is not set" in missing.content

    monkeypatch.setenv("ACME_TEST_KEY", "secret-value-123")
    unreachable = client.post(reverse("judging:endpoint_test", args=[endpoint.pk]))
    assert b"Failed" in unreachable.content
    assert b"secret-value-123" not in unreachable.content


def test_endpoint_pages_are_for_leads_only(client_for, reviewer, demo_project):
    endpoint = ModelEndpoint.objects.first()
    client = client_for(reviewer)
    assert client.get(reverse("judging:endpoints")).status_code == 403
    assert client.post(reverse("judging:endpoint_test", args=[endpoint.pk])).status_code == 403


def _item_links(body: str, run: JudgeRun) -> list[str]:
    """The hrefs of the side-by-side pages linked from a page, in order."""
    prefix = re.escape(f"/runs/{run.pk}/items/")
    return [html.unescape(href) for href in re.findall(rf'href="([^"]*{prefix}[^"]*)"', body)]


def _shortcut(body: str, key: str) -> str | None:
    found = re.search(rf'data-shortcut="{key}" href="([^"]*)"', body)
    return html.unescape(found.group(1)) if found else None


def test_next_walks_the_filtered_disagreements_in_the_order_of_the_list(client_for, reviewer, finished_run):
    client = client_for(reviewer)
    listing = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "strict"})
    strict = [d.item_id for d in run_disagreements(finished_run, direction="strict")]
    assert len(strict) >= 3, "the sim judge is too strict on several demo items"
    url = _item_links(listing.content.decode(), finished_run)[0]
    assert url.endswith("?direction=strict")

    walked = []
    while url:
        page = client.get(url)
        walked.append(page.context["item"].pk)
        url = _shortcut(page.content.decode(), "j")

    assert walked == strict  # across the list's pages, and never onto a lenient item


def test_the_item_page_shows_its_place_in_the_filtered_list_and_goes_back_to_it(
    client_for, reviewer, finished_run
):
    client = client_for(reviewer)
    rows = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "lenient"})
    lenient = [d.item_id for d, _ in rows.context["rows"]]
    assert len(lenient) >= 2, "the sim judge is too lenient on some demo items"

    body = client.get(
        reverse("judging:run_item", args=[finished_run.pk, lenient[1]]), {"direction": "lenient"}
    ).content.decode()

    query = "?direction=lenient"
    assert _shortcut(body, "k") == reverse("judging:run_item", args=[finished_run.pk, lenient[0]]) + query
    assert _shortcut(body, "u") == reverse("judging:disagreements", args=[finished_run.pk]) + query
    assert f"disagreement 2 of {rows.context['total']} (filtered: judge too lenient)" in body
    assert "<kbd>J</kbd>" in body and "<kbd>K</kbd>" in body


def test_the_first_item_has_no_previous_and_an_item_outside_the_filter_has_neither(
    client_for, reviewer, finished_run
):
    client = client_for(reviewer)
    strict = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "strict"})
    first = strict.context["rows"][0][0].item_id
    lenient = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"direction": "lenient"})
    other = lenient.context["rows"][0][0].item_id

    strict_only = {"direction": "strict"}
    first_page = client.get(reverse("judging:run_item", args=[finished_run.pk, first]), strict_only)
    outside = client.get(reverse("judging:run_item", args=[finished_run.pk, other]), strict_only)

    assert _shortcut(first_page.content.decode(), "k") is None
    assert _shortcut(first_page.content.decode(), "j") is not None
    body = outside.content.decode()
    assert _shortcut(body, "j") is None and _shortcut(body, "k") is None
    assert "not among the" in body


def test_back_from_an_item_returns_to_the_page_of_the_list_it_is_on(client_for, reviewer, finished_run):
    client = client_for(reviewer)
    listing = client.get(reverse("judging:disagreements", args=[finished_run.pk]))
    total = listing.context["total"]
    assert total > 50, "the demo run's disagreements fill more than one page"
    second_page = client.get(reverse("judging:disagreements", args=[finished_run.pk]), {"page": 2})
    item_id = second_page.context["rows"][0][0].item_id

    body = client.get(reverse("judging:run_item", args=[finished_run.pk, item_id])).content.decode()

    assert _shortcut(body, "u") == reverse("judging:disagreements", args=[finished_run.pk]) + "?page=2"
    assert f"disagreement 51 of {total}" in body


@pytest.mark.parametrize("page", ["run", "disagreements", "run_item"])
def test_every_page_showing_a_gap_or_bias_says_which_way_is_lenient(client_for, reviewer, finished_run, page):
    args = [finished_run.pk]
    if page == "run_item":
        args.append(finished_run.judgments.first().item_id)

    body = client_for(reviewer).get(reverse(f"judging:{page}", args=args)).content.decode()

    assert "judge − gold: positive = too lenient" in body


def test_the_judge_run_form_preselects_the_model_of_the_preselected_version(client_for, lead, demo_project):
    body = client_for(lead).get(reverse("judging:runs", args=[demo_project.slug])).content.decode()

    version = PromptVersion.objects.filter(project=demo_project).first()
    endpoint_select = re.search(r'<select name="endpoint".*?</select>', body, re.DOTALL)[0]
    assert f'<option value="{version.target_model_id}" selected>' in endpoint_select


def test_the_chart_across_versions_draws_one_line_per_split_named_by_its_split(
    client_for, reviewer, demo_project, eager_celery, django_capture_on_commit_callbacks
):
    version = PromptVersion.objects.get(project=demo_project, origin="hand-written")
    for item_set in ("dev", "test", "test"):
        with django_capture_on_commit_callbacks(execute=True):
            judge_run_start(prompt_version=version, endpoint=version.target_model, item_set=item_set)

    chart = (
        client_for(reviewer).get(reverse("judging:runs", args=[demo_project.slug])).context["versions_chart"]
    )

    nmse_lines = {trace["name"]: trace["x"] for trace in chart["data"] if trace.get("yaxis", "y") == "y"}
    assert set(nmse_lines) == {"dev split", "test split"}
    assert len(nmse_lines["dev split"]) == 1 and len(nmse_lines["test split"]) == 2
    assert all(label.endswith("· test") for label in nmse_lines["test split"])
    # NMSE and malformed rate on separate bands of the chart, so the two lines cannot touch.
    nmse_band, malformed_band = chart["layout"]["yaxis"]["domain"], chart["layout"]["yaxis2"]["domain"]
    assert malformed_band[1] < nmse_band[0]
