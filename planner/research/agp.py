"""Exact vertex-guard art gallery problem (360° view, unlimited range, holes block sight).

Method (Tozoni, de Rezende, de Souza; solver notes §4), restricted to vertex guards:

1. Data: the polygon's vertices are the guard candidates; each one's visibility polygon comes from
   planner.visibility.  Initial witnesses are the centroids of a constrained triangulation.
2. Set cover on the witnesses (planner.setcover, CP-SAT): its optimum is a *lower bound* on the number of
   vertex guards, because any set of guards covering the polygon also covers every witness.
3. Exact check: the uncovered part of the polygon, polygon − ∪ visibility(guard), is computed by overlay.
   Each uncovered piece gets sample points; a point is accepted as a new witness only after an *exact*
   rational sight test (planner.research.agp.ExactPolygon) confirms no chosen guard sees it, so float round-off can
   neither invent gaps nor hide the real ones (tiny slivers are checked point by point, never ignored).
4. Repeat with the previous guards as hint until no uncovered point remains: then the cover is feasible
   and equal to the witness lower bound, i.e. optimal.

Matrix entries whose float test is ambiguous (a witness within 1e-9·diameter of a visibility polygon's
boundary) are decided by the exact test, so the lower bound is not spoiled by boundary round-off.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from planner.errors import InputError
from planner.geometry import polygon_parts
from planner.research.polfile import PolFile
from planner.setcover import CoverProblem, SolveOptions, Status, solve
from planner.visibility import Occluders, visibility_polygon

AMBIGUOUS_REL = 1e-9  # float tests closer than this (× diameter) to a boundary are redone exactly


class ExactPolygon:
    """A polygon with holes in exact rational arithmetic: point location and vertex-to-point sight tests."""

    def __init__(self, polygon: Polygon) -> None:
        rings = [polygon.exterior, *polygon.interiors]
        self.edges: list[tuple[Fraction, Fraction, Fraction, Fraction]] = []
        fl: list[tuple[float, float, float, float]] = []
        for ring in rings:
            c = list(ring.coords)
            for (ax, ay), (bx, by) in zip(c[:-1], c[1:], strict=True):
                if (ax, ay) == (bx, by):
                    continue
                self.edges.append((Fraction(ax), Fraction(ay), Fraction(bx), Fraction(by)))
                fl.append((ax, ay, bx, by))
        self.fedges = np.asarray(fl, dtype=float)

    def locate(self, px: Fraction, py: Fraction) -> int:
        """1 strictly inside, 0 on the boundary, -1 outside (exact)."""
        inside = False
        for ax, ay, bx, by in self.edges:
            cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            if cross == 0 and min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by):
                return 0
            if (ay > py) != (by > py):
                xint = ax + (py - ay) * (bx - ax) / (by - ay)
                if px < xint:
                    inside = not inside
        return 1 if inside else -1

    def sees(self, vx: float, vy: float, wx: float, wy: float) -> bool:
        """Exact: the closed segment v–w lies in the closed polygon (v sees w)."""
        # Float prefilter: only edges whose bounding boxes meet the segment's can matter.
        e = self.fedges
        lo_x, hi_x = min(vx, wx), max(vx, wx)
        lo_y, hi_y = min(vy, wy), max(vy, wy)
        near = ((np.minimum(e[:, 0], e[:, 2]) <= hi_x) & (np.maximum(e[:, 0], e[:, 2]) >= lo_x)
                & (np.minimum(e[:, 1], e[:, 3]) <= hi_y) & (np.maximum(e[:, 1], e[:, 3]) >= lo_y))
        px, py, qx, qy = Fraction(vx), Fraction(vy), Fraction(wx), Fraction(wy)
        dx, dy = qx - px, qy - py
        ll = dx * dx + dy * dy
        if ll == 0:
            return self.locate(px, py) >= 0
        cuts = {Fraction(0), Fraction(1)}
        for i in np.flatnonzero(near).tolist():
            ax, ay, bx, by = self.edges[i]
            o1 = dx * (ay - py) - dy * (ax - px)
            o2 = dx * (by - py) - dy * (bx - px)
            o3 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            o4 = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
            # A proper crossing of an edge's interior blocks the sight line.
            if o1 * o2 < 0 and o3 * o4 < 0:
                return False
            # Vertices lying on the segment split it; each piece is then tested once.
            for o, x, y in ((o1, ax, ay), (o2, bx, by)):
                if o == 0:
                    t = ((x - px) * dx + (y - py) * dy) / ll
                    if 0 < t < 1:
                        cuts.add(t)
        ts = sorted(cuts)
        for t0, t1 in zip(ts[:-1], ts[1:], strict=True):
            tm = (t0 + t1) / 2
            if self.locate(px + tm * dx, py + tm * dy) < 0:
                return False
        return True


@dataclass
class AgpResult:
    """Vertex guards with their certificate."""

    guards: list[int]  # 0-based vertex indices (outer ring first, then holes in file order)
    guard_points: list[tuple[float, float]]
    bound: int
    status: str  # OPTIMAL, FEASIBLE, CANCELLED or UNKNOWN
    uncovered_m2: float
    float_residue_m2: float
    seconds: float
    rounds: int
    witnesses: int
    vertices: int
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready result (the `agp` CLI prints this)."""
        return {
            "guards": len(self.guards),
            "guard_vertices": [i + 1 for i in self.guards],
            "guard_points": [[x, y] for x, y in self.guard_points],
            "bound": self.bound,
            "status": self.status,
            "uncovered_m2": self.uncovered_m2,
            "float_residue_m2": self.float_residue_m2,
            "seconds": round(self.seconds, 3),
            "rounds": self.rounds,
            "witnesses": self.witnesses,
            "vertices": self.vertices,
        }


