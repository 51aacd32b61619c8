"""Candidate camera poses for the optimizer, and what each pose sees at each detail tier.

Reduce mode: every installed camera at its pose, plus (with ``reaim_step``) the same mount turned in steps of
``reaim_step`` degrees and, when the terminal states a varifocal range (``hfov_min_deg`` / ``hfov_max_deg``
properties), the hfov values in that range in the same steps.  Design mode: mount points generated along
walls and the outline (every ``spacing`` metres, plus corners) × headings × camera models.

Views are built like planner.coverage's (one visibility polygon per mount, clipped per pose and tier): view(pose, tier) = visibility(mount) ∩ sector(heading, hfov, range_tier), with
range_tier = hpx / (2 tan(hfov/2) ppm_tier) unless the terminal gives an explicit ``range_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from planner.coverage import DEFAULT_PPM, CameraPose
from planner.coverage import tier_range as coverage_tier_range
from planner.floor import Floor, Terminal
from planner.geometry import ARC_STEP_DEG, EMPTY, EPS_ON, polygonal, sector_polygon
from planner.visibility import Occluders, resolve_mount, visibility_polygon

# Pixel densities of the IEC/EN 62676-4 detail tiers, px/m (the coverage engine's defaults).
TIER_PPM: dict[str, float] = dict(DEFAULT_PPM)


@dataclass(frozen=True)
class CameraModel:
    """A camera model of the library: horizontal pixels and hfov (fixed, or a varifocal range)."""

    name: str
    hpx: int
    hfov_deg: float
    hfov_min_deg: float | None = None
    hfov_max_deg: float | None = None


DEFAULT_MODELS: tuple[CameraModel, ...] = (CameraModel("generic-1080p-90", 1920, 90.0),)


@dataclass(frozen=True)
class Candidate:
    """One pose a camera could take: an installed terminal (possibly re-aimed) or a new install."""

    index: int
    mount: str  # physical mount key: at most one pose per mount is chosen
    x: float
    y: float
    heading_deg: float
    hfov_deg: float
    hpx: int | None
    range_m: float | None
    terminal_id: str | None = None  # None for a new install
    change: str = "keep"  # "keep" (installed pose), "reaim" (same mount, new heading/hfov) or "new"
    face: bool = False
    model: str | None = None

    def tier_range(self, tier: str, ppm: dict[str, float] | None = None) -> float:
        """Range in metres at which this pose still gives the tier's pixel density."""
        return tier_range(self.hpx, self.hfov_deg, self.range_m, tier, ppm)

    def as_pose(self) -> CameraPose:
        """The coverage engine's pose for this candidate."""
        return CameraPose(self.mount, self.x, self.y, self.heading_deg, self.hfov_deg, self.hpx, self.range_m,
                          self.face, terminal_id=self.terminal_id)

    def pose(self) -> dict:
        """JSON description of the pose (for added / re-aimed cameras)."""
        out: dict = {"x": round(self.x, 6), "y": round(self.y, 6), "heading_deg": round(self.heading_deg, 6),
                     "hfov_deg": round(self.hfov_deg, 6)}
        if self.hpx is not None:
            out["hpx"] = self.hpx
        if self.range_m is not None:
            out["range_m"] = self.range_m
        if self.model is not None:
            out["model"] = self.model
        return out


def tier_range(hpx: int | None, hfov_deg: float, range_m: float | None, tier: str,
               ppm: dict[str, float] | None = None) -> float:
    """range_t = hpx / (2 tan(hfov/2) ppm_t) (planner.coverage's model); an explicit range_m overrides it."""
    if range_m is not None:
        return float(range_m)
    if hpx is None:
        raise ValueError("a pose needs range_m or hpx")
    return coverage_tier_range(hfov_deg, hpx, tier, ppm or TIER_PPM)


