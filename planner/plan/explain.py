"""Plain-language explanations of a plan: why each camera is kept, and who covers a removed camera's area."""

from __future__ import annotations

from planner.coverage import COVERING_TYPES, CameraPose, Engine, robust_overlay
from planner.errors import InputError
from planner.floor import Floor
from planner.geometry import polygonal
from planner.plan.witnesses import ZoneData

MIN_AREA_M2 = 1e-4  # overlaps smaller than this are not worth naming


def _camera_label(c: CameraPose) -> str:
    """How a plan names a camera: its terminal id, or new@x,y/heading for a new one."""
    return c.terminal_id or f"new@{c.x:.2f},{c.y:.2f}/{c.heading_deg:g}"


def explain_plan(floor: Floor, engine: Engine, chosen: list[CameraPose], zones: list[ZoneData],
                 removed: list[str]) -> dict:
    """For kept cameras: the zones that need them and the area only they cover; for removed: who covers theirs."""
    label = [_camera_label(c) for c in chosen]
    kept_out: dict[str, dict] = {label[i]: {"zones": []} for i in range(len(chosen))}
    for zd in zones:
        only = engine.unique_contribution(chosen, zd.zone)
        for i, c in enumerate(chosen):
            own = robust_overlay("intersection", engine.view(c, zd.zone.tier), zd.region).area
            if own <= MIN_AREA_M2:
                continue
            kept_out[label[i]]["zones"].append({"zone": zd.zone.name, "covers_m2": round(own, 4),
                                                "only_it_covers_m2": round(only[i], 4)})
    removed_out: dict[str, dict] = {}
    by_id = {t.id: t for t in floor.terminals}
    for tid in removed:
        t = by_id.get(tid)
        if t is None or t.type not in COVERING_TYPES:
            continue
        covered_by: dict[str, float] = {}
        area_total = 0.0
        try:
            pose = CameraPose.from_terminal(t)
        except InputError:  # a terminal with neither range nor pixels sees nothing to explain
            continue
        for zd in zones:
            mine = polygonal(robust_overlay("intersection", engine.view(pose, zd.zone.tier), zd.region))
            if mine.area <= MIN_AREA_M2:
                continue
            area_total += mine.area
            for i, c in enumerate(chosen):
                a = robust_overlay("intersection", engine.view(c, zd.zone.tier), mine).area
                if a > MIN_AREA_M2:
                    covered_by[label[i]] = round(covered_by.get(label[i], 0.0) + a, 4)
        removed_out[tid] = {"required_area_m2": round(area_total, 4), "now_covered_by": covered_by}
    return {"kept": kept_out, "removed": removed_out}
