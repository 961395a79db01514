"""The feedback string reviewers and GEPA read."""

from optimizer.feedback import feedback_string

GUARDRAIL = "Keep the 1..5 scale and the output format."


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


def test_labels_without_a_rationale_leave_the_line_out_instead_of_saying_none_given():
    text = feedback_string(
        judge_score=3,
        gold=0,
        scale_min=0,
        scale_max=3,
        human_rationales=["", "  "],
        judge_reasoning="Mentions every query term.",
        guardrail_text=GUARDRAIL,
    )
    assert "Human rationale" not in text and "(none given)" not in text
    assert text.splitlines()[2] == "Judge reasoning: Mentions every query term."


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
