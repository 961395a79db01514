"""A project without prompt versions gets its first one: on the versions page or with prompt_create, from
a draft of its rubric and score meanings."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from judging.drafting import first_instructions
from judging.models import ModelEndpoint, PromptVersion
from judging.sim.registry import REFLECTOR
from labeling.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def trec(db) -> Project:
    return Project.objects.create(
        name="TREC DL 2019",
        slug="trec",
        rubric="How relevant is the passage to the query?",
        scale_min=0,
        scale_max=3,
        scale_descriptions={
            "0": "irrelevant",
            "1": "related",
            "2": "highly relevant",
            "3": "perfectly relevant",
        },
    )


@pytest.fixture
def judge_small(db) -> ModelEndpoint:
    return ModelEndpoint.objects.create(name="sim/judge-small", model="sim/judge-small")


def prompt_create(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("prompt_create", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_draft_states_the_rubric_the_scale_each_meaning_and_both_output_fields(trec):
    draft = first_instructions(trec)
    assert trec.rubric in draft
    assert "from 0 to 3" in draft
    assert "- 2: highly relevant" in draft
    assert "reasoning" in draft and "score" in draft


def test_the_draft_of_a_project_is_clean_by_the_guardrails(trec, judge_small):
    out, err = prompt_create("trec", "--model", judge_small.name)
    version = PromptVersion.objects.get(pk=int(out))
    assert version.guardrail_flags == [], version.guardrail_flags
    assert "flagged" not in err


def test_the_versions_page_of_a_project_without_versions_offers_the_lead_to_write_the_first(
    client_for, lead, trec
):
    page = client_for(lead).get(reverse("judging:versions", args=[trec.slug])).content.decode()
    assert "No prompt versions yet." in page
    assert reverse("judging:version_new", args=[trec.slug]) in page


def test_a_lead_writes_the_first_version_for_a_chosen_model_from_the_draft(
    client_for, lead, trec, judge_small
):
    ModelEndpoint.objects.create(name="sim/reflector", model=REFLECTOR)
    client = client_for(lead)
    page = client.get(reverse("judging:version_new", args=[trec.slug])).content.decode()
    assert "perfectly relevant" in page  # the draft is in the textarea
    assert "sim/judge-small" in page and "sim/reflector" not in page  # judges only
    response = client.post(
        reverse("judging:version_new", args=[trec.slug]),
        {"target_model": judge_small.pk, "instructions": first_instructions(trec), "demos": ""},
    )
    version = PromptVersion.objects.get(project=trec)
    assert response.status_code == 302 and response["Location"] == reverse(
        "judging:version", args=[version.pk]
    )
    assert (version.target_model, version.status, version.origin, version.parent, version.created_by) == (
        judge_small,
        PromptVersion.Status.DRAFT,
        "hand-written",
        None,
        lead,
    )


def test_the_judge_run_form_of_a_project_without_versions_points_to_writing_one(client_for, lead, trec):
    page = client_for(lead).get(reverse("judging:runs", args=[trec.slug])).content.decode()
    assert "has no prompt version yet" in page
    assert reverse("judging:version_new", args=[trec.slug]) in page


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_only_a_lead_may_write_a_version(request, client_for, trec, judge_small, role):
    client = client_for(request.getfixturevalue(role))
    url = reverse("judging:version_new", args=[trec.slug])
    assert client.post(url, {"target_model": judge_small.pk, "instructions": "x 0 to 3"}).status_code == 403
    assert not PromptVersion.objects.exists()


def test_prompt_create_prints_only_the_new_versions_number_so_scripts_can_use_it(trec, judge_small):
    out, err = prompt_create("trec", "--model", "sim/judge-small")
    version = PromptVersion.objects.get(project=trec)
    assert out.strip() == str(version.pk)
    assert f"Created draft v{version.pk} of trec for sim/judge-small." in err
    assert version.instructions == first_instructions(trec)


def test_prompt_create_takes_the_instructions_from_a_file_and_shows_what_the_guardrails_found(
    tmp_path, trec, judge_small
):
    path = tmp_path / "prompt.txt"
    path.write_text("Rate how relevant the passage is on a scale from 1 to 3. Give reasoning and a score.")
    out, err = prompt_create("trec", "--model", "sim/judge-small", "--instructions-file", str(path))
    version = PromptVersion.objects.get(pk=int(out))
    assert version.instructions.startswith("Rate how relevant")
    assert version.is_flagged and "flagged: scale" in err


def test_prompt_create_names_the_endpoints_there_are_when_the_model_is_unknown(trec, judge_small):
    with pytest.raises(CommandError, match=r"No model endpoint named 'gpt-5' \(there are: sim/judge-small\)"):
        prompt_create("trec", "--model", "gpt-5")


def test_judging_a_project_without_versions_says_how_to_write_the_first(trec, judge_small):
    with pytest.raises(CommandError, match="manage.py prompt_create trec --model sim/judge-small"):
        call_command("judge", "trec", "--endpoint", "sim/judge-small", "--items", "dev", stdout=StringIO())
