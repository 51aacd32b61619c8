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

from planner.coverage import AREA_TOL_M2, PRIVACY_TOLERANCE_M2, CameraPose, Engine, uncovered
from planner.errors import InputError
from planner.floor import Floor
from planner.geometry import angle_diff_deg


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


def _final_poses(floor: Floor, plan: dict, issues: list[str]) -> list[CameraPose]:
    """The cameras a stored plan ends with (kept at pose, re-aimed at their mount, added), checked against the floor."""
    by_id = {t.id: t for t in floor.terminals}
    cams: list[CameraPose] = []
    for n, entry in enumerate(plan.get("cameras", [])):
        tid = entry.get("id")
        if tid is not None:
            t = by_id.get(tid)
            if t is None:
                issues.append(f"plan keeps unknown terminal {tid!r}")
                continue
            if math.hypot(float(entry["x"]) - t.x, float(entry["y"]) - t.y) > 1e-6:
                issues.append(f"terminal {tid!r} was moved off its mount")
            change = entry.get("change", "keep")
            if change == "keep" and (abs(angle_diff_deg(float(entry["heading_deg"]), t.heading_deg)) > 1e-6
                                     or abs(float(entry["hfov_deg"]) - t.hfov_deg) > 1e-6):
                issues.append(f"terminal {tid!r} is listed as kept at its pose but the pose differs")
            cams.append(CameraPose.from_terminal(t, float(entry["heading_deg"]), float(entry["hfov_deg"]), change))
        else:
            cams.append(CameraPose(f"new:{n}", float(entry["x"]), float(entry["y"]), float(entry["heading_deg"]),
                                   float(entry["hfov_deg"]), entry.get("hpx"), entry.get("range_m"), change="new",
                                   model=entry.get("model")))
    return cams


def verify_plan(floor: Floor, plan: dict, *, privacy_tolerance_m2: float = PRIVACY_TOLERANCE_M2,
                area_tolerance_m2: float = AREA_TOL_M2, ppm: dict[str, float] | None = None) -> VerifyReport:
    """Re-check a stored plan (the dict of Plan.to_dict()) against the floor geometry, without any solver."""
    if not isinstance(plan, dict) or "cameras" not in plan:
        raise InputError("a stored plan needs its 'cameras' list (the final poses)")
    issues: list[str] = []
    cams = _final_poses(floor, plan, issues)
    engine = Engine(floor, ppm)
    kept_ids = {c.terminal_id for c in cams if c.terminal_id is not None} | set(plan.get("kept", []))
    # Locks: must-keep terminals are kept, must-remove ones are not.
    for t in floor.terminals:
        if t.locked == "keep" and t.id not in kept_ids:
            issues.append(f"terminal {t.id!r} is locked keep but the plan removes it")
        if t.locked == "remove" and t.id in kept_ids:
            issues.append(f"terminal {t.id!r} is locked remove but the plan keeps it")
    # Privacy: no final camera inside a private zone or seeing into one beyond the tolerance.
    privacy: dict[str, float] = {}
    overlaps = [engine.private_overlap(c) for c in cams]
    for z in floor.zones_of("private"):
        total = 0.0
        for c, seen in zip(cams, overlaps, strict=True):
            if z.name in engine.inside_private(c.x, c.y):
                issues.append(f"camera {c.terminal_id or c.to_dict()} is mounted inside private zone {z.name!r}")
            a = seen[z.name].area
            total += a
            if a > privacy_tolerance_m2:
                issues.append(f"camera {c.terminal_id or c.to_dict()} sees {a:.4f} m² of private zone {z.name!r}")
        privacy[z.name] = total
    privacy["total"] = sum(privacy.values())
    # Coverage: every required zone seen by at least k final cameras at its tier, by area.
    unc: dict[str, float] = {}
    k_over = plan.get("k_override")
    for z in floor.zones_of("required"):
        region = engine.region(z)
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