@dataclass
class ViewEngine:
    """Views of candidate poses: one visibility polygon per mount (planner.visibility), clipped per pose and tier.

    ``view(c, tier)`` = visibility(mount, R_mount) ∩ sector(mount, heading, hfov, range_tier), the same
    construction as planner.coverage (R_mount = the largest range any pose at the mount needs).
    ``sees(c, tier, xs, ys)`` answers "is the point in that view" for many points at once without building
    the polygon: point in the mount's visibility polygon (shapely) and inside the sector polygon (numpy,
    the same inscribed arc chords as planner.geometry.sector_polygon), so the two never disagree except on
    boundaries.
    """

    floor: Floor
    occ: Occluders
    ppm: dict[str, float] = field(default_factory=lambda: dict(TIER_PPM))
    _views: dict[tuple[int, str], BaseGeometry] = field(default_factory=dict)
    _vis: dict[tuple[float, float, float], Polygon] = field(default_factory=dict)
    _q: dict[tuple[float, float, float | None], tuple[float, float] | None] = field(default_factory=dict)
    _radius: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_floor(cls, floor: Floor, ppm: dict[str, float] | None = None) -> ViewEngine:
        """A view engine over the floor's occluders."""
        return cls(floor, Occluders.from_floor(floor), dict(ppm or TIER_PPM))

    def plan_radii(self, candidates: list[Candidate]) -> None:
        """Remember the largest range needed at each mount so one visibility polygon serves all its poses."""
        for c in candidates:
            r = max(c.tier_range(t, self.ppm) for t in self.ppm)
            self._radius[c.mount] = max(self._radius.get(c.mount, 0.0), r)

    def mount_point(self, c: Candidate) -> tuple[float, float] | None:
        """The resolved mount point (planner.visibility's epsilon policy), cached."""
        key = (c.x, c.y, None)
        if key not in self._q:
            if len(self.occ.near(c.x, c.y, 4 * EPS_ON)) == 0:
                self._q[key] = (c.x, c.y) if self.occ.in_free_space(c.x, c.y) else None
            else:
                self._q[key] = None
                self._q[(c.x, c.y, -1.0)] = None  # marks "near a wall: resolve per heading"
        if (c.x, c.y, -1.0) in self._q:
            hk = (c.x, c.y, c.heading_deg)
            if hk not in self._q:
                self._q[hk] = resolve_mount(self.occ, c.x, c.y, c.heading_deg)
            return self._q[hk]
        return self._q[key]

    def radius(self, c: Candidate) -> float:
        """Radius of the mount's shared visibility polygon."""
        r = self._radius.get(c.mount)
        if r is None:
            r = max(c.tier_range(t, self.ppm) for t in self.ppm)
            self._radius[c.mount] = r
        return r

    def visibility(self, c: Candidate) -> Polygon:
        """The 360-degree visibility polygon at the candidate's mount, out to the mount's radius."""
        q = self.mount_point(c)
        if q is None:
            return EMPTY
        key = (q[0], q[1], self.radius(c))
        poly = self._vis.get(key)
        if poly is None:
            poly = visibility_polygon(self.occ, q[0], q[1], key[2])
            shapely.prepare(poly)
            self._vis[key] = poly
        return poly

    def view(self, c: Candidate, tier: str) -> BaseGeometry:
        """What the pose sees at the tier: visibility ∩ field-of-view sector ∩ tier range."""
        key = (c.index, tier)
        v = self._views.get(key)
        if v is None:
            v = self._make_view(c, tier)
            shapely.prepare(v)
            self._views[key] = v
        return v

    def _make_view(self, c: Candidate, tier: str) -> BaseGeometry:
        vis = self.visibility(c)
        q = self.mount_point(c)
        if vis.is_empty or q is None:
            return EMPTY
        r = c.tier_range(tier, self.ppm)
        return polygonal(vis.intersection(sector_polygon(q[0], q[1], c.heading_deg, c.hfov_deg, r)))

    def sees(self, c: Candidate, tier: str, xs: np.ndarray, ys: np.ndarray,
             in_vis: np.ndarray | None = None) -> np.ndarray:
        """Which points lie in view(c, tier), without building the view polygon."""
        q = self.mount_point(c)
        if q is None or not len(xs):
            return np.zeros(len(xs), dtype=bool)
        if in_vis is None:
            vis = self.visibility(c)
            in_vis = shapely.contains_xy(vis, xs, ys) if not vis.is_empty else np.zeros(len(xs), dtype=bool)
        return in_vis & in_sector(q[0], q[1], c.heading_deg, c.hfov_deg, c.tier_range(tier, self.ppm), xs, ys)

    def terminal_view(self, t: Terminal, tier: str) -> BaseGeometry:
        """View of an installed terminal at its current pose (used by the verifier and explanations)."""
        c = candidate_from_terminal(-1, t)
        vis = visibility_polygon(self.occ, t.x, t.y, max(c.tier_range(x, self.ppm) for x in self.ppm), t.heading_deg)
        q = resolve_mount(self.occ, t.x, t.y, t.heading_deg)
        if vis.is_empty or q is None:
            return EMPTY
        return polygonal(vis.intersection(sector_polygon(q[0], q[1], t.heading_deg, t.hfov_deg,
                                                         c.tier_range(tier, self.ppm))))


