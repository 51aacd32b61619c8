"""Before/after drawings of a finished plan, computed from the stored floor snapshot by the coverage engine."""

from __future__ import annotations

from typing import Any

from shapely.geometry import mapping

from planner.coverage import CameraPose, engine_for, terminal_poses
from planner.floor import parse_floor
from plans.models import Plan
from plans.svg import Layer, render_floor


def _pose_from_added(item: dict[str, Any], number: int) -> CameraPose | None:
    """A CameraPose for an added camera reported by the optimizer, when it carries a pose."""
    try:
        return CameraPose(str(item.get("id", f"new-{number}")), float(item["x"]), float(item["y"]),
                          float(item["heading_deg"]), float(item["hfov_deg"]), item.get("hpx"), item.get("range_m"))
    except (KeyError, TypeError, ValueError):
        return None


def before_after(plan: Plan) -> dict[str, Any]:
    """SVG drawings of the floor before (every installed view, intrusions in red) and after the plan."""
    floor = parse_floor(plan.floor_snapshot)
    engine = engine_for(floor)
    result = plan.result or {}
    kept = {str(code) for code in result.get("kept", [])}
    poses = terminal_poses(floor)
    before_layers: list[Layer] = []
    for pose in poses:
        before_layers.append((mapping(engine.view_polygon(pose)), "view", pose.mount))
        for zone, piece in engine.private_overlap(pose).items():
            if piece.area > 0.01:
                before_layers.append((mapping(piece), "intrusion", f"{pose.mount} sees into {zone}"))
    reaimed = {str(item.get("id")): item for item in result.get("reaimed", []) or [] if isinstance(item, dict)}
    after_poses = []
    for pose in poses:
        if pose.mount in reaimed and "heading_deg" in reaimed[pose.mount]:
            after_poses.append(pose.with_heading(float(reaimed[pose.mount]["heading_deg"])))
        elif pose.mount in kept:
            after_poses.append(pose)
    added = [p for n, item in enumerate(result.get("added", []) or [], 1) if isinstance(item, dict)
             and (p := _pose_from_added(item, n)) is not None]
    after_layers: list[Layer] = [(mapping(engine.view_polygon(p)), "view", p.mount) for p in after_poses + added]
    for zone, piece in engine.uncovered_pieces(after_poses + added).items():
        if piece.area > 0.01:
            after_layers.append((mapping(piece), "uncovered", f"{zone}: {piece.area:.2f} m² uncovered"))
    marks = {code: "kept" for code in kept}
    marks.update({str(code): "removed" for code in result.get("removed", [])})
    before_marks = {p.mount: "" for p in poses}
    return {
        "before": render_floor(plan.floor_snapshot, before_layers, marks=before_marks),
        "after": render_floor(plan.floor_snapshot, after_layers, marks=marks),
        "before_count": len(poses),
        "after_count": len(after_poses) + len(added),
    }
