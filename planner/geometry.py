"""Small geometric helpers shared by the visibility and coverage modules (shapely 2 + numpy).

Epsilon policy (see docs/coverage.md):

- ``EPS_ON`` (1e-9 m): a mount point closer than this to an occluding segment or vertex counts as *on*
  it.  It is snapped onto the vertex / segment and then pushed ``NUDGE`` (1e-8 m) into free space along
  the bisector of the free angular sector around it (for a line wall, the sector containing the camera's
  heading).  The visibility polygon is the one seen from that pushed point; this changes areas by
  O(NUDGE x diameter), far below 1e-6 of any floor's area.
- ``ARC_STEP_DEG`` (0.25 deg): range circles are replaced by *inscribed* polygons with one vertex per
  0.25 degrees, so polygon areas under-state the true disk by at most 5e-6 relative (conservative).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

EPS_ON = 1e-9
NUDGE = 1e-8
ARC_STEP_DEG = 0.25

EMPTY = Polygon()


def sector_polygon(x: float, y: float, heading_deg: float, hfov_deg: float, radius: float) -> Polygon:
    """The field-of-view sector (apex at x, y; heading counter-clockwise from +x) as a polygon."""
    if radius <= 0 or hfov_deg <= 0:
        return EMPTY
    full = hfov_deg >= 360.0
    span = math.radians(360.0 if full else hfov_deg)
    n = max(2, math.ceil(math.degrees(span) / ARC_STEP_DEG))
    start = math.radians(heading_deg) - span / 2
    ang = start + span * np.arange(n + (0 if full else 1)) / n
    xs = x + radius * np.cos(ang)
    ys = y + radius * np.sin(ang)
    if full:
        return Polygon(np.column_stack([xs, ys]))
    return Polygon(np.column_stack([np.r_[x, xs], np.r_[y, ys]]))


def in_sector(x: float, y: float, heading_deg: float | np.ndarray, hfov_deg: float | np.ndarray,
              radius: float | np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Which points lie inside ``sector_polygon(x, y, heading, hfov, radius)`` (the same inscribed chords).

    Heading, hfov and radius may also be arrays, one per point (many poses at one apex in one call).
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if np.ndim(heading_deg) or np.ndim(hfov_deg) or np.ndim(radius):
        return _in_sectors(x, y, *np.broadcast_arrays(np.asarray(heading_deg, dtype=float),
                                                      np.asarray(hfov_deg, dtype=float),
                                                      np.asarray(radius, dtype=float), xs), ys)
    if radius <= 0 or hfov_deg <= 0:
        return np.zeros(len(xs), dtype=bool)
    full = hfov_deg >= 360.0
    span = math.radians(360.0 if full else hfov_deg)
    n = max(2, math.ceil(math.degrees(span) / ARC_STEP_DEG))
    start = math.radians(heading_deg) - span / 2
    return _chord_test(xs - x, ys - y, full, span, n, start, radius)


def _in_sectors(x: float, y: float, heading: np.ndarray, hfov: np.ndarray, radius: np.ndarray, xs: np.ndarray,
                ys: np.ndarray) -> np.ndarray:
    """`in_sector` with one heading, hfov and radius per point (the same arithmetic, element by element)."""
    full = hfov >= 360.0
    span = np.radians(np.where(full, 360.0, hfov))
    n = np.maximum(2, np.ceil(np.degrees(span) / ARC_STEP_DEG))
    start = np.radians(heading) - span / 2
    ok = _chord_test(xs - x, ys - y, full, span, n, start, radius)
    return ok & (radius > 0) & (hfov > 0)


def _chord_test(dx: np.ndarray, dy: np.ndarray, full, span, n, start, radius) -> np.ndarray:
    """Inside the sector's angle and left of (or on) the chord of the arc interval the bearing falls in."""
    rel = np.mod(np.arctan2(dy, dx) - start, 2 * math.pi)
    step = span / n
    inside_angle = full | (rel <= span)
    i = np.clip(np.floor(rel / step), 0, n - 1)
    a0 = start + span * i / n
    a1 = start + span * (i + 1) / n
    # Left of (or on) the chord from arc vertex i to arc vertex i + 1, seen from the apex.
    x0, y0 = radius * np.cos(a0), radius * np.sin(a0)
    x1, y1 = radius * np.cos(a1), radius * np.sin(a1)
    cross = (x1 - x0) * (dy - y0) - (y1 - y0) * (dx - x0)
    return inside_angle & (cross >= 0)


