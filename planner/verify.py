"""Solver-free verifier: re-check a stored plan from the floor geometry alone.

It recomputes every final camera's view from the walls (planner.visibility), then checks by *area*:

- every required zone is covered by at least ``k`` final cameras at the zone's tier (the exact k-coverage
  region is built from the arrangement of the view boundaries; no sample points);
- no final camera is mounted inside a private zone or sees into one beyond the tolerance;
- locks are honoured (``locked: keep`` terminals are kept, ``locked: remove`` ones are not);
- kept / re-aimed poses are the installed mounts (a re-aim may only turn the camera at its mount).

It never calls a solver, so an inspector can trust it independently of the optimizer's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

from planner.candidates import TIER_PPM, Candidate, ViewEngine, candidate_from_terminal, inside
from planner.errors import InputError
from planner.floor import Floor
from planner.geometry import EMPTY, polygon_parts, polygonal

AREA_TOL_M2 = 1e-6  # uncovered area accepted as 0 (float round-off of the overlays)
# Uncovered parts narrower than this are round-off, not gaps: mounts on walls are pushed 1e-8 m into free space
# (planner.geometry's epsilon policy), which leaves 1e-8 m wide slivers along the wall behind the camera.
MIN_GAP_WIDTH_M = 1e-6
PRIVACY_TOL_M2 = 0.01


def k_covered(region: BaseGeometry, views: list[BaseGeometry], k: int) -> BaseGeometry:
    """The part of `region` seen by at least `k` of `views` (exact polygon overlay, no sample points)."""
    if region.is_empty or k <= 0:
        return region if k <= 0 else EMPTY
    relevant = [v for v in views if not v.is_empty and v.intersects(region)]
    if len(relevant) < k:
        return EMPTY
    if k == 1:
        return polygonal(region.intersection(shapely.union_all(relevant)))
    if len(relevant) == k:
        inter = region
        for v in relevant:
            inter = inter.intersection(v)
        return polygonal(inter)
    # Levels: level[i] = part seen by at least i+1 views, grown one view at a time (robust overlays only).
    level: list[BaseGeometry] = [EMPTY] * k
    for v in relevant:
        v = polygonal(v.intersection(region))
        if v.is_empty:
            continue
        for i in range(k - 1, -1, -1):
            add = v if i == 0 else (polygonal(level[i - 1].intersection(v)) if not level[i - 1].is_empty else EMPTY)
            if not add.is_empty:
                level[i] = polygonal(level[i].union(add)) if not level[i].is_empty else add
    return level[k - 1]


def uncovered(region: BaseGeometry, views: list[BaseGeometry], k: int,
              min_width: float = MIN_GAP_WIDTH_M) -> BaseGeometry:
    """The part of `region` seen by fewer than `k` of `views` (parts narrower than `min_width` dropped)."""
    if region.is_empty:
        return EMPTY
    if k == 1:
        relevant = [v for v in views if not v.is_empty and v.intersects(region)]
        if not relevant:
            return region
        left = polygonal(region.difference(shapely.union_all(relevant)))
    else:
        left = polygonal(region.difference(k_covered(region, views, k)))
    return drop_slivers(left, min_width)


def drop_slivers(geom: BaseGeometry, min_width: float = MIN_GAP_WIDTH_M) -> BaseGeometry:
    """Keep only the parts of `geom` with some point farther than min_width/2 from their boundary."""
    if geom.is_empty or min_width <= 0:
        return geom
    keep = [p for p in polygon_parts(geom) if not p.buffer(-min_width / 2).is_empty]
    if not keep:
        return EMPTY
    return keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)


def required_region(floor: Floor, zone_geometry: BaseGeometry, free: BaseGeometry) -> BaseGeometry:
    """The part of a required zone that can hold people: inside the outline and outside solid walls."""
    return polygonal(zone_geometry.intersection(free))


@dataclass
class VerifyReport:
    """Outcome of an independent re-check of a plan."""

    ok: bool
    uncovered_m2: dict[str, float] = field(default_factory=dict)
    privacy_overlap_m2: dict[str, float] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    cameras: int = 0
    claims_minimal: bool = False

    def to_dict(self) -> dict:
        """JSON-ready report."""
        return {
            "ok": self.ok,
            "cameras": self.cameras,
            "uncovered_m2": self.uncovered_m2,
            "privacy_overlap_m2": self.privacy_overlap_m2,
            "issues": self.issues,
            "claims_minimal": self.claims_minimal,
        }


def _final_candidates(floor: Floor, plan: dict, issues: list[str]) -> list[Candidate]:
    """The cameras a stored plan ends with (kept at pose, re-aimed at their mount, added), checked against the floor."""
    by_id = {t.id: t for t in floor.terminals}
    cams: list[Candidate] = []
    for entry in plan.get("cameras", []):
        tid = entry.get("id")
        pose = entry
        if tid is not None:
            t = by_id.get(tid)
            if t is None:
                issues.append(f"plan keeps unknown terminal {tid!r}")
                continue
            if math.hypot(float(pose["x"]) - t.x, float(pose["y"]) - t.y) > 1e-6:
                issues.append(f"terminal {tid!r} was moved off its mount")
            change = entry.get("change", "keep")
            if change == "keep" and (abs(((float(pose["heading_deg"]) - t.heading_deg + 180) % 360) - 180) > 1e-6
                                     or abs(float(pose["hfov_deg"]) - t.hfov_deg) > 1e-6):
                issues.append(f"terminal {tid!r} is listed as kept at its pose but the pose differs")
            cams.append(candidate_from_terminal(len(cams), t, float(pose["heading_deg"]), float(pose["hfov_deg"]),
                                                change=change))
        else:
            cams.append(Candidate(
                index=len(cams), mount=f"new:{len(cams)}", x=float(pose["x"]), y=float(pose["y"]),
                heading_deg=float(pose["heading_deg"]), hfov_deg=float(pose["hfov_deg"]),
                hpx=pose.get("hpx"), range_m=pose.get("range_m"), change="new", model=pose.get("model"),
            ))
    return cams


def verify_plan(floor: Floor, plan: dict, *, privacy_tolerance_m2: float = PRIVACY_TOL_M2,
                area_tolerance_m2: float = AREA_TOL_M2, ppm: dict[str, float] | None = None) -> VerifyReport:
    """Re-check a stored plan (the dict of Plan.to_dict()) against the floor geometry, without any solver."""
    if not isinstance(plan, dict) or "cameras" not in plan:
        raise InputError("a stored plan needs its 'cameras' list (the final poses)")
    issues: list[str] = []
    cams = _final_candidates(floor, plan, issues)
    engine = ViewEngine.for_floor(floor, ppm or TIER_PPM)
    free = engine.occ.free
    kept_ids = {c.terminal_id for c in cams if c.terminal_id is not None} | set(plan.get("kept", []))
    # Locks: must-keep terminals are kept, must-remove ones are not.
    for t in floor.terminals:
        if t.locked == "keep" and t.id not in kept_ids:
            issues.append(f"terminal {t.id!r} is locked keep but the plan removes it")
        if t.locked == "remove" and t.id in kept_ids:
            issues.append(f"terminal {t.id!r} is locked remove but the plan keeps it")
    # Privacy: no final camera inside a private zone or seeing into one beyond the tolerance.
    privacy: dict[str, float] = {}
    for z in floor.zones_of("private"):
        total = 0.0
        for c in cams:
            if inside(z.geometry, c.x, c.y):
                issues.append(f"camera {c.terminal_id or c.pose()} is mounted inside private zone {z.name!r}")
            total += engine.view(c, "detect").intersection(z.geometry).area
        privacy[z.name] = total
        for c in cams:
            a = engine.view(c, "detect").intersection(z.geometry).area
            if a > privacy_tolerance_m2:
                issues.append(f"camera {c.terminal_id or c.pose()} sees {a:.4f} m² of private zone {z.name!r}")
    privacy["total"] = sum(privacy.values())
    # Coverage: every required zone seen by at least k final cameras at its tier, by area.
    unc: dict[str, float] = {}
    k_over = plan.get("k_override")
    for z in floor.zones_of("required"):
        region = required_region(floor, z.geometry, free)
        k = int(k_over) if k_over else z.k
        views = [engine.view(c, z.tier) for c in cams]
        area = uncovered(region, views, k).area
        unc[z.name] = area
    unc["total"] = sum(unc.values())
    claimed_infeasible = sum(float(i.get("area_m2", 0.0)) for i in plan.get("infeasible", []))
    if unc["total"] > area_tolerance_m2 + claimed_infeasible + 1e-6:
        issues.append(f"{unc['total']:.6f} m² of required area is covered by fewer than k cameras")
    return VerifyReport(
        ok=not issues, uncovered_m2={k: round(v, 6) for k, v in unc.items()},
        privacy_overlap_m2={k: round(v, 6) for k, v in privacy.items()}, issues=issues, cameras=len(cams),
        claims_minimal=bool(plan.get("provably_minimal")),
    )


def pieces(geom: BaseGeometry, min_area: float = 0.0) -> list[BaseGeometry]:
    """Polygon parts of a geometry larger than `min_area`."""
    return [p for p in polygon_parts(geom) if p.area > min_area]
