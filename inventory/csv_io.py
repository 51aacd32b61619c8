"""Terminal CSV files: decode, parse and validate row by row, and write; pure logic, no database.

Format (see docs/api.md, "CSV import and export"):
- UTF-8 (a byte-order mark is written on export so Excel shows Chinese text; it is accepted on import),
  GB18030 is detected on import when the file is not UTF-8 (Excel's default for Chinese Windows);
- the header is the TERMINAL_FIELDS names (or, as exported for a Chinese user, their titles in English or
  Chinese, read back as the names); code, kind, x and y are required, other columns optional;
- camera_model_id holds the library id; on import "Manufacturer Model" text is accepted too;
- text cells starting with = + - @ (or a tab, carriage return or apostrophe) are written with a leading
  apostrophe so spreadsheets do not run them as formulas; import removes exactly that apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from flask import has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from inventory.choices import Choice
from inventory.fields import TERMINAL_FIELDS, Field, ValidationError, clean_value
from inventory.lru import LRUCache

COLUMNS: tuple[str, ...] = tuple(f.name for f in TERMINAL_FIELDS)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(f.name for f in TERMINAL_FIELDS if f.required)
FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in TERMINAL_FIELDS}
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
# A leading character that makes Excel, LibreOffice or Sheets evaluate a cell (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
ENCODINGS = ("auto", "utf-8", "gb18030")


@dataclass
class CsvRow:
    """One data row: its spreadsheet row number (header = 1), raw cells, cleaned values and errors."""

    row: int
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[ValidationError] = field(default_factory=list)

    @property
    def code(self) -> str:
        """The row's terminal ID as written (the upsert key)."""
        return self.raw.get("code", "").strip()

    def error(self, name: str | None, message: str) -> None:
        """Record a problem with one of the row's cells."""
        self.errors.append(ValidationError(name, message, row=self.row))


@dataclass
class CsvFile:
    """A parsed CSV: the encoding it was read with, its columns, rows and whole-file problems."""

    encoding: str = "utf-8"
    columns: list[str] = field(default_factory=list)
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[ValidationError] = field(default_factory=list)
    text: str = ""  # the decoded file, carried through the preview's confirm step

    @property
    def errors(self) -> list[ValidationError]:
        """Every problem: whole-file ones first, then row by row."""
        return self.problems + [e for r in self.rows for e in r.errors]

    @property
    def ok(self) -> bool:
        """Whether the file can be imported as it is."""
        return not self.errors


# ---------------------------------------------------------------- cells


def escape_cell(value: str) -> str:
    """Neutralise a text cell that a spreadsheet would evaluate; reversible by unescape_cell."""
    if value.startswith(FORMULA_STARTS) or value.startswith(ESCAPE):
        return ESCAPE + value
    return value


def unescape_cell(value: str) -> str:
    """Remove the apostrophe escape_cell added (and only that one)."""
    if value.startswith(ESCAPE) and value[1:2] and value[1:].startswith(FORMULA_STARTS + (ESCAPE,)):
        return value[1:]
    return value


def format_value(spec: Field, value: Any) -> str:
    """A stored value as its CSV cell text (the exact text import reads back to the same value)."""
    if value is None:
        return ""
    if isinstance(value, Choice):
        return value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return escape_cell(text) if spec.kind == "str" else text


# ---------------------------------------------------------------- writing


def write(terminals: Iterable[Any], *, titles: bool = False) -> str:
    """CSV text (header + one row per terminal, in the order given) for objects carrying TERMINAL_FIELDS.

    The header is the stable field names, or with titles the fields' titles in the request's language.
    """
    return write_values((tuple(getattr(terminal, name) for name in COLUMNS) for terminal in terminals), titles=titles)


def write_values(rows: Iterable[Sequence[Any]], *, titles: bool = False) -> str:
    """CSV text as `write` gives it, from each terminal's TERMINAL_FIELDS values in COLUMNS order (plain rows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spec.title for spec in TERMINAL_FIELDS] if titles else COLUMNS)
    writer.writerows(_cells(tuple(values)) for values in rows)
    return out.getvalue()


# A terminal's cells, by its values and their types (1 and 1.0 are equal keys but different cells): an export of a
# floor after one edit formats one row, not all of them.
_formatted: LRUCache[tuple[Any, ...], list[str]] = LRUCache(20_000)


def _cells(values: tuple[Any, ...]) -> list[str]:
    """The CSV cells of one terminal's TERMINAL_FIELDS values (in COLUMNS order)."""
    return _formatted.get_or_set((*values, *map(type, values)), lambda: [
        format_value(spec, value) for spec, value in zip(TERMINAL_FIELDS, values, strict=True)])


def encode(text: str) -> bytes:
    """Bytes of an export: UTF-8 with a byte-order mark, which Excel needs to read CJK text."""
    return text.encode("utf-8-sig")


# ---------------------------------------------------------------- reading


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """Text and encoding name of an uploaded file: UTF-8 (BOM allowed), else GB18030 when auto."""
    if encoding not in ENCODINGS:
        raise ValidationError("encoding", _("'%(value)s' is not one of: %(allowed)s", value=encoding, allowed=", ".join(ENCODINGS)))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError("file", _("the file is UTF-16 (Excel 'Unicode text'); save it as 'CSV UTF-8' instead"))
    if b"\x00" in data:
        raise ValidationError("file", _("the file contains NUL bytes: it is not a CSV text file"))
    if encoding == "gb18030":
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as exc:
            raise ValidationError("file", _("the file is not valid GB18030 (byte %(offset)s)", offset=exc.start))
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if encoding == "auto":
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise ValidationError("file", _("the file is not UTF-8 (invalid byte 0x%(byte)s at offset %(offset)s); save it as 'CSV UTF-8'",
                                    byte=format(data[utf8_error.start], "02x"), offset=utf8_error.start))