def wedge_polygon(x: float, y: float, heading_deg: float, hfov_deg: float, far: float) -> Polygon | None:
    """The field-of-view wedge out to ``far`` as a coarse polygon (None for a 360-degree view)."""
    return wedge_polygons(np.array([[x, y]]), np.array([heading_deg]), np.array([hfov_deg]), np.array([far]))[0]


def wedge_polygons(xy: np.ndarray, heading_deg: np.ndarray, hfov_deg: np.ndarray, far: np.ndarray) -> np.ndarray:
    """``wedge_polygon`` for arrays of apexes (n × 2), headings, fields of view and reaches, in one pass per
    vertex count; None where the view is 360 degrees or the apex is not finite."""
    out = np.full(len(xy), None, dtype=object)
    narrow = (hfov_deg < 360.0) & np.isfinite(xy[:, 0]) if len(xy) else np.zeros(0, dtype=bool)
    steps = np.maximum(2, np.ceil(hfov_deg / 30.0).astype(np.int64) + 1)
    for m in np.unique(steps[narrow]):
        idx = np.flatnonzero(narrow & (steps == m))
        ang = np.radians((heading_deg[idx] - hfov_deg[idx] / 2)[:, None] + hfov_deg[idx][:, None] * np.arange(m) / (m - 1))
        ring = np.empty((len(idx), m + 2, 2))
        ring[:, 0], ring[:, -1] = xy[idx], xy[idx]
        ring[:, 1:-1, 0] = xy[idx, 0:1] + far[idx, None] * np.cos(ang)
        ring[:, 1:-1, 1] = xy[idx, 1:2] + far[idx, None] * np.sin(ang)
        out[idx] = shapely.polygons(ring)
    return out


def disk_polygon(x: float, y: float, radius: float) -> Polygon:
    """An inscribed polygonal disk with one vertex per ``ARC_STEP_DEG``."""
    return sector_polygon(x, y, 0.0, 360.0, radius)


def polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    """The polygonal parts of any geometry (drops points and lines left by overlay operations)."""
    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(geom)
    out: list[Polygon] = []
    for p in parts:
        if isinstance(p, Polygon):
            if p.area > 0:
                out.append(p)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(polygon_parts(p))
    return out


def polygonal(geom: BaseGeometry | None) -> BaseGeometry:
    """Keep only the areal part of an overlay result, as a Polygon or MultiPolygon."""
    parts = polygon_parts(geom)
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    return shapely.MultiPolygon(parts)


def linework_segments(geom: BaseGeometry) -> np.ndarray:
    """All straight segments of a (multi)line or polygon boundary as an (n, 4) array ax, ay, bx, by."""
    if geom.is_empty:
        return np.zeros((0, 4))
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        geom = geom.boundary
    out = []
    for line in shapely.get_parts(geom):
        if line.geom_type not in ("LineString", "LinearRing"):
            if line.geom_type.startswith("Multi") or line.geom_type == "GeometryCollection":
                out.append(linework_segments(line))
            continue
        c = shapely.get_coordinates(line)
        if len(c) >= 2:
            out.append(np.column_stack([c[:-1], c[1:]]))
    if not out:
        return np.zeros((0, 4))
    seg = np.vstack(out)
    keep = (seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])
    return seg[keep]


def point_segment_distance(px: float, py: float, seg: np.ndarray) -> np.ndarray:
    """Distance from one point to each segment of an (n, 4) array."""
    ax, ay, bx, by = seg.T
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    u = np.clip(((px - ax) * dx + (py - ay) * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    return np.hypot(ax + u * dx - px, ay + u * dy - py)


def angle_diff_deg(a: np.ndarray | float, b: float) -> np.ndarray | float:
    """Signed smallest difference a - b in degrees, in [-180, 180)."""
    return (np.asarray(a) - b + 180.0) % 360.0 - 180.0


def robust_overlay(op: str, a: BaseGeometry, b: BaseGeometry, grid: float = 1e-9) -> BaseGeometry:
    """a.op(b) for op in intersection/union/difference; on a GEOS robustness failure, retry snapped to ``grid``."""
    try:
        return getattr(a, op)(b)
    except shapely.errors.GEOSException:
        return getattr(shapely.set_precision(a, grid), op)(shapely.set_precision(b, grid))
