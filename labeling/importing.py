"""Streaming, all-or-nothing import of items (and any labels they carry) from CSV or JSON Lines.

The file is read line by line and written in batches inside one transaction; any bad line rejects the
whole file. A Flywheel export (labeling.exporting) reads back as it was written: its `metadata` and
`labels` columns are taken as such, and its derived columns (split, gold, n_labels) are skipped.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from labeling.models import Item, Label, Project, split_for
from labeling.spreadsheet_safe import csv_cell_read

FIELDS = ("external_id", "query", "document", "score", "rationale", "annotator")
FORMATS = ("csv", "jsonl")
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
METADATA_COLUMN, LABELS_COLUMN = "metadata", "labels"
DERIVED_COLUMNS = frozenset({"split", "gold", "n_labels"})
BATCH_SIZE = 1000
EXTERNAL_ID_MAX = Item._meta.get_field("external_id").max_length
USERNAME_MAX = 150
# The rule of django.contrib.auth.validators.UnicodeUsernameValidator, checked without an exception per row.
USERNAME_RE = re.compile(r"^[\w.@+-]+\Z")
WHOLE_NUMBER_RE = re.compile(r"^[+-]?\d+(\.0*)?$")
# Documents can be long: the csv module's default 128 KiB limit per field is not enough.
CSV_FIELD_SIZE_LIMIT = 2**31 - 1


# The group of the users an import creates for its labels_as: the name of a label source ("nist"), not of
# a person, so the guardrails do not treat the word as a user's name in a prompt.
LABEL_SOURCE_GROUP = "label source"


@dataclass(frozen=True)
class ImportOptions:
    format: str | None = None
    # Flywheel field -> file column; external_id may join several columns with "+" ("query_id+doc_id").
    field_map: dict[str, str] = field(default_factory=dict)
    # The file's own grade range, mapped linearly onto the project's scale; None: already on it.
    file_scale: tuple[int, int] | None = None
    # Who owns the labels when the file names no annotator.
    labels_as: str | None = None
    # What each point of the scale means ({"0": "not relevant", …}), kept on the project with the items.
    scale_labels: dict[str, str] | None = None


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


class ImportRejected(Exception):
    """The file had bad lines, so nothing of it was kept."""

    def __init__(self, errors: list[LineError], bad_lines: int):
        super().__init__(errors, bad_lines)
        self.errors = errors
        self.bad_lines = bad_lines

    def __str__(self) -> str:
        parts = [f"line {error.line}: {error.message}" for error in self.errors]
        more = self.bad_lines - len(self.errors)
        if more > 0:
            parts.append(f"and {_plural(more, 'more bad line')}")
        return f"Nothing was imported: {_plural(self.bad_lines, 'bad line')}. " + "; ".join(parts)


@dataclass(frozen=True)
class ImportResult:
    items_created: int
    items_updated: int
    labels_imported: int


def items_import(
    *, project: Project, path: Path | str, options: ImportOptions, max_errors: int = 20
) -> ImportResult:
    """Import every row of the file into the project, or nothing at all (ImportRejected).

    Re-importing an external id updates its query, document and metadata and keeps its split.
    """
    path = Path(path)
    _check_options(options, project)
    fmt = options.format or SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ImportRejected(
            [LineError(1, f"cannot tell the format from the file name {path.name!r}: choose csv or jsonl")], 1
        )
    with transaction.atomic():
        importer = _Importer(project=project, options=options, max_errors=max_errors)
        if fmt == "csv":
            importer.read_csv(path)
        else:
            importer.read_jsonl(path)
        importer.finish()
        if importer.errors.bad_lines:
            # Raising inside atomic() rolls back every batch already written.
            raise ImportRejected(importer.errors.found, importer.errors.bad_lines)
        if options.scale_labels:
            project.scale_descriptions = {**project.scale_descriptions, **options.scale_labels}
            project.save(update_fields=["scale_descriptions"])
        return ImportResult(
            items_created=importer.items_created,
            items_updated=importer.items_updated,
            labels_imported=importer.labels_imported,
        )


def _check_options(options: ImportOptions, project: Project) -> None:
    if options.format is not None and options.format not in FORMATS:
        raise ValueError(f"unknown format {options.format!r}; the formats are {', '.join(FORMATS)}")
    for name, column in options.field_map.items():
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r}; the fields are {', '.join(FIELDS)}")
        if not isinstance(column, str) or not column.strip():
            raise ValueError(f"the column for {name} is empty")
    if options.file_scale is not None:
        low, high = options.file_scale
        if not (isinstance(low, int) and isinstance(high, int)) or high <= low:
            raise ValueError(
                f"the file's scale must be two whole numbers, low < high: {options.file_scale!r}"
            )
    for point in options.scale_labels or {}:
        if not (str(point).lstrip("-").isdigit() and project.scale_min <= int(point) <= project.scale_max):
            raise ValueError(f"a score meaning is given for {point}, which is not on the project's scale")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass
class _Columns:
    """Where each field lives in the file (None: not in this file)."""

    external_id: list[str]
    query: str
    document: str
    score: str | None
    rationale: str | None
    annotator: str | None
    metadata: str | None  # a Flywheel export's metadata column
    labels: str | None  # a Flywheel export's labels column
    extra: list[str]  # columns stored as they are in Item.metadata


def _resolve_columns(
    field_map: dict[str, str], available: Iterable[str], *, explicit_optional_required: bool
) -> tuple[_Columns, list[str]]:
    """Map the fields onto the columns available; also returns the mapped columns that are missing.

    An explicitly mapped optional column (score, rationale, annotator) is required in a CSV header, but
    in JSON Lines a row may leave it out (like a null).
    """
    available = list(available)
    present = set(available)
    missing: list[str] = []

    spec = field_map.get("external_id")
    if spec is None:
        if "external_id" in present:
            external_id = ["external_id"]
        elif "id" in present:
            external_id = ["id"]
        else:
            external_id = ["external_id"]
            missing.append("external_id (or id)")
    elif spec in present:
        external_id = [spec]
    else:
        external_id = [part.strip() for part in spec.split("+")]
        missing.extend(part for part in external_id if part not in present)

    def required(name: str) -> str:
        column = field_map.get(name, name)
        if column not in present:
            missing.append(column)
        return column

    def optional(name: str) -> str | None:
        if name in field_map:
            if explicit_optional_required and field_map[name] not in present:
                missing.append(field_map[name])
            return field_map[name]
        return name if name in present else None

    columns = _Columns(
        external_id=external_id,
        query=required("query"),
        document=required("document"),
        score=optional("score"),
        rationale=optional("rationale"),
        annotator=optional("annotator"),
        metadata=None,
        labels=None,
        extra=[],
    )
    mapped = {
        *columns.external_id,
        columns.query,
        columns.document,
        columns.score,
        columns.rationale,
        columns.annotator,
    }
    for column in available:
        if column in mapped:
            continue
        if column == METADATA_COLUMN:
            columns.metadata = column
        elif column == LABELS_COLUMN:
            columns.labels = column
        elif column not in DERIVED_COLUMNS:
            columns.extra.append(column)
    return columns, missing


@dataclass
class _Row:
    external_id: str
    query: str
    document: str
    metadata: dict[str, Any]
    labels: list[tuple[str, int, str]]  # (annotator username, score on the project's scale, rationale)


class _Errors:
    """Bad lines: every one is counted, the first `limit` are kept. File-level errors are always kept."""

    def __init__(self, limit: int):
        self.limit = limit
        self.found: list[LineError] = []
        self.bad_lines = 0
        self._file_messages: set[str] = set()

    def line(self, number: int, problems: list[str]) -> None:
        self.bad_lines += 1
        if len(self.found) < self.limit:
            self.found.append(LineError(number, readable("; ".join(problems))))

    def whole_file(self, message: str, line: int = 1) -> None:
        if message in self._file_messages:
            return
        self._file_messages.add(message)
        self.bad_lines += 1
        self.found.insert(sum(1 for e in self.found if e.line <= line), LineError(line, readable(message)))


# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


_NUL_HEADER = (
    "the header contains NUL characters, which cannot be stored: is the file UTF-16 or UTF-32 without "
    "a byte order mark? Save it as UTF-8"
)


def _wide_encoding(path: Path) -> str | None:
    """ "utf-16" or "utf-32" when the file starts with that byte order mark (spreadsheets save so)."""
    with path.open("rb") as file:
        start = file.read(4)
    return next((name for bom, name in _WIDE_BOMS if start.startswith(bom)), None)


def _physical_lines(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line number, text, problem) for each line, read as bytes so memory stays flat whatever the size.
    A UTF-16 or UTF-32 file with its byte order mark is decoded as such; without one, its lines show up
    as lines holding NUL characters and are rejected as such."""
    encoding = _wide_encoding(path)
    if encoding is not None:
        yield from _wide_lines(path, encoding)
        return
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                problem = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                yield number, raw.decode("utf-8", "replace"), problem


