"""The camera-plan optimizer: the smallest set of cameras meeting every required zone, with a certificate.

``plan(floor, options) -> Plan``.  Steps (see docs/optimizer.md):

1. Data: classify terminals (cameras are coverage candidates; face-recognition terminals only when
   ``allow_face``; access readers and "other" terminals are out of coverage scope and kept unless locked
   remove or mounted inside a private zone), build candidate poses (reduce: installed poses + re-aims;
   design: generated mounts × headings × models; mixed: both).
2. Privacy first: every candidate mounted inside a private zone, or whose detect-tier view overlaps a private
   zone by more than the tolerance, is dropped *before* the model is built.  A must-keep lock on such a
   terminal is a conflict and raises InputError.
3. Witness refinement loop (solver notes §4): witnesses = a grid in each required zone; solve the k-cover
   set-cover model on them; compute the exact uncovered area by polygon overlay; add one witness inside
   each uncovered piece; re-solve with the previous selection as a hint; stop at 0 uncovered area.  Pieces no
   candidate can see k times are reported as infeasible (with their polygon) and excluded from the target.
4. Certificate: status, objective, bound, gap, uncovered area per zone, privacy overlap.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from planner.candidates import (
    DEFAULT_MODELS,
    CameraModel,
    Candidate,
    ViewEngine,
    design_candidates,
    inside,
    terminal_poses,
)
from planner.errors import InputError
from planner.floor import Floor, Terminal, Zone
from planner.geometry import EMPTY, polygon_parts, polygonal
from planner.setcover import CoverProblem, SolveOptions, Status, lexicographic_costs, relative_gap, solve
from planner.verify import (
    AREA_TOL_M2,
    MIN_GAP_WIDTH_M,
    PRIVACY_TOL_M2,
    drop_slivers,
    k_covered,
    required_region,
    uncovered,
)

MODES = ("reduce", "design", "mixed")
ProgressFn = Callable[[dict], None]


@dataclass(frozen=True)
class PlanCosts:
    """Per-level costs of the lexicographic objective (faces, then cameras, then changes)."""

    face: int = 1  # level 1: each face-recognition terminal used
    camera: int = 1  # level 2: each camera in the plan
    new_install: int = 1  # level 3: each new camera
    reaim: int = 1  # level 3: each camera turned at its mount


@dataclass
class PlanOptions:
    """How to plan: mode, candidate generation, constraints' tolerances, limits and callbacks."""

    mode: str = "reduce"
    reaim_step: float | None = None  # degrees; None = keep installed poses
    design_spacing: float = 2.0  # metres between generated mounts along walls
    design_headings: int = 8
    design_corners: bool = True  # design mode: also mount points around every wall vertex
    design_in_required: bool = True  # design mode: only mounts inside (or within 0.5 m of) a required zone
    models: tuple[CameraModel, ...] = DEFAULT_MODELS
    allow_face: bool = False
    costs: PlanCosts = field(default_factory=PlanCosts)
    privacy_tolerance_m2: float = PRIVACY_TOL_M2
    area_tolerance_m2: float = AREA_TOL_M2
    witness_spacing: float | None = None  # metres; None = automatic per zone
    witnesses_per_zone: int = 300  # target of the automatic spacing
    boundary_witnesses: bool = True  # also sample along each zone's boundary (2 cm inside) and its corners
    k_override: int | None = None  # plan every required zone with this k (trade-off curves)
    max_rounds: int = 40
    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    backend: str = "cpsat"
    deterministic: bool = True
    explain: bool = True
    ppm: dict[str, float] | None = None
    cancel: threading.Event | None = None
    progress: ProgressFn | None = None


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

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective; 0 when provably minimal."""
        return relative_gap(self.objective, self.bound)

    @property
    def provably_minimal(self) -> bool:
        """True when the bound equals the objective and no coverable area is left uncovered."""
        return self.status == "OPTIMAL" and self.objective is not None and self.bound == self.objective

    def to_dict(self) -> dict:
        """JSON-ready plan (the `plan` CLI prints this)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": None if self.gap is None else round(self.gap, 6),
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


# ----------------------------------------------------------------------------------------------- data


@dataclass
class _ZoneData:
    zone: Zone
    k: int
    region: BaseGeometry
    infeasible: BaseGeometry = EMPTY
    conflict: BaseGeometry = EMPTY  # part of `infeasible` due to one-pose-per-mount conflicts (slack model)


