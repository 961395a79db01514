"""Numbers as people read them: three significant digits, metrics at their own fixed precision (a delta
and an interval at the precision of the metric they belong to), shares as percentages, counts with
thousands separators. Pages and commands use these (pages through the `numbers` template filters);
exports keep the exact values; charts take PLOTLY_TICKFORMAT."""

from __future__ import annotations

import math

MISSING = "—"


def _finite(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def significant(value, digits: int = 3, *, signed: bool = False) -> str:
    """19.904 → "19.9", 0.07999999999999996 → "0.08", 0.4512 → "0.451", 1234.5 → "1,235" (whole
    numbers from a thousand up: no exponent), None → "—". Trailing zeros go: 2.0 → "2"."""
    number = _finite(value)
    if number is None:
        return MISSING
    sign = "+" if signed and number > 0 else ""
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "0"):
        return "0"
    return sign + text


# Decimals each metric is shown with, its interval and its changes too: a kappa change of -0.00143 is
# "-0.001", an NMSE change of +0.2741 is "+0.27" (three significant digits of a tiny delta are noise).
METRIC_DECIMALS = {"nmse": 2, "mae": 2, "bias": 2, "kappa": 3, "alpha": 3, "spearman": 3}
# Shares of items (as percentages) keep one decimal of a percent: "26.0% (23.7–28.2%)".
PERCENT_DECIMALS = 1
SHARES = {"malformed_rate", "exact", "within_one"}
# d3-format strings for plotly axes: at most three significant digits, thousands separated, no SI "k/m".
PLOTLY_TICKFORMAT = ",.3~r"


def fixed(value, decimals: int, *, signed: bool = False) -> str:
    """A number at a fixed number of decimals with thousands separators: 1234.5 → "1,234.50"
    (decimals=2); a value that rounds to zero is "0.00", never "-0.00" or "+0.00"."""
    number = _finite(value)
    if number is None:
        return MISSING
    text = f"{number:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text.lstrip("-")
    return ("+" if signed and number > 0 else "") + text


def metric(name: str, value, *, signed: bool = False) -> str:
    """A metric at its own precision: nmse 16.7234 → "16.72", kappa 0.45123 → "0.451", a share
    (malformed_rate, exact, within_one) 0.26 → "26.0%". Metrics without a set precision keep three
    significant digits."""
    if name in SHARES:
        number = _finite(value)
        return MISSING if number is None else fixed(number * 100, PERCENT_DECIMALS, signed=signed) + "%"
    if name in METRIC_DECIMALS:
        return fixed(value, METRIC_DECIMALS[name], signed=signed)
    return significant(value, signed=signed)


def count(value) -> str:
    """A count of things (items, labels, tokens, calls) with thousands separators: 759412 → "759,412"."""
    number = _finite(value)
    if number is None:
        return MISSING
    return f"{round(number):,}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 candidate", "2 candidates", "1,384 items" ("annotator" → "annotators"; words for the odd one)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def percent(share, digits: int = 3, *, signed: bool = False) -> str:
    """A share as a percentage: 0.0725 → "7.25%", 1.0 → "100%", 0.91 → "91%"."""
    number = _finite(share)
    if number is None:
        return MISSING
    return significant(number * 100, digits, signed=signed) + "%"


def dollars(value) -> str:
    """Money: cents from a dollar up ("$12.35"), three significant digits below ("$0.00123")."""
    number = _finite(value)
    if number is None:
        return MISSING
    if abs(number) >= 1:
        return f"${number:,.2f}"
    return "$" + significant(number)


def exact(value, places: int = 6) -> float | None:
    """For exports: the value itself, without binary float noise (0.07999999999999996 → 0.08)."""
    number = _finite(value)
    return None if number is None else round(number, places)
