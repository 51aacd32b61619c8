"""Candidate camera poses for the optimizer, and what each pose sees at each detail tier.

Reduce mode: every installed camera at its pose, plus (with ``reaim_step``) the same mount turned in steps of
``reaim_step`` degrees and, when the terminal states a varifocal range (``hfov_min_deg`` / ``hfov_max_deg``
properties), the hfov values in that range in the same steps.  Design mode: mount points generated along
walls and the outline (every ``spacing`` metres, plus corners) × headings × camera models.

Views come from the coverage engine (planner.coverage: one visibility polygon per mount, clipped per pose and
tier): view(pose, tier) = visibility(mount) ∩ sector(heading, hfov, range_tier), with
range_tier = hpx / (2 tan(hfov/2) ppm_tier) unless the terminal gives an explicit ``range_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from planner.coverage import DEFAULT_PPM, CameraPose
from planner.coverage import Engine as CoverageEngine
from planner.coverage import tier_range as coverage_tier_range
from planner.floor import Floor, Terminal
from planner.visibility import Occluders

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
    """Caches the view polygon of every (candidate, tier) on one floor, computed by planner.coverage."""

    floor: Floor
    coverage: CoverageEngine
    ppm: dict[str, float] = field(default_factory=lambda: dict(TIER_PPM))
    _views: dict[tuple[int, str], BaseGeometry] = field(default_factory=dict)

    @classmethod
    def for_floor(cls, floor: Floor, ppm: dict[str, float] | None = None) -> ViewEngine:
        """A view engine over the floor's occluders (one coverage engine, one visibility polygon per mount)."""
        ppm = dict(ppm or TIER_PPM)
        return cls(floor, CoverageEngine(floor, ppm), ppm)

    @property
    def occ(self) -> Occluders:
        """The floor's sight blockers and free space."""
        return self.coverage.occ

    def plan_radii(self, candidates: list[Candidate]) -> None:
        """Kept for callers: the coverage engine sizes each mount's visibility polygon itself."""

    def view(self, c: Candidate, tier: str) -> BaseGeometry:
        """What the pose sees at the tier: visibility ∩ field-of-view sector ∩ tier range."""
        key = (c.index, tier)
        v = self._views.get(key)
        if v is None:
            v = self.coverage.view_polygon(c.as_pose(), tier)
            shapely.prepare(v)
            self._views[key] = v
        return v

    def terminal_view(self, t: Terminal, tier: str) -> BaseGeometry:
        """View of an installed terminal at its current pose (used by the verifier and explanations)."""
        return self.coverage.view_polygon(CameraPose.from_terminal(t), tier)


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


def design_mounts(floor: Floor, occ: Occluders, spacing: float, inset: float = 0.15) -> list[tuple[float, float]]:
    """Mount points along walls and the outline every `spacing` m, plus one inside every corner, in free space."""
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
        for v in coords[:-1] if len(coords) > 2 else coords:
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
                      models: tuple[CameraModel, ...], start_index: int) -> list[Candidate]:
    """New-install candidates: generated mounts × evenly spaced headings × camera models."""
    if headings < 1:
        raise ValueError("headings must be at least 1")
    out: list[Candidate] = []
    for m_idx, (x, y) in enumerate(design_mounts(floor, occ, spacing)):
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
