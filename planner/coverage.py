"""Coverage engine: camera views, zone coverage by area, privacy intrusions, witnesses and the matrix.

Public API (stable; see docs/coverage.md):

- ``DEFAULT_PPM``: pixel density per detail tier (IEC/EN 62676-4): detect 25, observe 62.5,
  recognise 125, identify 250 px/m.  Every function takes ``ppm=`` to override.
- ``tier_range(hfov_deg, hpx, tier, ppm=None) -> float``: ``hpx / (2 tan(hfov/2) ppm_t)``; for
  hfov >= 180 (fisheye) the equidistant model ``hpx / (hfov_rad ppm_t)``.
- ``CameraPose``: one candidate or installed pose (mount id, x, y, heading, hfov, hpx/range, flags);
  ``CameraPose.from_terminal(t)``, ``pose.with_heading(h)``, ``pose.range_for(tier, ppm)``.
- ``Engine(floor, ppm=None)``, or ``engine_for(floor)`` (cached per floor object): holds the occluders
  and one 360-degree visibility polygon per mount point, reused across headings and tiers.
- ``view_polygon(floor, pose, tier=None, blind_zone=False) -> Polygon``: what the pose sees at a tier
  (``tier=None``: to its range_m, or without one to its detect range).
- ``witnesses(floor, spacing=1.0, inset=0.001) -> Witnesses``: sample points of every required zone.
- ``coverage_matrix(floor, poses, wits) -> CoverageMatrix``: sparse pose x witness incidence at the
  tier each witness needs (CSR ``indptr``/``indices``; ``.rows()``, ``.columns()``).
- ``uncovered_pieces(floor, poses) -> dict[zone name, Polygon | MultiPolygon]``: the exact (area)
  part of each required zone covered by fewer than ``k`` of the poses at the zone's tier.
- ``zone_coverage(floor, poses) -> dict[zone name, ZoneCoverage]``: area, covered, uncovered, pieces.
- ``unique_contribution(floor, poses) -> list[float]``: m2 of required zones each pose alone covers.
- ``private_overlap(floor, pose, tier=None) -> dict[zone name, Polygon]``: the intruding polygons.
- ``inside_private(floor, x, y) -> list[str]``: private zones whose interior holds the point.
- ``forbidden_poses(floor, poses, tolerance=0.01) -> np.ndarray[bool]``: poses inside a private zone
  or whose view (range_m, else detect range) overlaps one by more than the tolerance.
- ``coverage_report(floor, tolerance=0.01) -> dict``: the ``python -m planner coverage`` JSON.

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
from planner.floor import TIERS, Floor, Terminal, Zone
from planner.geometry import EMPTY, angle_diff_deg, disk_polygon, polygonal, robust_overlay, sector_polygon
from planner.visibility import Occluders, resolve_mount, visibility_polygon

DEFAULT_PPM: dict[str, float] = {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}
COVERING_TYPES = ("camera", "face_terminal")
PRIVACY_TOLERANCE_M2 = 0.01
# Default vertical field of view for the blind-zone model when a camera gives none (16:9 sensor).
ASPECT = 9.0 / 16.0


def tier_range(hfov_deg: float, hpx: float, tier: str, ppm: dict[str, float] | None = None) -> float:
    """Range in metres at which a camera still resolves ``tier``'s pixel density."""
    density = (ppm or DEFAULT_PPM)[tier]
    if hfov_deg < 180.0:
        return hpx / (2.0 * math.tan(math.radians(hfov_deg) / 2.0) * density)
    # tan(hfov/2) <= 0 past 180 degrees: use the equidistant (fisheye) projection instead.
    return hpx / (math.radians(hfov_deg) * density)