def _wide_lines(path: Path, encoding: str) -> Iterator[tuple[int, str, str | None]]:
    # newline="\n" splits where the UTF-8 reading does, so line numbers mean the same in both.
    with path.open("r", encoding=encoding, newline="\n") as file:
        number = 0
        try:
            for number, text in enumerate(file, start=1):  # noqa: B007 - the last number is reported below
                yield number, text, None
        except UnicodeDecodeError:
            yield number + 1, "", f"not valid {encoding.upper()} (the file starts with its byte order mark)"


def readable(message: str) -> str:
    """An error message a person can read and PostgreSQL can store: control characters spelled out."""
    return "".join(
        char if char.isprintable() or char in "\n\t" else f"\\x{ord(char):02x}" for char in message
    )


def _has_nul(text: str) -> bool:
    # PostgreSQL cannot store NUL in text or jsonb; "\u0000" is how JSON spells it.
    return "\x00" in text or "\\u0000" in text


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


class _Importer:
    def __init__(self, *, project: Project, options: ImportOptions, max_errors: int):
        self.project = project
        self.options = options
        self.errors = _Errors(max_errors)
        self.first_line_of: dict[str, int] = {}
        self.rows_seen = 0
        self.header_seen = False
        self.batch: list[_Row] = []
        self.items_created = self.items_updated = self.labels_imported = 0
        self.user_ids: dict[str, int] = {}
        if options.file_scale is not None:
            self.low, self.high = options.file_scale
            self.scale_name = f"the file's scale {self.low}..{self.high}"
        else:
            self.low, self.high = project.scale_min, project.scale_max
            self.scale_name = f"the project's scale {self.low}..{self.high}"
        self.labels_as = options.labels_as.strip() if options.labels_as else None
        if self.labels_as and not _valid_username(self.labels_as):
            self.errors.whole_file(f"labels_as {self.labels_as!r} is not a valid username")

    # Reading

    def read_jsonl(self, path: Path) -> None:
        for number, text, problem in _physical_lines(path):
            if problem:
                self.rows_seen += 1
                self.errors.line(number, [problem])
                continue
            if not text.strip():
                continue
            self.rows_seen += 1
            try:
                record = _loads(text.rstrip("\r\n"))
            except ValueError as exc:
                self.errors.line(number, [_json_problem(exc, text.rstrip("\r\n"))])
                continue
            if not isinstance(record, dict):
                hint = (
                    " (a .json file must hold one object per line, not an array)"
                    if text.lstrip()[:1] == "["
                    else ""
                )
                self.errors.line(number, [f"not a JSON object but {_json_kind(record)}{hint}"])
                continue
            # A missing required key is reported by _build, with the other problems of the row.
            columns, _ = _resolve_columns(self.options.field_map, record, explicit_optional_required=False)
            problems = []
            if _has_nul(text):
                problems.append("contains a NUL character, which cannot be stored")
            self._add(number, record, columns, problems)

    def read_csv(self, path: Path) -> None:
        csv.field_size_limit(CSV_FIELD_SIZE_LIMIT)
        bad_utf8: dict[int, str] = {}

        def texts() -> Iterator[str]:
            for number, text, problem in _physical_lines(path):
                if problem:
                    bad_utf8[number] = problem
                yield text

        # strict: a quote still open at the end of the file is an error, not a field holding the rest of it.
        reader = csv.reader(texts(), strict=True)
        header: list[str] | None = None
        columns: _Columns | None = None
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self.rows_seen += 1
                problem = f"not valid CSV ({exc})"
                if str(exc) == "unexpected end of data":
                    problem = "a quote opened in this row is never closed (the file ends inside it)"
                self.errors.line(start, [problem])
                self._report_bad_utf8(bad_utf8, start + 1, reader.line_num)
                start = reader.line_num + 1
                continue
            first, last, start = start, reader.line_num, reader.line_num + 1
            self._report_bad_utf8(bad_utf8, first, last)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                if any("\x00" in name for name in row):
                    self.errors.line(first, [_NUL_HEADER])
                    return
                header = [name.strip() for name in row]
                self.header_seen = True
                columns = self._read_header(first, header)
                if columns is None:
                    return
                continue
            self.rows_seen += 1
            problems = []
            if len(row) != len(header):
                problem = f"has {len(row)} columns where the header has {len(header)}"
                if last > first:
                    problem += f" (the row runs on to line {last}: is a quote left open?)"
                problems.append(problem)
            if any("\x00" in value for value in row):
                problems.append("contains a NUL character, which cannot be stored")
            values = [csv_cell_read(value) for value in row]  # a Flywheel export's safe cells, as they were
            self._add(first, dict(zip(header, values, strict=False)), columns, problems)

    def _report_bad_utf8(self, bad_utf8: dict[int, str], first: int, last: int) -> None:
        """Report the lines of one CSV row (first..last) that were not UTF-8, each under its own number."""
        for number in range(first, last + 1):
            if number in bad_utf8:
                self.rows_seen += 1
                self.errors.line(number, [bad_utf8.pop(number)])

    def _read_header(self, line: int, header: list[str]) -> _Columns | None:
        twice = sorted({name for name in header if header.count(name) > 1})
        columns, missing = _resolve_columns(self.options.field_map, header, explicit_optional_required=True)
        if twice or missing:
            problems = []
            if missing:
                shown = ", ".join(header[:30]) + (", …" if len(header) > 30 else "")
                names = ", ".join(repr(name) for name in missing)
                problems.append(f"the header lacks the column(s) {names}; its columns are: {shown}")
            if twice:
                problems.append(f"the header names {', '.join(map(repr, twice))} more than once")
            self.errors.line(line, problems)
            return None
        return columns

    # Checking one row

    def _add(self, line: int, record: dict[str, Any], columns: _Columns, problems: list[str]) -> None:
        row = self._build(line, record, columns, problems)
        if problems:
            self.errors.line(line, problems)
            return
        if self.errors.bad_lines:
            return  # nothing will be kept: only look for more errors
        self.batch.append(row)
        if len(self.batch) >= BATCH_SIZE:
            self._flush()

    def _build(
        self, line: int, record: dict[str, Any], columns: _Columns, problems: list[str]
    ) -> _Row | None:
        parts = []
        for column in columns.external_id:
            value = record.get(column)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if _is_blank(value):
                problems.append(_field_problem("external_id", column, _absent(record, column)))
            elif not isinstance(value, str):
                problems.append(
                    _field_problem("external_id", column, f"must be text, not {_describe(value)}")
                )
            else:
                parts.append(value.strip())
        external_id = ":".join(parts)
        if len(parts) == len(columns.external_id):
            if len(external_id) > EXTERNAL_ID_MAX:
                problems.append(f"the external id is longer than {EXTERNAL_ID_MAX} characters")
            elif external_id in self.first_line_of:
                problems.append(
                    f"external id {external_id!r} already appeared on line {self.first_line_of[external_id]}"
                )
            else:
                self.first_line_of[external_id] = line

        query = self._text(record, "query", columns.query, problems)
        document = self._text(record, "document", columns.document, problems)
        labels = self._labels(record, columns, problems)
        metadata = self._metadata(record, columns, problems)
        if problems:
            return None
        return _Row(external_id, query, document, metadata, labels)

    def _text(self, record: dict[str, Any], name: str, column: str, problems: list[str]) -> str:
        value = record.get(column)
        if _is_blank(value):
            problems.append(_field_problem(name, column, _absent(record, column)))
            return ""
        if not isinstance(value, str):
            problems.append(_field_problem(name, column, f"must be text, not {_describe(value)}"))
            return ""
        return value

    def _score(self, value: Any, where: str, problems: list[str]) -> int | None:
        score = _whole_number(value)
        if score is None:
            problems.append(f"{where} {_describe(value)} is not a whole number")
            return None
        if not self.low <= score <= self.high:
            problems.append(f"{where} {score} is outside {self.scale_name}")
            return None
        if self.options.file_scale is None:
            return score
        # Linear map onto the project's scale, rounded half up (exact integer arithmetic).
        span = (score - self.low) * (self.project.scale_max - self.project.scale_min)
        width = self.high - self.low
        return self.project.scale_min + (2 * span + width) // (2 * width)

    def _labels(
        self, record: dict[str, Any], columns: _Columns, problems: list[str]
    ) -> list[tuple[str, int, str]]:
        labels: list[tuple[str, int, str]] = []
        if columns.score is not None and not _is_blank(record.get(columns.score)):
            score = self._score(record[columns.score], "score", problems)
            rationale = self._rationale(
                record.get(columns.rationale) if columns.rationale else None, problems
            )
            annotator = None
            if columns.annotator is not None and not _is_blank(record.get(columns.annotator)):
                annotator = self._username(record[columns.annotator], problems)
            elif self.labels_as:
                annotator = self.labels_as
            elif columns.annotator is not None and columns.annotator in record:
                problems.append(
                    _field_problem("annotator", columns.annotator, "is empty but the row has a score")
                )
            else:
                self.errors.whole_file("the file has scores but no annotator: pass labels_as")
            if score is not None and annotator is not None and rationale is not None:
                labels.append((annotator, score, rationale))

        if columns.labels is not None and not _is_blank(record.get(columns.labels)):
            labels.extend(self._exported_labels(record[columns.labels], problems))
        names = [name for name, _, _ in labels]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            problems.append(f"has more than one label by {', '.join(map(repr, twice))}")
        return labels

    def _exported_labels(self, value: Any, problems: list[str]) -> list[tuple[str, int, str]]:
        shape = 'labels must be a JSON list of {"annotator", "score", "rationale"} objects'
        if isinstance(value, str):
            try:
                value = _loads(value)
            except ValueError:
                problems.append(shape)
                return []
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            problems.append(shape)
            return []
        labels = []
        for entry in value:
            annotator = entry.get("annotator")
            if _is_blank(annotator):
                problems.append("a label in labels has no annotator")
                continue
            username = self._username(annotator, problems)
            score = self._score(entry.get("score"), "a label's score", problems)
            rationale = self._rationale(entry.get("rationale"), problems)
            if username is not None and score is not None and rationale is not None:
                labels.append((username, score, rationale))
        return labels

    def _rationale(self, value: Any, problems: list[str]) -> str | None:
        if value is None:
            return ""
        if not isinstance(value, str):
            problems.append(f"the rationale must be text, not {_describe(value)}")
            return None
        return value

    def _username(self, value: Any, problems: list[str]) -> str | None:
        name = value.strip() if isinstance(value, str) else value
        if not isinstance(name, str) or not _valid_username(name):
            problems.append(
                f"annotator {_describe(value)} is not a valid username "
                f"(letters, digits and @.+-_ only, at most {USERNAME_MAX})"
            )
            return None
        return name

    def _metadata(self, record: dict[str, Any], columns: _Columns, problems: list[str]) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if columns.metadata is not None and not _is_blank(record.get(columns.metadata)):
            value = record[columns.metadata]
            if isinstance(value, str):
                try:
                    value = _loads(value)
                except ValueError:
                    value = None
            if isinstance(value, dict):
                metadata.update(value)
            else:
                problems.append("metadata must be a JSON object")
        for column in columns.extra:
            if column in record:
                metadata[column] = record[column]
        return metadata

    # Writing

    def finish(self) -> None:
        if self.rows_seen == 0 and not self.errors.bad_lines:
            what = "has a header but no rows" if self.header_seen else "is empty"
            self.errors.whole_file(f"the file {what}: there is nothing to import")
        if not self.errors.bad_lines and self.batch:
            self._flush()

    def _flush(self) -> None:
        rows, self.batch = self.batch, []
        external_ids = [row.external_id for row in rows]
        in_project = Item.objects.filter(project=self.project, external_id__in=external_ids)
        existing = set(in_project.values_list("external_id", flat=True))
        Item.objects.bulk_create(
            [
                Item(
                    project=self.project,
                    external_id=row.external_id,
                    query=row.query,
                    document=row.document,
                    metadata=row.metadata,
                    split=split_for(row.external_id),
                )
                for row in rows
            ],
            update_conflicts=True,
            unique_fields=["project", "external_id"],
            update_fields=["query", "document", "metadata"],
        )
        self.items_updated += len(existing)
        self.items_created += len(rows) - len(existing)

        if not any(row.labels for row in rows):
            return
        item_ids = dict(in_project.values_list("external_id", "id"))
        user_ids = self._user_ids({name for row in rows for name, _, _ in row.labels})
        labels = [
            Label(
                item_id=item_ids[row.external_id],
                annotator_id=user_ids[name],
                score=score,
                rationale=rationale,
            )
            for row in rows
            for name, score, rationale in row.labels
        ]
        # New labels are inserted and the others updated, not upserted: the database's label triggers
        # (labeling/counters.py) would count an upsert's conflicting rows as new labels.
        existing = {
            (item_id, annotator_id): pk
            for item_id, annotator_id, pk in Label.objects.filter(
                item_id__in={label.item_id for label in labels}
            ).values_list("item_id", "annotator_id", "id")
        }
        now = timezone.now()
        for label in labels:
            label.pk = existing.get((label.item_id, label.annotator_id))
            label.updated_at = now
        # Split before inserting: bulk_create gives the new labels their ids, and they would be updated too.
        known = [label for label in labels if label.pk is not None]
        Label.objects.bulk_create([label for label in labels if label.pk is None])
        Label.objects.bulk_update(known, ["score", "rationale", "updated_at"])
        self.labels_imported += len(labels)

    def _user_ids(self, usernames: set[str]) -> dict[str, int]:
        """Ids of the annotators, creating the missing ones (they cannot log in until given a password)."""
        unknown = usernames - self.user_ids.keys()
        if unknown:
            user_model = get_user_model()
            found = dict(user_model.objects.filter(username__in=unknown).values_list("username", "id"))
            new = sorted(unknown - found.keys())
            if new:
                user_model.objects.bulk_create(
                    [user_model(username=name, password=make_password(None)) for name in new]
                )
                found.update(user_model.objects.filter(username__in=new).values_list("username", "id"))
                if self.labels_as in new:
                    group, _ = Group.objects.get_or_create(name=LABEL_SOURCE_GROUP)
                    group.user_set.add(found[self.labels_as])
            self.user_ids.update(found)
        return self.user_ids


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _json_problem(exc: ValueError, text: str) -> str:
    if not isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc})"
    message = exc.msg[:1].lower() + exc.msg[1:]
    at = "" if message.endswith(" at") else " at"
    problem = f"not valid JSON: {message}{at} column {exc.colno}"
    if message.startswith("unterminated string") or exc.pos >= len(text.rstrip()):
        problem += " (the line ends too early: was it cut short?)"
    return problem


def _absent(record: dict[str, Any], column: str) -> str:
    return "is empty" if column in record else "is missing"


def _field_problem(name: str, column: str, problem: str) -> str:
    where = name if column == name else f"{name} (column {column!r})"
    return f"{where} {problem}"


def _valid_username(name: str) -> bool:
    return len(name) <= USERNAME_MAX and USERNAME_RE.match(name) is not None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and WHOLE_NUMBER_RE.match(value.strip()):
        return int(value.strip().split(".")[0])
    return None
