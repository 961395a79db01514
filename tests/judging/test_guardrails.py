"""The guardrails every prompt version goes through, whatever its origin."""

import pytest
from django.core.exceptions import ValidationError

from judging.guardrails import invariant_flags, leakage_flags, length_flags, prompt_flags
from judging.models import ModelEndpoint, PromptVersion
from judging.versions import version_create, version_create_draft

TRAINING = [
    "how to reset a router\nUnplug the router for thirty seconds and then hold the reset button down.",
    "best time to plant tulips\nPlant tulip bulbs in autumn when the soil has cooled below ten degrees.",
]
BASE = "Score how well the document answers the query on a scale from 1 to 5. Give reasoning, then the score."


def test_a_prompt_that_copies_six_words_of_a_training_document_is_flagged_with_the_phrase():
    prompt = BASE + " If it says unplug it and then hold the reset button down, score 5."
    flags = leakage_flags(prompt, training_texts=TRAINING, reference_text=BASE)
    assert flags == [
        {"rule": "leakage", "detail": 'copies training text verbatim: "and then hold the reset button down"'}
    ]


def test_five_shared_words_or_words_already_in_the_base_prompt_are_not_a_leak():
    assert leakage_flags(BASE + " Hold the reset button: fine.", training_texts=TRAINING) == []
    base_with_phrase = BASE + " Plant tulip bulbs in autumn when the soil"
    assert leakage_flags(base_with_phrase, training_texts=TRAINING, reference_text=base_with_phrase) == []


def test_a_prompt_that_names_a_user_is_flagged():
    flags = leakage_flags(
        BASE + " Trust annotator2 on cooking.", training_texts=[], user_names=["annotator2", "li"]
    )
    assert flags == [{"rule": "leakage", "detail": 'names a user: "annotator2"'}]


def test_a_prompt_that_drops_the_scale_or_an_output_field_breaks_the_invariants():
    assert (
        invariant_flags(BASE, scale_min=1, scale_max=5, output_fields=["reasoning", "score"], base_text=BASE)
        == []
    )
    flags = invariant_flags(
        "Judge the document. Give reasoning.",
        scale_min=1,
        scale_max=5,
        output_fields=["score"],
        base_text=BASE,
    )
    assert [flag["rule"] for flag in flags] == ["scale", "output"]


def test_a_prompt_over_the_maximum_length_is_flagged():
    assert length_flags("x" * 100, max_chars=100) == []
    assert length_flags("x" * 101, max_chars=100) == [
        {"rule": "length", "detail": "101 characters, over the maximum of 100"}
    ]


def test_a_clean_candidate_passes_every_guardrail():
    candidate = BASE + " Do not reward keyword stuffing: repeating the query is not an answer."
    assert prompt_flags(candidate, scale_min=1, scale_max=5, training_texts=TRAINING, base_text=BASE) == []


def test_a_possessive_still_names_the_user():
    flags = leakage_flags(BASE + " Follow alice's taste.", training_texts=[], user_names=["alice"])
    assert flags == [{"rule": "leakage", "detail": 'names a user: "alice"'}]


@pytest.mark.django_db
def test_a_hand_written_draft_that_copies_a_training_document_is_flagged(demo_project, lead):
    parent = PromptVersion.objects.get(project=demo_project, origin="hand-written", parent=None)
    document = demo_project.items.filter(split="train").first().document
    copied = " ".join(document.split()[:8])
    draft = version_create_draft(
        parent=parent, instructions=parent.instructions + f' Think of "{copied}".', demos=[], user=lead
    )
    assert draft.is_flagged
    assert any(flag["rule"] == "leakage" for flag in draft.guardrail_flags)


@pytest.mark.django_db
def test_a_version_without_instructions_is_not_created(demo_project):
    with pytest.raises(ValidationError):
        version_create(
            project=demo_project,
            target_model=ModelEndpoint.objects.get(name="sim/judge-small"),
            instructions="   ",
        )
