"""The reviewer's pages: the bullet queue with its htmx actions, merging, the library and the counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from labeling.models import Item
from optimizer.bullets import MERGE_AT_ONCE, SUGGESTION_IDS_SHOWN, bullet_approve, bullets_generate_from_run
from optimizer.models import Bullet, LibraryInstruction
from optimizer.views import SUGGESTIONS_PER_PAGE
from tests.optimizer.disagreements import Row, run_make, version_make

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
STUFFED = "Keyword stuffing: repeats the query words but never answers <script>alert('x')</script>."


@pytest.fixture
def run(project, annotator):
    rows = [
        Row("train", gold=1, judge=5, rationale=STUFFED),
        Row("train", gold=1, judge=4, rationale=STUFFED),
        Row("dev", gold=4, judge=2),
        Row("test", gold=1, judge=5),
    ]
    return run_make(project, annotator, rows)


@pytest.fixture
def bullets(run, reviewer) -> list[Bullet]:
    bullets_generate_from_run(run=run, user=reviewer)
    return list(Bullet.objects.order_by("id"))


def test_annotators_cannot_see_or_touch_bullets_or_the_library(client_for, annotator, project, run, bullets):
    client = client_for(annotator)
    for url in (
        reverse("optimizer:bullets", args=[project.slug]),
        reverse("optimizer:library", args=[project.slug]),
        reverse("optimizer:counts", args=[project.slug]),
        reverse("optimizer:merge", args=[project.slug]),
        reverse("optimizer:bullet", args=[bullets[0].pk]),
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        reverse("optimizer:generate", args=[run.pk]),
        reverse("optimizer:approve", args=[bullets[0].pk]),
        reverse("optimizer:edit", args=[bullets[0].pk]),
        reverse("optimizer:instruction_new", args=[project.slug]),
    ):
        assert client.post(url, {"text": "x"}).status_code == 403, url
    assert Bullet.objects.filter(status="open").count() == 3


def test_a_reviewer_makes_bullets_from_the_disagreements_page(client_for, reviewer, run):
    client = client_for(reviewer)
    page = client.get(reverse("judging:disagreements", args=[run.pk])).content.decode()
    assert reverse("optimizer:generate", args=[run.pk]) in page

    response = client.post(reverse("optimizer:generate", args=[run.pk]), follow=True)

    assert Bullet.objects.count() == 3
    assert "3 new bullets" in response.content.decode()
    assert client.post(reverse("optimizer:generate", args=[run.pk])).status_code == 302
    assert Bullet.objects.count() == 3


def test_one_item_page_makes_the_bullet_of_that_item(client_for, reviewer, run):
    item = run.project.items.get(external_id="item-3")
    client = client_for(reviewer)
    assert "Make bullet" in client.get(reverse("judging:run_item", args=[run.pk, item.pk])).content.decode()

    response = client.post(reverse("optimizer:generate", args=[run.pk]), {"item_id": item.pk})

    bullet = Bullet.objects.get()
    assert bullet.item == item
    assert response["Location"] == reverse("optimizer:bullet", args=[bullet.pk])


def test_an_item_with_its_bullet_links_to_it_instead_of_offering_to_make_it_again(client_for, reviewer, run):
    item = run.project.items.get(external_id="item-3")
    client = client_for(reviewer)
    client.post(reverse("optimizer:generate", args=[run.pk]), {"item_id": item.pk})
    bullet = Bullet.objects.get()

    page = client.get(reverse("judging:run_item", args=[run.pk, item.pk])).content.decode()

    assert "Make bullet" not in page
    assert f'href="{reverse("optimizer:bullet", args=[bullet.pk])}"' in page
    again = client.post(reverse("optimizer:generate", args=[run.pk]), {"item_id": item.pk}, follow=True)
    assert again.redirect_chain[-1][0] == reverse("optimizer:bullet", args=[bullet.pk])
    assert "1 already there" in again.content.decode()


def test_bullets_of_labels_without_rationales_say_so_once_and_page_by_gap(
    client_for, reviewer, project, annotator
):
    rows = [Row("train", gold=1, judge=2 + n % 4, rationale="", reasoning=f"Reason {n}.") for n in range(30)]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)

    page = client_for(reviewer).get(reverse("optimizer:bullets", args=[project.slug])).content.decode()

    assert "<h1>Disagreements &amp; bullets · " in page
    assert "(none given)" not in page and "Human rationale" not in page
    assert page.count("data-no-rationale") == 1
    assert "Smaller gaps →" in page and "Older" not in page


def test_the_queue_escapes_untrusted_text_and_filters_by_status_and_direction(client_for, reviewer, bullets):
    client = client_for(reviewer)
    url = reverse("optimizer:bullets", args=[bullets[0].project.slug])

    page = client.get(url).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert page.count("data-bullet=") == 3
    assert "Suggested merges" in page

    strict = client.get(url, {"direction": "strict"}).content.decode()
    assert strict.count("data-bullet=") == 1
    bullet_approve(bullet=bullets[0], user=reviewer)
    assert client.get(url, {"status": "approved"}).content.decode().count("data-bullet=") == 1
    assert client.get(url).content.decode().count("data-bullet=") == 2


def test_approving_with_htmx_swaps_in_the_card_with_its_history(client_for, reviewer, bullets):
    response = client_for(reviewer).post(reverse("optimizer:approve", args=[bullets[0].pk]), headers=HTMX)

    card = response.content.decode()
    assert response.status_code == 200 and "<h1>" not in card
    assert 'data-status="approved"' in card and "History (2)" in card and "bob" in card
    assert Bullet.objects.get(pk=bullets[0].pk).status == "approved"


def test_a_refused_action_shows_why_on_the_card(client_for, reviewer, bullets):
    client = client_for(reviewer)
    client.post(reverse("optimizer:reject", args=[bullets[0].pk]), headers=HTMX)

    card = client.post(reverse("optimizer:approve", args=[bullets[0].pk]), headers=HTMX).content.decode()

    assert "is rejected: it cannot be approved" in card
    assert Bullet.objects.get(pk=bullets[0].pk).status == "rejected"


def test_editing_in_place_saves_the_text_and_shows_before_and_after(client_for, reviewer, bullets):
    client = client_for(reviewer)
    url = reverse("optimizer:edit", args=[bullets[0].pk])
    form = client.get(url, headers=HTMX).content.decode()
    assert "<textarea" in form and "&lt;script&gt;" in form

    card = client.post(url, {"text": "The judge rewards keyword stuffing."}, headers=HTMX).content.decode()

    assert "The judge rewards keyword stuffing." in card and "before" in card
    assert Bullet.objects.get(pk=bullets[0].pk).text == "The judge rewards keyword stuffing."


def test_a_lead_merges_bullets_from_the_merge_page(client_for, lead, project, bullets):
    client = client_for(lead)
    url = reverse("optimizer:merge", args=[project.slug])
    page = client.get(url, {"ids": [bullets[0].pk, bullets[1].pk]}).content.decode()
    assert 'name="survivor"' in page and "Merge and approve" in page

    response = client.post(
        url,
        {"bullets": [bullets[0].pk, bullets[1].pk], "survivor": bullets[1].pk, "text": "Stuffing fools it."},
    )

    assert response.status_code == 302
    assert Bullet.objects.get(pk=bullets[0].pk).merged_into_id == bullets[1].pk
    assert Bullet.objects.get(pk=bullets[1].pk).text == "Stuffing fools it."


def test_merging_opposite_directions_is_refused_with_the_reason(client_for, reviewer, project, bullets):
    response = client_for(reviewer).post(
        reverse("optimizer:merge", args=[project.slug]),
        {"bullets": [bullets[0].pk, bullets[2].pk], "survivor": bullets[0].pk, "text": "Both."},
    )

    assert response.status_code == 200 and "different failures" in response.content.decode()
    assert not Bullet.objects.filter(status="merged").exists()


def test_a_reviewer_promotes_an_approved_bullet_and_sees_the_flag_on_a_leaky_rule(
    client_for, reviewer, project, bullets
):
    bullet_approve(bullet=bullets[0], user=reviewer)
    client = client_for(reviewer)
    url = reverse("optimizer:instruction_new", args=[project.slug])
    assert f"#{bullets[0].pk}" in client.get(url, {"ids": bullets[0].pk}).content.decode()
    leaky = "Score 1 when the document says: A document about question number 1."

    response = client.post(url, {"bullets": [bullets[0].pk], "text": leaky}, follow=True)

    instruction = LibraryInstruction.objects.get()
    assert instruction.is_flagged and list(instruction.origin_bullets.all()) == [bullets[0]]
    page = response.content.decode()
    assert "Flagged by the leakage guardrail" in page and "copies training text verbatim" in page


def test_an_open_bullet_cannot_be_promoted(client_for, reviewer, project, bullets):
    response = client_for(reviewer).post(
        reverse("optimizer:instruction_new", args=[project.slug]),
        {"bullets": [bullets[0].pk], "text": "A rule."},
    )

    assert response.status_code == 200 and not LibraryInstruction.objects.exists()


def test_the_library_page_reorders_and_deactivates(client_for, reviewer, project, bullets):
    from optimizer.library import instruction_create_from_bullets

    bullet_approve(bullet=bullets[0], user=reviewer)
    first, second = (
        instruction_create_from_bullets(project=project, bullets=[bullets[0]], text=text, user=reviewer)
        for text in ("First rule.", "Second rule.")
    )
    client = client_for(reviewer)
    client.post(reverse("optimizer:instruction_move", args=[second.pk]), {"to": "up"})
    client.post(reverse("optimizer:instruction_active", args=[first.pk]), {"active": "0"})
    client.post(reverse("optimizer:instruction_edit", args=[second.pk]), {"text": "Second rule, reworded."})

    page = client.get(reverse("optimizer:library", args=[project.slug])).content.decode()
    assert page.index("Second rule, reworded.") < page.index("First rule.")
    assert "inactive" in page and "History (3)" in page


def test_the_project_page_loads_the_counts_per_prompt_version(client_for, reviewer, project, bullets):
    client = client_for(reviewer)
    assert (
        reverse("optimizer:counts", args=[project.slug])
        in client.get(project.get_absolute_url()).content.decode()
    )

    part = client.get(reverse("optimizer:counts", args=[project.slug]), headers=HTMX).content.decode()

    assert "<h1>" not in part and "data-flywheel-counts" in part
    assert "<td data-disagreements>" in part and ">3</a>" in part


def test_bullets_wait_until_the_run_has_finished(client_for, reviewer, run):
    run.status = "running"
    run.save()

    response = client_for(reviewer).post(reverse("optimizer:generate", args=[run.pk]), follow=True)

    assert "once it has finished" in response.content.decode()
    assert not Bullet.objects.exists()


# Twelve ways to fail, each with words of its own; a bullet's rationale adds a few words of a shared pool.
FAILURES = [
    "Keyword stuffing: repeats the query words but never answers anything.",
    "Partial answer: covers half the question and leaves the remainder out.",
    "Outdated figures: statistics from decades ago, superseded since.",
    "Wrong product: describes a different gadget sharing its brand name.",
    "Spam: advertising banners, affiliate links, no substance.",
    "Machine translation garbled beyond comprehension, unreadable sentences.",
    "Paywall: only a login prompt, subscription required, text hidden.",
    "Forum thread where nobody replied with a solution, unanswered.",
    "Recipe blog with a long personal story before ingredients.",
    "Legal disclaimer boilerplate, cookies policy, terms of service.",
    "Broken page: error message, server crashed, missing content.",
    "Satire article mocking the subject, jokes, humour, parody.",
]
POOL = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron".split()


def _many_open_bullets(project, count: int) -> None:
    """`count` open bullets of one prompt version: failure n % 12, lenient or strict by turns of 12,
    so that merge suggestions find about 24 large groups."""
    version = version_make(project)
    items = Item.objects.bulk_create(
        Item(project=project, external_id=f"many-{n}", query=f"query {n}", document="d", split="train")
        for n in range(count)
    )
    bullets = []
    for n, item in enumerate(items):
        lenient = (n // len(FAILURES)) % 2 == 0
        rationale = f"{FAILURES[n % len(FAILURES)]} {POOL[n % 11]} {POOL[(n * 7) % 12]}"
        bullets.append(
            Bullet(
                project=project,
                prompt_version=version,
                endpoint=version.target_model,
                item=item,
                gold=1 if lenient else 5,
                judge_score=5 if lenient else 1,
                delta=4 if lenient else -4,
                human_rationale=rationale,
                judge_reasoning="The document was judged on its words.",
                generated_text=rationale,
                text=rationale,
            )
        )
    Bullet.objects.bulk_create(bullets)


def _suggestions(body: str) -> list[str]:
    return re.findall(r"<div class=\"suggestion\" data-suggestion>(.*?)</div>\s*</div>", body, re.S)


def test_merge_suggestions_for_3000_bullets_show_a_page_of_groups_with_a_few_ids_each(
    client_for, reviewer, project
):
    _many_open_bullets(project, 3000)

    response = client_for(reviewer).get(reverse("optimizer:bullets", args=[project.slug]))

    body = response.content.decode()
    groups = response.context["suggestions"].paginator.count
    assert groups > SUGGESTIONS_PER_PAGE
    shown = _suggestions(body)
    assert len(shown) == SUGGESTIONS_PER_PAGE
    for suggestion in shown:
        assert len(re.findall(r'href="/bullets/\d+/"', suggestion)) == SUGGESTION_IDS_SHOWN
        merge_link = re.search(r'href="(/projects/[^"]*/merge/[^"]*)"', suggestion).group(1)
        assert merge_link.count("ids=") == MERGE_AT_ONCE
        assert re.search(r"and \d+ more", suggestion) and "Merge the first 50" in suggestion
    assert f"groups 1–{SUGGESTIONS_PER_PAGE} of {groups}" in body
    assert len(response.content) < 100_000  # 187 KB when every id was listed


def test_more_suggestions_come_a_page_at_a_time_through_htmx(client_for, reviewer, project):
    _many_open_bullets(project, 600)
    client = client_for(reviewer)
    url = reverse("optimizer:bullets", args=[project.slug])
    first = client.get(url)
    assert "More suggestions →" in first.content.decode()

    more = client.get(url, {"suggestions": 2, "part": "suggestions"}, headers=HTMX)

    part = more.content.decode()
    assert "<h1>" not in part and 'id="suggestions"' in part and " open>" in part.split("<summary>")[0]
    groups = first.context["suggestions"].paginator.count
    end = min(2 * SUGGESTIONS_PER_PAGE, groups)
    assert len(_suggestions(part)) == end - SUGGESTIONS_PER_PAGE
    assert f"groups {SUGGESTIONS_PER_PAGE + 1}–{end} of {groups}" in part
    assert "← Larger groups" in part


def test_an_empty_queue_links_to_the_disagreements_page_where_bullets_are_made(client_for, reviewer, run):
    body = client_for(reviewer).get(reverse("optimizer:bullets", args=[run.project.slug])).content.decode()

    assert "judge run's page" not in body
    assert f'<a href="{reverse("judging:disagreements", args=[run.pk])}">disagreements page</a>' in body


@pytest.mark.parametrize("page", ["queue", "detail"])
def test_the_bullet_pages_say_which_way_a_signed_gap_points(client_for, reviewer, bullets, page):
    url = (
        reverse("optimizer:bullets", args=[bullets[0].project.slug])
        if page == "queue"
        else reverse("optimizer:bullet", args=[bullets[0].pk])
    )

    assert "judge − gold: positive = too lenient" in client_for(reviewer).get(url).content.decode()
