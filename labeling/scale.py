"""Score meanings: what each point of a project's scale means, as people write them ("0=not relevant;
1=related") and as a project keeps them ({"0": "not relevant", "1": "related"})."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# "0=…", "0: …" or "0 - …", separated by semicolons. Only ";" separates: a meaning wrapped over several
# lines (as a shell command in a README is) stays one meaning, its line breaks read as spaces.
_POINT = r"(-?\d+)\s*(?:=|:|—|–|-)\s*"
_MEANING_RE = re.compile(rf"^\s*{_POINT}(.+?)\s*$", re.DOTALL)
# A line inside a meaning that starts like "2=…": meanings written one per line without ";".
# (Not "2 - …": a wrapped line may well start "10-20 words".)
_POINT_LINE_RE = re.compile(r"\n\s*-?\d+\s*(?:=|:|—|–)\s*\S")
MEANING_MAX_CHARS = 300


def scale_labels_parse(text: str, *, scale_min: int, scale_max: int) -> dict[str, str]:
    """{"0": "…", …} from "0=…;1=…" (line breaks around and inside a meaning read as spaces). Every
    point named must be on the scale, once; points left out stay without a meaning."""
    meanings: dict[str, str] = {}
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        match = _MEANING_RE.match(part)
        if not match:
            raise ValidationError(
                f'Write each score meaning as point=meaning, e.g. "0=not relevant"; got "{_one_line(part)}".'
            )
        if _POINT_LINE_RE.search(match[2]):
            # Silently reading "1=b" as the end of 0's meaning would be worse than asking.
            raise ValidationError(
                f'Separate score meanings with ";": "{_one_line(part)}" reads as one meaning.'
            )
        point, meaning = int(match[1]), _one_line(match[2])
        if not scale_min <= point <= scale_max:
            raise ValidationError(f"{point} is not on the scale {scale_min}–{scale_max}.")
        if str(point) in meanings:
            raise ValidationError(f"{point} has two meanings.")
        if len(meaning) > MEANING_MAX_CHARS:
            raise ValidationError(f"The meaning of {point} is over {MEANING_MAX_CHARS} characters.")
        meanings[str(point)] = meaning
    return meanings


def _one_line(text: str) -> str:
    return " ".join(text.split())


def scale_labels_text(meanings: dict[str, str], *, scale_min: int, scale_max: int) -> str:
    """The form's text for stored meanings: one "point=meaning;" per line, in scale order, which
    scale_labels_parse reads back as it was."""
    return ";\n".join(
        f"{point}={meanings[str(point)]}"
        for point in range(scale_min, scale_max + 1)
        if meanings.get(str(point))
    )


def scale_points_without_meaning(project) -> list[int]:
    return [point for point, meaning in project.scale_rows() if not meaning.strip()]
