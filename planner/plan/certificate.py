"""The plan a run returns: decisions per terminal, final cameras, and the certificate (status, bound, areas)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from planner.coverage import CameraPose, clip_views, drop_slivers, robust_overlay
from planner.floor import TIERS, Floor
from planner.geometry import EMPTY, polygon_parts, polygonal
from planner.plan.exact import ExactCheck
from planner.plan.options import Clock, PlanOptions, emit
from planner.plan.prepare import Prepared
from planner.setcover import CoverResult, Status, relative_gap


@dataclass
class Plan:
    """An optimizer run's result: decisions, final cameras and the certificate."""

    status: str
    objective: int | None
    bound: int
    kept: list[str]
    removed: list[str]
    added: list[dict]
    reaimed: list[dict]
    decisions: list[dict]
    cameras: list[dict]
    uncovered_m2: dict[str, float]
    privacy_overlap_m2: dict[str, float]
    infeasible: list[dict]
    seconds: float
    rounds: int
    witnesses: int
    candidates: int
    excluded_for_privacy: int
    objective_levels: dict[str, int]
    weighted_objective: int | None
    weighted_bound: int
    lp_bound: float | None
    mode: str
    k_override: int | None = None
    explanations: dict = field(default_factory=dict)
    uncovered_pieces: dict = field(default_factory=dict)
    coverable_unseen_m2: float = 0.0  # coverable area (not reported infeasible) the cameras leave unseen
    given_up_m2: float = 0.0  # area the slack model left unseen on purpose (one pose per mount)
    uncoverable_m2: float = 0.0  # area no k allowed camera poses can see
    stopped_in: str | None = None  # the phase the time limit (or a cancel) cut short, if any
    unchecked_zones: list[str] = field(default_factory=list)  # zones whose exact check the limit cut (estimated)
    parts: list[dict] = field(default_factory=list)  # independent parts of the last solve, each with its bound

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective; 0 when provably minimal, None without a full plan."""
        if self.status in ("INCOMPLETE", "UNKNOWN") or self.coverable_unseen_m2 > 0:
            return None  # the cameras are not a plan for everything coverable: no gap to state
        return relative_gap(self.objective, self.bound)

    @property
    def headline(self) -> str:
        """One line for people: status, cameras, what is unseen, the bound, and where a short run stopped."""
        parts = [self.status]
        if self.objective is not None:
            parts.append(f"{self.objective} cameras")
        if self.coverable_unseen_m2 > 0:
            parts.append(f"{self.coverable_unseen_m2:.2f} m² of coverable area unseen")
        if self.given_up_m2 > 0:
            parts.append(f"{self.given_up_m2:.2f} m² given up (each mount takes one pose)")
        if self.uncoverable_m2 > 0:
            parts.append(f"{self.uncoverable_m2:.2f} m² no allowed camera pose can cover")
        parts.append(f"at least {self.bound} cameras are needed" if self.bound else "no lower bound proven yet")
        if self.gap is not None and self.gap > 0:
            parts.append(f"gap {100 * self.gap:.1f} %")
        if self.unchecked_zones:
            parts.append(f"{len(self.unchecked_zones)} zones estimated from witnesses (exact check cut short)")
        if self.stopped_in:
            parts.append(f"stopped in {self.stopped_in} at the time limit")
        return "; ".join(parts)

    @property
    def provably_minimal(self) -> bool:
        """True when the bound equals the objective and no coverable area is left uncovered."""
        return self.status == "OPTIMAL" and self.objective is not None and self.bound == self.objective

    def to_dict(self) -> dict:
        """JSON-ready plan (the `plan` CLI prints this)."""
        return {
            "status": self.status,
            "headline": self.headline,
            "objective": self.objective,
            "bound": self.bound,
            "gap": None if self.gap is None else round(self.gap, 6),
            "coverable_unseen_m2": round(self.coverable_unseen_m2, 6),
            "given_up_m2": round(self.given_up_m2, 6),
            "uncoverable_m2": round(self.uncoverable_m2, 6),
            "stopped_in": self.stopped_in,
            "provably_minimal": self.provably_minimal,
            "feasible": not self.infeasible,
            "kept": self.kept,
            "removed": self.removed,
            "added": self.added,
            "reaimed": self.reaimed,
            "uncovered_m2": self.uncovered_m2,
            "privacy_overlap_m2": self.privacy_overlap_m2.get("total", 0.0),
            "privacy_overlap_by_zone_m2": {k: v for k, v in self.privacy_overlap_m2.items() if k != "total"},
            "infeasible": self.infeasible,
            "seconds": round(self.seconds, 3),
            "certificate": {
                "status": self.status,
                "objective": self.objective,
                "bound": self.bound,
                "objective_levels": self.objective_levels,
                "weighted_objective": self.weighted_objective,
                "weighted_bound": self.weighted_bound,
                "lp_bound": self.lp_bound,
                "needed_at_least": self.bound,
                "coverable_unseen_m2": round(self.coverable_unseen_m2, 6),
                "given_up_m2": round(self.given_up_m2, 6),
                "uncoverable_m2": round(self.uncoverable_m2, 6),
                "stopped_in": self.stopped_in,
                "unchecked_zones": self.unchecked_zones,
                "parts": self.parts,
                "uncovered_m2_total": self.uncovered_m2.get("total"),
                "privacy_overlap_m2_total": self.privacy_overlap_m2.get("total"),
                "provably_minimal": self.provably_minimal,
                "rounds": self.rounds,
                "witnesses": self.witnesses,
                "candidates": self.candidates,
                "excluded_for_privacy": self.excluded_for_privacy,
            },
            "mode": self.mode,
            "k_override": self.k_override,
            "cameras": self.cameras,
            "decisions": self.decisions,
            "explanations": self.explanations,
        }


@dataclass
class Outcome:
    """What the refinement loop ends with: the last solve, the chosen columns and the round count."""

    result: CoverResult | None
    selected: list[int]
    rounds: int
    slack_bound: int | None = None  # bound for the target without the given-up witnesses (slack model used)
    slack_used: bool = False
    weighted_bound: int = 0  # the best bound a round without slack proved (valid even if the last round timed out)
    # The witnesses the kept answer's slack columns gave up: their (zone, x, y), and their indices in the matrix.
    given_up_pts: list[tuple[int, float, float]] = field(default_factory=list)
    sacrificed: set[int] = field(default_factory=set)


@dataclass
class _Decisions:
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reaimed: list[dict] = field(default_factory=list)
    added: list[dict] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def _decisions(floor: Floor, prep: Prepared, chosen: list[CameraPose]) -> _Decisions:
    """One decision per terminal (keep / reaim / remove, with a reason) and one per added camera."""
    out = _Decisions()
    chosen_ids = {c.terminal_id: c for c in chosen if c.terminal_id is not None}
    for t in floor.terminals:
        if t.id in prep.candidates.decisions:
            d = prep.candidates.decisions[t.id]
        elif t.id in chosen_ids:
            c = chosen_ids[t.id]
            if c.change == "reaim":
                d = {"id": t.id, "decision": "reaim", "reason": "needed for coverage after turning at its mount",
                     "heading_deg": c.heading_deg, "hfov_deg": c.hfov_deg}
                out.reaimed.append({"id": t.id, "from_heading_deg": t.heading_deg, "heading_deg": c.heading_deg,
                                    "from_hfov_deg": t.hfov_deg, "hfov_deg": c.hfov_deg})
            else:
                reason = "locked keep" if t.locked == "keep" else "needed for coverage"
                d = {"id": t.id, "decision": "keep", "reason": reason}
        elif t.id in prep.candidates.unchecked_terminals:
            d = {"id": t.id, "decision": "remove", "reason": "not privacy-checked before the time limit"}
        elif t.id in prep.candidates.privacy_reason:
            d = {"id": t.id, "decision": "remove", "reason": prep.candidates.privacy_reason[t.id]}
        else:
            d = {"id": t.id, "decision": "remove", "reason": "not needed: the kept cameras cover its area"}
        out.rows.append(d)
        (out.kept if d["decision"] in ("keep", "reaim") else out.removed).append(t.id)
    for c in chosen:
        if c.change == "new":
            pose = c.to_dict()
            out.added.append(pose)
            out.rows.append({"id": None, "decision": "add", "reason": "new camera needed for coverage", **pose})
    return out


@dataclass
class _Areas:
    uncovered: dict[str, float]
    pieces: dict[str, dict]
    infeasible: list[dict]
    open_m2: float  # coverable area, not given up, the cameras leave unseen
    unchecked: list[str] = field(default_factory=list)  # zones the exact check did not reach (estimated)
    given_up_m2: float = 0.0  # left unseen on purpose by the slack model
    uncoverable_m2: float = 0.0  # no k allowed camera poses can see it


def views_near(prep: Prepared, tier: str, piece: BaseGeometry) -> list[tuple[int, BaseGeometry]]:
    """(pose, view at ``tier``) of every candidate pose whose view meets ``piece``, in pose order."""
    m, engine, cols = prep.matrix, prep.engine, prep.cols
    index = m.index
    if not len(index.radius):
        return []
    t = TIERS.index(tier)
    minx, miny, maxx, maxy = piece.bounds
    reach = float(index.radius.max())
    # Cheap rejections first, a whole mount or pose at a time: the range, the mount's visibility polygon, then
    # the heading's wedge; only the poses left get their (cached) views built and tested.
    groups = index.tree.query(shapely.box(minx - reach, miny - reach, maxx + reach, maxy + reach))
    groups = np.sort(groups[shapely.intersects(index.sight()[groups], piece)]) if len(groups) else groups
    if not len(groups):
        return []
    poses = np.concatenate([index.members[g] for g in groups])
    qxy = np.repeat(index.qxy[groups], [len(index.members[g]) for g in groups], axis=0)
    r = index.ranges[poses, t]
    poses = poses[(qxy[:, 0] >= minx - r) & (qxy[:, 0] <= maxx + r) & (qxy[:, 1] >= miny - r) & (qxy[:, 1] <= maxy + r)]
    wedges = index.wedges(t)[poses]
    narrow = np.array([w is not None for w in wedges], dtype=bool)
    meets = np.ones(len(poses), dtype=bool)
    if narrow.any():
        meets[narrow] = shapely.intersects(wedges[narrow].astype(object), piece)
    poses = np.sort(poses[meets])
    views = [engine.view(cols[int(j)], tier) for j in poses]
    if not views:
        return []
    hit = shapely.intersects(np.asarray(views, dtype=object), piece)
    return [(int(j), v) for j, v, h in zip(poses, views, hit, strict=True) if h and not v.is_empty]


def given_up_split(prep: Prepared, zi: int, area: BaseGeometry, points: list[tuple[int, float, float]],
                   until: float | None = None) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
    """Zone ``zi``'s unseen ``area`` split in two: what the slack model gave up, and the rest (still open).

    Given up is the part of a piece holding a given-up witness that only poses seeing that witness can see
    (covering any point of it would cover the witness): the piece minus the views of every other pose.  The
    rest of the piece is seen by some pose that does not see the witness, so it is not given up with it (the
    whole piece was, before: 49 % of the required area on one 500-segment re-aim run).  Past ``until``
    (``time.perf_counter()`` seconds) a piece holding a given-up witness is given up whole (an overstatement).
    """
    xs = np.array([x for z, x, _ in points if z == zi])
    ys = np.array([y for z, _, y in points if z == zi])
    given: list[BaseGeometry] = []
    rest: list[BaseGeometry] = []
    tier = prep.zones[zi].zone.tier
    for piece in polygon_parts(area):
        inside = shapely.intersects_xy(piece, xs, ys) if len(xs) else np.zeros(0, dtype=bool)
        if not inside.any():
            rest.append(piece)
            continue
        if until is not None and time.perf_counter() > until:
            given.append(piece)
            continue
        near = views_near(prep, tier, piece)
        px, py = xs[inside], ys[inside]
        sees = np.array([shapely.contains_xy(v, px, py) for _, v in near], dtype=bool).reshape(len(near), len(px))
        # Only the views' parts inside the piece matter; those of poses that see none of its given-up witnesses
        # are left out of every set, so they are unioned once.
        clipped = clip_views(piece, [v for _, v in near])
        sees_any = sees.any(axis=1)
        common = [c for c, s in zip(clipped, sees_any, strict=True) if not s and not c.is_empty]
        common_union = shapely.union_all(common) if common else EMPTY
        parts = []
        # Witnesses seen by the same poses give up the same part: one difference per distinct set.
        for pattern in np.unique(sees.T, axis=0) if len(px) else []:
            others = [c for c, s, a in zip(clipped, pattern, sees_any, strict=True) if a and not s and not c.is_empty]
            if not common_union.is_empty:
                others.append(common_union)
            parts.append(robust_overlay("difference", piece, shapely.union_all(others)) if others else piece)
        gave = drop_slivers(polygonal(shapely.union_all(parts))) if parts else EMPTY
        left = drop_slivers(polygonal(robust_overlay("difference", piece, gave))) if not gave.is_empty else piece
        given.extend(polygon_parts(gave))
        rest.extend(polygon_parts(left))
    return given, rest


def _witness_estimate(prep: Prepared, selected: list[int],
                      sacrificed: set[int]) -> tuple[dict[int, float], dict[int, float]]:
    """Per zone, its area times the share of its grid witnesses seen by fewer than k of the chosen cameras:
    (not given up, given up by the slack model)."""
    m = prep.matrix
    seen = np.zeros(len(m.wx), dtype=np.int64)
    for j in selected:
        if m.columns[j]:
            seen[np.asarray(m.columns[j], dtype=np.int64)] += 1
    zone, grid = np.asarray(m.wzone, dtype=np.int64), np.asarray(m.wgrid, dtype=bool)
    given = np.zeros(len(m.wx), dtype=bool)
    given[[i for i in sacrificed if i < len(m.wx)]] = True
    k = np.array([zd.k for zd in prep.zones], dtype=np.int64)
    open_: dict[int, float] = {}
    gave: dict[int, float] = {}
    for zi, zd in enumerate(prep.zones):
        mine = grid & (zone == zi)
        if mine.any():
            short = seen[mine] < k[zi]
            open_[zi] = zd.region.area * float(np.mean(short & ~given[mine]))
            gave[zi] = zd.region.area * float(np.mean(short & given[mine]))
    return open_, gave


def _areas(prep: Prepared, selected: list[int], check: ExactCheck, options: PlanOptions,
           clock: Clock | None = None, given_up_pts: list[tuple[int, float, float]] | None = None,
           sacrificed: set[int] | None = None) -> _Areas:
    """Exact uncovered area per zone, split three ways: given up by the slack model, no candidates can cover it
    (both listed under ``infeasible`` with the reason), and open (coverable, not given up).

    The given-up parts are found here from the kept answer's given-up witnesses, not only from the refinement
    loop's marks: a loop cut short by the time limit never marks the last round's.  Zones the exact check could
    not finish are estimated from their grid witnesses (the share seen by fewer than k chosen cameras, times
    the zone's area) and named in ``unchecked``.
    """
    points = given_up_pts or []
    out = _Areas({}, {}, [], 0.0)
    margin = 0.0 if clock is None else max(0.02 * clock.limit, 0.2)
    lefts = check.run(selected, clock, margin, phase="certificate", workers=options.workers)
    estimate, estimate_given = _witness_estimate(prep, selected, sacrificed or set()) \
        if len(lefts) < len(prep.zones) else ({}, {})
    for zi, zd in enumerate(prep.zones):
        if zi not in lefts:
            out.unchecked.append(zd.zone.name)
            open_m2, given_m2 = estimate.get(zi, zd.region.area), estimate_given.get(zi, 0.0)
            out.uncovered[zd.zone.name] = round(open_m2 + given_m2, 6)
            out.open_m2 += open_m2
            out.given_up_m2 += given_m2
            continue
        left = lefts[zi]
        out.uncovered[zd.zone.name] = round(left.area, 6)
        if left.is_empty:
            continue
        out.pieces[zd.zone.name] = mapping(left)
        # Report only what the final cameras actually leave uncovered (a conflict found in an earlier round
        # may have been resolved by a later choice of poses).
        marked = polygonal(zd.infeasible.intersection(left)) if not zd.infeasible.is_empty else EMPTY
        open_part = drop_slivers(polygonal(robust_overlay("difference", left, zd.infeasible))) \
            if not zd.infeasible.is_empty else left
        given, rest = given_up_split(prep, zi, open_part, points,
                                     None if clock is None else time.perf_counter() + clock.left() - margin)
        out.open_m2 += sum(p.area for p in rest)
        conflict = polygonal(zd.conflict.intersection(marked)) if not zd.conflict.is_empty and not marked.is_empty \
            else EMPTY
        given_up = polygonal(shapely.union_all([conflict, *given])) if given else conflict
        dead = drop_slivers(polygonal(robust_overlay("difference", marked, conflict))) \
            if not conflict.is_empty and not marked.is_empty else marked
        if not dead.is_empty and dead.area > options.area_tolerance_m2:
            out.uncoverable_m2 += dead.area
            out.infeasible.append({"zone": zd.zone.name, "k": zd.k, "area_m2": round(dead.area, 6),
                                   "polygon": mapping(dead), "cause": "uncoverable",
                                   "reason": f"no {zd.k} allowed camera poses can see this part at tier {zd.zone.tier}"})
        if not given_up.is_empty and given_up.area > options.area_tolerance_m2:
            out.given_up_m2 += given_up.area
            out.infeasible.append({"zone": zd.zone.name, "k": zd.k, "area_m2": round(given_up.area, 6),
                                   "polygon": mapping(given_up), "cause": "given_up",
                                   "reason": "given up: each mount takes one pose, and the poses that would see "
                                             f"this part at tier {zd.zone.tier} are needed elsewhere"})
    out.uncovered["total"] = round(sum(out.uncovered.values()), 6)
    return out


def _status_and_bound(outcome: Outcome, prep: Prepared, n_chosen: int, complete: bool,
                      options: PlanOptions) -> tuple[str, int | None, int]:
    """(status, objective, bound on the camera count) from the last solve and the exact check."""
    result = outcome.result
    cancelled = options.cancel is not None and options.cancel.is_set()
    # With lexicographic weights w = S·(camera level) + change level, floor(B / S) bounds the count.
    scale = prep.objective.camera_scale * max(1, options.costs.camera)
    proven = 0 if prep.candidates.unchecked or any(prep.objective.level_face) else outcome.weighted_bound // scale
    if result is None or result.objective is None:
        status = "CANCELLED" if cancelled or (result is not None and result.status == Status.CANCELLED) \
            else "UNKNOWN"
        return status, None, proven
    if result.status == Status.OPTIMAL and complete and not prep.candidates.unchecked:
        return "OPTIMAL", n_chosen, n_chosen
    if result.status == Status.CANCELLED or cancelled:
        status = "CANCELLED"
    elif complete:
        status = "FEASIBLE"
    else:
        # Optimal or not on the witnesses, the cameras still leave coverable area unseen (time ran out during
        # the refinement loop): the bound below is valid, the camera set is not yet a full plan.
        status = "INCOMPLETE"
    if prep.candidates.unchecked:
        # Poses never checked are not in the model: a bound over the others says nothing about all of them.
        return status, n_chosen, 0
    if outcome.slack_used:
        # Bound for covering the target (required area minus the reported infeasible part).
        return status, n_chosen, 0 if outcome.slack_bound is None else min(n_chosen, outcome.slack_bound)
    if any(prep.objective.level_face):
        return status, n_chosen, 0
    return status, n_chosen, min(n_chosen, max(int(result.bound) // scale, proven))


def _parts(prep: Prepared, result: CoverResult | None, options: PlanOptions) -> list[dict]:
    """The last solve's independent parts (no candidate sees witnesses of two), in cameras: chosen and at least."""
    if result is None:
        return []
    scale = prep.objective.camera_scale * max(1, options.costs.camera)
    return [{"rows": p["rows"], "candidates": p["columns"], "status": p["status"],
             "cameras": None if p["objective"] is None else int(p["objective"]) // scale,
             "at_least": int(p["bound"]) // scale, "weighted_bound": int(p["bound"])} for p in result.parts]


def _privacy(floor: Floor, prep: Prepared, chosen: list[CameraPose]) -> dict[str, float]:
    """m² of each private zone inside the chosen cameras' detect-tier views (0 by construction), and the total."""
    views = [prep.engine.view(c, "detect") for c in chosen]
    tree = shapely.STRtree(views)
    out: dict[str, float] = {}
    for z in floor.zones_of("private"):
        near = tree.query(z.geometry) if views else []
        out[z.name] = round(sum(robust_overlay("intersection", views[i], z.geometry).area for i in near), 6)
    out["total"] = round(sum(out.values()), 6)
    return out


def certify(floor: Floor, prep: Prepared, outcome: Outcome, options: PlanOptions, clock: Clock,
            check: ExactCheck) -> Plan:
    """Turn the final selection into decisions, final cameras and the certificate."""
    engine = prep.engine
    chosen = [prep.cols[j] for j in outcome.selected]
    dec = _decisions(floor, prep, chosen)
    privacy = _privacy(floor, prep, chosen)
    areas = _areas(prep, outcome.selected, check, options, clock, outcome.given_up_pts, outcome.sacrificed)
    complete = areas.open_m2 <= options.area_tolerance_m2 and not areas.unchecked
    if complete:
        # Round-off of the overlays, within the tolerance: reported as nothing unseen, as the status says.
        areas.open_m2 = 0.0
    status, objective, bound = _status_and_bound(outcome, prep, len(chosen), complete, options)
    result = outcome.result
    solved = result is not None and result.objective is not None
    plan_obj = Plan(
        status=status, objective=objective, bound=int(bound), kept=dec.kept, removed=dec.removed, added=dec.added,
        reaimed=dec.reaimed, decisions=dec.rows, cameras=[{"id": c.terminal_id, "change": c.change, **c.to_dict()}
                                                          for c in chosen],
        uncovered_m2=areas.uncovered, privacy_overlap_m2=privacy, infeasible=areas.infeasible,
        seconds=clock.elapsed(), rounds=outcome.rounds, witnesses=len(prep.matrix.wx),
        candidates=len(prep.cols), excluded_for_privacy=prep.candidates.excluded,
        objective_levels={"face_terminals": sum(1 for c in chosen if c.face_recognition), "cameras": len(chosen),
                          "changes": sum(1 for c in chosen if c.change != "keep")},
        weighted_objective=int(result.objective) if solved else None,
        weighted_bound=0 if result is None else int(result.bound),
        lp_bound=None if result is None else result.lp_bound, mode=options.mode, k_override=options.k_override,
        uncovered_pieces=areas.pieces, coverable_unseen_m2=areas.open_m2, unchecked_zones=areas.unchecked,
        given_up_m2=areas.given_up_m2, uncoverable_m2=areas.uncoverable_m2,
        parts=_parts(prep, result, options),
    )
    if options.explain and chosen:
        from planner.plan.explain import explain_plan

        plan_obj.explanations = explain_plan(floor, engine, chosen, prep.zones, plan_obj.removed, clock)
    plan_obj.stopped_in = clock.stopped_in
    plan_obj.seconds = clock.elapsed()
    emit(options, phase="done", status=status, objective=objective, bound=plan_obj.bound, seconds=plan_obj.seconds)
    return plan_obj
