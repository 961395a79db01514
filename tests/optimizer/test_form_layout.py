"""The bullet and library forms use the project's one form layout (templates/forms/): label above the
text, its errors right under it, help text below."""

from __future__ import annotations

import pytest
from django.urls import reverse

from optimizer.bullets import bullet_approve, bullets_generate_from_run
from optimizer.library import instruction_create_from_bullets
from optimizer.models import Bullet
from tests.form_blocks import blocks, first_of_each
from tests.optimizer.disagreements import Row, run_make

pytestmark = pytest.mark.django_db

RULE = "A document that only repeats the query's words without answering it scores the minimum."


@pytest.fixture
def approved(project, annotator, reviewer) -> list[Bullet]:
    rows = [Row("train", gold=1, judge=5), Row("train", gold=1, judge=4)]
    bullets_generate_from_run(run=run_make(project, annotator, rows), user=reviewer)
    bullets = list(Bullet.objects.order_by("id"))
    for bullet in bullets:
        bullet_approve(bullet=bullet, user=reviewer)
    return bullets


def test_the_bullet_and_library_forms_put_the_label_above_and_the_help_below(
    client_for, reviewer, project, approved
):
    instruction = instruction_create_from_bullets(project=project, bullets=approved, text=RULE, user=reviewer)
    ids = "&".join(f"ids={b.pk}" for b in approved)
    urls = {
        "bullet edit": reverse("optimizer:edit", args=[approved[0].pk]),
        "merge": reverse("optimizer:merge", args=[project.slug]) + "?" + ids,
        "instruction new": reverse("optimizer:instruction_new", args=[project.slug]) + "?" + ids,
        "instruction edit": reverse("optimizer:instruction_edit", args=[instruction.pk]),
    }
    client = client_for(reviewer)
    for name, url in urls.items():
        page = blocks(client.get(url).content.decode())

        assert page.fields, name
        for parts in page.fields:
            order = first_of_each(parts)
            assert order[:2] == ["label", "control"], (name, parts)
            assert "help" not in order or order.index("help") > order.index("control"), (name, parts)


def test_an_empty_bullet_text_is_refused_right_under_the_field(client_for, reviewer, approved):
    response = client_for(reviewer).post(reverse("optimizer:edit", args=[approved[0].pk]), {"text": ""})
    body = response.content.decode()

    page = blocks(body)
    (parts,) = page.fields
    assert parts.index("errors") == parts.index("control") + 1
    assert f'id="edit-{approved[0].pk}-text"' in body
