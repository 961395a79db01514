"""Numbers rounded for people on pages (labeling/numbers.py), exact ones in exports."""

from __future__ import annotations

from django.template import Context, Template

from labeling.numbers import count, dollars, exact, metric, percent, plural, significant


def test_figures_keep_three_significant_digits_and_drop_float_noise():
    assert significant(19.904) == "19.9"
    assert significant(8.8312) == "8.83"
    assert significant(0.07999999999999996) == "0.08"
    assert significant(0.45123) == "0.451"
    assert significant(2.0) == "2"


def test_large_figures_are_whole_numbers_without_an_exponent():
    assert significant(1234.4) == "1,234"
    assert significant(999.7) == "1,000"


def test_nothing_to_show_is_a_dash():
    assert significant(None) == percent(None) == dollars(None) == "—"
    assert significant(float("nan")) == "—"


def test_signed_figures_say_which_way():
    assert significant(0.25, signed=True) == "+0.25"
    assert significant(-0.2, signed=True) == "-0.2"
    assert significant(0, signed=True) == "0"


def test_shares_read_as_percentages():
    assert percent(0.0725) == "7.25%"
    assert percent(0.91) == "91%"
    assert percent(1.0) == "100%"


def test_money_shows_cents_from_a_dollar_up():
    assert dollars(12.3456) == "$12.35"
    assert dollars(0.001234) == "$0.00123"


def test_exports_keep_the_value_itself_without_binary_noise():
    assert exact(0.07999999999999996) == 0.08
    assert exact(0.123456789) == 0.123457
    assert exact(None) is None


def test_pages_use_the_same_rounding_through_the_template_filters():
    rendered = Template(
        "{% load numbers %}{{ a|sig3 }} {{ b|percent }} {{ c|signed_sig3 }} {{ d|dollars }}"
    ).render(Context({"a": 46.8812, "b": 0.0833333, "c": 0.2, "d": 0.5}))
    assert rendered == "46.9 8.33% +0.2 $0.5"


def test_metrics_keep_their_own_precision_whatever_their_size():
    assert metric("nmse", 16.7234) == "16.72" and metric("nmse", 4.861) == "4.86"
    assert metric("kappa", 0.45123) == "0.451"
    assert metric("malformed_rate", 0.26) == "26.0%" and metric("malformed_rate", 0.2371) == "23.7%"


def test_a_tiny_delta_rounds_to_the_metrics_precision_not_to_three_significant_digits():
    assert metric("kappa", -0.00143, signed=True) == "-0.001"
    assert metric("nmse", 0.2741, signed=True) == "+0.27"
    assert metric("nmse", -0.001, signed=True) == "0.00"  # never "-0.00"


def test_counts_have_thousands_separators():
    assert count(759412) == "759,412" and count(9260) == "9,260" and count(None) == "—"
    assert plural(1, "candidate") == "1 candidate" and plural(2, "annotator") == "2 annotators"


def test_an_interval_is_shown_at_the_precision_of_its_estimate():
    from judging.intervals import Interval, readable, shown_difference

    assert readable(Interval(0.26, 0.237, 0.282), "malformed_rate") == "26.0% (23.7–28.2%)"
    assert readable(Interval(16.7234, 15.151, 18.432), "nmse") == "16.72 (15.15–18.43)"
    assert shown_difference("kappa", Interval(-0.00143, -0.0332, 0.0339)) == "-0.001 (-0.033 to +0.034)"