@dataclass
class _Model:
    """Rows (witnesses) and columns (candidates) of the k-cover model, grown by the refinement loop."""

    cands: list[Candidate]
    zones: list[_ZoneData]
    engine: ViewEngine
    wx: list[float] = field(default_factory=list)
    wy: list[float] = field(default_factory=list)
    wzone: list[int] = field(default_factory=list)
    demand: list[int] = field(default_factory=list)
    columns: list[list[int]] = field(default_factory=list)
    wgrid: list[bool] = field(default_factory=list)  # True for grid witnesses (they carry a cell of area)
    n_mounts: list[int] = field(default_factory=list)  # distinct mounts that can see each witness
    _by_mount: dict[str, list[int]] | None = None

    def add_witnesses(self, zi: int, xs: np.ndarray, ys: np.ndarray, grid: np.ndarray | None = None) -> list[int]:
        """Append witnesses of zone `zi`, fill their matrix entries, and return their row ids."""
        zd = self.zones[zi]
        start = len(self.wx)
        self.wgrid.extend(bool(g) for g in (grid if grid is not None else np.zeros(len(xs), dtype=bool)))
        rows = list(range(start, start + len(xs)))
        self.wx.extend(float(v) for v in xs)
        self.wy.extend(float(v) for v in ys)
        self.wzone.extend([zi] * len(xs))
        n_mounts = np.zeros(len(xs), dtype=np.int64)
        tier = zd.zone.tier
        for members in self.by_mount().values():
            c0 = self.cands[members[0]]
            q = self.engine.mount_point(c0)
            if q is None:
                continue
            # Points within the mount's radius, then inside its visibility polygon (shared by all its poses).
            r = self.engine.radius(c0)
            near = np.flatnonzero((np.abs(xs - q[0]) <= r) & (np.abs(ys - q[1]) <= r))
            if not len(near):
                continue
            vis = self.engine.visibility(c0)
            if vis.is_empty:
                continue
            in_vis = shapely.contains_xy(vis, xs[near], ys[near])
            if not in_vis.any():
                continue
            near, in_vis = near[in_vis], in_vis[in_vis]
            seen_here = np.zeros(len(near), dtype=bool)
            for j in members:
                hit = self.engine.sees(self.cands[j], tier, xs[near], ys[near], in_vis)
                if hit.any():
                    self.columns[j].extend((start + near[hit]).tolist())
                    seen_here |= hit
            n_mounts[near[seen_here]] += 1
        # A witness no k distinct mounts can see is left to the infeasibility analysis (demand 0).
        self.n_mounts.extend(n_mounts.tolist())
        self.demand.extend(np.where(n_mounts >= zd.k, zd.k, 0).tolist())
        return rows

    def by_mount(self) -> dict[str, list[int]]:
        """Candidate indices grouped by physical mount."""
        if self._by_mount is None:
            self._by_mount = {}
            for c in self.cands:
                self._by_mount.setdefault(c.mount, []).append(c.index)
        return self._by_mount


