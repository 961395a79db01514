"""CSV cells a spreadsheet cannot run: the one rule every CSV Flywheel writes goes through.

OWASP's rule for CSV injection: a cell that starts with =, +, -, @, a tab or a carriage return is
prefixed with a single quote, so Excel, LibreOffice and Google Sheets show it as text. Numbers Flywheel
computes itself (scores, gold, counts, metrics) are written as numbers, negative ones too: they come
from Python ints and floats, never from a user's text, and a spreadsheet must be able to sum them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    # A cell already starting with quotes before a formula character gets one more, so that reading
    # the file back (csv_cell_read) removes exactly the one this module added.
    return text.lstrip("'").startswith(FORMULA_STARTS)


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell: text neutralised, numbers as they are, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if _needs_quote(text) else text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(value) for value in values]


def csv_cell_read(text: str) -> str:
    """A cell of a CSV file as Flywheel wrote it, back to the original text (the import reads exports)."""
    if text.startswith("'") and _needs_quote(text[1:]):
        return text[1:]
    return text
