"""The solve pipeline: validate, reduce, warm start, bound, reduced-cost fixing, exact engine per component, map back."""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
import time
from collections.abc import Callable

import numpy as np

from planner import parallel
from planner.errors import InputError
from planner.setcover.core import Core, ceil_bound
from planner.setcover.engines import EngineResult, lp_duals, solve_cpsat, solve_mip
from planner.setcover.heuristics import (
    cost_of,
    greedy,
    improve,
    lagrangian_bound,
    prune_partial,
    rwls_applies,
    warm_start,
)
from planner.setcover.problem import Backend, CoverProblem, CoverResult, SolveOptions, Status, is_cover
from planner.setcover.reduce import Fixing, reduce_problem, reduced_cost_fixing


def validated_core(problem: CoverProblem, options: SolveOptions,
                   deadline: float | None = None) -> tuple[Core, list[int]] | None:
    """Check the input and build the root core (forbidden columns left out) and the local forced list.

    None when ``deadline`` (``time.perf_counter()`` seconds) passes while the columns are being read.
    """
    if not isinstance(options.time_limit, int | float) or not options.time_limit > 0:
        raise InputError(f"time limit must be positive, got {options.time_limit}")
    if options.workers < 1:
        raise InputError(f"workers must be at least 1, got {options.workers}")
    try:
        backend = Backend(options.backend)
    except ValueError:
        raise InputError(f"unknown backend {options.backend!r}; use cpsat, mip or greedy") from None
    options.backend = backend
    n_rows, n_cols = int(problem.n_rows), problem.n_columns
    if n_rows < 0:
        raise InputError("n_rows must not be negative")
    costs = np.ones(n_cols, dtype=np.int64) if problem.costs is None else np.asarray(problem.costs)
    if costs.shape != (n_cols,):
        raise InputError(f"expected {n_cols} costs, got {costs.size}")
    if n_cols and not np.issubdtype(costs.dtype, np.integer):
        if not np.all(np.mod(costs, 1) == 0):
            raise InputError("costs must be integers (fold lexicographic levels with lexicographic_costs)")
    costs = costs.astype(np.int64)
    if np.any(costs < 0):
        raise InputError(f"column {int(np.flatnonzero(costs < 0)[0])} has a negative cost")
    if isinstance(problem.demand, int | np.integer):
        demand = np.full(n_rows, int(problem.demand), dtype=np.int64)
    else:
        demand = np.asarray(problem.demand, dtype=np.int64)
        if demand.shape != (n_rows,):
            raise InputError(f"expected {n_rows} demands, got {demand.size}")
    if np.any(demand < 0):
        raise InputError(f"row {int(np.flatnonzero(demand < 0)[0])} has a negative demand")

    def check_columns(name: str, ids) -> set[int]:
        out = {int(j) for j in ids}
        bad = [j for j in out if not 0 <= j < n_cols]
        if bad:
            raise InputError(f"{name} column {min(bad)} is outside 0..{n_cols - 1}")
        return out

    forced = check_columns("forced", problem.forced)
    forbidden = check_columns("forbidden", problem.forbidden)
    if forced & forbidden:
        raise InputError(f"conflicting locks: column {min(forced & forbidden)} is both forced and forbidden")
    group_of = np.full(n_cols, -1, dtype=np.int64)
    for g, members in enumerate(problem.groups):
        for j in check_columns("group", members):
            if group_of[j] >= 0:
                raise InputError(f"column {j} belongs to two groups")
            group_of[j] = g
        locked = sorted(forced.intersection(int(j) for j in members))
        if len(locked) > 1:
            raise InputError(
                f"conflicting locks: columns {locked[0]} and {locked[1]} are forced in one group"
            )
    keep = [j for j in range(n_cols) if j not in forbidden]
    cols = _column_rows([problem.columns[j] for j in keep], keep, n_rows, deadline)
    if cols is None:
        return None
    keep_arr = np.asarray(keep, dtype=np.int64)
    core = Core(
        n_rows=n_rows,
        cols=cols,
        costs=costs[keep_arr] if keep else np.zeros(0, dtype=np.int64),
        demand=demand,
        group_of=group_of[keep_arr] if keep else np.zeros(0, dtype=np.int64),
        col_ids=keep_arr,
        row_ids=np.arange(n_rows, dtype=np.int64),
    )
    if problem.min_covered is not None:
        if int(problem.min_covered) != problem.min_covered or problem.min_covered < 0:
            raise InputError(f"min_covered must be a non-negative integer, got {problem.min_covered}")
        if problem.row_weights is not None:
            weights = np.asarray(problem.row_weights)
            if weights.shape != (n_rows,) or (n_rows and not np.issubdtype(weights.dtype, np.integer)):
                raise InputError(f"expected {n_rows} integer row weights")
            if np.any(weights < 0):
                raise InputError("row weights must not be negative")
    local = {j: i for i, j in enumerate(keep)}
    return core, sorted(local[j] for j in forced)