def _grid(region: BaseGeometry, spacing: float, boundary: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Witnesses: grid points (offset by half a cell) inside the region, points along its boundary set in
    by 2 cm (every half spacing, and at every corner), and one point on each part's surface."""
    minx, miny, maxx, maxy = region.bounds
    xs = np.arange(minx + spacing / 2, maxx, spacing)
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    keep = shapely.contains_xy(region, gx, gy) if len(gx) else np.zeros(0, dtype=bool)
    bx: list[float] = []
    by: list[float] = []
    inner = region.buffer(-min(0.02, spacing / 10), join_style="mitre") if boundary else EMPTY
    for part in polygon_parts(inner):
        for ring in [part.exterior, *part.interiors]:
            n = max(1, math.ceil(ring.length / (spacing / 2)))
            pts = shapely.line_interpolate_point(ring, np.arange(n) * ring.length / n)
            coords = np.vstack([shapely.get_coordinates(pts), np.asarray(ring.coords)[:-1]])
            bx.extend(coords[:, 0])
            by.extend(coords[:, 1])
    bxa, bya = np.asarray(bx), np.asarray(by)
    bkeep = shapely.contains_xy(region, bxa, bya) if len(bxa) else np.zeros(0, dtype=bool)
    parts = polygon_parts(region)
    px = np.array([p.representative_point().x for p in parts])
    py = np.array([p.representative_point().y for p in parts])
    grid = np.r_[np.ones(int(keep.sum()), dtype=bool), np.zeros(int(bkeep.sum()) + len(px), dtype=bool)]
    return np.r_[gx[keep], bxa[bkeep], px], np.r_[gy[keep], bya[bkeep], py], grid


def _wedge(x: float, y: float, heading_deg: float, hfov_deg: float, far: float) -> BaseGeometry | None:
    """The field-of-view wedge out to `far` as a coarse polygon (None for a 360-degree view)."""
    if hfov_deg >= 360.0:
        return None
    m = max(2, math.ceil(hfov_deg / 30.0) + 1)
    ang = np.radians(heading_deg - hfov_deg / 2 + hfov_deg * np.arange(m) / (m - 1))
    ring = np.vstack([[x, y], np.column_stack([x + far * np.cos(ang), y + far * np.sin(ang)])])
    return shapely.Polygon(ring)


def _emit(options: PlanOptions, **info: object) -> None:
    if options.progress is not None:
        options.progress(dict(info))


def _validate(floor: Floor, options: PlanOptions) -> None:
    if options.mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {options.mode!r}")
    if not isinstance(options.time_limit, int | float) or not math.isfinite(options.time_limit) \
            or options.time_limit <= 0:
        raise InputError(f"time limit must be a positive number of seconds, got {options.time_limit}")
    if options.reaim_step is not None and not 0 < options.reaim_step <= 180:
        raise InputError(f"re-aim step must be in (0, 180] degrees, got {options.reaim_step}")
    if options.design_spacing <= 0:
        raise InputError(f"design spacing must be positive, got {options.design_spacing}")
    if options.design_headings < 1:
        raise InputError(f"design headings must be at least 1, got {options.design_headings}")
    if options.k_override is not None and options.k_override < 1:
        raise InputError(f"k must be at least 1, got {options.k_override}")
    if not floor.zones_of("required"):
        raise InputError("the floor has no required zone: there is no coverage to plan")


def _is_coverage_terminal(t: Terminal, allow_face: bool) -> bool:
    """Cameras meet coverage; face-recognition terminals only when explicitly allowed."""
    face = t.face_recognition or t.type == "face_terminal"
    if t.type not in ("camera", "face_terminal"):
        return False
    return allow_face or not face


# ----------------------------------------------------------------------------------------------- plan


@dataclass
class Prepared:
    """Everything the solve needs: allowed candidates, witnesses with their matrix, weights, locks and groups."""

    engine: ViewEngine
    cols: list[Candidate]
    zones: list[_ZoneData]
    model: _Model
    decisions: dict[str, dict]
    privacy_reason: dict[str, str]
    excluded: int
    weights: list[int]
    level_face: list[int]
    level_change: list[int]
    forced: list[int]
    groups: list[list[int]]


def prepare(floor: Floor, options: PlanOptions, start: float | None = None) -> Prepared:
    """Data, privacy exclusion, witnesses and the coverage matrix (everything before the first solve)."""
    _validate(floor, options)
    start = time.perf_counter() if start is None else start
    engine = ViewEngine.for_floor(floor, options.ppm)
    private = floor.zones_of("private")
    tol = options.privacy_tolerance_m2

    private_cache: dict[tuple[float, float], Zone | None] = {}
    private_tree = shapely.STRtree([z.geometry for z in private]) if private else None

    def in_private(x: float, y: float) -> Zone | None:
        key = (x, y)
        if key not in private_cache:
            private_cache[key] = next((z for z in private if inside(z.geometry, x, y)), None)
        return private_cache[key]

    mount_sees_private: dict[str, list[tuple[str, BaseGeometry]]] = {}

    def private_overlap(c: Candidate) -> tuple[float, str | None]:
        # Only what the mount's whole 360-degree visibility polygon sees of private zones can be seen by a pose.
        if c.mount not in mount_sees_private:
            vis = engine.visibility(c)
            hits = [] if vis.is_empty or private_tree is None else private_tree.query(vis, predicate="intersects")
            seen = [(private[i].name, polygonal(vis.intersection(private[i].geometry))) for i in sorted(hits)]
            mount_sees_private[c.mount] = [(n, g) for n, g in seen if not g.is_empty]
        if not mount_sees_private[c.mount]:
            return 0.0, None
        q = engine.mount_point(c)
        if q is not None and c.tier_range("detect", engine.ppm) >= engine.radius(c) - 1e-9:
            # The visibility polygon is already cut to the detect range: only the heading's wedge is left to apply.
            clip = _wedge(q[0], q[1], c.heading_deg, c.hfov_deg, 3.0 * engine.radius(c))
        else:
            clip = engine.view(c, "detect")
        worst, name = 0.0, None
        for zname, g in mount_sees_private[c.mount]:
            a = g.intersection(clip).area if clip is not None else g.area
            if a > worst:
                worst, name = a, zname
        return worst, name

    # Candidates: installed poses (+ re-aims) and generated mounts, per the mode.
    _emit(options, phase="candidates", seconds=time.perf_counter() - start)
    decisions: dict[str, dict] = {}
    cands: list[Candidate] = []
    forced_terminal: dict[str, int] = {}
    for t in floor.terminals:
        zone_in = in_private(t.x, t.y)
        if not _is_coverage_terminal(t, options.allow_face):
            face = t.face_recognition or t.type == "face_terminal"
            if t.locked == "keep":
                if zone_in is not None:
                    raise InputError(f"conflicting lock: terminal {t.id!r} is locked keep but is mounted "
                                     f"inside private zone {zone_in.name!r}")
                decisions[t.id] = {"id": t.id, "decision": "keep", "reason": "locked keep (not used for coverage)"}
            elif t.locked == "remove":
                decisions[t.id] = {"id": t.id, "decision": "remove", "reason": "locked remove"}
            elif zone_in is not None:
                decisions[t.id] = {"id": t.id, "decision": "remove",
                                   "reason": f"mounted inside private zone {zone_in.name!r}"}
            elif face:
                decisions[t.id] = {"id": t.id, "decision": "remove",
                                   "reason": "face recognition is not used for coverage"}
            else:
                decisions[t.id] = {"id": t.id, "decision": "keep",
                                   "reason": f"{t.type} is outside the coverage model"}
            continue
        if t.locked == "remove":
            decisions[t.id] = {"id": t.id, "decision": "remove", "reason": "locked remove"}
            continue
        if options.mode == "design" and t.locked != "keep":
            decisions[t.id] = {"id": t.id, "decision": "remove", "reason": "design mode places new cameras"}
            continue
        step = options.reaim_step if t.locked != "keep" else None
        poses = terminal_poses(t, step, len(cands))
        cands.extend(poses)
        if t.locked == "keep":
            forced_terminal[t.id] = poses[0].index
    if options.mode in ("design", "mixed"):
        try:
            new = design_candidates(floor, engine.occ, options.design_spacing, options.design_headings,
                                    options.models, len(cands), corners=options.design_corners)
            if options.design_in_required:
                # Mount new cameras only where they look after a required zone (inside it, or on its walls).
                near = shapely.union_all([z.geometry for z in floor.zones_of("required")]).buffer(0.5)
                shapely.prepare(near)
                new = [c for c in new if shapely.intersects_xy(near, c.x, c.y)]
                new = [Candidate(**{**c.__dict__, "index": len(cands) + i}) for i, c in enumerate(new)]
            cands.extend(new)
        except ValueError as exc:
            raise InputError(str(exc))
    engine.plan_radii(cands)

    # Privacy first: drop every pose mounted inside a private zone or seeing into one (before the model).
    allowed: list[Candidate] = []
    excluded = 0
    privacy_reason: dict[str, str] = {}
    for c in cands:
        z = in_private(c.x, c.y)
        if z is not None:
            reason = f"mounted inside private zone {z.name!r}"
        else:
            area, name = private_overlap(c)
            reason = f"sees {area:.2f} m² of private zone {name!r}" if area > tol else ""
        if reason:
            excluded += 1
            if c.terminal_id is not None and c.change == "keep":
                privacy_reason[c.terminal_id] = reason
            if c.terminal_id in forced_terminal and c.index == forced_terminal[c.terminal_id]:
                raise InputError(f"conflicting lock: camera {c.terminal_id!r} is locked keep but {reason}")
            continue
        allowed.append(c)
    # Re-index the surviving candidates as model columns.
    cols: list[Candidate] = []
    for c in allowed:
        cols.append(Candidate(**{**c.__dict__, "index": len(cols)}))
    # Views are cached by index: rebuild the engine cache keys for the new indices.
    engine._views.clear()

    # Witnesses: a grid in each required zone (inside the free space).
    zones: list[_ZoneData] = []
    for z in floor.zones_of("required"):
        region = required_region(floor, z.geometry, engine.occ.free)
        zones.append(_ZoneData(z, options.k_override or z.k, region))
    model = _Model(cols, zones, engine, columns=[[] for _ in cols])
    _emit(options, phase="witnesses", seconds=time.perf_counter() - start, candidates=len(cols))
    for zi, zd in enumerate(zones):
        if zd.region.is_empty:
            continue
        spacing = options.witness_spacing or min(5.0, max(0.25, math.sqrt(zd.region.area / options.witnesses_per_zone)))
        xs, ys, grid = _grid(zd.region, spacing, options.boundary_witnesses)
        model.add_witnesses(zi, xs, ys, grid)

    # Objective: lexicographic (faces, then cameras, then new installs and moves), folded to one weight.
    costs = options.costs
    level_face = [costs.face if c.face else 0 for c in cols]
    level_cam = [costs.camera for _ in cols]
    level_change = [costs.new_install if c.change == "new" else costs.reaim if c.change == "reaim" else 0
                    for c in cols]
    weights = lexicographic_costs([level_face, level_cam, level_change]) if cols else []
    # One pose per physical mount.
    by_mount: dict[str, list[int]] = {}
    for c in cols:
        by_mount.setdefault(c.mount, []).append(c.index)
    groups = [g for g in by_mount.values() if len(g) > 1]
    forced = [cols_index for cols_index, c in enumerate(cols)
              if c.terminal_id in forced_terminal and c.change == "keep"]

    return Prepared(engine, cols, zones, model, decisions, privacy_reason, excluded, weights, level_face,
                    level_change, forced, groups)


def plan(floor: Floor, options: PlanOptions | None = None) -> Plan:
    """Plan the smallest set of cameras meeting every required zone of `floor`, with a certificate."""
    options = options or PlanOptions()
    start = time.perf_counter()
    deadline = start + float(options.time_limit)
    prep = prepare(floor, options, start)
    engine, cols, zones, model = prep.engine, prep.cols, prep.zones, prep.model
    weights, forced, groups = prep.weights, prep.forced, prep.groups

    # Refinement loop: solve on witnesses, measure the exact uncovered area, add witnesses, re-solve.
    hint: list[int] | None = None
    result = None
    rounds = 0
    selected: list[int] = []
    # With several poses per mount, witnesses can be jointly uncoverable (one pose per mount): rows only just
    # coverable (seen by exactly k mounts) get a slack column from the start; more if the solver proves
    # the model infeasible.  A slack costs more than any camera set, so it is used only when unavoidable.
    slack_set: set[int] = set()
    slack = bool(groups)
    sacrificed: set[int] = set()
    conflict_pts: list[tuple[int, float, float]] = []
    n_cols = len(cols)
    while True:
        rounds += 1
        remaining = deadline - time.perf_counter()
        cancelled = options.cancel is not None and options.cancel.is_set()
        if rounds > 1 and (remaining <= 0.05 or cancelled or rounds > options.max_rounds):
            break
        columns, costs = model.columns, weights
        slack_rows: list[int] = []
        if slack:
            slack_set |= {i for i, d in enumerate(model.demand) if 0 < d and model.n_mounts[i] <= d}
            # Slack columns (one per unit of demand) make the model feasible; leaving a witness uncovered
            # costs more than any set of cameras, so the solver first covers as much as can be covered.
            slack_rows = [i for i in sorted(slack_set) for _ in range(model.demand[i])]
            columns = model.columns + [[i] for i in slack_rows]
            costs = lexicographic_costs([[0] * n_cols + [1] * len(slack_rows),
                                         prep.level_face + [0] * len(slack_rows),
                                         [options.costs.camera] * n_cols + [0] * len(slack_rows),
                                         prep.level_change + [0] * len(slack_rows)])
        problem = CoverProblem(
            n_rows=len(model.wx), columns=columns, costs=costs, demand=list(model.demand),
            forced=forced, groups=groups, hint=hint,
        )
        round_no = rounds

        def report(incumbent: int | None, bound: int, seconds: float, _r: int = round_no) -> None:
            _emit(options, phase="solve", round=_r, weighted_objective=incumbent, weighted_bound=bound,
                  seconds=time.perf_counter() - start)

        solve_opts = SolveOptions(
            time_limit=max(0.2, remaining), workers=options.workers, seed=options.seed,
            backend=options.backend, deterministic=options.deterministic, cancel=options.cancel, progress=report,
        )
        attempt = solve(problem, solve_opts)
        if attempt.status == Status.INFEASIBLE:
            # Slack first for the rows only just coverable (seen by exactly k mounts) and those the solver
            # names as the cause; if that is not enough, for every row.
            named = set(attempt.uncoverable_rows) | {
                i for i, d in enumerate(model.demand) if 0 < d and model.n_mounts[i] <= d}
            named -= slack_set
            if not named:
                named = {i for i, d in enumerate(model.demand) if d > 0} - slack_set
            if named and remaining > 0.3:
                slack = True
                slack_set |= named
                rounds -= 1
                continue
        if attempt.objective is None:
            # Out of time (or cancelled) before a cover of the new witnesses: keep the previous round's answer.
            if result is None or result.objective is None:
                result = attempt
            break
        result = attempt
        selected = [j for j in result.selected if j < n_cols]
        hint = selected
        conflict_pts = [(model.wzone[slack_rows[j - n_cols]], model.wx[slack_rows[j - n_cols]],
                         model.wy[slack_rows[j - n_cols]]) for j in result.selected if j >= n_cols]
        sacrificed = {slack_rows[j - n_cols] for j in result.selected if j >= n_cols}
        # Exact check: uncovered pieces of every zone's target (zone minus proven-infeasible parts).
        new_rows = 0
        open_area = 0.0
        for zi, zd in enumerate(zones):
            target = polygonal(zd.region.difference(zd.infeasible)) if not zd.infeasible.is_empty else zd.region
            views = [engine.view(cols[j], zd.zone.tier) for j in selected]
            left = uncovered(target, views, zd.k)
            for piece in polygon_parts(left):
                if piece.area <= options.area_tolerance_m2 * 1e-3:
                    continue
                if any(z == zi and piece.intersects(shapely.Point(x, y)) for z, x, y in conflict_pts):
                    # Left uncovered on purpose by the slack model: part of the unavoidable conflict.
                    zd.conflict = polygonal(shapely.union_all([zd.conflict, piece]))
                    zd.infeasible = polygonal(shapely.union_all([zd.infeasible, piece]))
                    continue
                new_rows += _refine_piece(model, zi, piece, selected, options)
                open_area += piece.area
        _emit(options, phase="refine", round=rounds, uncovered_m2=open_area, new_witnesses=new_rows,
              objective=len(selected), seconds=time.perf_counter() - start)
        if new_rows == 0:
            break

    seconds_solve = time.perf_counter() - start
    return _finish(floor, options, engine, cols, zones, model, result, selected, prep.decisions,
                   prep.privacy_reason, rounds, prep.excluded, weights, prep.level_face, prep.level_change, start,
                   seconds_solve, slack_used=bool(conflict_pts),
                   slack_bound=_bound_without(model, sacrificed, forced, groups, options, deadline)
                   if conflict_pts else None)


def _witness_points(piece: BaseGeometry, options: PlanOptions) -> list[tuple[float, float]]:
    """One point well inside each part of the piece (opened first: zero-width spikes left by the overlay
    would otherwise attract the representative point onto a covered edge)."""
    opened = polygonal(piece.buffer(-MIN_GAP_WIDTH_M / 2).buffer(MIN_GAP_WIDTH_M / 2))
    out: list[tuple[float, float]] = []
    for part in polygon_parts(opened):
        if part.area <= options.area_tolerance_m2 * 1e-3:
            continue
        rp = part.representative_point()
        out.append((rp.x, rp.y))
        c = part.centroid
        if part.contains(c):
            out.append((c.x, c.y))
    return out


def _extra_points(piece: BaseGeometry, options: PlanOptions, per_part: int = 4) -> list[tuple[float, float]]:
    """A few more points per part, pulled from its vertices halfway towards its representative point."""
    out: list[tuple[float, float]] = []
    for part in polygon_parts(piece):
        if part.area <= options.area_tolerance_m2 or not isinstance(part, shapely.Polygon):
            continue
        rp = part.representative_point()
        ring = np.asarray(part.exterior.coords)[:-1]
        step = max(1, len(ring) // per_part)
        for vx, vy in ring[::step][:per_part]:
            x, y = 0.5 * (vx + rp.x), 0.5 * (vy + rp.y)
            if part.contains(shapely.Point(x, y)):
                out.append((x, y))
    return out


def _refine_piece(model: _Model, zi: int, piece: BaseGeometry, selected: list[int], options: PlanOptions) -> int:
    """Add a witness inside an uncovered piece; if no k candidates can see it, split off the infeasible part."""
    zd = model.zones[zi]
    engine = model.engine
    tier = zd.zone.tier
    for x, y in _witness_points(piece, options):
        # A point already seen k times by the selection is round-off, not a gap: try the next one.
        seen = sum(1 for j in selected if shapely.contains_xy(engine.view(model.cands[j], tier), x, y))
        if seen >= zd.k:
            continue
        (row,) = model.add_witnesses(zi, np.array([x]), np.array([y]))
        if model.demand[row] > 0:
            # More cuts per round (fewer re-solves): points spread over the piece, if the selection misses them.
            extra = [(px, py) for px, py in _extra_points(piece, options)
                     if sum(1 for j in selected if shapely.contains_xy(engine.view(model.cands[j], tier), px, py))
                     < zd.k]
            if extra:
                ex = np.array(extra)
                model.add_witnesses(zi, ex[:, 0], ex[:, 1])
            return 1 + len(extra)
        break
    else:
        return 0
    # The witness cannot be seen by k mounts: compute exactly which part of the piece no candidates can cover.
    mount_views: dict[str, list[BaseGeometry]] = {}
    minx, miny, maxx, maxy = piece.bounds
    for c in model.cands:
        q = engine.mount_point(c)
        if q is None:
            continue
        r = c.tier_range(tier, engine.ppm)
        if q[0] < minx - r or q[0] > maxx + r or q[1] < miny - r or q[1] > maxy + r:
            continue
        # Cheap rejections first: the mount's visibility polygon, then the heading's wedge.
        if not engine.visibility(c).intersects(piece):
            continue
        wedge = _wedge(q[0], q[1], c.heading_deg, c.hfov_deg, 3.0 * r)
        if wedge is not None and not wedge.intersects(piece):
            continue
        v = engine.view(c, tier)
        if not v.is_empty and v.intersects(piece):
            mount_views.setdefault(c.mount, []).append(v)
    unions = [shapely.union_all(vs) if len(vs) > 1 else vs[0] for vs in mount_views.values()]
    coverable = drop_slivers(k_covered(piece, unions, zd.k))
    dead = drop_slivers(polygonal(piece.difference(coverable))) if not coverable.is_empty else piece
    if dead.area > options.area_tolerance_m2 * 1e-3:
        zd.infeasible = polygonal(shapely.union_all([zd.infeasible, dead])) if not zd.infeasible.is_empty else dead
    added = 0
    for x, y in _witness_points(coverable, options)[:1]:
        model.add_witnesses(zi, np.array([x]), np.array([y]))
        added += 1
    return added


def _finish(floor: Floor, options: PlanOptions, engine: ViewEngine, cols: list[Candidate], zones: list[_ZoneData],
            model: _Model, result, selected: list[int], decisions: dict[str, dict], privacy_reason: dict[str, str],
            rounds: int, excluded: int, weights: list[int], level_face: list[int], level_change: list[int],
            start: float, seconds_solve: float, slack_used: bool = False,
            slack_bound: int | None = None) -> Plan:
    """Turn the final selection into decisions, final cameras and the certificate."""
    chosen = [cols[j] for j in selected]
    chosen_ids = {c.terminal_id: c for c in chosen if c.terminal_id is not None}
    kept: list[str] = []
    removed: list[str] = []
    reaimed: list[dict] = []
    added: list[dict] = []
    out_decisions: list[dict] = []
    for t in floor.terminals:
        if t.id in decisions:
            d = decisions[t.id]
        elif t.id in chosen_ids:
            c = chosen_ids[t.id]
            if c.change == "reaim":
                d = {"id": t.id, "decision": "reaim", "reason": "needed for coverage after turning at its mount",
                     "heading_deg": c.heading_deg, "hfov_deg": c.hfov_deg}
                reaimed.append({"id": t.id, "from_heading_deg": t.heading_deg, "heading_deg": c.heading_deg,
                                "from_hfov_deg": t.hfov_deg, "hfov_deg": c.hfov_deg})
            else:
                reason = "locked keep" if t.locked == "keep" else "needed for coverage"
                d = {"id": t.id, "decision": "keep", "reason": reason}
        elif t.id in privacy_reason:
            d = {"id": t.id, "decision": "remove", "reason": privacy_reason[t.id]}
        else:
            d = {"id": t.id, "decision": "remove", "reason": "not needed: the kept cameras cover its area"}
        out_decisions.append(d)
        (kept if d["decision"] in ("keep", "reaim") else removed).append(t.id)
    for c in chosen:
        if c.change == "new":
            pose = c.pose()
            added.append(pose)
            out_decisions.append({"id": None, "decision": "add", "reason": "new camera needed for coverage", **pose})
    cameras = []
    for c in chosen:
        entry = {"id": c.terminal_id, "change": c.change, **c.pose()}
        cameras.append(entry)

    # Certificate: exact uncovered area per zone, privacy overlap of the final cameras.
    unc: dict[str, float] = {}
    pieces_geo: dict[str, dict] = {}
    infeasible: list[dict] = []
    for zd in zones:
        views = [engine.view(c, zd.zone.tier) for c in chosen]
        left = uncovered(zd.region, views, zd.k)
        unc[zd.zone.name] = round(left.area, 6)
        if not left.is_empty:
            pieces_geo[zd.zone.name] = mapping(left)
        # Report only what the final cameras actually leave uncovered (a conflict found in an earlier round
        # may have been resolved by a later choice of poses).
        dead = polygonal(zd.infeasible.intersection(left)) if not zd.infeasible.is_empty and not left.is_empty \
            else EMPTY
        if not dead.is_empty and dead.area > options.area_tolerance_m2:
            reason = f"no {zd.k} allowed camera poses can see this part at tier {zd.zone.tier}"
            conflict = polygonal(zd.conflict.intersection(dead)) if not zd.conflict.is_empty else EMPTY
            if conflict.area > options.area_tolerance_m2:
                reason += (f"; {conflict.area:.2f} m² of it only because each mount takes one pose "
                           "(the poses that would see it are needed elsewhere)")
            infeasible.append({"zone": zd.zone.name, "k": zd.k, "area_m2": round(dead.area, 6),
                               "polygon": mapping(dead), "reason": reason})
    unc["total"] = round(sum(v for k, v in unc.items()), 6)
    privacy: dict[str, float] = {}
    for z in floor.zones_of("private"):
        privacy[z.name] = round(sum(engine.view(c, "detect").intersection(z.geometry).area for c in chosen), 6)
    privacy["total"] = round(sum(privacy.values()), 6)

    # Bound: the solver's proven bound on the folded weight, turned into a bound on the camera count.
    if result is None or result.objective is None:
        status = "UNKNOWN" if result is None or result.status != Status.CANCELLED else "CANCELLED"
        objective = None
        bound = 0
        w_obj = None
        w_bound = 0 if result is None else int(result.bound)
        lp = None if result is None else result.lp_bound
    else:
        w_obj, w_bound, lp = int(result.objective), int(result.bound), result.lp_bound
        objective = len(chosen)
        open_unc = sum(
            uncovered(polygonal(zd.region.difference(zd.infeasible)) if not zd.infeasible.is_empty else zd.region,
                      [engine.view(c, zd.zone.tier) for c in chosen], zd.k).area for zd in zones)
        complete = open_unc <= options.area_tolerance_m2
        if result.status == Status.OPTIMAL and complete:
            status = "OPTIMAL"
            bound = objective
        else:
            if result.status == Status.CANCELLED:
                status = "CANCELLED"
            elif complete:
                status = "FEASIBLE"
            else:
                # Optimal or not on the witnesses, the cameras still leave coverable area unseen (time ran out
                # during the refinement loop): the bound below is valid, the camera set is not yet a full plan.
                status = "INCOMPLETE"
            # With lexicographic weights w = S·(camera level) + change level, floor(B / S) bounds the count.
            scale = _camera_scale(weights, level_face, level_change) * max(1, options.costs.camera)
            bound = min(objective, w_bound // scale) if scale and not any(level_face) and not slack_used else 0
            if slack_used and slack_bound is not None:
                # Bound for covering the target (required area minus the reported infeasible part).
                bound = min(objective, slack_bound)
    seconds = time.perf_counter() - start
    plan_obj = Plan(
        status=status, objective=objective, bound=int(bound), kept=kept, removed=removed, added=added,
        reaimed=reaimed, decisions=out_decisions, cameras=cameras, uncovered_m2=unc, privacy_overlap_m2=privacy,
        infeasible=infeasible, seconds=seconds, rounds=rounds, witnesses=len(model.wx), candidates=len(cols),
        excluded_for_privacy=excluded,
        objective_levels={"face_terminals": sum(1 for c in chosen if c.face), "cameras": len(chosen),
                          "changes": sum(1 for c in chosen if c.change != "keep")},
        weighted_objective=w_obj, weighted_bound=w_bound, lp_bound=lp, mode=options.mode,
        k_override=options.k_override, uncovered_pieces=pieces_geo,
    )
    if options.explain and chosen:
        from planner.explain import explain_plan

        plan_obj.explanations = explain_plan(floor, engine, chosen, zones_required(zones), plan_obj.removed)
    _emit(options, phase="done", status=status, objective=objective, bound=plan_obj.bound, seconds=seconds)
    return plan_obj


def _bound_without(model: _Model, sacrificed: set[int], forced: list[int], groups: list[list[int]],
                   options: PlanOptions, deadline: float) -> int | None:
    """Lower bound on the camera count for covering every witness except those the slack model gave up
    (the target once the reported infeasible area is excluded): LP bound, unicost, same locks and groups."""
    demand = [0 if i in sacrificed else d for i, d in enumerate(model.demand)]
    limit = max(1.0, min(10.0, deadline - time.perf_counter() + 5.0))
    try:
        res = solve(CoverProblem(n_rows=len(demand), columns=model.columns, demand=demand, forced=forced,
                                 groups=groups), SolveOptions(time_limit=limit, backend="greedy", seed=options.seed))
    except InputError:
        return None
    if res.status == Status.INFEASIBLE:
        return None
    return int(res.bound)


def zones_required(zones: list[_ZoneData]) -> list[tuple[Zone, BaseGeometry, int]]:
    """(zone, required region, k) triples for explanations."""
    return [(zd.zone, zd.region, zd.k) for zd in zones]


def _camera_scale(weights: list[int], level_face: list[int], level_change: list[int]) -> int:
    """The multiplier of the camera level inside the folded weights (0 if it cannot be isolated)."""
    if not weights:
        return 0
    return max(1, sum(level_change) + 1)
