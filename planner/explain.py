"""Plain-language explanations of a plan: why each camera is kept, and who covers a removed camera's area."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

from planner.candidates import Candidate, ViewEngine
from planner.floor import Floor, Zone
from planner.geometry import polygonal

MIN_AREA_M2 = 1e-4  # overlaps smaller than this are not worth naming


def explain_plan(floor: Floor, engine: ViewEngine, chosen: list[Candidate],
                 zones: list[tuple[Zone, BaseGeometry, int]], removed: list[str]) -> dict:
    """For kept cameras: the zones that need them and the area only they cover; for removed: who covers theirs."""
    label = [c.terminal_id or f"new@{c.x:.2f},{c.y:.2f}/{c.heading_deg:g}" for c in chosen]
    kept_out: dict[str, dict] = {}
    for i, c in enumerate(chosen):
        needs: list[dict] = []
        for zone, region, _k in zones:
            own = polygonal(engine.view(c, zone.tier).intersection(region))
            if own.area <= MIN_AREA_M2:
                continue
            others = [engine.view(o, zone.tier) for j, o in enumerate(chosen) if j != i]
            only = polygonal(own.difference(shapely.union_all(others))) if others else own
            needs.append({"zone": zone.name, "covers_m2": round(own.area, 4), "only_it_covers_m2": round(only.area, 4)})
        kept_out[label[i]] = {"zones": needs}
    removed_out: dict[str, dict] = {}
    by_id = {t.id: t for t in floor.terminals}
    for tid in removed:
        t = by_id.get(tid)
        if t is None or t.type not in ("camera", "face_terminal"):
            continue
        covered_by: dict[str, float] = {}
        area_total = 0.0
        for zone, region, _k in zones:
            try:
                mine = polygonal(engine.terminal_view(t, zone.tier).intersection(region))
            except ValueError:
                continue
            if mine.area <= MIN_AREA_M2:
                continue
            area_total += mine.area
            for i, c in enumerate(chosen):
                a = engine.view(c, zone.tier).intersection(mine).area
                if a > MIN_AREA_M2:
                    covered_by[label[i]] = round(covered_by.get(label[i], 0.0) + a, 4)
        removed_out[tid] = {"required_area_m2": round(area_total, 4), "now_covered_by": covered_by}
    return {"kept": kept_out, "removed": removed_out}
