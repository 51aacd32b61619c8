"""Plan analysis in floor metres shared by the vector importers: rooms the walls enclose, labels, outline, scale."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon

from inventory.importers.zones import private_use

# Gaps narrower than twice this (metres) close when finding rooms: a door line stopping short of its jamb.
SNAP_M = 0.05
# A room is at least this wide and this large; thinner faces are wall cavities between a wall's two lines.
MIN_ROOM_WIDTH_M = 0.6
MIN_ROOM_AREA_M2 = 1.0
# A floor plan is a building: narrower or wider than this (metres) means the units are probably wrong.
PLAN_MIN_M = 3.0
PLAN_MAX_M = 2000.0
# The size a building-sized plan is assumed to have when suggesting units.
TYPICAL_M = 60.0
_NOT_A_LABEL = re.compile(r"^[\s\d.,:;'\"+\-x×/()²m]*$", re.I)


def enclosed(barriers: Sequence[Any], snap: float = SNAP_M) -> tuple[list[Polygon], Any]:
    """(rooms, footprint): the spaces the barrier lines enclose, and the area inside their outer boundary."""
    lines = [g for g in barriers if g is not None and not g.is_empty]
    if not lines:
        return [], None
    solid = shapely.union_all(shapely.buffer(lines, snap, quad_segs=2))
    parts = [p for p in getattr(solid, "geoms", [solid]) if isinstance(p, Polygon)]
    rooms: list[Polygon] = []
    for part in parts:
        for ring in part.interiors:
            hole = Polygon(ring)
            if hole.area < MIN_ROOM_AREA_M2:
                continue
            # Islands inside the hole (a column, a free-standing wall) are other parts of the union.
            space = hole.difference(solid) if hole.area > 0 else hole
            # Re-grow by the snap so the room reaches the wall line it was shrunk from.
            for face in getattr(space, "geoms", [space]):
                if not isinstance(face, Polygon) or face.area < MIN_ROOM_AREA_M2:
                    continue
                if _is_cavity(face):
                    continue
                grown = face.buffer(snap, join_style="mitre").intersection(hole.buffer(snap, join_style="mitre"))
                grown = max(getattr(grown, "geoms", [grown]), key=lambda g: g.area)
                if isinstance(grown, Polygon) and grown.is_valid:
                    rooms.append(grown)
    # Shrink back by the snap so the footprint runs along the outer wall line, not outside it.
    filled = [Polygon(p.exterior).buffer(-snap, join_style="mitre") for p in parts]
    filled = [f for f in filled if f.area >= MIN_ROOM_AREA_M2]
    footprint = shapely.union_all(filled) if filled else None
    return rooms, footprint


def _is_cavity(face: Polygon) -> bool:
    """True for a face too thin to be a room, or a long narrow strip (the cavity between a wall's two lines)."""
    radius = shapely.maximum_inscribed_circle(face, MIN_ROOM_WIDTH_M / 20).length
    if radius < MIN_ROOM_WIDTH_M / 2:
        return True
    # Narrower than a corridor and more than four times as long as wide: a strip inside a thick wall.
    return radius < 0.5 and face.area > 4 * (2 * radius) ** 2


def share_inside(region: Any, walls: Sequence[Any], tolerance: float = SNAP_M) -> float:
    """The share of the walls' total length that lies inside a region (1.0 when there are no walls)."""
    edges = [w.exterior if isinstance(w, Polygon) else w for w in walls]
    total = sum(e.length for e in edges)
    if total <= 0:
        return 1.0
    grown = region.buffer(tolerance)
    shapely.prepare(grown)
    return sum(e.length if grown.covers(e) else e.intersection(grown).length for e in edges) / total


def outline_for(drawn: Sequence[Polygon], footprint: Any, mapped: Sequence[Any], walls: Sequence[Any],
                where: str, warnings: list[str]) -> Polygon:
    """The floor outline: a drawn one, else the walls' footprint if it holds 95% of them, else the hull of all."""
    if drawn:
        outline = max(drawn, key=lambda p: p.area)
        share = share_inside(outline, walls)
        if len(drawn) > 1:
            warnings.append(f"{where}: {len(drawn)} outline polygons; kept the largest")
        if share < 0.95:
            warnings.append(f"{where}: {1 - share:.0%} of the wall length lies outside the outline layer's outline")
        return outline
    if footprint is not None and not footprint.is_empty:
        best = max(getattr(footprint, "geoms", [footprint]), key=lambda p: p.area)
        share = share_inside(best, walls)
        if share >= 0.95:
            warnings.append(f"{where}: no outline layer; outline derived from the walls' outer boundary "
                            f"({share:.0%} of the wall length inside it), check it")
            return Polygon(best.exterior)
    hull = shapely.union_all([g for g in mapped if g is not None and not g.is_empty]).convex_hull
    if not isinstance(hull, Polygon) or hull.area <= 0:
        hull = hull.buffer(0.5) if not hull.is_empty else hull
    if not isinstance(hull, Polygon) or hull.area <= 0:
        raise_no_area(where)
    warnings.append(f"{where}: no outline layer and the walls do not close around the plan; outline derived "
                    f"from the hull of everything mapped ({share_inside(hull, walls):.0%} of the wall length "
                    "inside it), check it")
    return hull


def raise_no_area(where: str) -> None:
    """Refuse a plan whose mapped geometry spans no area."""
    from inventory.importers.base import ImportFailed

    raise ImportFailed("cannot derive a floor outline: the mapped geometry spans no area", where=where)


@dataclass
class Label:
    """A text in the plan, at a point in floor metres."""

    point: Point
    text: str
    height: float = 0.0


def is_label(text: str) -> bool:
    """True for text that can name a room (not a dimension, a number or punctuation)."""
    return bool(text.strip()) and not _NOT_A_LABEL.match(text)


def name_room(room: Polygon, labels: Sequence[Label]) -> tuple[str | None, str | None]:
    """(name, private use) from the labels inside a room: the tallest names it, any private one classifies it."""
    inside = [lb for lb in labels if room.contains(lb.point)]
    if not inside:
        return None, None
    inside.sort(key=lambda lb: -lb.height)
    uses = [u for u in (private_use(lb.text) for lb in inside) if u]
    name = next((lb.text for lb in inside if private_use(lb.text)), inside[0].text) if uses else inside[0].text
    return name, (uses[0] if uses else None)


def size_note(width_m: float, height_m: float, factor: float, units: dict[str, float], unit: str) -> str | None:
    """A warning when a plan is not building-sized at its units, suggesting the unit that makes it so.

    `units` is in order of preference (architects draw in millimetres most): the first that gives a plan
    between PLAN_MIN_M and PLAN_MAX_M across is suggested, else the one closest to TYPICAL_M.
    """
    across = max(width_m, height_m)
    if PLAN_MIN_M <= across <= PLAN_MAX_M:
        return None
    raw = across / factor
    fits = [(u, f) for u, f in units.items() if PLAN_MIN_M <= raw * f <= PLAN_MAX_M]
    best = fits[0] if fits else min(units.items(), key=lambda kv: abs(math.log(max(raw * kv[1], 1e-12) / TYPICAL_M)))
    return (f"the plan is {across:.3g} m across in {unit}, not building-sized; in {best[0]} it would be "
            f"{raw * best[1]:.3g} m: choose those units or give a scale")


def clusters(boxes: Sequence[tuple[float, float, float, float]], weights: Sequence[float],
             gap: float) -> list[tuple[list[int], tuple[float, float, float, float], float]]:
    """Groups of boxes closer than `gap` (separate drawings in one model space), largest weight first."""
    if not boxes:
        return []
    polys = [shapely.box(x0 - gap / 2, y0 - gap / 2, x1 + gap / 2, y1 + gap / 2) for x0, y0, x1, y1 in boxes]
    merged = shapely.union_all(polys)
    parts = list(getattr(merged, "geoms", [merged]))
    tree = shapely.STRtree(parts)
    members: list[list[int]] = [[] for _ in parts]
    for i, p in enumerate(polys):
        hit = tree.query(p.centroid, predicate="intersects")
        members[int(hit[0]) if len(hit) else 0].append(i)
    out = []
    for m in members:
        if not m:
            continue
        b = shapely.total_bounds([shapely.box(*boxes[i]) for i in m])
        out.append((m, (float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(sum(weights[i] for i in m))))
    return sorted(out, key=lambda c: -c[2])


def long_axis(geoms: Sequence[Any]) -> LineString:
    """The long centre line of a group of geometry (a window or door symbol)."""
    from inventory.importers.features import centre_line

    rect = shapely.union_all(list(geoms)).minimum_rotated_rectangle
    if isinstance(rect, Polygon):
        return centre_line(rect)
    return LineString(list(rect.coords)[:2]) if isinstance(rect, LineString) else LineString()
