"""Reader for the Unicamp art-gallery `.pol` format (outer ring, then optional holes), with exact rationals.

Format (whitespace separated, line breaks carry no meaning): ``n x1 y1 ... xn yn`` for the outer boundary,
then optionally ``h`` followed by ``h`` holes, each ``k x1 y1 ... xk yk``.  Coordinates are rationals
``p/q`` (integers and decimals are accepted too).  Every error names the line and column of the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from os import PathLike

from shapely.geometry import Polygon
from shapely.validation import explain_validity

from planner.errors import InputError

_TOKEN = re.compile(r"\S+")
_RATIONAL = re.compile(r"^[+-]?\d+(/\d+)?$|^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")

ExactRing = list[tuple[Fraction, Fraction]]


@dataclass
class PolFile:
    """A parsed `.pol` polygon: exact rings and the float shapely Polygon built from them."""

    outer: ExactRing
    holes: list[ExactRing]
    polygon: Polygon
    name: str = ""

    @property
    def n_vertices(self) -> int:
        """Vertices on the outer ring and all holes."""
        return len(self.outer) + sum(len(h) for h in self.holes)


class _Tokens:
    def __init__(self, text: str, where: str) -> None:
        self.items: list[tuple[str, int, int]] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            for m in _TOKEN.finditer(line):
                self.items.append((m.group(0), lineno, m.start() + 1))
        self.pos = 0
        self.where = where

    def _loc(self, index: int) -> str:
        if index < len(self.items):
            _, line, col = self.items[index]
            return f"{self.where}:{line}:{col}"
        last = self.items[-1] if self.items else ("", 1, 0)
        return f"{self.where}:{last[1]}:{last[2] + len(last[0])}"

    def more(self) -> bool:
        return self.pos < len(self.items)

    def count(self, what: str, minimum: int) -> int:
        if not self.more():
            raise InputError(f"unexpected end of file: expected {what}", where=self._loc(self.pos))
        tok = self.items[self.pos][0]
        if not re.fullmatch(r"\+?\d+", tok):
            raise InputError(f"expected {what} (a non-negative integer), got {tok!r}", where=self._loc(self.pos))
        value = int(tok)
        if value < minimum:
            raise InputError(f"{what} must be at least {minimum}, got {value}", where=self._loc(self.pos))
        self.pos += 1
        return value

    def number(self, what: str) -> Fraction:
        if not self.more():
            raise InputError(f"unexpected end of file: expected {what}", where=self._loc(self.pos))
        tok = self.items[self.pos][0]
        if not _RATIONAL.match(tok):
            raise InputError(f"expected {what} as p/q, got {tok!r}", where=self._loc(self.pos))
        try:
            value = Fraction(tok)
        except (ValueError, ZeroDivisionError):
            raise InputError(f"invalid rational {tok!r} (zero denominator?)", where=self._loc(self.pos))
        self.pos += 1
        return value

    def ring(self, what: str) -> ExactRing:
        start = self.pos
        n = self.count(f"the vertex count of the {what}", 3)
        pts = [(self.number(f"x of vertex {i + 1} of the {what}"), self.number(f"y of vertex {i + 1} of the {what}"))
               for i in range(n)]
        if len(set(pts)) != len(pts):
            raise InputError(f"the {what} repeats a vertex", where=self._loc(start))
        return pts


def parse_pol(text: str, where: str = "<pol>") -> PolFile:
    """Parse `.pol` text; raise InputError naming the line:column of the first problem."""
    toks = _Tokens(text, where)
    if not toks.more():
        raise InputError("empty file: expected the outer vertex count", where=f"{where}:1:1")
    outer = toks.ring("outer boundary")
    holes: list[ExactRing] = []
    if toks.more():
        h = toks.count("the number of holes", 0)
        for i in range(h):
            holes.append(toks.ring(f"hole {i + 1}"))
    if toks.more():
        raise InputError(f"unexpected trailing token {toks.items[toks.pos][0]!r}", where=toks._loc(toks.pos))
    poly = Polygon([(float(x), float(y)) for x, y in outer], [[(float(x), float(y)) for x, y in h] for h in holes])
    if not poly.is_valid:
        raise InputError(f"the polygon is invalid: {explain_validity(poly)}", where=where)
    if poly.area <= 0:
        raise InputError("the polygon has zero area", where=where)
    return PolFile(outer, holes, poly, name=str(where))


def read_pol(path: str | PathLike[str]) -> PolFile:
    """Read and parse a `.pol` file."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return parse_pol(text, where=str(path))
