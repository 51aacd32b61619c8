"""The geometry engine: camera poses, views, zone coverage by area, privacy, witnesses and the matrix.

One home for what a camera sees (see docs/coverage.md); the optimizer, the verifier, overlays, plan
comparison and trade-off curves all use it.

- ``DEFAULT_PPM``: pixel density per detail tier (IEC/EN 62676-4): detect 25, observe 62.5,
  recognise 125, identify 250 px/m.  ``Engine(floor, ppm=...)`` overrides them.
- ``tier_range(hfov_deg, hpx, tier, ppm=None) -> float``: ``hpx / (2 tan(hfov/2) ppm_t)``; for
  hfov >= 180 (fisheye) the equidistant model ``hpx / (hfov_rad ppm_t)``.
- ``CameraPose``: the one pose type: an installed terminal (``from_terminal``), a re-aim of one, or a
  new install (``change`` = keep / reaim / new).
- ``Engine(floor, ppm=None)``, or ``engine_for(floor)`` (cached per floor object): occluders, zone
  regions, one 360-degree visibility polygon per mount point (reused across headings and tiers), views
  per pose and tier, the sector test ``sees``, the witness matrix ``incidence``, privacy and the
  ``python -m planner coverage`` report.
- ``k_covered`` / ``uncovered`` / ``coverage_levels``: exact area overlays (no sample points).
- ``zone_samples``: the witness sampler (grid, boundary and vertex points of a region).

Only terminals of type ``camera`` and ``face_terminal`` count towards zone coverage; every terminal's
view is checked against private zones.  Required areas are measured inside the free space (outline
minus solid walls): nobody can stand inside a pillar.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from planner.errors import InputError
from planner.floor import TIERS, Floor, Terminal, Zone, hfov_in_range, hfov_problem, normalise_heading
from planner.geometry import (
    EMPTY,
    EPS_ON,
    disk_polygon,
    in_sector,
    polygon_parts,
    polygonal,
    robust_overlay,
    sector_polygon,
    wedge_polygon,
    wedge_polygons,
)
from planner.visibility import Occluders, resolve_mount, visibility_polygon

DEFAULT_PPM: dict[str, float] = {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}
COVERING_TYPES = ("camera", "face_terminal")
PRIVACY_TOLERANCE_M2 = 0.01  # m² of a private zone a view may touch (round-off along shared walls)
AREA_TOL_M2 = 1e-6  # uncovered area accepted as 0 (float round-off of the overlays)
# Uncovered parts narrower than this are round-off, not gaps: mounts on walls are pushed 1e-8 m into free space
# (planner.geometry's epsilon policy), which leaves 1e-8 m wide slivers along the wall behind the camera.
MIN_GAP_WIDTH_M = 1e-6
INSIDE_TOL_M = 1e-6  # a mount closer than this to a private zone's boundary is on it, not inside
# Default vertical field of view for the blind-zone model when a camera gives none (16:9 sensor).
ASPECT = 9.0 / 16.0
MIN_TAN = 1e-300  # floor of tan(hfov/2) in tier_range


def tier_range(hfov_deg: float, hpx: float, tier: str, ppm: dict[str, float] | None = None) -> float:
    """Range in metres at which a camera still resolves ``tier``'s pixel density."""
    density = (ppm or DEFAULT_PPM)[tier]
    if hfov_deg < 180.0:
        # A subnormal hfov (5e-324, valid: > 0) underflows tan(hfov/2) to 0. Flooring it at MIN_TAN keeps the range
        # finite for any 32-bit hpx at 1 px/m or more (and far beyond any floor) instead of dividing by zero.
        return hpx / (2.0 * max(math.tan(math.radians(hfov_deg) / 2.0), MIN_TAN) * density)
    # tan(hfov/2) <= 0 past 180 degrees: use the equidistant (fisheye) projection instead.
    return hpx / (math.radians(hfov_deg) * density)


