"""Numbers as people read them: three significant digits, shares as percentages. Pages use these
(through the `numbers` template filters); exports keep the exact values."""

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