def read(data: bytes, encoding: str = "auto", camera_models: Mapping[int, str] | None = None) -> CsvFile:
    """Decode and parse an uploaded file; decoding problems become whole-file problems."""
    if len(data) > MAX_BYTES:
        return CsvFile(problems=[ValidationError("file", _("the file is larger than %(mb)s MB", mb=MAX_BYTES // (1024 * 1024)))])
    try:
        text, used = decode(data, encoding)
    except ValidationError as error:
        return CsvFile(problems=[error])
    parsed = parse(text, camera_models)
    parsed.encoding = used
    return parsed


def parse(text: str, camera_models: Mapping[int, str] | None = None) -> CsvFile:
    """Parse CSV text and validate every row; camera_models maps visible library ids to 'Manufacturer Model'."""
    result = CsvFile()
    text = text.removeprefix("\ufeff")
    result.text = text
    if not text.strip():
        result.problems.append(ValidationError("file", _("the file is empty")))
        return result
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        result.problems.append(ValidationError("file", _("not a readable CSV file: %(error)s", error=exc)))
        return result
    header, body = records[0], records[1:]
    columns = [column_name(name) for name in header]
    result.columns = columns
    if not _check_header(columns, result):
        return result
    numbered = [(number, cells) for number, cells in enumerate(body, start=2) if any(c.strip() for c in cells)]
    if not numbered:
        result.problems.append(ValidationError("file", _("the file has a header but no terminal rows")))
        return result
    if len(numbered) > MAX_ROWS:
        result.problems.append(ValidationError("file", _("the file has %(rows)s rows; at most %(max)s can be imported at once",
                                                         rows=len(numbered), max=MAX_ROWS)))
        return result
    labels = {_model_key(label): model_id for model_id, label in (camera_models or {}).items()}
    for number, cells in numbered:
        result.rows.append(_parse_row(number, cells, columns, camera_models, labels))
    _check_duplicates(result.rows, "code", "ID")
    _check_duplicates(result.rows, "serial", "serial")
    return result


@cache
def _titled_columns(languages: tuple[str, ...]) -> dict[str, str]:
    """Field titles in every site language (lower-cased) -> field name."""
    names: dict[str, str] = {}
    for language in languages:
        with force_locale(language):
            names.update({spec.title.strip().lower(): spec.name for spec in TERMINAL_FIELDS})
    return names


def column_name(header_cell: str) -> str:
    """The field name a header cell stands for: the name itself, or a field's title in any site language."""
    name = header_cell.strip().lower()
    if name in FIELDS_BY_NAME or not has_app_context():
        return name
    from i18n import LANGUAGES

    return _titled_columns(tuple(LANGUAGES)).get(name, name)


def _check_header(columns: list[str], result: CsvFile) -> bool:
    """Whole-file problems with the header; False when rows cannot be read against it."""
    expected = ", ".join(COLUMNS)
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            result.problems.append(ValidationError(name, _("column appears twice in the header")))
        seen.add(name)
    unknown = [name for name in columns if name not in FIELDS_BY_NAME]
    for name in unknown:
        shown = name or "(blank)"
        result.problems.append(ValidationError(shown, _("unknown column '%(column)s'; the columns are: %(expected)s", column=shown,
                                                              expected=expected)))
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    for name in missing:
        result.problems.append(ValidationError(name, _("required column is missing from the header")))
    if len(columns) == 1 and (";" in columns[0] or "\t" in columns[0]):
        result.problems.append(ValidationError("file", _("cells must be separated by commas, not semicolons or tabs")))
    return not result.problems


def _model_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _parse_row(number: int, cells: list[str], columns: list[str], camera_models: Mapping[int, str] | None,
               labels: Mapping[str, int]) -> CsvRow:
    row = CsvRow(row=number, raw={name: (cells[i] if i < len(cells) else "") for i, name in enumerate(columns)})
    if len(cells) != len(columns):
        row.error(None, f"has {len(cells)} cells but the header has {len(columns)} columns")
        return row
    for name in columns:
        spec = FIELDS_BY_NAME[name]
        raw = row.raw[name]
        if spec.kind == "str":
            raw = unescape_cell(raw)
        if name == "camera_model_id" and camera_models is not None:
            raw = _camera_model(row, raw, camera_models, labels)
            if raw is None:
                continue
        try:
            row.values[name] = clean_value(spec, raw)
        except ValidationError as error:
            row.error(error.field, error.message)
    return row


def _camera_model(row: CsvRow, raw: str, camera_models: Mapping[int, str], labels: Mapping[str, int]) -> str | None:
    """Resolve a camera model cell (id or 'Manufacturer Model') to a visible id; None after an error."""
    text = raw.strip()
    if not text:
        return text
    if text.isdigit():
        if int(text) not in camera_models:
            row.error("camera_model_id", f"no camera model with id {text}")
            return None
        return text
    model_id = labels.get(_model_key(text))
    if model_id is None:
        row.error("camera_model_id", f"no camera model '{text}' (give its id or 'Manufacturer Model')")
        return None
    return str(model_id)


def _check_duplicates(rows: list[CsvRow], name: str, label: str) -> None:
    """A value that must be unique appearing on two rows: an error on the later row, naming the first."""
    first: dict[str, int] = {}
    for row in rows:
        value = row.values.get(name)
        if not value:
            continue
        if value in first:
            row.error(name, f"{label} '{value}' also appears on row {first[value]}")
        else:
            first[value] = row.row