@dataclass(frozen=True)
class CameraPose:
    """A camera pose: installed (from a terminal), re-aimed at its mount, or a new install."""

    mount: str  # physical mount key: at most one pose per mount is chosen by the optimizer
    x: float
    y: float
    heading_deg: float
    hfov_deg: float
    hpx: int | None = None
    range_m: float | None = None
    face_recognition: bool = False
    height_m: float | None = None
    tilt_deg: float | None = None
    terminal_id: str | None = None  # None for a new install
    change: str = "keep"  # "keep" (installed pose), "reaim" (same mount, new heading/hfov) or "new"
    model: str | None = None

    def __post_init__(self) -> None:
        if self.range_m is None and self.hpx is None:
            raise InputError("a pose needs range_m or hpx", where=f"pose {self.mount!r}")
        if not hfov_in_range(self.hfov_deg):
            raise InputError(hfov_problem(self.hfov_deg), where=f"pose {self.mount!r}")

    @classmethod
    def from_terminal(cls, t: Terminal, heading_deg: float | None = None, hfov_deg: float | None = None,
                      change: str = "keep") -> CameraPose:
        """The pose of an installed terminal (mount id = terminal id), or of it turned at its mount."""
        return cls(t.id, t.x, t.y, normalise_heading(t.heading_deg if heading_deg is None else heading_deg),
                   t.hfov_deg if hfov_deg is None else hfov_deg, t.hpx, t.range_m,
                   bool(t.face_recognition or t.type == "face_terminal"), t.height_m, t.tilt_deg, t.id, change)

    def with_heading(self, heading_deg: float) -> CameraPose:
        """The same camera turned to another heading (re-aim candidate)."""
        return replace(self, heading_deg=normalise_heading(heading_deg))

    def range_for(self, tier: str | None, ppm: dict[str, float] | None = None) -> float:
        """Range at a tier; explicit range_m wins; tier None means range_m or else the detect range."""
        if self.range_m is not None:
            return float(self.range_m)
        assert self.hpx is not None
        return tier_range(self.hfov_deg, self.hpx, tier or "detect", ppm)

    def max_range(self, ppm: dict[str, float] | None = None) -> float:
        """The largest range over all tiers (the radius its visibility polygon must reach)."""
        return max(self.range_for(t, ppm) for t in (ppm or DEFAULT_PPM))

    def blind_radius(self) -> float:
        """Radius of the floor area under the camera it cannot see (0 without height and tilt)."""
        if not self.height_m or self.tilt_deg is None:
            return 0.0
        vfov = 2 * math.degrees(math.atan(math.tan(math.radians(min(self.hfov_deg, 179.0)) / 2) * ASPECT))
        lower = self.tilt_deg + vfov / 2.0
        if lower >= 90.0:
            return 0.0
        if lower <= 0.0:
            return math.inf
        return self.height_m / math.tan(math.radians(lower))

    def to_dict(self) -> dict:
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


@dataclass
class Witnesses:
    """Sample points of the required zones: coordinates plus each point's zone, k and tier."""

    xy: np.ndarray
    zone: np.ndarray
    k: np.ndarray
    tier: np.ndarray
    zone_names: list[str]
    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    GRID, BOUNDARY, VERTEX, ADDED = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.xy)


@dataclass
class CoverageMatrix:
    """Sparse pose x witness incidence (CSR): witnesses seen by pose i are indices[indptr[i]:indptr[i+1]]."""

    indptr: np.ndarray
    indices: np.ndarray
    n_poses: int
    n_witnesses: int

    def row(self, i: int) -> np.ndarray:
        """Witness indices seen by pose i (sorted)."""
        return self.indices[self.indptr[i]:self.indptr[i + 1]]

    def columns(self) -> list[np.ndarray]:
        """One array of pose indices per witness (the transpose)."""
        counts = np.diff(self.indptr)
        pose_of = np.repeat(np.arange(self.n_poses), counts)
        order = np.argsort(self.indices, kind="stable")
        bounds = np.searchsorted(self.indices[order], np.arange(self.n_witnesses + 1))
        cols = pose_of[order]
        return [cols[bounds[j]:bounds[j + 1]] for j in range(self.n_witnesses)]

    @property
    def nnz(self) -> int:
        """Number of (pose, witness) pairs."""
        return len(self.indices)


@dataclass
class ZoneCoverage:
    """Exact coverage of one required zone by a set of poses."""

    name: str
    k: int
    tier: str
    area_m2: float
    covered_m2: float
    uncovered_m2: float
    uncovered: BaseGeometry


