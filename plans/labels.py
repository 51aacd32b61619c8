"""Label placement for the server-drawn floor plans: every label inside the drawing, none over another.

Greedy, in priority order: each label tries a few candidate boxes around its anchor (right, left, above, below,
the diagonals), shifted back inside the drawing at its edges, then the same directions further out with a leader line;
the first box that stays inside its region and clear of every placed label and marker wins. A label with no free
box is dropped (its shape keeps its <title>). Boxes come from the metrics the drawing's text is set in (FONT), and
the renderer places every character at its computed position, so the boxes are the drawn text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shapely.geometry import box as shapely_box
from shapely.geometry.base import BaseGeometry

# The font the labels are drawn in: DejaVu Sans Mono for Latin (advance 1233/2048 em), the CJK fallback's
# full-width glyphs (1 em). Ascent and descent cover both fonts' ink (Noto CJK 0.88 em up, DejaVu 'g' 0.24 em down).
FONT = '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", monospace'
NARROW_EM = 1233 / 2048
WIDE_EM = 1.0
ASCENT_EM = 0.88
DESCENT_EM = 0.24
PAD_EM = 0.1  # clear space kept around each label

# Candidate directions (dx, dy) from the anchor, in drawing coordinates (y down), in order of preference.
DIRECTIONS: tuple[tuple[int, int], ...] = ((1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1))


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in drawing coordinates (y down)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        """True when the two boxes share area (touching edges do not count)."""
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, outer: Box) -> bool:
        """True when the box lies within outer."""
        return self.x0 >= outer.x0 and self.y0 >= outer.y0 and self.x1 <= outer.x1 and self.y1 <= outer.y1

    def shifted_into(self, outer: Box) -> Box:
        """The box moved the least distance that brings it inside outer (as far as it fits)."""
        dx = max(outer.x0 - self.x0, 0.0) or min(outer.x1 - self.x1, 0.0)
        dy = max(outer.y0 - self.y0, 0.0) or min(outer.y1 - self.y1, 0.0)
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


@dataclass(frozen=True)
class Label:
    """Text to place near an anchor point; a marker of radius clearance is kept free around the anchor."""

    text: str
    x: float
    y: float
    clearance: float = 0.0
    priority: int = 0  # lower is placed first
    region: BaseGeometry | None = None  # the label must lie within this shape too (a zone's name in its zone)
    centred: bool = False  # try the anchor itself first (names of areas, not of points)


@dataclass(frozen=True)
class Placed:
    """A placed label: its box, where its text starts (left end of the baseline) and its width."""

    label: Label
    box: Box
    text_x: float
    baseline: float
    width: float
    leader: bool


def advances(text: str, font_size: float) -> list[float]:
    """Each character's advance in FONT at font_size (full-width East Asian characters 1 em, the rest DejaVu's)."""
    return [font_size * (WIDE_EM if unicodedata.east_asian_width(ch) in ("W", "F") else NARROW_EM) for ch in text]


def text_width(text: str, font_size: float) -> float:
    """The advance width of text set in FONT at font_size."""
    return sum(advances(text, font_size))


def text_box(text_x: float, baseline: float, width: float, font_size: float) -> Box:
    """The box a text of width drawn from (text_x, baseline) covers, with the clear space around it."""
    pad = PAD_EM * font_size
    return Box(text_x - pad, baseline - ASCENT_EM * font_size - pad, text_x + width + pad,
               baseline + DESCENT_EM * font_size + pad)


def _candidates(label: Label, width: float, font_size: float) -> Iterable[tuple[float, float, bool]]:
    """Text origins (left of baseline) to try, each with whether it needs a leader line."""
    pad = PAD_EM * font_size
    height = (ASCENT_EM + DESCENT_EM) * font_size
    if label.centred:
        yield label.x - width / 2, label.y + (ASCENT_EM - DESCENT_EM) * font_size / 2, False
    rings = ((0.15, False), (1.6, True), (3.2, True))  # next to the marker, then further out with a leader line
    for ring_em, leader in rings:
        ring = label.clearance + ring_em * font_size
        for dx, dy in DIRECTIONS:
            # The box's near edge sits ring away from the anchor along the direction.
            left = label.x + ring + pad if dx > 0 else label.x - ring - pad - width if dx < 0 else label.x - width / 2
            top = (label.y - ring - pad - height if dy < 0 else label.y + ring + pad if dy > 0
                   else label.y - height / 2)
            yield left, top + ASCENT_EM * font_size, leader


class _Taken:
    """The boxes placed so far, bucketed on a grid so a candidate is checked only against its neighbours."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[Box]] = {}

    def _keys(self, box: Box) -> Iterable[tuple[int, int]]:
        for i in range(int(box.x0 // self.cell), int(box.x1 // self.cell) + 1):
            for j in range(int(box.y0 // self.cell), int(box.y1 // self.cell) + 1):
                yield i, j

    def add(self, box: Box) -> None:
        """Take the box."""
        for key in self._keys(box):
            self.cells.setdefault(key, []).append(box)

    def hits(self, box: Box) -> bool:
        """True when box overlaps a taken one."""
        return any(box.overlaps(other) for key in self._keys(box) for other in self.cells.get(key, ()))


def place_labels(labels: Sequence[Label], bounds: Box, font_size: float,
                 obstacles: Iterable[Box] = ()) -> tuple[list[Placed], list[Label]]:
    """Place the labels greedily by priority; return those placed and those dropped (no free box)."""
    taken = _Taken(4 * font_size)
    for box in obstacles:
        taken.add(box)
    placed: list[Placed] = []
    dropped: list[Label] = []
    pad = PAD_EM * font_size
    for label in sorted(labels, key=lambda item: item.priority):
        width = text_width(label.text, font_size)
        own = Box(label.x - label.clearance, label.y - label.clearance, label.x + label.clearance,
                  label.y + label.clearance)
        for text_x, baseline, leader in _candidates(label, width, font_size):
            box = text_box(text_x, baseline, width, font_size).shifted_into(bounds)
            if not box.inside(bounds) or (label.clearance and box.overlaps(own)) or taken.hits(box):
                continue
            if label.region is not None and not label.region.contains(shapely_box(box.x0, box.y0, box.x1, box.y1)):
                continue
            placed.append(Placed(label, box, box.x0 + pad, box.y0 + pad + ASCENT_EM * font_size, width, leader))
            taken.add(box)
            break
        else:
            dropped.append(label)
    return placed, dropped
