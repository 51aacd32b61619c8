"""Per-camera necessity: the required area that would fall below its k if one camera were taken away.

Computed from coverage polygons, not by re-solving: without camera i only points inside i's view can lose
coverage, so each camera's loss is measured on (zone region ∩ its view) against the views that touch it.
This is the justification Shanghai's rule asks for (every terminal must be necessary).
"""

from __future__ import annotations

from collections.abc import Sequence

from shapely.geometry.base import BaseGeometry

from planner.coverage import CameraPose, Engine, engine_for, k_covered
from planner.floor import Floor
from planner.geometry import polygonal

MIN_AREA_M2 = 0.05  # losses smaller than this are not worth naming (nor shown as 0.0 m²)


def necessity(floor: Floor, poses: Sequence[CameraPose], engine: Engine | None = None) -> dict[str, list[dict]]:
    """For each pose (by mount name): [{zone, k, uncovered_m2}] the required area each zone loses without it."""
    engine = engine or engine_for(floor)
    out: dict[str, list[dict]] = {p.mount: [] for p in poses}
    for zone in floor.zones_of("required"):
        region = engine.region(zone)
        if region.is_empty:
            continue
        views: list[BaseGeometry] = [engine.view_polygon(p, zone.tier) for p in poses]
        for i, pose in enumerate(poses):
            mine = views[i]
            if mine.is_empty or not mine.intersects(region):
                continue
            local = polygonal(region.intersection(mine))
            if local.area <= MIN_AREA_M2:
                continue
            others = [v for j, v in enumerate(views) if j != i and not v.is_empty and v.intersects(local)]
            covered = k_covered(local, others + [mine], zone.k)
            still = k_covered(local, others, zone.k) if len(others) >= zone.k else None
            lost = covered.area - (still.intersection(covered).area if still is not None else 0.0)
            if lost > MIN_AREA_M2:
                out[pose.mount].append({"zone": zone.name, "k": zone.k, "uncovered_m2": round(lost, 2)})
    return out


def total_necessity(entries: Sequence[dict]) -> float:
    """Total required area (m², all zones) a camera's necessity entries name."""
    return round(sum(float(e["uncovered_m2"]) for e in entries), 2)