class Engine:
    """Per-floor geometry engine: occluders, zone regions, visibility per mount point, views per pose and tier."""

    def __init__(self, floor: Floor, ppm: dict[str, float] | None = None) -> None:
        self.floor = floor
        self.ppm = dict(DEFAULT_PPM if ppm is None else ppm)
        try:
            self.occ = Occluders.from_floor(floor)
        except shapely.errors.GEOSException as exc:  # robustness failure on valid-looking input
            raise InputError(f"walls and openings could not be noded: {exc}", where=f"floor {floor.name!r}")
        self._vis: dict[tuple[float, float], tuple[float, Polygon]] = {}
        self._radius: dict[tuple[float, float], float] = {}
        self._near_wall: dict[tuple[float, float], bool] = {}
        self._mounts: dict[tuple[float, float, float], tuple[float, float] | None] = {}
        self._views: dict[tuple[CameraPose, str], BaseGeometry] = {}
        self._regions: dict[str, BaseGeometry] = {}
        self._private_seen: dict[tuple[float, float], tuple[float, list[tuple[str, BaseGeometry]]]] = {}
        self._private_tree: shapely.STRtree | None = None
        self._private = floor.zones_of("private")
        self._inside: dict[tuple[float, float], list[str]] = {}

    # ----------------------------------------------------------------- mounts and visibility
    def mount_point(self, pose: CameraPose) -> tuple[float, float] | None:
        """The point sight is computed from (planner.visibility's epsilon policy), or None; cached."""
        xy = (pose.x, pose.y)
        near = self._near_wall.get(xy)
        if near is None:
            near = bool(len(self.occ.near(pose.x, pose.y, 4 * EPS_ON)))
            self._near_wall[xy] = near
            if not near:
                self._mounts[(pose.x, pose.y, math.nan)] = xy if self.occ.in_free_space(*xy) else None
        if not near:
            return self._mounts[(pose.x, pose.y, math.nan)]
        # On a wall the side the camera faces decides where sight starts: resolve per heading.
        key = (pose.x, pose.y, pose.heading_deg)
        if key not in self._mounts:
            self._mounts[key] = resolve_mount(self.occ, pose.x, pose.y, pose.heading_deg)
        return self._mounts[key]

    def reserve(self, poses: Iterable[CameraPose]) -> None:
        """Remember the largest range needed at each mount, so one visibility polygon serves all its poses."""
        for p in poses:
            q = self.mount_point(p)
            if q is not None:
                self._radius[q] = max(self._radius.get(q, 0.0), p.max_range(self.ppm))

    def visibility(self, q: tuple[float, float], radius: float) -> tuple[float, Polygon]:
        """(radius used, 360-degree visibility polygon from the mount point q out to at least ``radius``)."""
        hit = self._vis.get(q)
        if hit is None or hit[0] < radius - 1e-12:
            r = max(radius, self._radius.get(q, 0.0), hit[0] if hit else 0.0)
            poly = visibility_polygon(self.occ, q[0], q[1], r)
            shapely.prepare(poly)
            hit = (r, poly)
            self._vis[q] = hit
        return hit

    def pose_visibility(self, pose: CameraPose) -> Polygon:
        """The 360-degree visibility polygon at the pose's mount, out to (at least) its longest range."""
        q = self.mount_point(pose)
        if q is None:
            return EMPTY
        return self.visibility(q, pose.max_range(self.ppm))[1]

    # ----------------------------------------------------------------- views
    def view(self, pose: CameraPose, tier: str | None = None, blind_zone: bool = False) -> BaseGeometry:
        """What the pose sees at a tier: visibility x FOV sector x range (minus the blind zone); cached."""
        if blind_zone:
            return self._make_view(pose, tier, True)
        key = (pose, tier or "detect")
        v = self._views.get(key)
        if v is None:
            v = self._make_view(pose, tier, False)
            shapely.prepare(v)
            self._views[key] = v
        return v

    def _make_view(self, pose: CameraPose, tier: str | None, blind_zone: bool) -> BaseGeometry:
        q = self.mount_point(pose)
        if q is None:
            return EMPTY
        radius = pose.range_for(tier, self.ppm)
        vis_r, vis = self.visibility(q, pose.max_range(self.ppm))
        if vis.is_empty:
            return EMPTY
        if pose.hfov_deg >= 360.0:
            view = vis if radius >= vis_r else robust_overlay("intersection", vis, disk_polygon(*q, radius))
        else:
            sector = sector_polygon(q[0], q[1], pose.heading_deg, pose.hfov_deg, radius)
            view = robust_overlay("intersection", vis, sector)
        view = polygonal(view)
        if blind_zone:
            rb = pose.blind_radius()
            if rb > 0:
                view = polygonal(robust_overlay("difference", view, disk_polygon(*q, min(rb, radius * 2))))
        return view

    def view_polygon(self, pose: CameraPose, tier: str | None = None, blind_zone: bool = False) -> BaseGeometry:
        """Alias of ``view`` (the name the overlays and plan comparison use)."""
        return self.view(pose, tier, blind_zone)

    def sees(self, pose: CameraPose, tier: str, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Which points lie in view(pose, tier), without building the view polygon (the one sector test)."""
        q = self.mount_point(pose)
        if q is None or not len(xs):
            return np.zeros(len(xs), dtype=bool)
        vis = self.pose_visibility(pose)
        if vis.is_empty:
            return np.zeros(len(xs), dtype=bool)
        return shapely.contains_xy(vis, xs, ys) & in_sector(q[0], q[1], pose.heading_deg, pose.hfov_deg,
                                                           pose.range_for(tier, self.ppm), xs, ys)

    def incidence(self, poses: Sequence[CameraPose], xy: np.ndarray, tiers: np.ndarray) -> CoverageMatrix:
        """Which points each pose sees at the point's tier (index into TIERS); one visibility test per mount."""
        return ViewIndex(self, poses).incidence(xy, tiers)

    # ----------------------------------------------------------------- zones
    def region(self, zone: Zone) -> BaseGeometry:
        """The part of a zone inside the free space (where coverage is measured)."""
        r = self._regions.get(zone.name)
        if r is None:
            r = polygonal(zone.geometry.intersection(self.occ.free))
            self._regions[zone.name] = r
        return r

    def zone_coverage(self, poses: Sequence[CameraPose], k_override: int | None = None) -> dict[str, ZoneCoverage]:
        """Exact area coverage of every required zone by the poses, at each zone's tier and k."""
        out: dict[str, ZoneCoverage] = {}
        for zone in self.floor.zones_of("required"):
            region = self.region(zone)
            k = k_override or zone.k
            left = uncovered(region, [self.view(p, zone.tier) for p in poses], k)
            area, unc = region.area, left.area
            out[zone.name] = ZoneCoverage(zone.name, k, zone.tier, area, max(0.0, area - unc), unc, left)
        return out

    def uncovered_pieces(self, poses: Sequence[CameraPose]) -> dict[str, BaseGeometry]:
        """Per required zone, the exact area covered by fewer than k of the poses."""
        return {name: zc.uncovered for name, zc in self.zone_coverage(poses).items()}

    def unique_contribution(self, poses: Sequence[CameraPose], zone: Zone) -> list[float]:
        """Per pose, the m² of the zone (at its tier) that no other pose sees."""
        region = self.region(zone)
        views = [self.view(p, zone.tier) for p in poses]
        near = {id(v) for v in _touching(region, views)}
        clipped = [polygonal(robust_overlay("intersection", v, region)) if id(v) in near else EMPTY for v in views]
        levels = coverage_levels(region, clipped, 2)
        once = polygonal(robust_overlay("difference", levels[1], levels[2]))
        shapely.prepare(once)
        return [0.0 if v.is_empty or once.is_empty else robust_overlay("intersection", v, once).area for v in clipped]

    # ----------------------------------------------------------------- privacy
    def inside_private(self, x: float, y: float) -> list[str]:
        """Names of private zones whose interior holds (x, y), farther than INSIDE_TOL_M from their boundary."""
        # Every pose of a mount asks the same question: cached per point.
        hit = self._inside.get((x, y))
        if hit is None:
            hit = []
            # Only the zones whose boxes hold the point (a mall has hundreds of private zones), in zone order.
            for i in sorted(int(i) for i in self._private_index().query(shapely.Point(x, y))):
                g = self._private[i].geometry
                if shapely.contains_xy(g, x, y) and g.boundary.distance(shapely.Point(x, y)) > INSIDE_TOL_M:
                    hit.append(self._private[i].name)
            self._inside[(x, y)] = hit
        return list(hit)

    def private_overlap(self, pose: CameraPose) -> dict[str, BaseGeometry]:
        """Per private zone, the part of the pose's view (range_m or detect range) inside it."""
        view = self.view(pose)
        private = self.floor.zones_of("private")
        out: dict[str, BaseGeometry] = {}
        touching = {id(g) for g in _touching(view, [z.geometry for z in private])}
        for zone in private:
            g = zone.geometry
            hit = id(g) in touching and view.intersects(g)
            out[zone.name] = polygonal(robust_overlay("intersection", view, g)) if hit else EMPTY
        return out

    def worst_intrusion(self, pose: CameraPose) -> tuple[float, str | None]:
        """(m², zone) of the private zone the pose's detect-tier view overlaps most; (0, None) if none."""
        private = self._private
        q = self.mount_point(pose)
        if not private or q is None:
            return 0.0, None
        vis_r, _vis = self.visibility(q, pose.max_range(self.ppm))
        seen = self.private_seen(q)
        if not seen:
            return 0.0, None
        if pose.range_for("detect", self.ppm) >= vis_r - 1e-9:
            # The visibility polygon is already cut to the detect range: only the heading's wedge is left.
            clip = wedge_polygon(q[0], q[1], pose.heading_deg, pose.hfov_deg, 3.0 * vis_r)
        else:
            clip = self.view(pose, "detect")
        worst, name = 0.0, None
        for zname, g in seen:
            a = robust_overlay("intersection", g, clip).area if clip is not None else g.area
            if a > worst:
                worst, name = a, zname
        return worst, name

    def _private_index(self) -> shapely.STRtree:
        """The private zones' tree (built on first use)."""
        if self._private_tree is None:
            self._private_tree = shapely.STRtree([z.geometry for z in self._private])
        return self._private_tree

    def private_seen(self, q: tuple[float, float]) -> list[tuple[str, BaseGeometry]]:
        """(zone name, part) of every private zone the mount point's 360-degree visibility polygon sees; cached."""
        private = self._private
        vis_r, vis = self.visibility(q, 0.0)
        # Only what the mount's whole visibility polygon sees of private zones can be seen by a pose.
        cached = self._private_seen.get(q)
        if cached is None or cached[0] != vis_r:
            hits = [] if vis.is_empty else self._private_index().query(vis, predicate="intersects")
            parts = [(private[i].name, polygonal(robust_overlay("intersection", vis, private[i].geometry)))
                     for i in sorted(hits)]
            cached = (vis_r, [(n, g) for n, g in parts if not g.is_empty])
            self._private_seen[q] = cached
        return cached[1]

    def mount_cache(self, q: tuple[float, float]) -> tuple:
        """The mount point's cached geometry (visibility polygon and private parts) as WKB, for another process."""
        r, vis = self._vis[q]
        seen = self._private_seen.get(q)
        private = None if seen is None else (seen[0], [(n, shapely.to_wkb(g)) for n, g in seen[1]])
        return q, r, shapely.to_wkb(vis), private

    def load_mount_cache(self, entry: tuple) -> None:
        """Adopt a mount point's geometry computed by another process (the inverse of ``mount_cache``)."""
        q, r, vis_wkb, private = entry
        vis = shapely.from_wkb(vis_wkb)
        shapely.prepare(vis)
        self._vis[q] = (r, vis)
        if private is not None:
            self._private_seen[q] = (private[0], [(n, shapely.from_wkb(g)) for n, g in private[1]])

    def privacy_reason(self, pose: CameraPose, tolerance: float = PRIVACY_TOLERANCE_M2) -> str:
        """Why a plan may not use the pose ("" if it may): mounted inside a private zone, or seeing into one."""
        inside = self.inside_private(pose.x, pose.y)
        if inside:
            return f"mounted inside private zone {inside[0]!r}"
        area, name = self.worst_intrusion(pose)
        return f"sees {area:.2f} m² of private zone {name!r}" if area > tolerance else ""

    def forbidden(self, poses: Sequence[CameraPose], tolerance: float = PRIVACY_TOLERANCE_M2) -> np.ndarray:
        """Per pose, True if it is mounted inside a private zone or its view overlaps one by > tolerance."""
        return np.array([bool(self.privacy_reason(p, tolerance)) for p in poses], dtype=bool)

    # ----------------------------------------------------------------- witnesses / matrix
    def witnesses(self, spacing: float = 1.0, inset: float = 0.001) -> Witnesses:
        """Witness points of every required zone (grid, boundary and vertex points, inset into the zone)."""
        if not spacing > 0:
            raise InputError(f"witness spacing must be positive, got {spacing}")
        xy, zone_idx, ks, tiers, kinds = [], [], [], [], []
        required = self.floor.zones_of("required")
        for zi, zone in enumerate(required):
            pts, kind = zone_samples(self.region(zone), spacing, inset)
            xy.append(pts)
            kinds.append(kind)
            zone_idx.append(np.full(len(pts), zi))
            ks.append(np.full(len(pts), zone.k))
            tiers.append(np.full(len(pts), TIERS.index(zone.tier)))
        if not xy:
            return Witnesses(np.zeros((0, 2)), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), [],
                             np.zeros(0, np.int8))
        return Witnesses(np.vstack(xy), np.concatenate(zone_idx), np.concatenate(ks), np.concatenate(tiers),
                         [z.name for z in required], np.concatenate(kinds).astype(np.int8))

    def coverage_matrix(self, poses: Sequence[CameraPose], wits: Witnesses) -> CoverageMatrix:
        """Which witnesses each pose sees at the witness's tier."""
        return self.incidence(poses, wits.xy, wits.tier)

    def report(self, tolerance: float = PRIVACY_TOLERANCE_M2) -> dict:
        """The `python -m planner coverage` JSON object for the floor's installed terminals."""
        terminals: dict[str, dict] = {}
        for t in self.floor.terminals:
            pose = CameraPose.from_terminal(t)
            view = self.view(pose)
            overlaps = {name: _r(g.area) for name, g in self.private_overlap(pose).items()}
            inside = self.inside_private(t.x, t.y)
            terminals[t.id] = {
                "type": t.type,
                "view_m2": _r(view.area),
                "inside_private": bool(inside),
                "private_zones_inside": inside,
                "private_overlap_m2": overlaps,
                "forbidden": bool(inside) or any(v > tolerance for v in overlaps.values()),
            }
        zones = {}
        for name, zc in self.zone_coverage(terminal_poses(self.floor)).items():
            zones[name] = {"k": zc.k, "tier": zc.tier, "area_m2": _r(zc.area_m2), "covered_m2": _r(zc.covered_m2),
                           "uncovered_m2": _r(zc.uncovered_m2)}
        return {
            "floor": self.floor.name,
            "terminals": terminals,
            "zones": zones,
            "uncovered_m2_total": _r(sum(z["uncovered_m2"] for z in zones.values())),
            "privacy_overlap_m2_total": _r(sum(sum(t["private_overlap_m2"].values()) for t in terminals.values())),
            "privacy_tolerance_m2": tolerance,
        }