def _column_rows(columns: list, ids: list[int], n_rows: int, deadline: float | None) -> list[np.ndarray] | None:
    """Each column's sorted distinct rows, read in one pass (InputError naming a column with a row out of range)."""
    lens = np.fromiter((len(c) for c in columns), dtype=np.int64, count=len(columns))
    if deadline is not None and time.perf_counter() > deadline:
        return None
    flat = np.fromiter(itertools.chain.from_iterable(columns), dtype=np.int64, count=int(lens.sum()))
    owner = np.repeat(np.arange(len(columns), dtype=np.int64), lens)
    bad = np.flatnonzero((flat < 0) | (flat >= n_rows))
    if bad.size:
        n = int(owner[bad[0]])
        first = int(flat[bad[owner[bad] == n][0]])
        raise InputError(f"column {ids[n]} covers row {first}, outside 0..{n_rows - 1}")
    # Sort by (column, row) and drop repeats: the same as np.unique per column.  Columns already sorted and
    # distinct (as the planner builds them) skip the sort: 0.3 s of a 2.5-million-entry model.
    rising = np.ones(len(flat), dtype=bool)
    rising[1:] = (flat[1:] > flat[:-1]) | (owner[1:] != owner[:-1])
    if not rising.all():
        order = np.lexsort((flat, owner))
        flat, owner = flat[order], owner[order]
        fresh = np.ones(len(flat), dtype=bool)
        fresh[1:] = (flat[1:] != flat[:-1]) | (owner[1:] != owner[:-1])
        flat, owner = flat[fresh], owner[fresh]
    cuts = np.searchsorted(owner, np.arange(1, len(columns)))
    return np.split(flat, cuts) if len(columns) else []


class _Progress:
    """Aggregates per-component incumbents and bounds into whole-problem progress reports."""

    def __init__(self, options: SolveOptions, start: float, fixed_cost: int, n: int) -> None:
        self.options = options
        self.start = start
        self.fixed_cost = fixed_cost
        self.incumbent: list[int | None] = [None] * n
        self.bound = [0] * n
        self.last: tuple[int | None, int] | None = None

    def set(self, index: int, incumbent: int | None, bound: int) -> None:
        """Record one component's state and report the total when it changed."""
        if incumbent is not None:
            current = self.incumbent[index]
            self.incumbent[index] = incumbent if current is None else min(current, incumbent)
        self.bound[index] = max(self.bound[index], bound)
        if self.options.progress is None:
            return
        total = None if any(v is None for v in self.incumbent) else self.fixed_cost + sum(self.incumbent)  # type: ignore[arg-type]
        state = (total, self.fixed_cost + sum(self.bound))
        if state != self.last:
            self.last = state
            self.options.progress(state[0], state[1], time.perf_counter() - self.start)