@dataclass(frozen=True)
class CameraPose:
    """A camera pose: installed (from a terminal) or a candidate for the optimizer."""

    mount: str
    x: float
    y: float
    heading_deg: float
    hfov_deg: float
    hpx: int | None = None
    range_m: float | None = None
    face_recognition: bool = False
    height_m: float | None = None
    tilt_deg: float | None = None
    terminal_id: str | None = None

    def __post_init__(self) -> None:
        if self.range_m is None and self.hpx is None:
            raise InputError("a pose needs range_m or hpx", where=f"pose {self.mount!r}")
        if not 0.0 < self.hfov_deg <= 360.0:
            raise InputError(f"hfov_deg must be in (0, 360], got {self.hfov_deg}", where=f"pose {self.mount!r}")

    @classmethod
    def from_terminal(cls, t: Terminal) -> CameraPose:
        """The pose of an installed terminal (mount id = terminal id)."""
        return cls(t.id, t.x, t.y, t.heading_deg, t.hfov_deg, t.hpx, t.range_m, t.face_recognition,
                   t.height_m, t.tilt_deg, t.id)

    def with_heading(self, heading_deg: float) -> CameraPose:
        """The same camera turned to another heading (re-aim candidate)."""
        return replace(self, heading_deg=heading_deg % 360.0)

    def range_for(self, tier: str | None, ppm: dict[str, float] | None = None) -> float:
        """Range at a tier; explicit range_m wins; tier None means range_m or else the detect range."""
        if self.range_m is not None:
            return self.range_m
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

    def tier_name(self, i: int) -> str:
        """The tier name of witness i."""
        return TIERS[int(self.tier[i])]

    def extended(self, points: Iterable[tuple[float, float]], zone_name: str, floor: Floor | None = None) -> Witnesses:
        """A copy with extra witnesses in one required zone (refinement inside uncovered pieces).

        The zone's k and tier come from ``floor`` if given, else from the zone's existing witnesses.
        """
        pts = np.asarray(list(points), dtype=float).reshape(-1, 2)
        zi = self.zone_names.index(zone_name)
        if floor is not None:
            zone = next(z for z in floor.zones_of("required") if z.name == zone_name)
            k, tier = zone.k, TIERS.index(zone.tier)
        else:
            first = int(np.flatnonzero(self.zone == zi)[0])
            k, tier = int(self.k[first]), int(self.tier[first])
        n = len(pts)
        return Witnesses(
            np.vstack([self.xy, pts]), np.r_[self.zone, np.full(n, zi)], np.r_[self.k, np.full(n, k)],
            np.r_[self.tier, np.full(n, tier)], list(self.zone_names),
            np.r_[self.kind, np.full(n, self.ADDED, dtype=np.int8)],
        )


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

    def rows(self) -> list[np.ndarray]:
        """One array of witness indices per pose."""
        return [self.row(i) for i in range(self.n_poses)]

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
    """Per-floor coverage engine: occluders, zone regions and a visibility cache per mount point."""

    def __init__(self, floor: Floor, ppm: dict[str, float] | None = None) -> None:
        self.floor = floor
        self.ppm = dict(DEFAULT_PPM if ppm is None else ppm)
        try:
            self.occ = Occluders.from_floor(floor)
        except shapely.errors.GEOSException as exc:  # robustness failure on valid-looking input
            raise InputError(f"walls and openings could not be noded: {exc}", where=f"floor {floor.name!r}")
        self._vis: dict[tuple[float, float, float], Polygon] = {}
        self._regions: dict[str, BaseGeometry] = {}

    # ----------------------------------------------------------------- views
    def visibility_at(self, x: float, y: float, radius: float, heading_deg: float | None = None) -> Polygon:
        """360-degree visibility polygon from (x, y) out to ``radius``, cached per resolved mount point."""
        q = resolve_mount(self.occ, x, y, heading_deg)
        if q is None:
            return EMPTY
        return self._vis_from(q, radius)

    def _vis_from(self, q: tuple[float, float], radius: float) -> Polygon:
        key = (q[0], q[1], float(radius))
        poly = self._vis.get(key)
        if poly is None:
            poly = visibility_polygon(self.occ, q[0], q[1], radius)
            shapely.prepare(poly)
            self._vis[key] = poly
        return poly

    def view_polygon(self, pose: CameraPose, tier: str | None = None, blind_zone: bool = False) -> BaseGeometry:
        """What the pose sees at a tier: visibility x FOV sector x range (minus the blind zone)."""
        q = resolve_mount(self.occ, pose.x, pose.y, pose.heading_deg)
        if q is None:
            return EMPTY
        radius = pose.range_for(tier, self.ppm)
        rmax = pose.max_range(self.ppm)
        vis = self._vis_from(q, rmax)
        if vis.is_empty:
            return EMPTY
        if pose.hfov_deg >= 360.0:
            view = vis if radius >= rmax else robust_overlay("intersection", vis, disk_polygon(*q, radius))
        else:
            sector = sector_polygon(q[0], q[1], pose.heading_deg, pose.hfov_deg, radius)
            view = robust_overlay("intersection", vis, sector)
        view = polygonal(view)
        if blind_zone:
            rb = pose.blind_radius()
            if rb > 0:
                view = polygonal(robust_overlay("difference", view, disk_polygon(*q, min(rb, radius * 2))))
        return view

    # ----------------------------------------------------------------- zones
    def region(self, zone: Zone) -> BaseGeometry:
        """The part of a zone inside the free space (where coverage is measured)."""
        r = self._regions.get(zone.name)
        if r is None:
            r = polygonal(zone.geometry.intersection(self.occ.free))
            self._regions[zone.name] = r
        return r

    def zone_coverage(self, poses: Sequence[CameraPose]) -> dict[str, ZoneCoverage]:
        """Exact area coverage of every required zone by the poses, at each zone's tier and k."""
        out: dict[str, ZoneCoverage] = {}
        views: dict[str, list[BaseGeometry]] = {}
        for zone in self.floor.zones_of("required"):
            region = self.region(zone)
            if zone.tier not in views:
                views[zone.tier] = [self.view_polygon(p, zone.tier) for p in poses]
            covered = k_covered(region, views[zone.tier], zone.k)
            uncovered = polygonal(robust_overlay("difference", region, covered))
            area = region.area
            unc = uncovered.area
            out[zone.name] = ZoneCoverage(zone.name, zone.k, zone.tier, area, max(0.0, area - unc), unc, uncovered)
        return out

    def unique_contribution(self, poses: Sequence[CameraPose]) -> list[float]:
        """Per pose, the m2 of required zones (at their tiers) that no other pose sees."""
        contrib = [0.0] * len(poses)
        by_tier: dict[str, list[BaseGeometry]] = {}
        for zone in self.floor.zones_of("required"):
            region = self.region(zone)
            if zone.tier not in by_tier:
                by_tier[zone.tier] = [self.view_polygon(p, zone.tier) for p in poses]
            near = {id(v) for v in _touching(region, by_tier[zone.tier])}
            views = [polygonal(v.intersection(region)) if id(v) in near else EMPTY for v in by_tier[zone.tier]]
            levels = coverage_levels(region, views, 2)
            once = polygonal(levels[1].difference(levels[2]))
            for i, v in enumerate(views):
                if not v.is_empty:
                    contrib[i] += v.intersection(once).area
        return contrib

    def private_overlap(self, pose: CameraPose, tier: str | None = None) -> dict[str, BaseGeometry]:
        """Per private zone, the part of the pose's view (range_m or detect range) inside it."""
        view = self.view_polygon(pose, tier)
        out: dict[str, BaseGeometry] = {}
        # Bounding-box pre-filter (empty views touch nothing); zone geometries are cached per Zone.
        touching = {id(g) for g in _touching(view, [z.geometry for z in self.floor.zones_of("private")])}
        for zone in self.floor.zones_of("private"):
            g = zone.geometry
            hit = id(g) in touching and view.intersects(g)
            out[zone.name] = polygonal(robust_overlay("intersection", view, g)) if hit else EMPTY
        return out

    def forbidden(self, poses: Sequence[CameraPose], tolerance: float = PRIVACY_TOLERANCE_M2) -> np.ndarray:
        """Per pose, True if it is mounted inside a private zone or its view overlaps one by > tolerance."""
        private = self.floor.zones_of("private")
        out = np.zeros(len(poses), dtype=bool)
        if not private:
            return out
        geoms = [z.geometry for z in private]
        tree = shapely.STRtree(geoms)
        for i, pose in enumerate(poses):
            if any(shapely.contains_xy(g, pose.x, pose.y) for g in geoms):
                out[i] = True
                continue
            r = pose.range_for(None, self.ppm)
            near = tree.query(shapely.box(pose.x - r, pose.y - r, pose.x + r, pose.y + r))
            if not len(near):
                continue
            view = self.view_polygon(pose)
            out[i] = any(view.intersection(geoms[j]).area > tolerance for j in near)
        return out

    def inside_private(self, x: float, y: float) -> list[str]:
        """Names of private zones whose interior contains (x, y) (the boundary does not count)."""
        return [z.name for z in self.floor.zones_of("private") if shapely.contains_xy(z.geometry, x, y)]

    # ----------------------------------------------------------------- witnesses / matrix
    def witnesses(self, spacing: float = 1.0, inset: float = 0.001) -> Witnesses:
        """Grid points (``spacing`` apart, origin-aligned) plus boundary and vertex points, inset."""
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
        """Which witnesses each pose sees at the witness's tier (one visibility polygon per mount)."""
        n = len(poses)
        rows: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
        if n == 0 or len(wits) == 0:
            return _csr(rows, len(wits))
        wx, wy = wits.xy[:, 0], wits.xy[:, 1]
        tree = shapely.STRtree(shapely.points(wits.xy))
        tier_ids = np.unique(wits.tier)
        # Group poses by resolved mount point so each gets one visibility polygon.
        groups: dict[tuple[float, float], list[int]] = {}
        for i, p in enumerate(poses):
            q = resolve_mount(self.occ, p.x, p.y, p.heading_deg)
            if q is not None:
                groups.setdefault(q, []).append(i)
        for (qx, qy), members in groups.items():
            rng = {i: np.array([poses[i].range_for(TIERS[t], self.ppm) for t in range(len(TIERS))])
                   for i in members}
            radius = max(float(r[tier_ids].max()) for r in rng.values())
            # Cached: refinement rounds call this again with new witnesses and the same poses.
            vis = self._vis_from((qx, qy), radius)
            if vis.is_empty:
                continue
            cand = tree.query(shapely.box(qx - radius, qy - radius, qx + radius, qy + radius))
            if not len(cand):
                continue
            cand.sort()
            dx, dy = wx[cand] - qx, wy[cand] - qy
            dist = np.hypot(dx, dy)
            near = dist <= radius
            cand, dx, dy, dist = cand[near], dx[near], dy[near], dist[near]
            seen = shapely.intersects_xy(vis, wx[cand], wy[cand])
            cand, dx, dy, dist = cand[seen], dx[seen], dy[seen], dist[seen]
            if not len(cand):
                continue
            ang = np.degrees(np.arctan2(dy, dx))
            wt = wits.tier[cand]
            for i in members:
                p = poses[i]
                ok = dist <= rng[i][wt]
                if p.hfov_deg < 360.0:
                    ok &= np.abs(angle_diff_deg(ang, p.heading_deg)) <= p.hfov_deg / 2.0
                rows[i] = cand[ok]
        return _csr(rows, len(wits))

    def uncovered_pieces(self, poses: Sequence[CameraPose]) -> dict[str, BaseGeometry]:
        """Per required zone, the exact area covered by fewer than k of the poses."""
        return {name: zc.uncovered for name, zc in self.zone_coverage(poses).items()}

    def report(self, tolerance: float = PRIVACY_TOLERANCE_M2) -> dict:
        """The `python -m planner coverage` JSON object for the floor's installed terminals."""
        terminals: dict[str, dict] = {}
        for t in self.floor.terminals:
            pose = CameraPose.from_terminal(t)
            view = self.view_polygon(pose)
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
        poses = [CameraPose.from_terminal(t) for t in self.floor.terminals if t.type in COVERING_TYPES]
        zones = {}
        for name, zc in self.zone_coverage(poses).items():
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