class ViewIndex:
    """A fixed list of poses grouped by mount point, for repeated witness-matrix queries (refinement rounds)."""

    def __init__(self, engine: Engine, poses: Sequence[CameraPose]) -> None:
        self.engine = engine
        self.poses = list(poses)
        engine.reserve(self.poses)
        groups: dict[tuple[float, float], list[int]] = {}
        for i, p in enumerate(self.poses):
            q = engine.mount_point(p)
            if q is not None:
                groups.setdefault(q, []).append(i)
        self.mounts = list(groups)
        self.members = [np.array(groups[q], dtype=np.int64) for q in self.mounts]
        self.qxy = np.array(self.mounts, dtype=float).reshape(-1, 2)
        self.radius = np.array([engine.visibility(q, 0.0)[0] for q in self.mounts])
        self.tree = shapely.STRtree(shapely.points(self.qxy))
        # Range of every pose at every tier, and the pose parameters the sector test needs.
        # (Re-aims of one camera share their ranges: computed once per lens and sensor.)
        lens: dict[tuple, list[float]] = {}
        self.ranges = np.array([lens.setdefault((p.hfov_deg, p.hpx, p.range_m),
                                                [p.range_for(t, engine.ppm) for t in TIERS]) for p in self.poses],
                               dtype=float).reshape(-1, len(TIERS))
        self.heading = np.array([p.heading_deg for p in self.poses])
        self.hfov = np.array([p.hfov_deg for p in self.poses])
        self._wedges: dict[int, np.ndarray] = {}
        self._sight: np.ndarray | None = None

    def sight(self) -> np.ndarray:
        """Every mount's 360-degree visibility polygon (out to its poses' longest range), in mount order."""
        if self._sight is None:
            self._sight = np.array([self.engine.visibility(q, 0.0)[1] for q in self.mounts] or [], dtype=object)
        return self._sight

    def wedges(self, tier: int) -> np.ndarray:
        """Every pose's field-of-view wedge out to three times its range at a tier (index into TIERS), as
        ``planner.geometry.wedge_polygon`` draws it; None for a 360-degree pose.  Built once per tier."""
        out = self._wedges.get(tier)
        if out is None:
            xy = np.array([self.engine.mount_point(p) or (math.nan, math.nan) for p in self.poses],
                          dtype=float).reshape(-1, 2)
            out = wedge_polygons(xy, self.heading, self.hfov, 3.0 * self.ranges[:, tier])
            self._wedges[tier] = out
        return out

    def incidence(self, xy: np.ndarray, tiers: np.ndarray) -> CoverageMatrix:
        """Which points each pose sees at the point's tier (index into TIERS)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        tiers = np.broadcast_to(np.asarray(tiers, dtype=np.int64), (len(xy),))
        n, m = len(self.poses), len(xy)
        if n == 0 or m == 0 or not self.mounts:
            return _csr_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), n, m)
        if m < 4 * len(self.mounts):
            # Few points (a refinement round): all (point, mount) pairs at once from the mounts' tree, by boxes
            # (each mount's exact range is tested below; GEOS distance tests per pair cost more than they save).
            r = float(self.radius.max())
            pair = self.tree.query(shapely.box(xy[:, 0] - r, xy[:, 1] - r, xy[:, 0] + r, xy[:, 1] + r))
            pi, gi = pair[0], pair[1]
            order = np.argsort(gi, kind="stable")
            pi, gi = pi[order], gi[order]
            bounds = np.searchsorted(gi, np.arange(len(self.mounts) + 1))
            near = [pi[bounds[g]:bounds[g + 1]] for g in range(len(self.mounts))]
        else:
            # Many points: per mount, the points in its range box from the points' tree.
            tree = shapely.STRtree(shapely.points(xy))
            r = self.radius
            boxes = shapely.box(self.qxy[:, 0] - r, self.qxy[:, 1] - r, self.qxy[:, 0] + r, self.qxy[:, 1] + r)
            gi, pi = tree.query(boxes)
            order = np.argsort(gi, kind="stable")
            pi, gi = pi[order], gi[order]
            bounds = np.searchsorted(gi, np.arange(len(self.mounts) + 1))
            near = [np.sort(pi[bounds[g]:bounds[g + 1]]) for g in range(len(self.mounts))]
        out_pose: list[np.ndarray] = []
        out_pt: list[np.ndarray] = []
        for g, cand in enumerate(near):
            if not len(cand):
                continue
            q = self.mounts[g]
            vis = self.engine._vis[q][1]
            if vis.is_empty:
                continue
            d = np.hypot(xy[cand, 0] - q[0], xy[cand, 1] - q[1])
            cand = cand[d <= self.radius[g]]
            cand = cand[shapely.contains_xy(vis, xy[cand, 0], xy[cand, 1])]
            if not len(cand):
                continue
            cx, cy, ct = xy[cand, 0], xy[cand, 1], tiers[cand]
            # Every (pose, point) pair of the mount within the pose's angle (a re-aimed mount has 24 poses, each
            # seeing about a quarter), then the exact sector test of all those pairs in one call.
            members = self.members[g]
            theta = np.arctan2(cy - q[1], cx - q[0])
            pose_at, point_at = np.nonzero(_within_angle(theta, self.heading[members], self.hfov[members]))
            if not len(pose_at):
                continue
            pose_of = members[pose_at]
            ok = in_sector(q[0], q[1], self.heading[pose_of], self.hfov[pose_of], self.ranges[pose_of, ct[point_at]],
                           cx[point_at], cy[point_at])
            out_pose.append(pose_of[ok])
            out_pt.append(cand[point_at[ok]])
        if not out_pose:
            return _csr_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), n, m)
        return _csr_pairs(np.concatenate(out_pose), np.concatenate(out_pt), n, m)


def _within_angle(theta: np.ndarray, heading_deg: np.ndarray, hfov_deg: np.ndarray) -> np.ndarray:
    """(poses, points): whether each bearing is within each pose's field of view, with a margin (a superset)."""
    half = np.radians(hfov_deg)[:, None] / 2 + 1e-6
    off = np.abs(np.mod(theta[None, :] - np.radians(heading_deg)[:, None] + math.pi, 2 * math.pi) - math.pi)
    return (off <= half) | (hfov_deg >= 360.0)[:, None]