def solve(problem: CoverProblem, options: SolveOptions | None = None) -> CoverResult:
    """Solve a weighted k-cover instance and return the best cover with its proven lower bound."""
    options = options or SolveOptions()
    start = time.perf_counter()
    if not isinstance(options.time_limit, int | float) or not options.time_limit > 0:
        raise InputError(f"time limit must be positive, got {options.time_limit}")
    deadline = start + float(options.time_limit)
    validated = validated_core(problem, options, deadline)
    if validated is None:
        return CoverResult(Status.UNKNOWN, None, 0, [], time.perf_counter() - start, str(options.backend))
    root, forced = validated
    if problem.min_covered is not None:
        return _run_partial(problem, options, root, forced, start)
    backend = Backend(options.backend)
    reduce_cap = min(0.25 * options.time_limit, 10.0)
    reduced = reduce_problem(root, forced, full=options.reduce, time_cap=reduce_cap)
    stats = reduced.stats
    if reduced.infeasible_rows:
        return CoverResult(
            status=Status.INFEASIBLE,
            objective=None,
            bound=0,
            selected=[],
            seconds=time.perf_counter() - start,
            backend=str(backend),
            uncoverable_rows=reduced.infeasible_rows,
            reductions=stats,
        )
    costs = np.ones(problem.n_columns, dtype=np.int64) if problem.costs is None else np.asarray(problem.costs)
    fixed_cost = int(costs[reduced.fixed].sum()) if reduced.fixed else 0
    # Small components first: they finish fast and hand their unused time to the large ones.
    components = sorted(reduced.components, key=lambda c: (c.nnz, int(c.row_ids[0])))
    progress = _Progress(options, start, fixed_cost, len(components))
    hint_set = {int(j) for j in problem.hint} if problem.hint is not None and options.warm_start else set()
    selected: list[int] = list(reduced.fixed)
    objective: int | None = fixed_cost
    bound = fixed_cost
    warm_total: int | None = fixed_cost
    lp_total: float | None = float(fixed_cost) if options.lp_bound else None
    all_optimal = True
    cancelled = options.cancel is not None and options.cancel.is_set()
    infeasible_rows: list[int] = []
    parts: list[dict] = []
    for core, result in zip(components, _solve_components(components, options, backend, deadline, hint_set,
                                                          progress, cancelled), strict=True):
        cancelled = cancelled or result.engine.cancelled
        if result.warm is None:
            warm_total = None
        elif warm_total is not None:
            warm_total += result.warm
        if lp_total is not None:
            lp_total = None if result.lp is None else lp_total + result.lp
        engine = result.engine
        parts.append({"rows": core.n_rows, "columns": core.n_cols, "status": engine.status,
                      "objective": engine.objective, "bound": int(engine.bound)})
        if engine.status == "INFEASIBLE":
            infeasible_rows.extend(int(r) for r in core.row_ids)
            continue
        bound += engine.bound
        if engine.selected is None or objective is None:
            objective = None
        else:
            objective += engine.objective or 0
            selected.extend(int(core.col_ids[j]) for j in np.flatnonzero(engine.selected))
        all_optimal &= engine.status == "OPTIMAL"
    seconds = time.perf_counter() - start
    if infeasible_rows:
        return CoverResult(
            status=Status.INFEASIBLE,
            objective=None,
            bound=0,
            selected=[],
            seconds=seconds,
            backend=str(backend),
            uncoverable_rows=sorted(infeasible_rows),
            lp_bound=lp_total,
            reductions=stats,
        )
    if objective is None:
        status = Status.CANCELLED if cancelled else Status.UNKNOWN
        return CoverResult(
            status, None, bound, [], seconds, str(backend), lp_bound=lp_total, reductions=stats, parts=parts,
            fixed_cost=fixed_cost,
        )
    selected.sort()
    if not is_cover(problem, selected):  # pragma: no cover - a bug guard, never expected
        raise RuntimeError("internal error: the solver produced a selection that is not a cover")
    if all_optimal:
        status = Status.OPTIMAL
        bound = objective
    else:
        status = Status.CANCELLED if cancelled else Status.FEASIBLE
    return CoverResult(
        status=status,
        objective=objective,
        bound=min(bound, objective),
        selected=selected,
        seconds=seconds,
        backend=str(backend),
        lp_bound=lp_total,
        warm_start_objective=warm_total,
        reductions=stats,
        parts=parts,
        fixed_cost=fixed_cost,
    )


def lanes_for(options: SolveOptions, n_components: int) -> int:
    """How many components are solved at once: one per worker (processes), or one when they cannot fork."""
    if n_components < parallel.MIN_CHUNKS or not parallel.can_fork():
        return 1
    return max(1, min(options.workers, n_components, os.cpu_count() or 1))


def _share(core: Core, deadline: float, left_nnz: int, lanes: int) -> float:
    """A part's seconds: its share by size of what every lane has left, at least what a small model takes.

    Tiny parts are proven in milliseconds and hand the rest on, while a share of 0.05 s left them at their warm
    start (unproven).  Every part works to the one deadline of the whole solve, never past it.
    """
    now = time.perf_counter()
    share = max(_engine_floor(core) + 0.5, lanes * (deadline - now) * core.nnz / max(1, left_nnz))
    return min(share, max(0.05, deadline - now))


