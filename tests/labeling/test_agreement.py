"""The agreement panel: Krippendorff's alpha, weighted kappa per pair, bias vs gold and the label
distribution match figures worked out by hand on a small fixture, and the page shows them to reviewers."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from labeling import selectors
from labeling.agreement import agreement_compute
from labeling.importing import ImportOptions, items_import
from labeling.models import Item
from tests.labeling.factories import items_make, label_make

pytestmark = pytest.mark.django_db

# Three annotators, five items, scale 1–5 (only 1–3 used):
#
#            i1  i2  i3  i4  i5
#   alice     1   2   3   1   3
#   bob       1   2   3   2   .
#   carol     1   3   3   2   .
#
# i5 has one label only (it cannot enter alpha) and a reviewer's adjudicated gold of 1.
SCORES = {
    "alice": [1, 2, 3, 1, 3],
    "bob": [1, 2, 3, 2, None],
    "carol": [1, 3, 3, 2, None],
}

# Krippendorff's alpha, ordinal, over i1–i4 (three values each, so every pair weighs 1/(3−1) = 1/2).
#   Coincidences off the diagonal: i2 (2,2,3) gives o(2,3) = 2·½ = 1; i4 (1,2,2) gives o(1,2) = 1.
#   Value counts over the 12 pairable values: n1 = 4, n2 = 4, n3 = 4, n = 12.
#   Ordinal distances δ(c,k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²:
#     δ(1,2) = (8 − 4)² = 16,  δ(2,3) = (8 − 4)² = 16,  δ(1,3) = (12 − 4)² = 64.
#   Observed:  Σ o·δ = 1·16 + 1·16 + 0·64 = 32
#   Expected:  Σ n_c·n_k·δ = 16·16 + 16·16 + 16·64 = 1536
#   α = 1 − (n − 1)·32/1536 = 1 − 11·32/1536 = 1 − 11/48 = 37/48
ALPHA = 37 / 48  # 0.7708…

# Quadratic-weighted kappa = 1 − mean((a − b)²) / E[(a − b)²] with a, b drawn independently from each
# annotator's own scores; E[(a − b)²] = Var a + Var b + (mean a − mean b)². On the shared items i1–i4:
#   alice 1 2 3 1: mean 1.75, Var 0.6875 · bob 1 2 3 2: mean 2, Var 0.5 · carol 1 3 3 2: mean 2.25, Var 0.6875
#   alice × bob:   observed (0+0+0+1)/4 = 0.25; expected 0.6875+0.5+0.0625 = 1.25   → κ = 1 − 0.25/1.25 = 0.8
#   alice × carol: observed (0+1+0+1)/4 = 0.5; expected 0.6875+0.6875+0.25 = 1.625 → κ = 1 − 0.5/1.625 = 9/13
#   bob × carol:   observed (0+1+0+0)/4 = 0.25; expected 0.5+0.6875+0.0625 = 1.25   → κ = 0.8
KAPPAS = {("alice", "bob"): 0.8, ("alice", "carol"): 9 / 13, ("bob", "carol"): 0.8}

# Gold: the median of i1–i4's labels (1, 2, 3, 2) and the adjudicated 1 on i5.
#   alice: 0, 0, 0, 1−2, 3−1 → (−1 + 2)/5 = +0.2 over 5 items
#   bob:   0, 0, 0, 0       → 0 over 4 items
#   carol: 0, 3−2, 0, 0     → +1/4 = +0.25 over 4 items
BIAS = {"alice": (0.2, 5), "bob": (0.0, 4), "carol": (0.25, 4)}

# Labels per score 1..5.
COUNTS = {"alice": [2, 1, 2, 0, 0], "bob": [1, 2, 1, 0, 0], "carol": [1, 1, 2, 0, 0]}


@pytest.fixture
def labeled(project, annotator, reviewer, lead):
    users = {"alice": annotator, "bob": reviewer, "carol": lead}
    project.labels_per_item = 3
    project.save()
    items = items_make(project, 5)
    for name, scores in SCORES.items():
        for item, score in zip(items, scores, strict=True):
            if score is not None:
                label_make(item, users[name], score)
    Item.objects.filter(pk=items[4].pk).update(adjudicated_score=1, adjudication_note="Off topic.")
    return project


def _agreement(project):
    return agreement_compute(
        rows=selectors.project_label_rows(project=project),
        scale_points=project.scale_points,
        sources=selectors.label_sources(),
    )


def _import_nist_labels(project, tmp_path, scores: dict[str, int]) -> None:
    """Labels as a TREC import brings them: from a file with no annotator column, owned by "nist"."""
    path = tmp_path / "qrels.jsonl"
    rows = [
        {"external_id": eid, "query": f"q {eid}", "document": "d", "score": s} for eid, s in scores.items()
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    items_import(project=project, path=path, options=ImportOptions(labels_as="nist"))


def test_alpha_matches_the_hand_computed_ordinal_alpha(labeled):
    result = _agreement(labeled)

    assert result.alpha == pytest.approx(ALPHA)
    assert (result.items, result.shared_items) == (5, 4)


def test_each_pairs_weighted_kappa_matches_the_hand_computation(labeled):
    pairs = {(pair.first, pair.second): pair for pair in _agreement(labeled).pairs}

    assert set(pairs) == set(KAPPAS)
    for names, kappa in KAPPAS.items():
        assert pairs[names].kappa == pytest.approx(kappa)
        assert pairs[names].items == 4


def test_bias_against_gold_and_label_distribution_match_the_hand_computation(labeled):
    summaries = {s.annotator: s for s in _agreement(labeled).summaries}

    for name, (bias, over) in BIAS.items():
        assert summaries[name].bias == pytest.approx(bias)
        assert summaries[name].bias_items == over
        assert summaries[name].counts == COUNTS[name]
        assert summaries[name].labels == sum(COUNTS[name])


def test_perfect_agreement_gives_alpha_one_and_a_single_annotator_none(project, annotator, reviewer):
    first, second = items_make(project, 2)
    for item, score in ((first, 1), (second, 4)):
        label_make(item, annotator, score)
    assert _agreement(project).alpha is None  # one annotator: nothing to agree with

    for item, score in ((first, 1), (second, 4)):
        label_make(item, reviewer, score)
    assert _agreement(project).alpha == pytest.approx(1.0)


# The panel in the browser's place.


def _figure(body: str, name: str) -> dict:
    start = body.index(f'<script id="{name}" type="application/json">') + len(
        f'<script id="{name}" type="application/json">'
    )
    return json.loads(body[start : body.index("</script>", start)])


def test_a_reviewer_sees_the_figures_and_the_charts(client_for, reviewer, labeled):
    response = client_for(reviewer).get(reverse("labeling:agreement", args=[labeled.slug]))

    assert response.status_code == 200
    body = response.content.decode()
    assert '<div class="value" id="alpha">0.771</div>' in body  # 37/48
    assert "over 4 items with two labels or more" in body
    assert "alice × bob</td><td>4</td>\n        <td>0.800</td>" in body  # kappa at its three decimals
    assert "alice × carol</td><td>4</td>\n        <td>0.692</td>" in body  # 9/13
    assert "+0.20<" in body and "+0.25<" in body  # bias at two decimals
    assert "vendor/plotly" in body and "js/charts.js" in body

    distribution = _figure(body, "fig-distribution")
    shares = {trace["name"]: trace["y"] for trace in distribution["data"]}
    assert shares["alice"] == pytest.approx([40, 20, 40, 0, 0])
    bias = _figure(body, "fig-bias")["data"][0]
    assert dict(zip(bias["y"], bias["x"], strict=True)) == pytest.approx(
        {"alice": 0.2, "bob": 0.0, "carol": 0.25}
    )
    kappa = _figure(body, "fig-kappa")["data"][0]
    assert kappa["z"][0][2] == pytest.approx(9 / 13)


def test_a_label_source_is_no_annotator_but_its_labels_count_toward_gold(project, annotator, tmp_path):
    _import_nist_labels(project, tmp_path, {"a": 2, "b": 4})
    for item, score in zip(Item.objects.order_by("external_id"), (3, 4), strict=True):
        label_make(item, annotator, score)

    agreement = _agreement(project)

    assert agreement.annotators == ["alice"] and agreement.pairs == [] and agreement.alpha is None
    (alice,) = agreement.summaries
    assert (alice.bias, alice.bias_items) == (pytest.approx(0.25), 2)  # gold: the medians 2.5 and 4
    assert [(source.annotator, source.labels) for source in agreement.sources] == [("nist", 2)]


def test_with_only_a_label_source_the_page_says_so_instead_of_drawing_empty_charts(
    client_for, reviewer, project, tmp_path
):
    _import_nist_labels(project, tmp_path, {"a": 2, "b": 4})

    body = client_for(reviewer).get(reverse("labeling:agreement", args=[project.slug])).content.decode()

    assert "<td>nist</td>" not in body and "No labels yet" not in body
    assert "<strong>nist</strong> (2 labels), a label source rather than a person" in body
    assert "No person has labeled yet" in body
    assert 'data-plotly="fig-bias"' not in body and 'data-plotly="fig-kappa"' not in body


def test_one_annotator_beside_a_label_source_gets_words_not_an_empty_pairs_chart(
    client_for, reviewer, project, annotator, tmp_path
):
    _import_nist_labels(project, tmp_path, {"a": 2})
    label_make(Item.objects.get(), annotator, 3)
    items_make(project, 1)
    label_make(Item.objects.exclude(external_id="a").get(), annotator, 1)

    body = client_for(reviewer).get(reverse("labeling:agreement", args=[project.slug])).content.decode()

    assert "One annotator alone: no pair to compare." in body
    assert 'data-plotly="fig-kappa"' not in body and 'id="fig-kappa"' not in body
    assert 'data-plotly="fig-bias"' in body  # alice has a bias on the item nist labeled too


def test_without_any_gold_beyond_their_own_labels_the_bias_chart_is_words(
    client_for, reviewer, project, annotator
):
    for item in items_make(project, 2):
        label_make(item, annotator, 3)

    body = client_for(reviewer).get(reverse("labeling:agreement", args=[project.slug])).content.decode()

    assert "No bias to show yet" in body and 'data-plotly="fig-bias"' not in body
    assert 'data-plotly="fig-distribution"' in body


def test_an_annotator_gets_403_on_the_agreement_panel(client_for, annotator, labeled):
    response = client_for(annotator).get(reverse("labeling:agreement", args=[labeled.slug]))

    assert response.status_code == 403