def _csr_pairs(pose: np.ndarray, point: np.ndarray, n: int, m: int) -> CoverageMatrix:
    """CSR matrix from (pose, point) pairs, rows sorted."""
    order = np.lexsort((point, pose))
    indptr = np.r_[0, np.cumsum(np.bincount(pose, minlength=n))].astype(np.int64)
    return CoverageMatrix(indptr, point[order].astype(np.int64), n, m)


def _r(v: float) -> float:
    """Round a measured area for output (micro-m2; float noise below that is not information)."""
    v = round(float(v), 6)
    return 0.0 if v == 0 else v


def _touching(region: BaseGeometry, views: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """The non-empty views whose bounding boxes meet the region's, in input order."""
    if region.is_empty:
        return []
    minx, miny, maxx, maxy = region.bounds
    out = []
    for v in views:
        if v.is_empty:
            continue
        a, b, c, d = v.bounds
        if a <= maxx and c >= minx and b <= maxy and d >= miny:
            out.append(v)
    return out


def _levels_incremental(region: BaseGeometry, views: Sequence[BaseGeometry], kmax: int) -> list[BaseGeometry]:
    levels: list[BaseGeometry] = [region] + [EMPTY] * kmax
    for v in views:
        v = polygonal(robust_overlay("intersection", v, region))  # overlays reject mixed-dimension input
        if v.is_empty:
            continue
        for j in range(kmax, 0, -1):
            add = v if j == 1 else polygonal(robust_overlay("intersection", levels[j - 1], v))
            if not add.is_empty:
                levels[j] = polygonal(robust_overlay("union", levels[j], add)) if not levels[j].is_empty else add
    return levels


def coverage_levels(region: BaseGeometry, views: Sequence[BaseGeometry], kmax: int) -> list[BaseGeometry]:
    """levels[j] = part of ``region`` seen by at least j of the views, for j = 0..kmax.

    Incremental (levels[j] |= levels[j-1] & view) inside axis-aligned tiles holding a handful of views
    each, then the tiles' pieces are unioned: overlays stay small however large the floor.
    """
    views = _touching(region, views)
    if len(views) <= 16:
        return _levels_incremental(region, views, kmax)
    minx, miny, maxx, maxy = region.bounds
    tiles = max(1, len(views) // 4)
    w, h = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
    nx = max(1, round(math.sqrt(tiles * w / h)))
    ny = max(1, math.ceil(tiles / nx))
    xs, ys = np.linspace(minx, maxx, nx + 1), np.linspace(miny, maxy, ny + 1)
    tree = shapely.STRtree(views)
    pieces: list[list[BaseGeometry]] = [[] for _ in range(kmax + 1)]
    for i in range(nx):
        for j in range(ny):
            tile = shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
            sub = polygonal(region.intersection(tile))
            if sub.is_empty:
                continue
            ids = np.sort(tree.query(tile, predicate="intersects"))
            for lvl, g in enumerate(_levels_incremental(sub, [views[t] for t in ids], kmax)):
                if not g.is_empty:
                    pieces[lvl].append(g)
    return [region] + [polygonal(shapely.union_all(p)) if p else EMPTY for p in pieces[1:]]


def clip_views(region: BaseGeometry, views: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """Each view's polygonal part inside ``region`` (maybe empty), in input order: one vectorised overlay.

    Unions of the clipped parts are far cheaper than unions of whole views (a view reaches tens of metres; the
    region is often a sliver), and ``region`` minus their union is ``region`` minus the views' union.
    """
    if not views:
        return []
    try:
        clipped = shapely.intersection(np.asarray(list(views), dtype=object), region)
    except shapely.errors.GEOSException:
        clipped = [robust_overlay("intersection", v, region) for v in views]
    return [polygonal(c) for c in clipped]


def k_covered(region: BaseGeometry, views: Sequence[BaseGeometry], k: int) -> BaseGeometry:
    """The part of ``region`` seen by at least ``k`` of the views (exact polygon overlay, no sample points)."""
    if region.is_empty or k <= 0:
        return region if k <= 0 else EMPTY
    if k == 1:
        clipped = [c for c in clip_views(region, _touching(region, views)) if not c.is_empty]
        return polygonal(shapely.union_all(clipped)) if clipped else EMPTY
    return coverage_levels(region, views, k)[k]


def uncovered(region: BaseGeometry, views: Sequence[BaseGeometry], k: int,
              min_width: float = MIN_GAP_WIDTH_M) -> BaseGeometry:
    """The part of ``region`` seen by fewer than ``k`` of the views (parts narrower than ``min_width`` dropped)."""
    if region.is_empty:
        return EMPTY
    covered = k_covered(region, views, k)
    left = region if covered.is_empty else polygonal(robust_overlay("difference", region, covered))
    return drop_slivers(left, min_width)


def drop_slivers(geom: BaseGeometry, min_width: float = MIN_GAP_WIDTH_M) -> BaseGeometry:
    """Keep only the parts of ``geom`` with some point farther than min_width/2 from their boundary."""
    if geom.is_empty or min_width <= 0:
        return geom
    keep = [p for p in polygon_parts(geom) if not p.buffer(-min_width / 2).is_empty]
    if not keep:
        return EMPTY
    return keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)


def zone_samples(region: BaseGeometry, spacing: float, inset: float = 0.001) -> tuple[np.ndarray, np.ndarray]:
    """The witness sampler: grid, boundary and vertex points of a region, all at least ``inset`` inside it."""
    if region.is_empty:
        return np.zeros((0, 2)), np.zeros(0, np.int8)
    inner = polygonal(region.buffer(-inset, join_style="mitre"))
    if inner.is_empty:
        p = region.representative_point()
        return np.array([[p.x, p.y]]), np.array([Witnesses.VERTEX], np.int8)
    minx, miny, maxx, maxy = inner.bounds
    xs = np.arange(math.floor(minx / spacing), math.ceil(maxx / spacing) + 1) * spacing + spacing / 2
    ys = np.arange(math.floor(miny / spacing), math.ceil(maxy / spacing) + 1) * spacing + spacing / 2
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    ins = shapely.contains_xy(inner, gx, gy)
    grid = np.column_stack([gx[ins], gy[ins]])
    verts, bnd = [], []
    for ring in shapely.get_rings(shapely.get_parts(inner)):
        c = shapely.get_coordinates(ring)
        verts.append(c[:-1])
        # Points along each edge, at most `spacing` apart, excluding the edge's end points.
        a, b = c[:-1], c[1:]
        n = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / spacing).astype(int))
        edge = np.repeat(np.arange(len(a)), n - 1)
        frac = np.concatenate([np.arange(1, m) / m for m in n]) if len(n) else np.zeros(0)
        bnd.append(a[edge] + frac[:, None] * (b - a)[edge])
    vert = np.vstack(verts)
    bnd_pts = np.vstack(bnd)
    pts = np.vstack([vert, bnd_pts, grid])
    kind = np.r_[np.full(len(vert), Witnesses.VERTEX), np.full(len(bnd_pts), Witnesses.BOUNDARY),
                 np.full(len(grid), Witnesses.GRID)].astype(np.int8)
    _, first = np.unique(pts, axis=0, return_index=True)
    first.sort()
    return pts[first], kind[first]


# ----------------------------------------------------------------------------- module-level API

_ENGINES: dict[int, Engine] = {}


def engine_for(floor: Floor | Engine) -> Engine:
    """The cached Engine of a floor object (created on first use, dropped with the floor)."""
    if isinstance(floor, Engine):
        return floor
    key = id(floor)
    eng = _ENGINES.get(key)
    if eng is None or eng.floor is not floor:
        eng = Engine(floor)
        _ENGINES[key] = eng
        weakref.finalize(floor, _ENGINES.pop, key, None)
    return eng


def terminal_poses(floor: Floor, covering_only: bool = True) -> list[CameraPose]:
    """Poses of the floor's installed terminals (cameras and face terminals only by default)."""
    return [CameraPose.from_terminal(t) for t in floor.terminals if not covering_only or t.type in COVERING_TYPES]