def _part_in_worker(index: int) -> _CoreOutcome:
    """One component, in a forked worker of `_solve_components` (parts are handed out in order)."""
    gc.freeze()  # the parent's objects stay out of this process's collections (and shared, not copied)
    ctx = parallel.context()
    core = ctx["components"][index]
    share = _share(core, ctx["deadline"], ctx["left_nnz"][index], ctx["lanes"])
    progress = _Progress(ctx["options"], 0.0, 0, len(ctx["components"]))
    return _solve_core(core, index, ctx["options"], ctx["backend"], share, ctx["hint_set"], progress, False)


# A forked part may finish this long after the solve's deadline (CP-SAT's stop, pickling the answer back).
_LANE_GRACE_S = 0.3
_LANE_MIN_S = 1.0
_LANE_MIN_NNZ = 250_000


def _solve_components(
    components: list[Core], options: SolveOptions, backend: Backend, deadline: float, hint_set: set[int],
    progress: _Progress, cancelled: bool,
) -> list[_CoreOutcome]:
    """Each component's outcome, in order: one after the other, or on `lanes_for` forked processes at once.

    Threads do not pay here: most of a part's time holds the GIL (building its models, the warm start), and on
    the 2,000-segment re-aim mall's 52 parts two threads took 17.9 s wall against 14.7 s serial.  In processes
    each part gets its lane's share of the workers and of the time (parts go out in order, so the parts not
    started yet are known in the worker); a part's answer depends on its own model, time and workers only.
    A cancel ends the workers at once; parts not finished by then, or by the deadline, get their warm start here.
    """
    left_nnz = np.cumsum([c.nnz for c in components][::-1])[::-1].tolist() if components else []
    # No forks for a solve already out of time (every part then gets only its warm start, here), nor for a small
    # one: the gain was measured on the 2,000-segment re-aim mall's 2.5 million entries (parts 1.5x faster); on
    # the design mall's ~60,000 (13-15 rounds of ~1 s solves) one pair gave OPTIMAL serial, INCOMPLETE forked.
    out_of_time = deadline - time.perf_counter() < _LANE_MIN_S
    small = sum(c.nnz for c in components) < _LANE_MIN_NNZ
    lanes = 1 if cancelled or out_of_time or small else lanes_for(options, len(components))
    outcomes: list[_CoreOutcome | None] = [None] * len(components)
    if lanes == 1:
        for index, core in enumerate(components):
            outcome = _solve_core(core, index, options, backend, _share(core, deadline, left_nnz[index], 1),
                                  hint_set, progress, cancelled)
            cancelled = cancelled or outcome.engine.cancelled
            outcomes[index] = outcome
        return [o for o in outcomes if o is not None]
    lane_options = dataclasses.replace(options, workers=max(1, options.workers // lanes), cancel=None, progress=None)
    shared = {"components": components, "options": lane_options, "backend": backend, "deadline": deadline,
              "left_nnz": left_nnz, "lanes": lanes, "hint_set": hint_set}

    def arrived(index: int, outcome: _CoreOutcome) -> None:
        progress.set(index, outcome.engine.objective, int(outcome.engine.bound))

    stop = None if options.cancel is None else options.cancel.is_set
    done = parallel.ordered_map(_part_in_worker, list(range(len(components))), lanes, deadline + _LANE_GRACE_S,
                                shared, stop, partial=True, on_result=arrived)
    cancelled = options.cancel is not None and options.cancel.is_set()
    for index, core in enumerate(components):
        # Not finished (cancelled, or still running at the deadline): its warm start, within moments.
        outcomes[index] = done[index] or _solve_core(core, index, options, backend, 0.05, hint_set, progress,
                                                     cancelled)
    return [o for o in outcomes if o is not None]


class _CoreOutcome:
    def __init__(self, engine: EngineResult, warm: int | None, lp: float | None) -> None:
        self.engine = engine
        self.warm = warm
        self.lp = lp


def _solve_core(
    core: Core,
    index: int,
    options: SolveOptions,
    backend: Backend,
    share: float,
    hint_set: set[int],
    progress: _Progress,
    cancelled: bool,
) -> _CoreOutcome:
    """Warm start, LP bound and exact engine for one component within `share` seconds."""
    t0 = time.perf_counter()
    core_deadline = t0 + share
    hint_local = [j for j, c in enumerate(core.col_ids.tolist()) if c in hint_set]
    warm = None
    warm_cost: int | None = None
    if options.warm_start or backend == Backend.GREEDY:
        warm = warm_start(core, hint=hint_local, seconds=min(0.1 * share, 2.0), seed=options.seed,
                          deadline=core_deadline)
        if warm is not None:
            warm_cost = cost_of(core, warm)
    known = 0
    lp = None
    duals = None
    # Unicost k=1 cores are where local search beats the exact engines at short limits (solver notes, §2).
    unicost = bool(np.all(core.costs == core.costs[0])) and bool(np.all(core.demand == 1))
    if options.lp_bound and not cancelled and time.perf_counter() < core_deadline:
        # Weighted LPs solve fast and exactly; unicost LPs are slow and the Lagrangian gets within a hair, except
        # with mount groups, which the Lagrangian relaxes: on the 2,000-segment re-aim mall's camera model the LP
        # gave 1,477 in 2 CPU s, the Lagrangian 1,339 in 14 (docs/benchmarks.md, session 6).  Only the value is
        # taken there: the duals would switch the core to the fixing rounds, untried on such cores.
        grouped = bool(np.any(core.group_of >= 0))
        if not unicost or grouped:
            lp_limit = max(0.05, 0.3 * (core_deadline - time.perf_counter()))
            solved = lp_duals(core, time_limit=lp_limit, seed=options.seed)
            if solved is not None:
                lp = solved[0]
                duals = solved[1:] if not unicost else None
        if lp is None:
            budget = min(0.1 * (core_deadline - time.perf_counter()), 3.0)
            lp = lagrangian_bound(core, seconds=budget, upper=warm_cost)
        known = ceil_bound(lp - 1e-9 * abs(lp))
    progress.set(index, warm_cost, known)
    stopped = cancelled or (options.cancel is not None and options.cancel.is_set())
    # Weighted cores go straight to the exact engine: its LP-guided search beats local search there; unicost
    # cores alternate the compiled row-weighting search (most of the time) with short exact runs for the bound.
    searchable = (
        rwls_applies(core) and warm is not None and options.warm_start and backend != Backend.GREEDY and not stopped
    )

    searches = None  # the row-weighting searches, resumed with their row weights by each polish

    def polish(fraction: float, cap: float = float("inf"), patience: int | None = None) -> None:
        nonlocal warm, warm_cost, searches
        budget = min(cap, fraction * (core_deadline - time.perf_counter()))
        if warm is None or warm_cost is None or warm_cost <= known or budget <= 0.05:
            return
        if options.cancel is not None and options.cancel.is_set():
            return
        unit = int(core.costs[0])
        warm, searches = improve(
            core, warm, seconds=budget, seed=options.seed, target=-(-known // max(1, unit)), patience=patience,
            cancel=options.cancel, threads=options.workers, searches=searches,
            on_improve=lambda size: progress.set(index, size * unit, known),
        )  # fmt: skip
        warm_cost = cost_of(core, warm)
        progress.set(index, warm_cost, known)

    if searchable:
        # A quick search that gives up when stuck: small cores are then proven by the exact probe below.
        polish(0.1, 2.0, patience=20 * core.n_cols + 10_000)
    if (
        warm is not None
        and warm_cost is not None
        and (warm_cost <= known or backend == Backend.GREEDY or stopped)
    ):
        label = "OPTIMAL" if warm_cost <= known else "FEASIBLE"
        engine = EngineResult(label, warm, warm_cost, min(known, warm_cost), stopped)
        return _CoreOutcome(engine, warm_cost, lp)
    if backend == Backend.GREEDY or stopped:
        return _CoreOutcome(EngineResult("UNKNOWN", None, None, known, stopped), warm_cost, lp)

    def report(incumbent: int | None, bound: int) -> None:
        progress.set(index, incumbent, bound)

    def run_engine(limit: float, hint: np.ndarray | None, floor: int) -> EngineResult:
        return _run_engine(core, options, backend, limit, hint, floor, report)

    remaining = core_deadline - time.perf_counter()
    if warm is not None and warm_cost is not None and remaining < _engine_floor(core):
        # Too little time left to even build and presolve the model: the warm start is the answer.
        return _CoreOutcome(EngineResult("FEASIBLE", warm, warm_cost, min(known, warm_cost)), warm_cost, lp)
    if searchable:
        # Probe: a short exact run often proves small cores optimal; otherwise search longer, then go exact again.
        # When the incumbent is within a column or 5 % of the bound, a proof is the likelier gain: the exact
        # engine gets more of the time; otherwise the search does.
        close = warm_cost is not None and warm_cost - known <= max(core.costs[0], 0.05 * warm_cost)
        probe, search_share = (0.4, 0.3) if close else (0.15, 0.7)
        engine = run_engine(max(0.05, probe * remaining), warm, known)
        engine = _keep_better(engine, warm, warm_cost)
        known = max(known, engine.bound)
        if engine.status in ("OPTIMAL", "INFEASIBLE") or engine.cancelled:
            progress.set(index, engine.objective, engine.bound)
            return _CoreOutcome(engine, warm_cost, lp)
        if engine.selected is not None and engine.objective is not None:
            warm, warm_cost = engine.selected, engine.objective
        polish(search_share)
        remaining = core_deadline - time.perf_counter()
        if warm_cost is not None and (warm_cost <= known or remaining < _engine_floor(core)):
            label = "OPTIMAL" if warm_cost <= known else "FEASIBLE"
            engine = EngineResult(label, warm, warm_cost, min(known, warm_cost))
            progress.set(index, engine.objective, engine.bound)
            return _CoreOutcome(engine, warm_cost, lp)
    if (
        duals is not None and warm is not None and warm_cost is not None and _float_exact(core)
        and warm_cost - known <= _ROUNDS_GAP * warm_cost
    ):
        engine = _solve_below(core, options, backend, warm, warm_cost, duals, known, core_deadline, report)
    else:
        engine = run_engine(max(0.05, core_deadline - time.perf_counter()), warm, known)
    engine = _keep_better(engine, warm, warm_cost)
    progress.set(index, engine.objective, engine.bound)
    return _CoreOutcome(engine, warm_cost, lp)


def _engine_floor(core: Core) -> float:
    """Seconds below which an exact run is not started on `core` (model build and presolve: ~5 µs per nonzero)."""
    return 0.1 + core.nnz * 5e-6


# The fixing rounds pay off when the warm start is within this share above the LP bound (OR-Library 4.x–D: at
# most 18 %, D.4); with wider gaps little is fixed and one long hinted run with all workers finds better covers
# (synthetic mall-like cores with one pose per mount: 33 %).
_ROUNDS_GAP = 0.25


def _float_exact(core: Core) -> bool:
    """Whether every cover's cost is exact in floating point (HiGHS and the reduced costs work in doubles)."""
    return int(core.costs.sum()) < 2**40


def _run_engine(
    core: Core, options: SolveOptions, backend: Backend, limit: float, hint: np.ndarray | None, floor: int,
    report: Callable[[int | None, int], None], cutoff: int | None = None, first: bool = False,
) -> EngineResult:
    """The exact engine the backend names on one core, looking only at covers of cost at most `cutoff` if given."""
    if backend == Backend.MIP:
        return solve_mip(
            core, hint, time_limit=limit, seed=options.seed, known_bound=floor,
            cancel=options.cancel, progress=report, log=options.log, cutoff=cutoff,
        )  # fmt: skip
    return solve_cpsat(
        core, hint, time_limit=limit, workers=options.workers, seed=options.seed,
        deterministic=options.deterministic, known_bound=floor, cancel=options.cancel,
        progress=report, log=options.log, cutoff=cutoff, first_solution=first,
    )  # fmt: skip


def _solve_below(
    core: Core, options: SolveOptions, backend: Backend, warm: np.ndarray, warm_cost: int,
    duals: tuple[np.ndarray, np.ndarray], known: int, deadline: float,
    report: Callable[[int | None, int], None],
) -> EngineResult:
    """Exact solve of the core by rounds of reduced-cost fixing below the incumbent, re-reduction and the engine.

    Every cover cheaper than the incumbent survives the fixing (and the reductions keep an optimal one), so
    proving that none is left, or finding the optimum of what is left, proves the whole core. Each round
    stops at its first cheaper cover, against which the next round fixes more columns, or runs to the proof
    that none is left (or to the deadline).
    """
    best, best_cost = warm, warm_cost
    cancelled = False
    for round_index in range(_MAX_ROUNDS):
        fixing = reduced_cost_fixing(core, duals[0], duals[1], best_cost)
        known = max(known, ceil_bound(fixing.bound - 1e-9 * abs(fixing.bound)))
        remaining = deadline - time.perf_counter()
        if best_cost <= known or remaining <= 0.05 or cancelled:
            break
        first = round_index < _MAX_ROUNDS - 1
        result = _below_once(core, options, backend, fixing, best_cost, known, remaining, report, first=first)
        known = max(known, result.bound)
        cancelled = result.cancelled
        if result.selected is not None and result.objective is not None and result.objective < best_cost:
            best, best_cost = result.selected, int(result.objective)
        elif result.status != "INFEASIBLE":
            break  # out of time (or cancelled) without a cheaper cover
        if result.status in ("OPTIMAL", "INFEASIBLE"):
            known = best_cost  # the optimum below the old incumbent, or proof that there is none
            break
    label = "OPTIMAL" if best_cost <= known else "FEASIBLE"
    return EngineResult(label, best, best_cost, min(known, best_cost), cancelled)


# Rounds before the last stop at their first cheaper cover; the last one searches for the best.
_MAX_ROUNDS = 12


def _below_once(
    core: Core, options: SolveOptions, backend: Backend, fixing: Fixing, upper: int, known: int, limit: float,
    report: Callable[[int | None, int], None], first: bool = False,
) -> EngineResult:
    """One round: the best cover cheaper than `upper` on the fixed and re-reduced core, within `limit` seconds.

    INFEASIBLE: none exists. The bound returned is valid for the whole core (at most `upper`).
    """
    start = time.perf_counter()
    keep = np.flatnonzero(~fixing.drop)
    local_of = np.full(core.n_cols, -1, dtype=np.int64)
    local_of[keep] = np.arange(keep.size)
    restricted = Core(
        n_rows=core.n_rows, cols=[core.cols[j] for j in keep.tolist()], costs=core.costs[keep],
        demand=core.demand, group_of=core.group_of[keep], col_ids=keep, row_ids=np.arange(core.n_rows),
    )  # fmt: skip
    forced = local_of[np.flatnonzero(fixing.force & ~fixing.drop)].tolist()
    reduced = reduce_problem(restricted, forced, full=options.reduce, time_cap=min(2.0, 0.1 * limit), split=False)
    none_below = EngineResult("INFEASIBLE", None, None, upper)
    if reduced.infeasible_rows:
        return none_below
    fixed_cost = int(core.costs[reduced.fixed].sum()) if reduced.fixed else 0
    cutoff = upper - 1 - fixed_cost
    if cutoff < 0:
        return none_below
    selected = np.zeros(core.n_cols, dtype=bool)
    selected[reduced.fixed] = True
    if not reduced.components:
        return EngineResult("OPTIMAL", selected, fixed_cost, fixed_cost)
    sub = reduced.components[0]

    def sub_report(incumbent: int | None, bound: int) -> None:
        total = None if incumbent is None else fixed_cost + incumbent
        report(total, max(known, min(upper, fixed_cost + bound)))

    floor = max(0, known - fixed_cost)
    left = max(0.05, limit - (time.perf_counter() - start))
    # One CP-SAT worker (LP at linearization level 2): on 2 shared cores it proves "no cheaper cover" about
    # twice as fast as two (measured on OR-Library B.4, D.2, D.3; docs/benchmarks.md, 2026-12-02).
    single = dataclasses.replace(options, workers=1)
    engine = _run_engine(sub, single, backend, left, None, floor, sub_report, cutoff=cutoff, first=first)
    if engine.status == "INFEASIBLE":
        return EngineResult("INFEASIBLE", None, None, upper, engine.cancelled)
    bound = max(known, min(upper, fixed_cost + engine.bound))
    if engine.selected is None or engine.objective is None:
        return EngineResult("UNKNOWN", None, None, bound, engine.cancelled)
    selected[sub.col_ids[np.flatnonzero(engine.selected)]] = True
    objective = fixed_cost + engine.objective
    if engine.status == "OPTIMAL":
        return EngineResult("OPTIMAL", selected, objective, objective, engine.cancelled)
    return EngineResult("FEASIBLE", selected, objective, min(bound, objective), engine.cancelled)


def _keep_better(engine: EngineResult, warm: np.ndarray | None, warm_cost: int | None) -> EngineResult:
    """The warm start stays the answer when the engine found nothing better (or nothing at all)."""
    if warm is None or warm_cost is None or engine.status == "INFEASIBLE":
        return engine
    if engine.selected is None or (engine.objective is not None and engine.objective > warm_cost):
        label = "OPTIMAL" if warm_cost <= engine.bound else "FEASIBLE"
        return EngineResult(label, warm, warm_cost, min(engine.bound, warm_cost), engine.cancelled)
    return engine


def _run_partial(
    problem: CoverProblem, options: SolveOptions, root: Core, forced: list[int], start: float
) -> CoverResult:
    """Partial cover: the rows meeting their demand must weigh at least min_covered (CP-SAT only)."""
    deadline = start + float(options.time_limit)
    target = int(problem.min_covered or 0)
    weights = (
        np.ones(root.n_rows, dtype=np.int64)
        if problem.row_weights is None
        else np.asarray(problem.row_weights, dtype=np.int64)
    )
    # Rows that cannot meet their demand (too few candidates from distinct groups) simply never count.
    demand = root.demand.copy()
    unreachable: list[int] = []
    for r, cols in enumerate(root.rows_view()):
        if demand[r] <= 0:
            continue
        groups = root.group_of[cols]
        distinct = int(np.count_nonzero(groups < 0)) + len(np.unique(groups[groups >= 0]))
        if distinct < demand[r]:
            unreachable.append(r)
            demand[r] = 0
    reachable = demand > 0
    if int(weights[reachable].sum()) < target:
        return CoverResult(
            Status.INFEASIBLE, None, 0, [], time.perf_counter() - start, "cpsat", uncoverable_rows=unreachable
        )
    root.demand = demand
    reduced = reduce_problem(root, forced, full=False, time_cap=0.0, split=False)
    stats = reduced.stats
    costs = np.ones(problem.n_columns, dtype=np.int64) if problem.costs is None else np.asarray(problem.costs)
    fixed_cost = int(costs[reduced.fixed].sum()) if reduced.fixed else 0
    remaining_rows = np.zeros(root.n_rows, dtype=bool)
    for component in reduced.components:
        remaining_rows[component.row_ids] = True
    # Rows that the forced columns already satisfy count towards the target.
    target_left = max(0, target - int(weights[reachable & ~remaining_rows].sum()))
    selected = list(reduced.fixed)
    if target_left == 0 or not reduced.components:
        seconds = time.perf_counter() - start
        return CoverResult(
            Status.OPTIMAL, fixed_cost, fixed_cost, sorted(selected), seconds, "cpsat", reductions=stats
        )
    core = reduced.components[0]
    core.row_weight = weights[core.row_ids]
    core.min_covered = target_left
    hint_set = {int(j) for j in problem.hint} if problem.hint is not None and options.warm_start else set()
    warm = None
    if options.warm_start or options.backend == Backend.GREEDY:
        start_cols = [j for j, c in enumerate(core.col_ids.tolist()) if c in hint_set]
        full = greedy(core, start=start_cols)
        if full is not None:
            warm = prune_partial(core, full)
    warm_cost = cost_of(core, warm) if warm is not None else None
    progress = _Progress(options, start, fixed_cost, 1)
    progress.set(0, warm_cost, 0)
    if options.backend == Backend.GREEDY or (options.cancel is not None and options.cancel.is_set()):
        engine = EngineResult("FEASIBLE" if warm is not None else "UNKNOWN", warm, warm_cost, 0)
    else:
        engine = solve_cpsat(
            core, warm, time_limit=max(0.05, deadline - time.perf_counter()), workers=options.workers,
            seed=options.seed, deterministic=options.deterministic, known_bound=0, cancel=options.cancel,
            progress=lambda inc, bnd: progress.set(0, inc, bnd), log=options.log,
        )  # fmt: skip
        engine = _keep_better(engine, warm, warm_cost)
    seconds = time.perf_counter() - start
    cancelled = options.cancel is not None and options.cancel.is_set()
    if engine.status == "INFEASIBLE":
        return CoverResult(Status.INFEASIBLE, None, 0, [], seconds, "cpsat", uncoverable_rows=unreachable)
    bound = fixed_cost + engine.bound
    if engine.selected is None or engine.objective is None:
        status = Status.CANCELLED if cancelled else Status.UNKNOWN
        return CoverResult(status, None, bound, [], seconds, "cpsat", reductions=stats)
    selected.extend(int(core.col_ids[j]) for j in np.flatnonzero(engine.selected))
    objective = fixed_cost + engine.objective
    if engine.status == "OPTIMAL":
        status, bound = Status.OPTIMAL, objective
    else:
        status = Status.CANCELLED if cancelled else Status.FEASIBLE
    return CoverResult(
        status, objective, min(bound, objective), sorted(selected), seconds, "cpsat",
        warm_start_objective=None if warm_cost is None else fixed_cost + warm_cost, reductions=stats,
    )  # fmt: skip
