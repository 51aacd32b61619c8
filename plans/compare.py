"""Analysis of a finished plan from its stored floor snapshot: before/after drawings and per-camera necessity."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from shapely.geometry import mapping

from inventory.lru import LRUCache
from planner.coverage import CameraPose, Engine, engine_for, terminal_poses
from planner.floor import Floor, parse_floor
from planner.necessity import necessity
from plans.svg import Layer, render_floor

# What analyse reads of a result: the analysis is a function of the snapshot and these alone.
RESULT_KEYS = ("kept", "reaimed", "added", "removed")
# Analyses by the SHA-256 of their inputs (the load test's runs on an unchanged floor give the same result each
# time), and each snapshot's parsed floor, engine (its views) and "before" drawing by the snapshot's SHA-256: equal
# inputs, equal output, so an entry is never stale. Copies are handed out, so no caller shares a cached value.
_ANALYSES: LRUCache[str, dict[str, Any]] = LRUCache(8)
_BEFORE: LRUCache[str, tuple[Floor, Engine, list[CameraPose], set[str], str]] = LRUCache(4)


def added_poses(result: dict[str, Any]) -> list[CameraPose]:
    """Poses of the cameras the plan adds, named N1, N2, ... in the optimizer's order."""
    poses = []
    for number, item in enumerate([i for i in result.get("added", []) or [] if isinstance(i, dict)], 1):
        poses.append(CameraPose(f"N{number}", float(item["x"]), float(item["y"]), float(item["heading_deg"]),
                                float(item["hfov_deg"]), item.get("hpx"), item.get("range_m")))
    return poses


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    """SHA-256 of a floor snapshot in canonical JSON (it is plain JSON, as stored)."""
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def analyse(snapshot: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """SVG drawings before (every installed view, intrusions in red) and after the plan, and each camera's necessity."""
    digest = snapshot_digest(snapshot)
    # repr, not JSON: a tuple and a list, or two floats JSON writes alike, must not share a key.
    key = hashlib.sha256((digest + repr([result.get(k) for k in RESULT_KEYS])).encode()).hexdigest()
    cached = _ANALYSES.get(key)
    if cached is None:
        cached = _analyse(snapshot, result, digest)
        _ANALYSES.set(key, cached)
    return copy.deepcopy(cached)


def _before(snapshot: dict[str, Any], digest: str) -> tuple[Floor, Engine, list[CameraPose], set[str], str]:
    """The snapshot's floor, engine, installed poses, face terminals and "before" drawing (cached by digest)."""
    cached = _BEFORE.get(digest)
    if cached is not None:
        return cached
    floor = parse_floor(snapshot)
    engine = engine_for(floor)
    poses = terminal_poses(floor)
    face = {t.id for t in floor.terminals if t.type == "face_terminal"}
    before_layers: list[Layer] = []
    for pose in poses:
        before_layers.append((mapping(engine.view_polygon(pose)), "view", pose.mount))
        for zone, piece in engine.private_overlap(pose).items():
            if piece.area > 0.01:
                before_layers.append((mapping(piece), "intrusion", f"{pose.mount} sees into {zone}"))
    drawing = render_floor(snapshot, before_layers, marks={p.mount: "" for p in poses})
    value = (floor, engine, poses, face, drawing)
    _BEFORE.set(digest, value)
    return value


def _analyse(snapshot: dict[str, Any], result: dict[str, Any], digest: str) -> dict[str, Any]:
    floor, engine, poses, face, before = _before(snapshot, digest)
    kept = {str(code) for code in result.get("kept", [])}
    reaimed = {str(item.get("id")): item for item in result.get("reaimed", []) or [] if isinstance(item, dict)}
    after_poses = []
    for pose in poses:
        if pose.mount in reaimed and "heading_deg" in reaimed[pose.mount]:
            after_poses.append(pose.with_heading(float(reaimed[pose.mount]["heading_deg"])))
        elif pose.mount in kept:
            after_poses.append(pose)
    added = added_poses(result)
    final = after_poses + added
    after_layers: list[Layer] = [(mapping(engine.view_polygon(p)), "view", p.mount) for p in final]
    for zone, piece in engine.uncovered_pieces(final).items():
        if piece.area > 0.01:
            after_layers.append((mapping(piece), "uncovered", f"{zone}: {piece.area:.2f} m² uncovered"))
    marks = {code: "kept" for code in kept}
    marks.update({str(code): "removed" for code in result.get("removed", [])})
    new_points = [(p.mount, p.x, p.y) for p in added]
    drawings = {
        "before": before,
        "after": render_floor(snapshot, after_layers, marks=marks, added=new_points),
        "before_cameras": sum(1 for p in poses if p.mount not in face),
        "before_face": sum(1 for p in poses if p.mount in face),
        "after_cameras": sum(1 for p in final if p.mount not in face),
        "after_face": sum(1 for p in final if p.mount in face),
    }
    return {"drawings": drawings, "necessity": necessity(floor, final, engine)}
