"""Exact visibility polygons among walls, in numpy (no GPL code: pyvispoly is a test oracle only).

Public API (stable):

- ``Occluders.from_floor(floor, opening_tol=0.01)`` / ``Occluders.from_polygon(polygon)``: the sight
  blockers prepared once per floor: non-see-through walls with openings cut out, polygon-wall rings and
  the outline rings (holes included), noded so no two segments cross; plus the free space (outline minus
  solid walls) and an STRtree for pruning by range.
- ``visibility_polygon(occ, x, y, radius=None, heading_deg=None) -> Polygon``: the exact region visible
  from (x, y), cut to the disk of ``radius`` when given.  Empty if the point is not in free space.
- ``resolve_mount(occ, x, y, heading_deg=None) -> (x, y) | None``: the epsilon policy for mount points
  on walls (see planner.geometry): snap, then push 1e-8 m into free space.

The per-mount cache (one 360-degree polygon per mount point, reused for every heading and tier) lives in
``planner.coverage.Engine``.

Algorithm: angular sweep by rays.  Every segment end point seen from the viewpoint is an event angle.
Between two consecutive event angles one segment is nearest throughout (segments do not cross, and no
end point lies strictly between), so one ray at the middle angle identifies it; the polygon boundary
on that interval is that segment between the two event rays, whose end points are computed exactly
(ray x supporting line).  This gives the exact visibility polygon up to floating point.  Work is one
ray/segment test per (interval, segment) pair whose angular ranges overlap (the "depth" of the
scene), vectorised in numpy; past 2 million pairs a blocked front-to-back sweep bounds memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from planner.floor import Floor
from planner.geometry import (
    EMPTY,
    EPS_ON,
    NUDGE,
    disk_polygon,
    linework_segments,
    point_segment_distance,
    polygonal,
)

OPENING_TOL = 0.01
_ANGLE_MERGE = 1e-12
_CHUNK = 4096  # ray x segment cells per numpy block: temporaries stay in L1/L2 cache
_PAIR_LIMIT = 2_000_000  # (interval, segment) pairs before falling back to the blocked sweep


class Occluders:
    """Sight blockers of one floor, noded, with the free space and a spatial index."""

    def __init__(self, segments: np.ndarray, free: BaseGeometry) -> None:
        self.segments = np.ascontiguousarray(segments, dtype=float).reshape(-1, 4)
        self.free = free
        shapely.prepare(self.free)
        self._lines = shapely.linestrings(self.segments.reshape(-1, 2, 2)) if len(self.segments) else np.array([])
        self.tree = shapely.STRtree(self._lines)
        # Distinct end points and, per segment, the ids of its two ends (no np.unique per query).
        self.vertices, inv = np.unique(self.segments.reshape(-1, 2), axis=0, return_inverse=True)
        self.seg_vertex = inv.reshape(-1, 2)
        minx, miny, maxx, maxy = free.bounds if not free.is_empty else (0.0, 0.0, 0.0, 0.0)
        if len(self.segments):
            minx = min(minx, self.segments[:, [0, 2]].min())
            maxx = max(maxx, self.segments[:, [0, 2]].max())
            miny = min(miny, self.segments[:, [1, 3]].min())
            maxy = max(maxy, self.segments[:, [1, 3]].max())
        self.bounds = (minx, miny, maxx, maxy)

    @classmethod
    def from_polygon(cls, polygon: Polygon) -> Occluders:
        """Occluders of a bare polygon (with holes): its boundary blocks, its interior is free."""
        return cls(_noded_segments([polygon.boundary]), polygon)

    @classmethod
    def from_floor(cls, floor: Floor, opening_tol: float = OPENING_TOL) -> Occluders:
        """Occluders of a floor: outline, opaque walls with openings cut out (see docs/coverage.md)."""
        outline = floor.outline.geometry
        strips = [op.geometry.buffer(opening_tol, cap_style="flat") for op in floor.openings]
        cut = shapely.union_all(strips) if strips else None
        lines: list[BaseGeometry] = [outline.boundary]
        solids: list[BaseGeometry] = []
        for wall in floor.walls:
            if wall.see_through:
                continue
            geom = wall.geometry
            if wall.closed:
                if cut is not None and geom.intersects(cut):
                    # A door through a solid wall: open a band as deep as the wall is thick.
                    thick = 2.0 * geom.area / max(geom.length, 1e-12) + opening_tol
                    band = shapely.union_all([op.geometry.buffer(thick, cap_style="flat") for op in floor.openings])
                    geom = polygonal(geom.difference(band))
                if not geom.is_empty:
                    solids.append(geom)
                    lines.append(geom.boundary)
            else:
                if cut is not None:
                    geom = geom.difference(cut)
                if not geom.is_empty:
                    lines.append(geom)
        free = outline
        if solids:
            free = polygonal(outline.difference(shapely.union_all(solids)))
        return cls(_noded_segments(lines), free)

    def near(self, x: float, y: float, radius: float) -> np.ndarray:
        """Segments within ``radius`` of (x, y)."""
        return self.segments[self.near_ids(x, y, radius)]

    def near_ids(self, x: float, y: float, radius: float) -> np.ndarray:
        """Indices of the segments within ``radius`` of (x, y), sorted."""
        if not len(self.segments):
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.tree.query(Point(x, y), predicate="dwithin", distance=radius))

    def in_free_space(self, x: float, y: float) -> bool:
        """True if (x, y) lies in the free space (inside the outline, outside solid walls)."""
        return bool(shapely.intersects_xy(self.free, x, y))


def _noded_segments(lines: Iterable[BaseGeometry]) -> np.ndarray:
    """Node all linework (split at every crossing, merge overlaps) and return its segments."""
    lines = [g for g in lines if not g.is_empty]
    if not lines:
        return np.zeros((0, 4))
    noded = shapely.union_all(lines)
    seg = linework_segments(noded)
    if not len(seg):
        return seg
    # Canonical direction, then drop duplicates left by overlapping input.
    swap = (seg[:, 0] > seg[:, 2]) | ((seg[:, 0] == seg[:, 2]) & (seg[:, 1] > seg[:, 3]))
    seg[swap] = seg[swap][:, [2, 3, 0, 1]]
    return np.unique(seg, axis=0)


def resolve_mount(occ: Occluders, x: float, y: float, heading_deg: float | None = None) -> tuple[float, float] | None:
    """Apply the boundary epsilon policy: the point sight is computed from, or None if not in free space."""
    near = occ.near(x, y, 4 * EPS_ON)
    if len(near):
        dist = point_segment_distance(x, y, near)
        touching = near[dist <= EPS_ON]
    else:
        touching = near
    if not len(touching):
        return (x, y) if occ.in_free_space(x, y) else None
    # Snap onto the closest vertex, else onto the closest segment.
    ends = touching.reshape(-1, 2)
    dv = np.hypot(ends[:, 0] - x, ends[:, 1] - y)
    if dv.min() <= EPS_ON:
        sx, sy = ends[int(np.argmin(dv))]
    else:
        ax, ay, bx, by = touching[int(np.argmin(point_segment_distance(x, y, touching)))]
        dx, dy = bx - ax, by - ay
        u = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)
        sx, sy = ax + u * dx, ay + u * dy
    # Directions of every touching segment leaving the snapped point split the plane into sectors.
    dirs: list[float] = []
    for ax, ay, bx, by in touching:
        for ex, ey in ((ax, ay), (bx, by)):
            if math.hypot(ex - sx, ey - sy) > EPS_ON:
                dirs.append(math.atan2(ey - sy, ex - sx))
    if not dirs:
        return (x, y) if occ.in_free_space(x, y) else None
    dirs = sorted(set(dirs))
    best: tuple[float, float, float] | None = None
    want = None if heading_deg is None else math.radians(heading_deg)
    for i, a0 in enumerate(dirs):
        a1 = dirs[i + 1] if i + 1 < len(dirs) else dirs[0] + 2 * math.pi
        width = a1 - a0
        if width <= 1e-9:
            continue
        mid = a0 + width / 2
        qx, qy = sx + NUDGE * math.cos(mid), sy + NUDGE * math.sin(mid)
        if not occ.in_free_space(qx, qy):
            continue
        score = width
        if want is not None and ((want - a0) % (2 * math.pi)) < width:
            score += 10.0  # the sector the camera faces wins
        if best is None or score > best[0]:
            best = (score, qx, qy)
    if best is None:
        return None
    return (best[1], best[2])


def _nearest_hits(dx: np.ndarray, dy: np.ndarray, ax: np.ndarray, ay: np.ndarray, ex: np.ndarray,
                  ey: np.ndarray) -> np.ndarray:
    """Index of the nearest segment hit by each unit ray from the origin (front-to-back pruning).

    Segments are visited in blocks by increasing distance from the origin; a ray whose best hit is
    nearer than the next block's nearest segment is final and leaves the active set.
    """
    k = len(dx)
    ll = ex * ex + ey * ey
    u0 = np.clip(-(ax * ex + ay * ey) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    dmin = np.hypot(ax + u0 * ex, ay + u0 * ey)
    order = np.argsort(dmin, kind="stable")
    best_t = np.full(k, np.inf)
    best = np.zeros(k, dtype=np.int64)
    active = np.arange(k)
    lo, block = 0, 32
    with np.errstate(divide="ignore", invalid="ignore"):
        while lo < len(order) and len(active):
            js = order[lo:lo + block]
            if lo:
                active = active[best_t[active] > dmin[js[0]]]
            sax, say, sex, sey = ax[js], ay[js], ex[js], ey[js]
            cae = sax * sey - say * sex
            step = max(1, _CHUNK // len(js))
            for c in range(0, len(active), step):
                rows = active[c:c + step]
                rx, ry = dx[rows, None], dy[rows, None]
                den = rx * sey - ry * sex
                t = cae / den
                u = (sax * ry - say * rx) / den
                t = np.where((den != 0) & (t > 0) & (u >= 0) & (u <= 1), t, np.inf)
                j = np.argmin(t, axis=1)
                tj = t[np.arange(len(rows)), j]
                better = tj < best_t[rows]
                best_t[rows[better]] = tj[better]
                best[rows[better]] = js[j[better]]
            lo += block
            block *= 2
    return best


def _pair_hits(mid: np.ndarray, ang: np.ndarray, ev: np.ndarray, dx: np.ndarray, dy: np.ndarray,
               ax: np.ndarray, ay: np.ndarray, ex: np.ndarray, ey: np.ndarray) -> np.ndarray | None:
    """Nearest segment per interval, testing only the segments whose angular span covers it.

    ``ev`` (m, 2) gives each segment's end points as event indices.  A segment spans the intervals
    between its two events the short way round (less than pi: no segment contains the viewpoint), and
    any ray strictly inside that span hits it in front, so t = cross(a, e) / cross(d, e) suffices.
    Returns None when the pair count would exceed the memory budget.
    """
    k = len(mid)
    a, b = ev.min(axis=1), ev.max(axis=1)
    wrapped = (ang[b] - ang[a]) > math.pi
    start1 = np.where(wrapped, b, a)
    len1 = np.where(wrapped, k - b, b - a)
    seg_ids = np.arange(len(ev))
    w = np.flatnonzero(wrapped)
    starts = np.r_[start1, np.zeros(len(w), dtype=start1.dtype)]
    lens = np.r_[len1, a[w]]
    owner = np.r_[seg_ids, w]
    total = int(lens.sum())
    if total > _PAIR_LIMIT:
        return None
    sj = np.repeat(owner, lens)
    first = np.cumsum(lens) - lens
    iv = np.arange(total) - np.repeat(first - starts, lens)
    sex, sey = ex[sj], ey[sj]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ax[sj] * sey - ay[sj] * sex) / (dx[iv] * sey - dy[iv] * sex)
    t[~(t > 0)] = np.inf
    tmin = np.full(k, np.inf)
    np.minimum.at(tmin, iv, t)
    hit = np.zeros(k, dtype=np.int64)
    best = t == tmin[iv]
    hit[iv[best]] = sj[best]
    return hit


def _fan(px: float, py: float, seg: np.ndarray, ends: np.ndarray, seg_ends: np.ndarray) -> np.ndarray:
    """Vertices (k, 2) of the visibility polygon of (px, py) among non-crossing segments that enclose it.

    ``ends`` holds the distinct end points of ``seg``; ``seg_ends`` (m, 2) indexes each segment's ends.
    """
    s = seg - np.array([px, py, px, py])
    ends = ends - np.array([px, py])
    ang = np.arctan2(ends[:, 1], ends[:, 0])
    order = np.argsort(ang, kind="stable")
    ang, ends = ang[order], ends[order]
    keep = np.r_[True, np.diff(ang) > _ANGLE_MERGE]
    event_of = np.empty(len(order), dtype=np.int64)
    event_of[order] = np.cumsum(keep) - 1
    ang, ends = ang[keep], ends[keep]
    nxt_ang = np.r_[ang[1:], ang[0] + 2 * math.pi]
    mid = 0.5 * (ang + nxt_ang)
    dx, dy = np.cos(mid), np.sin(mid)
    ax, ay = s[:, 0], s[:, 1]
    ex, ey = s[:, 2] - ax, s[:, 3] - ay
    hit = _pair_hits(mid, ang, event_of[seg_ends], dx, dy, ax, ay, ex, ey)
    if hit is None:
        hit = _nearest_hits(dx, dy, ax, ay, ex, ey)
    # End points of each interval's visible piece: its segment cut by the two exact event rays.
    sa, se = s[hit, :2], np.column_stack([ex[hit], ey[hit]])
    nxt = np.r_[ends[1:], ends[:1]]

    def on_seg(d: np.ndarray) -> np.ndarray:
        den = d[:, 0] * se[:, 1] - d[:, 1] * se[:, 0]
        num = sa[:, 0] * d[:, 1] - sa[:, 1] * d[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.clip(np.where(den != 0, num / den, 0.0), 0.0, 1.0)
        return sa + u[:, None] * se

    start, stop = on_seg(ends), on_seg(nxt)
    pts = np.empty((2 * len(mid), 2))
    pts[0::2], pts[1::2] = start, stop
    pts += (px, py)
    same = np.all(pts == np.roll(pts, 1, axis=0), axis=1)
    return pts[~same] if (~same).sum() >= 3 else pts


def visibility_polygon(
    occ: Occluders, x: float, y: float, radius: float | None = None, heading_deg: float | None = None
) -> Polygon:
    """The exact region visible from (x, y) among the occluders (cut to ``radius`` if given)."""
    q = resolve_mount(occ, x, y, heading_deg)
    if q is None:
        return EMPTY
    qx, qy = q
    if radius is None:
        seg, ends, seg_ends = occ.segments, occ.vertices, occ.seg_vertex
    else:
        ids = occ.near_ids(qx, qy, radius)
        used = np.unique(occ.seg_vertex[ids])
        seg, ends, seg_ends = occ.segments[ids], occ.vertices[used], np.searchsorted(used, occ.seg_vertex[ids])
    # A box beyond every selected segment guarantees each ray hits something without new crossings.
    if len(seg):
        minx = min(seg[:, [0, 2]].min(), qx) - 1.0
        maxx = max(seg[:, [0, 2]].max(), qx) + 1.0
        miny = min(seg[:, [1, 3]].min(), qy) - 1.0
        maxy = max(seg[:, [1, 3]].max(), qy) + 1.0
    else:
        minx, miny, maxx, maxy = qx - 1.0, qy - 1.0, qx + 1.0, qy + 1.0
    if radius is not None:
        minx, miny = min(minx, qx - radius - 1.0), min(miny, qy - radius - 1.0)
        maxx, maxy = max(maxx, qx + radius + 1.0), max(maxy, qy + radius + 1.0)
    box = np.array([[minx, miny, maxx, miny], [maxx, miny, maxx, maxy],
                    [maxx, maxy, minx, maxy], [minx, maxy, minx, miny]])
    nv = len(ends)
    box_ends = nv + np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    pts = _fan(qx, qy, np.vstack([seg, box]), np.vstack([ends, box[:, :2]]),
               np.vstack([seg_ends.reshape(-1, 2), box_ends]))
    poly = Polygon(pts)
    if not poly.is_valid:
        # The fan only self-touches where sight grazes collinear vertices, so its shoelace area is
        # right; the fast "structure" repair sometimes drops such rings, so check it and fall back.
        fixed = polygonal(shapely.make_valid(poly, method="structure"))
        if abs(fixed.area - poly.area) > 1e-9 * max(1.0, poly.area):
            fixed = polygonal(shapely.make_valid(poly))
        poly = fixed
    if radius is not None:
        poly = polygonal(poly.intersection(disk_polygon(qx, qy, radius)))
    return poly