def _vertices(poly: Polygon) -> np.ndarray:
    out = []
    for ring in [poly.exterior, *poly.interiors]:
        out.extend(list(ring.coords)[:-1])
    return np.asarray(out, dtype=float)


def _sample_points(piece: BaseGeometry, rng: np.random.Generator, extra: int) -> list[tuple[float, float]]:
    """A point on the piece's surface, its centroid if inside, and points pulled from its vertices inwards."""
    rp = piece.representative_point()
    pts = [(rp.x, rp.y)]
    c = piece.centroid
    if piece.contains(c):
        pts.append((c.x, c.y))
    coords = np.asarray(piece.exterior.coords)[:-1] if isinstance(piece, Polygon) else np.zeros((0, 2))
    if len(coords) and extra:
        pick = coords[rng.choice(len(coords), size=min(extra, len(coords)), replace=False)]
        for x, y in pick:
            pts.append((0.5 * x + 0.5 * rp.x, 0.5 * y + 0.5 * rp.y))
    return pts


def solve_agp(pol: PolFile | Polygon, *, time_limit: float = 60.0, workers: int = 2, seed: int = 0,
              cancel: threading.Event | None = None, progress: Callable[[dict], None] | None = None,
              max_rounds: int = 1000) -> AgpResult:
    """Minimum vertex guards for a polygon with holes, proven optimal by the witness refinement loop."""
    if not isinstance(time_limit, int | float) or not math.isfinite(time_limit) or time_limit <= 0:
        raise InputError(f"time limit must be a positive number of seconds, got {time_limit}")
    start = time.perf_counter()
    deadline = start + time_limit
    poly = pol.polygon if isinstance(pol, PolFile) else pol
    if poly.is_empty or poly.area <= 0:
        raise InputError("the polygon is empty")
    rng = np.random.default_rng(seed)

    # Data: candidate guards (vertices) and their visibility polygons.
    verts = _vertices(poly)
    occ = Occluders.from_polygon(poly)
    vis = [visibility_polygon(occ, float(x), float(y)) for x, y in verts]
    for v in vis:
        shapely.prepare(v)
    bounds = vis_boundaries = [v.boundary for v in vis]
    minx, miny, maxx, maxy = poly.bounds
    eps = AMBIGUOUS_REL * max(maxx - minx, maxy - miny, 1e-12)
    exact = ExactPolygon(poly)
    n = len(verts)

    # Witnesses: one per triangle of a constrained triangulation, then refined.
    tris = shapely.get_parts(shapely.constrained_delaunay_triangles(poly))
    cents = shapely.centroid(tris)
    wx = list(shapely.get_x(cents))
    wy = list(shapely.get_y(cents))
    columns: list[list[int]] = [[] for _ in range(n)]

    def add_rows(xs: list[float], ys: list[float]) -> None:
        base = len(wx) - len(xs)
        ax, ay = np.asarray(xs), np.asarray(ys)
        pts = shapely.points(ax, ay)
        for j in range(n):
            hit = shapely.contains_xy(vis[j], ax, ay)
            dist = shapely.distance(vis_boundaries[j], pts)
            for i in np.flatnonzero(dist <= eps).tolist():
                hit[i] = exact.sees(verts[j, 0], verts[j, 1], xs[i], ys[i])
            columns[j].extend((base + np.flatnonzero(hit)).tolist())

    add_rows(list(wx), list(wy))
    del bounds

    hint: list[int] | None = None
    selected: list[int] = []
    status = "UNKNOWN"
    bound = 0
    rounds = 0
    residue = 0.0
    uncovered_real = math.inf
    history: list[dict] = []
    while rounds < max_rounds:
        rounds += 1
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or (cancel is not None and cancel.is_set()):
            status = "CANCELLED" if cancel is not None and cancel.is_set() else status
            break
        # Set cover on the witnesses: every witness seen by at least one chosen vertex.
        result = solve(CoverProblem(n_rows=len(wx), columns=columns, demand=1, hint=hint),
                       SolveOptions(time_limit=max(0.1, remaining), workers=workers, seed=seed, cancel=cancel,
                                    deterministic=True))
        if result.status == Status.INFEASIBLE:
            raise InputError("a witness is seen by no vertex (invalid polygon?)")
        if result.objective is None:
            break
        selected = list(result.selected)
        hint = selected
        bound = max(bound, int(result.bound))
        # Exact check: sample the uncovered pieces and keep only points no chosen guard truly sees.
        left = poly.difference(shapely.union_all([vis[j] for j in selected]))
        new_x: list[float] = []
        new_y: list[float] = []
        residue = 0.0
        uncovered_real = 0.0
        for piece in polygon_parts(left):
            tiny = piece.area <= 1e-9 * poly.area
            found = False
            for x, y in _sample_points(piece, rng, extra=4 if tiny else 0):
                if not poly.contains(shapely.Point(x, y)):
                    continue
                seen_float = [j for j in selected if shapely.contains_xy(vis[j], x, y)]
                near = any(shapely.distance(vis_boundaries[j], shapely.Point(x, y)) <= eps for j in selected)
                if seen_float and not near and not tiny:
                    continue
                if any(exact.sees(verts[j, 0], verts[j, 1], x, y) for j in selected):
                    continue
                new_x.append(x)
                new_y.append(y)
                found = True
                break
            if found:
                uncovered_real += piece.area
            else:
                residue += piece.area
        history.append({"round": rounds, "guards": len(selected), "bound": int(result.bound),
                        "witnesses": len(wx), "new_witnesses": len(new_x)})
        if progress is not None:
            progress({"phase": "agp", **history[-1], "seconds": time.perf_counter() - start})
        if not new_x:
            status = "OPTIMAL" if result.status == Status.OPTIMAL else "FEASIBLE"
            if status == "OPTIMAL":
                bound = len(selected)
            break
        wx.extend(new_x)
        wy.extend(new_y)
        add_rows(new_x, new_y)
        status = "FEASIBLE"
    if status != "OPTIMAL" and selected and uncovered_real > 0:
        status = "UNKNOWN"  # the last guard set still leaves part of the polygon unseen
    seconds = time.perf_counter() - start
    return AgpResult(
        guards=sorted(selected), guard_points=[(float(verts[j, 0]), float(verts[j, 1])) for j in sorted(selected)],
        bound=min(bound, len(selected)) if selected else bound, status=status,
        uncovered_m2=0.0 if uncovered_real == 0 else round(uncovered_real, 12), float_residue_m2=residue,
        seconds=seconds, rounds=rounds, witnesses=len(wx), vertices=n, history=history,
    )
