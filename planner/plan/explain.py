"""Plain-language explanations of a plan: why each camera is kept, and who covers a removed camera's area."""

from __future__ import annotations

import shapely

from planner.coverage import COVERING_TYPES, CameraPose, Engine, robust_overlay
from planner.errors import InputError
from planner.floor import Floor
from planner.geometry import polygonal
from planner.plan.options import Clock
from planner.plan.witnesses import ZoneData

MIN_AREA_M2 = 1e-4  # overlaps smaller than this are not worth naming


def _camera_label(c: CameraPose) -> str:
    """How a plan names a camera: its terminal id, or new@x,y/heading for a new one."""
    return c.terminal_id or f"new@{c.x:.2f},{c.y:.2f}/{c.heading_deg:g}"


def explain_plan(floor: Floor, engine: Engine, chosen: list[CameraPose], zones: list[ZoneData],
                 removed: list[str], clock: Clock | None = None) -> dict:
    """For kept cameras: the zones that need them and the area only they cover; for removed: who covers theirs.

    When the clock runs out the explanations stop there and say so (``cut_short``): they never stretch a run.
    """
    label = [_camera_label(c) for c in chosen]
    kept_out: dict[str, dict] = {label[i]: {"zones": []} for i in range(len(chosen))}
    removed_out: dict[str, dict] = {}
    # One list per tier (not per zone: a mall has hundreds of zones and thousands of chosen cameras).
    views = {tier: [engine.view(c, tier) for c in chosen] for tier in dict.fromkeys(zd.zone.tier for zd in zones)}
    trees = {tier: shapely.STRtree(v) for tier, v in views.items() if v}

    def near(tier: str, geom) -> list[int]:
        return sorted(int(i) for i in trees[tier].query(geom)) if tier in trees and not geom.is_empty else []

    def cut() -> dict:
        return {"kept": kept_out, "removed": removed_out, "cut_short": True,
                "note": "explanations cut short at the time limit"}

    for zd in zones:
        if clock is not None and clock.out("explanations", reserve=0.02 * clock.limit):
            return cut()
        tier = zd.zone.tier
        touching = near(tier, zd.region)
        only = engine.unique_contribution([chosen[i] for i in touching], zd.zone)
        for n, i in enumerate(touching):
            own = robust_overlay("intersection", views[tier][i], zd.region).area
            if own <= MIN_AREA_M2:
                continue
            kept_out[label[i]]["zones"].append({"zone": zd.zone.name, "covers_m2": round(own, 4),
                                                "only_it_covers_m2": round(only[n], 4)})
    by_id = {t.id: t for t in floor.terminals}
    for tid in removed:
        if clock is not None and clock.out("explanations", reserve=0.02 * clock.limit):
            return cut()
        t = by_id.get(tid)
        if t is None or t.type not in COVERING_TYPES:
            continue
        try:
            pose = CameraPose.from_terminal(t)
        except InputError:  # a terminal with neither range nor pixels sees nothing to explain
            continue
        covered_by: dict[str, float] = {}
        area_total = 0.0
        for zd in zones:
            tier = zd.zone.tier
            seen = engine.view(pose, tier)
            if seen.is_empty or not seen.intersects(zd.region):
                continue
            mine = polygonal(robust_overlay("intersection", seen, zd.region))
            if mine.area <= MIN_AREA_M2:
                continue
            area_total += mine.area
            for i in near(tier, mine):
                a = robust_overlay("intersection", views[tier][i], mine).area
                if a > MIN_AREA_M2:
                    covered_by[label[i]] = round(covered_by.get(label[i], 0.0) + a, 4)
        removed_out[tid] = {"required_area_m2": round(area_total, 4), "now_covered_by": covered_by}
    return {"kept": kept_out, "removed": removed_out, "cut_short": False}
