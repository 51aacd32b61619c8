"""Candidate poses and privacy first: which poses the model may choose from, and why the others are out.

Reduce mode: every installed camera at its pose, plus (with ``reaim_step``) the same mount turned in steps of
``reaim_step`` degrees and, when the terminal states a varifocal range (``hfov_min_deg`` / ``hfov_max_deg``
properties), the hfov values in that range in the same steps.  Design mode: mount points generated along
walls and the outline (every ``spacing`` metres, plus corners) × headings × camera models.  Mixed: both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner.coverage import COVERING_TYPES, CameraPose, Engine
from planner.errors import InputError
from planner.floor import Floor, Terminal
from planner.parallel import context, in_worker, ordered_map
from planner.plan.options import Clock, PlanOptions


@dataclass
class Candidates:
    """The poses the model may choose (its columns), with the decisions already taken before any solve."""

    poses: list[CameraPose]
    decisions: dict[str, dict] = field(default_factory=dict)  # terminals decided without the model
    privacy_reason: dict[str, str] = field(default_factory=dict)  # installed poses dropped for privacy
    excluded: int = 0  # poses dropped for privacy
    forced: list[int] = field(default_factory=list)  # columns of must-keep terminals
    groups: list[list[int]] = field(default_factory=list)  # columns sharing a physical mount (at most one)
    unchecked: int = 0  # poses left out because the time ran out before their privacy check
    unchecked_terminals: set[str] = field(default_factory=set)  # installed poses among them


def _is_coverage_terminal(t: Terminal, allow_face: bool) -> bool:
    """Cameras meet coverage; face-recognition terminals only when explicitly allowed."""
    face = t.face_recognition or t.type == "face_terminal"
    if t.type not in COVERING_TYPES:
        return False
    return allow_face or not face


def _float_prop(t: Terminal, key: str) -> float | None:
    value = t.extra.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _reaim_poses(t: Terminal, reaim_step: float | None) -> list[CameraPose]:
    """The installed pose of a terminal, then its re-aims at the same mount (headings × varifocal hfovs)."""
    out = [CameraPose.from_terminal(t)]
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
            heading = t.heading_deg + m * reaim_step  # from_terminal applies the heading rule
            if m == 0 and abs(hfov - t.hfov_deg) < 1e-9:
                continue
            out.append(CameraPose.from_terminal(t, heading, hfov, change="reaim"))
    return out


def _design_mounts(floor: Floor, engine: Engine, spacing: float, inset: float = 0.15,
                  corners: bool = True) -> list[tuple[float, float]]:
    """Mount points along walls and the outline every `spacing` m, plus (`corners`) around every wall vertex."""
    if spacing <= 0:
        raise InputError(f"design spacing must be positive, got {spacing}")
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
        for v in (coords[:-1] if len(coords) > 2 else coords) if corners else ():
            for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                pts.append((v[0] + inset * dx / math.sqrt(2), v[1] + inset * dy / math.sqrt(2)))
    if not pts:
        return []
    arr = np.unique(np.round(np.asarray(pts, dtype=float), 6), axis=0)
    free = shapely.intersects_xy(engine.occ.free, arr[:, 0], arr[:, 1])
    # Keep points clear of every wall by half the inset (a mount is on the room side of its wall).
    return [(float(x), float(y)) for (x, y), ok in zip(arr, free, strict=True)
            if ok and not len(engine.occ.near(float(x), float(y), inset * 0.5))]


def _design_poses(floor: Floor, engine: Engine, options: PlanOptions) -> list[CameraPose]:
    """New-install candidates: generated mounts × evenly spaced headings × camera models."""
    if options.design_headings < 1:
        raise InputError(f"design headings must be at least 1, got {options.design_headings}")
    mounts = _design_mounts(floor, engine, options.design_spacing, corners=options.design_corners)
    if options.design_in_required:
        # Mount new cameras only where they look after a required zone (inside it, or on its walls).
        near = shapely.union_all([z.geometry for z in floor.zones_of("required")]).buffer(0.5)
        shapely.prepare(near)
        mounts = [(m_idx, xy) for m_idx, xy in enumerate(mounts) if shapely.intersects_xy(near, *xy)]
    else:
        mounts = list(enumerate(mounts))
    out: list[CameraPose] = []
    for m_idx, (x, y) in mounts:
        for model in options.models:
            for h in range(options.design_headings):
                heading = 360.0 * h / options.design_headings
                if _excluded(x, y, heading, options.excluded_poses):
                    continue
                out.append(CameraPose(f"m:{m_idx}", x, y, heading, model.hfov_deg,
                                      hpx=model.hpx, change="new", model=model.name))
    return out


def _excluded(x: float, y: float, heading: float, excluded: tuple[tuple[float, float, float], ...]) -> bool:
    """Whether a generated pose is one a reviewer rejected (same mount within 1 cm, same heading within 0.5°)."""
    return any(math.hypot(x - ex, y - ey) < 0.01 and abs((heading - eh + 180.0) % 360.0 - 180.0) < 0.5
               for ex, ey, eh in excluded)


def _decide_outside_model(t: Terminal, zone_in: str | None) -> dict:
    """The decision for a terminal the coverage model does not use (readers, others, face terminals)."""
    face = t.face_recognition or t.type == "face_terminal"
    if t.locked == "keep":
        if zone_in is not None:
            raise InputError(f"conflicting lock: terminal {t.id!r} is locked keep but is mounted "
                             f"inside private zone {zone_in!r}")
        return {"id": t.id, "decision": "keep", "reason": "locked keep (not used for coverage)"}
    if t.locked == "remove":
        return {"id": t.id, "decision": "remove", "reason": "locked remove"}
    if zone_in is not None:
        return {"id": t.id, "decision": "remove", "reason": f"mounted inside private zone {zone_in!r}"}
    if face:
        return {"id": t.id, "decision": "remove", "reason": "face recognition is not used for coverage"}
    return {"id": t.id, "decision": "keep", "reason": f"{t.type} is outside the coverage model"}


PRIVACY_SHARE = 0.4  # of the time limit: poses not privacy-checked by then are left out of the model
EXTRA_SHARE = 0.25  # of the time limit: re-aims and new poses of a floor with installed ones, checked by then
MOUNTS_PER_CHUNK = 24  # mount points per unit of parallel privacy work (~0.1 s each)


def privacy_pass(engine: Engine, poses: list[CameraPose], options: PlanOptions,
                 clock: Clock | None = None) -> list[str | None]:
    """Per pose why a plan may not use it ("" if it may), or None when the clock ran out before its check.

    Installed poses first, then the others, each mount point by mount point on ``options.workers`` processes:
    one visibility polygon per mount serves all its poses, and the parent adopts every worker's polygons, in
    mount order, so the witness matrix reuses them.
    """
    reasons: list[str | None] = [None] * len(poses)
    stop = None if clock is None or clock.cancel is None else clock.cancel.is_set
    shared = {"engine": engine, "poses": poses, "tolerance": options.privacy_tolerance_m2}
    # Installed poses first (a short run still has a plan over every installed camera), then re-aims and new ones,
    # those only until EXTRA_SHARE of the limit when there were installed poses: the witnesses need the time.
    installed = [i for i, p in enumerate(poses) if p.change == "keep"]
    others = [i for i, p in enumerate(poses) if p.change != "keep"]
    for stage, share in ((installed, PRIVACY_SHARE), (others, EXTRA_SHARE if installed else PRIVACY_SHARE)):
        deadline = None if clock is None else clock.start + share * clock.limit
        by_mount: dict[tuple[float, float], list[int]] = {}
        for i in stage:
            q = engine.mount_point(poses[i])
            if q is None:
                reasons[i] = engine.privacy_reason(poses[i], options.privacy_tolerance_m2)  # only "mounted inside"
            else:
                by_mount.setdefault(q, []).append(i)
        mounts = list(by_mount.items())
        chunks = [mounts[a:a + MOUNTS_PER_CHUNK] for a in range(0, len(mounts), MOUNTS_PER_CHUNK)]
        done = ordered_map(_privacy_chunk, chunks, options.workers, deadline, shared, stop)
        for geometry, found in done:
            for entry in geometry:
                engine.load_mount_cache(entry)
            for i, reason in found:
                reasons[i] = reason
        if len(done) < len(chunks):
            if clock is not None:
                clock.out("privacy", share, reserve=clock.limit)
            break
    return reasons


def _privacy_chunk(chunk: list[tuple[tuple[float, float], list[int]]]) -> tuple[list, list[tuple[int, str]]]:
    """Privacy reasons of the poses at a few mount points, with those points' geometry when run in a worker."""
    ctx = context()
    engine, poses, tolerance = ctx["engine"], ctx["poses"], ctx["tolerance"]
    found = [(i, engine.privacy_reason(poses[i], tolerance)) for _q, members in chunk for i in members]
    geometry = [engine.mount_cache(q) for q, _members in chunk if q in engine._vis] if in_worker() else []
    return geometry, found


