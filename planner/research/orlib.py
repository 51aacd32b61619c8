"""Reader for Beasley's OR-Library set-cover files in the row ("scp") format, plain or gzip-compressed.

Layout (whitespace-separated integers; line breaks carry no meaning): ``m n``, then the ``n`` column costs,
then for each row ``i = 1..m`` the number of columns covering it followed by their 1-based indices.
"""

from __future__ import annotations

import gzip
import os
from bisect import bisect_right
from dataclasses import dataclass

from planner.errors import InputError
from planner.setcover import CoverProblem

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class OrlibInstance:
    """One set-cover instance: costs per column and, per column, the 0-based rows it covers."""

    name: str
    n_rows: int
    costs: list[int]
    columns: list[list[int]]

    @property
    def n_columns(self) -> int:
        """Number of columns (subsets)."""
        return len(self.costs)

    def to_problem(self, *, unicost: bool = False) -> CoverProblem:
        """The instance as a CoverProblem; with unicost every column costs 1."""
        costs = [1] * self.n_columns if unicost else list(self.costs)
        return CoverProblem(n_rows=self.n_rows, columns=self.columns, costs=costs)


class _Tokens:
    """Integer tokens of a text with the line each came from, for error messages."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.values: list[str] = []
        self.line_starts: list[int] = []  # token index at which each non-empty line starts
        self.line_numbers: list[int] = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if parts:
                self.line_starts.append(len(self.values))
                self.line_numbers.append(number)
                self.values.extend(parts)
        self.last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        self.pos = 0

    def line_of(self, index: int) -> int:
        """1-based line number of token `index` (the last line when past the end)."""
        if index >= len(self.values):
            return self.last_line
        return self.line_numbers[bisect_right(self.line_starts, index) - 1]

    def error(self, message: str, index: int | None = None) -> InputError:
        """An InputError pointing at the line of token `index` (default: the current one)."""
        line = self.line_of(self.pos if index is None else index)
        return InputError(message, where=f"{self.source}: line {line}")

    def take(self, what: str) -> int:
        """Next token as an int, or an InputError naming what was expected."""
        if self.pos >= len(self.values):
            raise self.error(f"unexpected end of file, expected {what}")
        token = self.values[self.pos]
        try:
            value = int(token)
        except ValueError:
            raise self.error(f"expected an integer ({what}), found {token[:20]!r}") from None
        self.pos += 1
        return value


def parse_orlib_scp(text: str, *, name: str = "instance", source: str = "<text>") -> OrlibInstance:
    """Parse the text of an OR-Library row-format set-cover file; malformed input raises InputError."""
    tokens = _Tokens(text, source)
    n_rows = tokens.take("the number of rows")
    n_cols = tokens.take("the number of columns")
    if n_rows < 0 or n_cols < 0:
        raise tokens.error("the numbers of rows and columns must not be negative", tokens.pos - 1)
    costs: list[int] = []
    for j in range(n_cols):
        cost = tokens.take(f"the cost of column {j + 1}")
        if cost < 0:
            raise tokens.error(f"column {j + 1} has a negative cost {cost}", tokens.pos - 1)
        costs.append(cost)
    columns: list[list[int]] = [[] for _ in range(n_cols)]
    for i in range(n_rows):
        count = tokens.take(f"the number of columns covering row {i + 1}")
        if count < 0 or count > n_cols:
            raise tokens.error(
                f"row {i + 1} claims {count} covering columns; there are {n_cols}", tokens.pos - 1
            )
        for _ in range(count):
            j = tokens.take(f"a column index of row {i + 1}")
            if not 1 <= j <= n_cols:
                raise tokens.error(f"row {i + 1} names column {j}, outside 1..{n_cols}", tokens.pos - 1)
            column = columns[j - 1]
            if not column or column[-1] != i:  # a repeated index in one row is harmless
                column.append(i)
    if tokens.pos < len(tokens.values):
        raise tokens.error("unexpected data after the last row")
    return OrlibInstance(name=name, n_rows=n_rows, costs=costs, columns=columns)


def read_orlib_scp(path: str | os.PathLike[str]) -> OrlibInstance:
    """Read an OR-Library row-format file (gzip detected from its magic bytes); bad content raises InputError."""
    with open(path, "rb") as handle:
        raw = handle.read()
    source = os.path.basename(os.fspath(path))
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"corrupt gzip data ({exc})", where=source) from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not a text file (byte {exc.start})", where=f"{source}: line {line}") from None
    name = source.removesuffix(".gz").removesuffix(".txt")
    return parse_orlib_scp(text, name=name, source=source)