def in_sector(x: float, y: float, heading_deg: float, hfov_deg: float, radius: float,
              xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Points inside planner.geometry.sector_polygon(x, y, heading, hfov, radius) (same inscribed chords)."""
    if radius <= 0 or hfov_deg <= 0:
        return np.zeros(len(xs), dtype=bool)
    full = hfov_deg >= 360.0
    span = math.radians(360.0 if full else hfov_deg)
    n = max(2, math.ceil(math.degrees(span) / ARC_STEP_DEG))
    start = math.radians(heading_deg) - span / 2
    dx, dy = xs - x, ys - y
    rel = np.mod(np.arctan2(dy, dx) - start, 2 * math.pi)
    step = span / n
    inside_angle = np.ones(len(xs), dtype=bool) if full else rel <= span
    i = np.clip(np.floor(rel / step), 0, n - 1)
    a0 = start + span * i / n
    a1 = start + span * (i + 1) / n
    # Left of (or on) the chord from arc vertex i to arc vertex i + 1, seen from the apex.
    x0, y0 = radius * np.cos(a0), radius * np.sin(a0)
    x1, y1 = radius * np.cos(a1), radius * np.sin(a1)
    cross = (x1 - x0) * (dy - y0) - (y1 - y0) * (dx - x0)
    return inside_angle & (cross >= 0)


def candidate_from_terminal(index: int, t: Terminal, heading: float | None = None, hfov: float | None = None,
                            change: str = "keep") -> Candidate:
    """A candidate for an installed terminal (at its pose, or re-aimed)."""
    return Candidate(
        index=index, mount=f"t:{t.id}", x=t.x, y=t.y,
        heading_deg=(t.heading_deg if heading is None else heading) % 360.0,
        hfov_deg=t.hfov_deg if hfov is None else hfov, hpx=t.hpx, range_m=t.range_m,
        terminal_id=t.id, change=change, face=bool(t.face_recognition or t.type == "face_terminal"),
    )


def _float_prop(t: Terminal, key: str) -> float | None:
    value = t.extra.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def terminal_poses(t: Terminal, reaim_step: float | None, start_index: int) -> list[Candidate]:
    """The installed pose of a terminal, then its re-aims at the same mount (headings × varifocal hfovs)."""
    out = [candidate_from_terminal(start_index, t)]
    if not reaim_step or t.hfov_deg >= 360.0:
        return out
    hfovs = [t.hfov_deg]
    lo, hi = _float_prop(t, "hfov_min_deg"), _float_prop(t, "hfov_max_deg")
    if lo is not None and hi is not None and 0 < lo <= hi <= 360:
        steps = np.arange(lo, hi + 1e-9, reaim_step)
        hfovs = sorted({round(float(h), 6) for h in np.r_[steps, hi, t.hfov_deg] if lo - 1e-9 <= h <= hi + 1e-9})
    n_head = max(1, int(round(360.0 / reaim_step)))
    for hfov in hfovs:
        for m in range(n_head):
            heading = (t.heading_deg + m * reaim_step) % 360.0
            if m == 0 and abs(hfov - t.hfov_deg) < 1e-9:
                continue
            out.append(candidate_from_terminal(start_index + len(out), t, heading, hfov, change="reaim"))
    return out


def design_mounts(floor: Floor, occ: Occluders, spacing: float, inset: float = 0.15,
                  corners: bool = True) -> list[tuple[float, float]]:
    """Mount points along walls and the outline every `spacing` m, plus (`corners`) around every wall vertex."""
    if spacing <= 0:
        raise ValueError("spacing must be positive")
    lines: list[BaseGeometry] = [floor.outline.geometry.exterior, *floor.outline.geometry.interiors]
    for w in floor.walls:
        lines.append(w.geometry.exterior if w.closed else w.geometry)
    pts: list[tuple[float, float]] = []
    for line in lines:
        coords = np.asarray(line.coords)
        for a, b in zip(coords[:-1], coords[1:], strict=True):
            # Points along each segment at the spacing, offset to both sides.
            d = b - a
            length = float(np.hypot(*d))
            if length <= 0:
                continue
            u = d / length
            nrm = np.array([-u[1], u[0]])
            n_pts = max(1, int(length // spacing))
            for i in range(n_pts):
                p = a + u * (length * (i + 0.5) / n_pts)
                for side in (1.0, -1.0):
                    pts.append(tuple(p + side * inset * nrm))
        # Corners: a point inset along each diagonal around every vertex.
        for v in (coords[:-1] if len(coords) > 2 else coords) if corners else ():
            for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                pts.append((v[0] + inset * dx / math.sqrt(2), v[1] + inset * dy / math.sqrt(2)))
    if not pts:
        return []
    arr = np.round(np.asarray(pts, dtype=float), 6)
    arr = np.unique(arr, axis=0)
    free = shapely.intersects_xy(occ.free, arr[:, 0], arr[:, 1])
    # Keep points clear of every wall by half the inset (a mount is on the room side of its wall).
    keep = []
    for (x, y), ok in zip(arr, free, strict=True):
        if not ok:
            continue
        near = occ.near(float(x), float(y), inset * 0.5)
        if len(near):
            continue
        keep.append((float(x), float(y)))
    return keep


def design_candidates(floor: Floor, occ: Occluders, spacing: float, headings: int,
                      models: tuple[CameraModel, ...], start_index: int, corners: bool = True) -> list[Candidate]:
    """New-install candidates: generated mounts × evenly spaced headings × camera models."""
    if headings < 1:
        raise ValueError("headings must be at least 1")
    out: list[Candidate] = []
    for m_idx, (x, y) in enumerate(design_mounts(floor, occ, spacing, corners=corners)):
        for model in models:
            for h in range(headings):
                heading = 360.0 * h / headings
                out.append(Candidate(
                    index=start_index + len(out), mount=f"m:{m_idx}", x=x, y=y, heading_deg=heading,
                    hfov_deg=model.hfov_deg, hpx=model.hpx, range_m=None, terminal_id=None, change="new",
                    face=False, model=model.name,
                ))
    return out


def inside(geom: BaseGeometry, x: float, y: float, tol: float = 1e-6) -> bool:
    """True when (x, y) lies in the interior of the polygon, farther than `tol` from its boundary."""
    if geom.is_empty:
        return False
    p = Point(x, y)
    return bool(geom.contains(p)) and geom.boundary.distance(p) > tol
