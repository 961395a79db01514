"""The guardrails every prompt version goes through, whatever its origin."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from judging.guardrails import (
    invariant_flags,
    leakage_flags,
    length_flags,
    project_guardrails,
    prompt_flags,
    rare_term_flags,
    stated_scales,
    training_term_counts,
)
from judging.models import ModelEndpoint
from judging.promotion import PromotionRefused, version_promote
from judging.versions import version_create, version_create_draft
from labeling.importing import ImportOptions, items_import
from labeling.models import Item, Project
from optimizer.recording import candidate_record

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


def test_a_prompt_that_names_the_project_scale_in_any_usual_way_states_it():
    for text in (
        "Rate 0-3.",
        "Score it 0–3.",
        "Score from 0 to 3.",
        "Score from 0 (off topic) to 3 (perfect).",
    ):
        assert stated_scales(text) == [(0, 3)], text
        assert invariant_flags(text, scale_min=0, scale_max=3) == [], text


def test_a_prompt_that_states_another_scale_or_none_is_flagged():
    changed = invariant_flags("Rate the passage 1 to 3.", scale_min=0, scale_max=3)
    assert changed == [{"rule": "scale", "detail": "states a 1–3 scale; the project's is 0–3"}]
    missing = invariant_flags("Rate how well the passage answers the query.", scale_min=0, scale_max=3)
    assert missing == [{"rule": "scale", "detail": "does not state the project's 0–3 scale"}]


def test_a_range_that_is_not_about_the_score_is_not_read_as_a_scale():
    text = "Write 2-3 sentences of reasoning. Score from 0 to 3."
    assert invariant_flags(text, scale_min=0, scale_max=3) == []


def test_ordinary_words_found_only_in_training_items_are_not_rare_terms():
    training = ["the evidence in this relevant passage gives the answer", "zyxtrol pumps by Harkwell"]
    flags = rare_term_flags(
        "Weigh the evidence: a relevant passage gives the answer.",
        training_counts=training_term_counts(training),
        ordinary_words=frozenset(),
        training_items=len(training),
    )
    assert flags == []


def test_a_term_found_only_in_a_few_training_items_is_flagged():
    training = ["zyxtrol pumps by Harkwell", "garden hoses", "tulip bulbs"]
    flags = rare_term_flags(
        "Prefer Harkwell documents.",
        training_counts=training_term_counts(training),
        ordinary_words=frozenset({"tulip"}),
        training_items=len(training),
    )
    assert flags == [{"rule": "leakage", "detail": 'uses terms found only in training items: "harkwell"'}]


def test_a_term_of_the_other_splits_is_not_a_rare_term():
    training = ["zyxtrol pumps by Harkwell"]
    flags = rare_term_flags(
        "Prefer Harkwell documents.",
        training_counts=training_term_counts(training),
        ordinary_words=frozenset({"harkwell"}),
        training_items=1,
    )
    assert flags == []


# Every creation path, on a 0–3 project

SCALE = "Score how well the passage answers the query from 0 (irrelevant) to 3 (perfectly relevant)."
TRAIN_DOCUMENT = (
    "The Harkwell zyxtrol valve must be bled twice before the pump is primed each spring morning."
)


@pytest.fixture
def trec(db):
    project = Project.objects.create(
        name="TREC", slug="trec", rubric="How relevant the passage is.", scale_min=0, scale_max=3
    )
    Item.objects.bulk_create(
        [
            Item(
                project=project,
                external_id="t1",
                query="bleeding a pump",
                document=TRAIN_DOCUMENT,
                split="train",
            ),
            Item(
                project=project,
                external_id="t2",
                query="tulips",
                document="Plant bulbs in autumn.",
                split="train",
            ),
            Item(
                project=project,
                external_id="d1",
                query="garden hose",
                document="A hose carries water.",
                split="dev",
            ),
            Item(
                project=project,
                external_id="e1",
                query="rain",
                document="Rain falls from clouds.",
                split="test",
            ),
        ]
    )
    return project


@pytest.fixture
def small(db):
    return ModelEndpoint.objects.create(name="sim/judge-small", model="sim/judge-small")


def written(project, endpoint, instructions, **fields):
    return version_create(project=project, target_model=endpoint, instructions=instructions, **fields)


def rules(version) -> list[str]:
    return [flag["rule"] for flag in version.guardrail_flags]


def test_a_clean_hand_written_first_version_is_not_flagged(trec, small):
    assert written(trec, small, SCALE + " Give your reasoning, then the score.").guardrail_flags == []


def test_words_of_the_judge_programs_own_field_descriptions_are_never_rare_terms(trec, small):
    # Seen on TREC DL 2019: "integer" stood in a few training passages and in no dev or test one, so every
    # proposal that said "give the score as an integer" (as the score field itself says) was rejected.
    Item.objects.create(
        project=trec,
        external_id="t-int",
        query="integer overflow",
        document="An integer overflow.",
        split="train",
    )
    assert written(trec, small, SCALE + " Give the score as one integer.").guardrail_flags == []


def test_a_hand_written_first_version_that_copies_a_training_document_is_flagged(trec, small):
    version = written(trec, small, SCALE + " The zyxtrol valve must be bled twice before the pump.")
    assert "leakage" in rules(version)
    assert any("copies training text verbatim" in flag["detail"] for flag in version.guardrail_flags)


def test_a_hand_written_first_version_must_state_the_project_scale(trec, small):
    assert rules(written(trec, small, "Rate how relevant the passage is to the query.")) == ["scale"]
    assert rules(written(trec, small, "Rate the passage 1 to 3 for the query.")) == ["scale"]


def test_an_over_long_prompt_is_flagged(trec, small):
    version = written(trec, small, SCALE + " Be careful." * 2000)
    assert len(version.instructions) > 20000
    assert rules(version) == ["length"]


def test_an_edited_draft_that_copies_a_training_document_is_flagged(trec, small, lead):
    parent = written(trec, small, SCALE)
    draft = version_create_draft(
        parent=parent,
        instructions=parent.instructions + " Remember: must be bled twice before the pump is primed.",
        demos=[],
        user=lead,
    )
    assert draft.parent == parent and "leakage" in rules(draft)


def test_an_edited_draft_that_drops_an_output_field_its_parent_named_is_flagged(trec, small, lead):
    parent = written(trec, small, SCALE + " Give your reasoning, then the score.")
    draft = version_create_draft(parent=parent, instructions=SCALE + " Then the score.", demos=[], user=lead)
    assert rules(draft) == ["output"]


def test_a_candidate_that_inherits_copied_text_from_a_flagged_parent_is_flagged_and_cannot_be_promoted(
    trec, small, lead
):
    from optimizer.models import OptimizationRun

    parent = written(trec, small, SCALE + " The zyxtrol valve must be bled twice before the pump.")
    assert parent.is_flagged
    run = OptimizationRun.objects.create(
        project=trec, base_version=parent, target_endpoint=small, reflection_endpoint=small, created_by=lead
    )
    candidate = candidate_record(
        run=run,
        index=1,
        instructions=parent.instructions + " Do not reward keyword stuffing.",
        dev_score=0.9,
        metric_calls_at=10,
    )
    version = candidate.prompt_version
    assert version.parent == parent and "leakage" in rules(version)
    with pytest.raises(PromotionRefused, match="flagged by the guardrails"):
        version_promote(version=version, user=lead)


def test_a_name_an_import_gave_its_labels_is_not_a_user_name(trec, small, tmp_path):
    path = tmp_path / "qrels.jsonl"
    path.write_text(
        json.dumps({"external_id": "x1", "query": "q", "document": "d", "score": 2}) + "\n", encoding="utf-8"
    )
    items_import(project=trec, path=path, options=ImportOptions(labels_as="nist"))
    assert get_user_model().objects.filter(username="nist").exists()

    version = written(trec, small, SCALE + " Rate the way a NIST assessor would.")
    assert version.guardrail_flags == []
    # An optimizer run passes every user name it knows: the label source is still no person.
    guardrails = project_guardrails(trec, user_names=["nist", "carol"])
    assert guardrails.leakage("Rate the way a NIST assessor would.") == []
    assert guardrails.leakage("Rate the way carol would.") == [
        {"rule": "leakage", "detail": 'names a user: "carol"'}
    ]


def test_a_real_user_named_in_a_prompt_is_still_flagged(trec, small, lead):
    version = written(trec, small, SCALE + f" Score as {lead.username} would.")
    assert version.guardrail_flags == [{"rule": "leakage", "detail": f'names a user: "{lead.username}"'}]


def test_the_project_guardrails_read_the_other_splits_as_ordinary_words(trec):
    guardrails = project_guardrails(trec)
    assert {"hose", "clouds", "relevant"} <= guardrails.ordinary_words
    assert guardrails.leakage("Prefer Harkwell documents.") == [
        {"rule": "leakage", "detail": 'uses terms found only in training items: "harkwell"'}
    ]


def test_a_version_without_instructions_is_not_created(trec, small):
    with pytest.raises(ValidationError, match="cannot be empty"):
        written(trec, small, "   ")
