"""The generated demo dataset: its items, its labels and the texts the demo project starts from."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict

import pytest

from judging.sim.judge import corrections_in, evidence
from labeling.demo_data import (
    BASELINE_JUDGE_INSTRUCTIONS,
    DEMO_ANNOTATORS,
    DEMO_RUBRIC,
    DEMO_SCALE_DESCRIPTIONS,
    KINDS,
    demo_items,
    demo_labels,
)

ANNOTATORS = list(DEMO_ANNOTATORS)


@pytest.fixture(scope="module")
def items():
    return demo_items()


@pytest.fixture(scope="module")
def labels(items):
    return demo_labels(items, ANNOTATORS)


def _scores_by_item(labels) -> dict[str, list[int]]:
    scores = defaultdict(list)
    for label in labels:
        scores[label.external_id].append(label.score)
    return scores


def test_there_are_at_least_200_items_over_at_least_10_queries(items):
    assert len(items) >= 200
    assert len({item.query for item in items}) >= 10
    assert len({item.metadata["query_id"] for item in items}) == len({item.query for item in items})


def test_external_ids_are_unique_and_name_query_and_document(items):
    ids = [item.external_id for item in items]
    assert len(ids) == len(set(ids))
    for item in items:
        assert re.fullmatch(r"q\d{2}-d\d{2}", item.external_id)
        assert item.external_id.startswith(item.metadata["query_id"] + "-")


def test_documents_are_distinct_passages_of_a_few_sentences(items):
    assert len({item.document for item in items}) == len(items)
    for item in items:
        assert 15 <= len(item.document.split()) <= 150, item.external_id


def test_every_query_has_every_kind_of_document(items):
    kinds_by_query = defaultdict(set)
    for item in items:
        assert item.metadata["kind"] in KINDS
        kinds_by_query[item.query].add(item.metadata["kind"])
    assert all(kinds == set(KINDS) for kinds in kinds_by_query.values())


def test_true_grades_follow_the_kind_of_document(items):
    grades = defaultdict(set)
    for item in items:
        assert 1 <= item.true_grade <= 5
        grades[item.metadata["kind"]].add(item.true_grade)
    assert grades["perfect"] == {5}
    assert grades["partial"] == {3, 4}
    assert grades["related"] == {2}
    assert grades["offtopic"] == {1}
    assert Counter(item.true_grade for item in items).keys() == {1, 2, 3, 4, 5}


def test_stuffed_documents_exist_and_have_low_true_grades(items):
    stuffed = [item for item in items if item.metadata["kind"] == "stuffed"]
    assert len(stuffed) >= 20
    assert all(item.true_grade <= 2 for item in stuffed)


def test_stuffed_documents_look_like_a_strong_match_to_a_lexical_judge(items):
    # The demo's story depends on it: the sim judge over-scores these until an instruction corrects it.
    for item in items:
        ev = evidence(item.query, item.document)
        if item.metadata["kind"] == "stuffed":
            assert ev.stuffed and ev.coverage == 1, item.external_id


def test_items_are_deterministic_for_a_seed():
    assert demo_items(seed=3) == demo_items(seed=3)
    assert demo_items(seed=3) != demo_items(seed=4)


def test_labels_are_deterministic_for_a_seed(items):
    assert demo_labels(items, ANNOTATORS, seed=3) == demo_labels(items, ANNOTATORS, seed=3)
    assert demo_labels(items, ANNOTATORS, seed=3) != demo_labels(items, ANNOTATORS, seed=4)


def test_label_scores_are_on_the_scale_and_mostly_match_the_true_grade(items, labels):
    true_grade = {item.external_id: item.true_grade for item in items}
    assert all(1 <= label.score <= 5 for label in labels)
    exact = sum(label.score == true_grade[label.external_id] for label in labels)
    assert exact / len(labels) >= 0.6


def test_three_annotators_label_part_of_the_items(items, labels):
    assert {label.annotator for label in labels} == set(ANNOTATORS)
    pairs = [(label.external_id, label.annotator) for label in labels]
    assert len(pairs) == len(set(pairs))
    counts = Counter(len(scores) for scores in _scores_by_item(labels).values())
    assert counts[3] >= 30  # every annotator on these: agreement can be measured
    assert counts[1] >= 30
    assert len(_scores_by_item(labels)) < len(items)  # some are left for the queue


def test_annotators_disagree_by_two_or_more_on_a_few_items(labels):
    spreads = [max(s) - min(s) for s in _scores_by_item(labels).values() if len(s) > 1]
    assert sum(spread >= 2 for spread in spreads) >= 3
    assert sum(spread == 0 for spread in spreads) > len(spreads) / 3


def test_the_second_annotator_is_the_lenient_one(items, labels):
    true_grade = {item.external_id: item.true_grade for item in items}
    bias = {
        name: statistics.mean(
            lab.score - true_grade[lab.external_id] for lab in labels if lab.annotator == name
        )
        for name in ANNOTATORS
    }
    assert bias[ANNOTATORS[1]] > max(bias[ANNOTATORS[0]], bias[ANNOTATORS[2]])


def test_rationales_are_written_sentences(labels):
    for label in labels:
        assert 20 <= len(label.rationale) <= 200, label
        assert label.rationale.endswith(".")
    assert len({label.rationale for label in labels}) > len(labels) / 2


def test_no_annotators_means_no_labels(items):
    assert demo_labels(items, []) == []


def test_scale_descriptions_cover_one_to_five():
    assert set(DEMO_SCALE_DESCRIPTIONS) == {"1", "2", "3", "4", "5"}
    assert DEMO_SCALE_DESCRIPTIONS["1"].startswith("Irrelevant")
    assert DEMO_SCALE_DESCRIPTIONS["5"].startswith("Perfect")


def test_baseline_prompt_states_the_scale_but_leaves_the_failure_modes_to_the_optimizer():
    assert "1 to 5" in BASELINE_JUDGE_INSTRUCTIONS
    for text in (BASELINE_JUDGE_INSTRUCTIONS, DEMO_RUBRIC, *DEMO_SCALE_DESCRIPTIONS.values()):
        assert corrections_in(text) == set(), text
