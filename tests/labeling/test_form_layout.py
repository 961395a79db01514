"""Every form has one layout (templates/forms/, config/forms.py): the label above its field, the help
text below it, errors right under the input, and the page's buttons in one row."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from judging.models import ModelEndpoint, PromptVersion

VOID = {"input", "br", "img", "meta", "link", "hr"}
INVISIBLE = ("hidden", "submit")


class _FieldBlocks(HTMLParser):
    """The parts of each <div class="field"> in document order, and every visible control outside one."""

    def __init__(self):
        super().__init__()
        self.fields: list[list[str]] = []
        self.loose: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, opens a field block)

    def _in_field(self) -> bool:
        return any(opens for _, opens in self._stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        opens = tag == "div" and "field" in classes
        if opens:
            self.fields.append([])
        part = None
        if tag in ("label", "legend"):
            part = "label"
        elif tag in ("select", "textarea") or (tag == "input" and attrs.get("type") not in INVISIBLE):
            part = "control"
        elif tag == "ul" and "errorlist" in classes:
            part = "errors"
        elif tag == "div" and "help" in classes:
            part = "help"
        if part:
            if self._in_field():
                self.fields[-1].append(part)
            elif part == "control":
                self.loose.append(attrs.get("name", tag))
        if tag not in VOID:
            self._stack.append((tag, opens))

    def handle_endtag(self, tag):
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break


def blocks(html: str) -> _FieldBlocks:
    parser = _FieldBlocks()
    parser.feed(html)
    return parser


def first_of_each(parts: list[str]) -> list[str]:
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return seen


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
        page = blocks(response.content.decode())

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
