"""Slow, obviously correct checks the tests hold the engine against."""

from __future__ import annotations

from shapely.geometry import LineString

from planner.visibility import Occluders


def sight_line_clear(occ: Occluders, x0: float, y0: float, x1: float, y1: float) -> bool:
    """True if the open segment between two points crosses no occluder (slow: one segment test per occluder)."""
    line = LineString([(x0, y0), (x1, y1)])
    idx = occ.tree.query(line, predicate="intersects")
    for i in idx:
        ax, ay, bx, by = occ.segments[i]
        d1 = (bx - ax) * (y0 - ay) - (by - ay) * (x0 - ax)
        d2 = (bx - ax) * (y1 - ay) - (by - ay) * (x1 - ax)
        d3 = (x1 - x0) * (ay - y0) - (y1 - y0) * (ax - x0)
        d4 = (x1 - x0) * (by - y0) - (y1 - y0) * (bx - x0)
        if d1 * d2 < 0 and d3 * d4 < 0:
            return False
    return True
