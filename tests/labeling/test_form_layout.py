"""Every form has one layout (templates/forms/, config/forms.py): the label above its field, the help
text below it, errors right under the input, and the page's buttons in one row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from judging.models import ModelEndpoint, PromptVersion
from tests.form_blocks import blocks, first_of_each


@pytest.fixture
def form_pages(demo_project):
    version = PromptVersion.objects.filter(project=demo_project).earliest("id")
    endpoint = ModelEndpoint.objects.get(model="sim/judge-small")
    slug = demo_project.slug
    return {
        "project settings": reverse("labeling:project_edit", args=[slug]),
        "new project": reverse("labeling:project_create"),
        "import upload": reverse("labeling:import", args=[slug]),
        "endpoint": reverse("judging:endpoint_edit", args=[endpoint.pk]),
        "new endpoint": reverse("judging:endpoint_new"),
        "version new": reverse("judging:version_new", args=[slug]),
        "version edit": reverse("judging:version_edit", args=[version.pk]),
        "judge run": reverse("judging:runs", args=[slug]),
        "optimizer run": reverse("optimizer:runs", args=[slug]),
        "tokens": reverse("judging:tokens"),
    }


def test_every_form_page_puts_labels_above_fields_and_help_below(client_for, lead, form_pages):
    client = client_for(lead)
    for name, url in form_pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        body = response.content.decode()
        page = blocks(body)
        assert '<div class="form-actions"><button class="btn" type="submit">' in body, name

        assert page.fields, f"{name}: no field blocks"
        for parts in page.fields:
            order = first_of_each(parts)
            assert order[:2] == ["label", "control"], f"{name}: {parts}"
            if "help" in order:
                assert order.index("help") > order.index("control"), f"{name}: {parts}"
        assert not [control for control in page.loose if control not in ("q", "query")], name


def test_the_optimizer_explains_the_algorithm_under_its_select(client_for, lead, demo_project):
    body = client_for(lead).get(reverse("optimizer:runs", args=[demo_project.slug])).content.decode()

    select = body.index('<select name="algorithm"')
    help_text = body.index("The instruction-library regime always selects among vetted instructions.")
    next_label = body.index('<label for="id_base_version"')
    assert select < help_text < next_label
    assert 'aria-describedby="id_algorithm_helptext"' in body


def test_an_error_is_shown_right_under_its_field(client_for, lead, demo_project):
    response = client_for(lead).post(
        reverse("labeling:project_edit", args=[demo_project.slug]), {"name": "", "rubric": ""}
    )
    page = blocks(response.content.decode())

    invalid = [parts for parts in page.fields if "errors" in parts]
    assert invalid
    for parts in invalid:
        assert parts.index("errors") == parts.index("control") + 1


def test_the_login_form_has_the_same_layout(client):
    page = blocks(client.get(reverse("login")).content.decode())

    assert [first_of_each(parts)[:2] for parts in page.fields] == [["label", "control"]] * 2
