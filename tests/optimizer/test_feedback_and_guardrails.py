"""The feedback string reviewers and GEPA read, and the guardrails every candidate prompt goes through."""

from optimizer.feedback import feedback_string
from optimizer.guardrails import invariant_flags, leakage_flags, length_flags, prompt_flags

GUARDRAIL = "Keep the 1..5 scale and the output format."
TRAINING = [
    "how to reset a router\nUnplug the router for thirty seconds and then hold the reset button down.",
    "best time to plant tulips\nPlant tulip bulbs in autumn when the soil has cooled below ten degrees.",
]
BASE = "Score how well the document answers the query on a scale from 1 to 5. Give reasoning, then the score."


def test_the_feedback_string_gives_the_gap_direction_rationale_reasoning_and_guardrail_in_order():
    text = feedback_string(
        judge_score=5,
        gold=2,
        scale_min=1,
        scale_max=5,
        human_rationales=["Only repeats the query words.", "No actual answer."],
        judge_reasoning="Mentions every query term.",
        guardrail_text=GUARDRAIL,
    )
    lines = text.splitlines()
    assert lines[0] == "judge 5, humans 2: over by 3."
    assert lines[1] == "The judge was too lenient."
    assert lines[2] == "Human rationale: Only repeats the query words. / No actual answer."
    assert lines[3] == "Judge reasoning: Mentions every query term."
    assert lines[4] == "Guardrail: " + GUARDRAIL


def test_a_strict_judge_and_a_fractional_gold_read_naturally():
    text = feedback_string(
        judge_score=1,
        gold=2.5,
        scale_min=1,
        scale_max=5,
        human_rationales=[],
        judge_reasoning="",
        guardrail_text="",
    )
    assert text.splitlines()[:2] == ["judge 1, humans 2.5: under by 1.5.", "The judge was too strict."]
    assert "Guardrail" not in text


def test_a_malformed_judgment_says_it_broke_the_format_and_shows_the_raw_output():
    text = feedback_string(
        judge_score=None,
        gold=3,
        scale_min=0,
        scale_max=3,
        human_rationales=["Partly answers it."],
        judge_reasoning="",
        guardrail_text=GUARDRAIL,
        raw_output="score: four",
    )
    assert "no valid score" in text and "from 0 to 3" in text
    assert "The judge broke the output format." in text and "score: four" in text


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