def _r(v: float) -> float:
    """Round a measured area for output (micro-m2; float noise below that is not information)."""
    v = round(float(v), 6)
    return 0.0 if v == 0 else v


def _csr(rows: list[np.ndarray], n_witnesses: int) -> CoverageMatrix:
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    indices = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
    return CoverageMatrix(indptr, indices, len(rows), n_witnesses)


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


def k_covered(region: BaseGeometry, views: Sequence[BaseGeometry], k: int) -> BaseGeometry:
    """The part of ``region`` seen by at least ``k`` of the views."""
    if k == 1:
        clipped = [polygonal(v.intersection(region)) for v in _touching(region, views)]
        return polygonal(shapely.union_all(clipped)) if clipped else EMPTY
    return coverage_levels(region, views, k)[k]


def zone_samples(region: BaseGeometry, spacing: float, inset: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid, boundary and vertex sample points of a region, all at least ``inset`` inside it."""
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


def view_polygon(floor: Floor | Engine, pose: CameraPose, tier: str | None = None, blind_zone: bool = False) -> BaseGeometry:
    """What a pose sees at a tier (None: range_m or detect range)."""
    return engine_for(floor).view_polygon(pose, tier, blind_zone)


def witnesses(floor: Floor | Engine, spacing: float = 1.0, inset: float = 0.001) -> Witnesses:
    """Witness points of every required zone (grid + boundary + vertices, inset into the zone)."""
    return engine_for(floor).witnesses(spacing, inset)


def coverage_matrix(floor: Floor | Engine, poses: Sequence[CameraPose], wits: Witnesses) -> CoverageMatrix:
    """Sparse pose x witness incidence at each witness's tier."""
    return engine_for(floor).coverage_matrix(poses, wits)


def uncovered_pieces(floor: Floor | Engine, poses: Sequence[CameraPose]) -> dict[str, BaseGeometry]:
    """Per required zone, the exact area covered by fewer than k poses."""
    return engine_for(floor).uncovered_pieces(poses)


def zone_coverage(floor: Floor | Engine, poses: Sequence[CameraPose]) -> dict[str, ZoneCoverage]:
    """Per required zone: area, covered, uncovered m2 and the uncovered polygon."""
    return engine_for(floor).zone_coverage(poses)


def unique_contribution(floor: Floor | Engine, poses: Sequence[CameraPose]) -> list[float]:
    """Per pose, m2 of required zones only it covers."""
    return engine_for(floor).unique_contribution(poses)


def private_overlap(floor: Floor | Engine, pose: CameraPose, tier: str | None = None) -> dict[str, BaseGeometry]:
    """Per private zone, the polygon of the pose's view inside it (may be empty)."""
    return engine_for(floor).private_overlap(pose, tier)


def forbidden_poses(floor: Floor | Engine, poses: Sequence[CameraPose],
                    tolerance: float = PRIVACY_TOLERANCE_M2) -> np.ndarray:
    """Boolean mask of poses a plan may not use (inside a private zone, or seeing into one)."""
    return engine_for(floor).forbidden(poses, tolerance)


def inside_private(floor: Floor | Engine, x: float, y: float) -> list[str]:
    """Private zones whose interior holds the point."""
    return engine_for(floor).inside_private(x, y)


def coverage_report(floor: Floor | Engine, tolerance: float = PRIVACY_TOLERANCE_M2) -> dict:
    """The JSON object `python -m planner coverage` prints."""
    return engine_for(floor).report(tolerance)


def terminal_poses(floor: Floor, covering_only: bool = True) -> list[CameraPose]:
    """Poses of the floor's installed terminals (cameras and face terminals only by default)."""
    return [CameraPose.from_terminal(t) for t in floor.terminals if not covering_only or t.type in COVERING_TYPES]