def prepare_candidates(floor: Floor, engine: Engine, options: PlanOptions, clock: Clock | None = None) -> Candidates:
    """Candidate poses for the mode, with every pose that intrudes on privacy dropped before the model.

    Installed poses are checked first, then re-aims, then new mounts; when the clock runs out, the poses not
    yet checked are left out (``clock.stopped_in`` = "privacy"), so the model never holds an unchecked pose.
    """
    out = Candidates([])
    poses: list[CameraPose] = []
    must_keep: set[str] = set()
    for t in floor.terminals:
        if not _is_coverage_terminal(t, options.allow_face):
            inside = engine.inside_private(t.x, t.y)
            out.decisions[t.id] = _decide_outside_model(t, inside[0] if inside else None)
        elif t.locked == "remove":
            out.decisions[t.id] = {"id": t.id, "decision": "remove", "reason": "locked remove"}
        elif options.mode == "design" and t.locked != "keep":
            out.decisions[t.id] = {"id": t.id, "decision": "remove", "reason": "design mode places new cameras"}
        else:
            poses.extend(_reaim_poses(t, options.reaim_step if t.locked != "keep" else None))
            if t.locked == "keep":
                must_keep.add(t.id)
    if options.mode in ("design", "mixed"):
        poses.extend(_design_poses(floor, engine, options))
    rank = {"keep": 0, "reaim": 1, "new": 2}
    poses.sort(key=lambda p: rank[p.change])
    engine.reserve(poses)

    # Privacy first: drop every pose mounted inside a private zone or seeing into one (before the model).
    reasons = privacy_pass(engine, poses, options, clock)
    for p, reason in zip(poses, reasons, strict=True):
        if reason is None:
            continue
        if not reason:
            out.poses.append(p)
            continue
        out.excluded += 1
        if p.terminal_id is not None and p.change == "keep":
            out.privacy_reason[p.terminal_id] = reason
            if p.terminal_id in must_keep:
                raise InputError(f"conflicting lock: camera {p.terminal_id!r} is locked keep but {reason}")
    skipped = [p for p, r in zip(poses, reasons, strict=True) if r is None]
    if skipped:
        out.unchecked = len(skipped)
        out.unchecked_terminals = {q.terminal_id for q in skipped if q.change == "keep" and q.terminal_id}

    # One pose per physical mount; must-keep terminals at their installed pose.
    by_mount: dict[tuple[bool, str], list[int]] = {}
    for j, p in enumerate(out.poses):
        by_mount.setdefault((p.change == "new", p.mount), []).append(j)
    out.groups = [g for g in by_mount.values() if len(g) > 1]
    out.forced = [j for j, p in enumerate(out.poses) if p.terminal_id in must_keep and p.change == "keep"]
    return out
