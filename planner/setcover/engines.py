"""Exact engines for a reduced core: CP-SAT (with a lower-bounding LP worker) and HiGHS (MIP and LP bound)."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
from ortools.sat.python import cp_model

from planner.setcover.core import Core, ceil_bound

# (incumbent objective or None, proven bound) of the core being solved.
CoreProgress = Callable[[int | None, int], None]


@dataclass
class EngineResult:
    """What an exact engine returns for one core."""

    status: str  # "OPTIMAL", "FEASIBLE", "INFEASIBLE" or "UNKNOWN"
    selected: np.ndarray | None
    objective: int | None
    bound: int
    cancelled: bool = False


def cpsat_parameters(workers: int, seed: int, deterministic: bool) -> dict[str, object]:
    """CP-SAT parameters that give a real lower bound with few workers (see the solver notes, section 1)."""
    if deterministic:
        # Several workers are reproducible only interleaved in one thread, which on the 500-segment design mall's
        # cover (19 parts, 2,453 rows after the reductions) took 7.9 s to OPTIMAL against 0.9 s for one worker
        # (docs/benchmarks.md, session 5); one worker is reproducible by itself and gets the LP at level 2.
        workers = 1
    params: dict[str, object] = {"num_workers": max(1, workers), "random_seed": seed}
    if workers <= 1:
        # A single worker only puts covering clauses into the LP at linearization level 2.
        params["linearization_level"] = 2
    elif workers < 8:
        # Small portfolios lack max_lp, and without it the bound of a pure covering model stays 0.
        params["subsolvers"] = ["max_lp", "quick_restart", "default_lp", "core", "no_lp", "reduced_costs"][
            :workers
        ]
    return params


class _Watcher:
    """Stops a running solver when the cancel event fires; remembers whether it did."""

    def __init__(self, cancel: threading.Event | None, stop: Callable[[], None], deadline: float) -> None:
        self.cancel = cancel
        self.stop = stop
        self.deadline = deadline
        self.cancelled = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Watcher:
        if self.cancel is not None and self.cancel.is_set():
            self.cancelled = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(0.05):
            if self.cancel is not None and self.cancel.is_set():
                self.cancelled = True
                self.stop()
                return
            # The engine's own limit can overrun on a loaded machine; the caller's deadline is firm.
            if time.perf_counter() > self.deadline:
                self.stop()
                return

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def cpsat_build_seconds(core: Core) -> float:
    """Rough time to build and load a CP-SAT model of the core, from its nonzeros (about 4 us each, measured)."""
    return 0.05 + 4e-6 * core.nnz


def solve_cpsat(
    core: Core,
    hint: np.ndarray | None,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    deterministic: bool,
    known_bound: int,
    cancel: threading.Event | None,
    progress: CoreProgress | None,
    log: bool = False,
    cutoff: int | None = None,
    first_solution: bool = False,
) -> EngineResult:
    """Minimum-cost k-cover of the core with CP-SAT, hinted, stopping as soon as the objective meets a bound.

    With `cutoff`, only covers of cost at most `cutoff` count: INFEASIBLE then means none exists.
    With `first_solution`, the search also stops at its first cover (FEASIBLE unless proven).

    `time_limit` covers building the model too: the build is skipped (UNKNOWN, `known_bound`) when its
    estimate from the nonzeros does not fit, abandoned when it runs past the deadline, and the solver gets
    only what is left.
    """
    deadline = time.perf_counter() + time_limit
    if cpsat_build_seconds(core) > time_limit:
        return EngineResult("UNKNOWN", None, None, known_bound)
    # Data.
    rows_view = core.rows_view()
    costs = [int(c) for c in core.costs]

    # Variables: x[j] is true when column j is chosen.
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(core.n_cols)]

    if core.min_covered is None:
        # Every row is covered by at least its demand of chosen columns.
        for r, cols in enumerate(rows_view):
            if r % 2048 == 0 and time.perf_counter() > deadline:
                return EngineResult("UNKNOWN", None, None, known_bound)
            demand = int(core.demand[r])
            if demand == 1:
                model.add_bool_or([x[j] for j in cols.tolist()])
            else:
                model.add(sum(x[j] for j in cols.tolist()) >= demand)
    else:
        # Partial cover: y[r] may only be true when row r gets at least its demand of chosen columns ...
        y = [model.new_bool_var(f"y{r}") for r in range(core.n_rows)]
        for r, cols in enumerate(rows_view):
            model.add(sum(x[j] for j in cols.tolist()) >= int(core.demand[r]) * y[r])
        # ... and the covered rows weigh at least min_covered.
        weights = [int(w) for w in core.row_weight] if core.row_weight is not None else [1] * core.n_rows
        model.add(cp_model.LinearExpr.weighted_sum(y, weights) >= core.min_covered)
        if hint is not None:
            counts = np.zeros(core.n_rows, dtype=np.int64)
            for j in np.flatnonzero(hint).tolist():
                counts[core.cols[j]] += 1
            for r in range(core.n_rows):
                model.add_hint(y[r], bool(counts[r] >= core.demand[r]))

    # At most one column of each group (one pose per physical mount).
    for members in core.groups():
        model.add_at_most_one([x[j] for j in members])

    # Objective: total cost of the chosen columns.
    model.minimize(cp_model.LinearExpr.weighted_sum(x, costs))
    if cutoff is not None:
        model.add(cp_model.LinearExpr.weighted_sum(x, costs) <= cutoff)

    # Warm start: a complete hint.
    if hint is not None:
        for j, value in enumerate(hint.tolist()):
            model.add_hint(x[j], bool(value))

    # Solve.
    solver = cp_model.CpSolver()
    for key, value in cpsat_parameters(workers, seed, deterministic).items():
        if key == "subsolvers":
            solver.parameters.subsolvers.extend(value)  # type: ignore[arg-type]
        else:
            setattr(solver.parameters, key, value)
    # Stopping and reading back the solution take time too, more on a loaded machine and a large model.
    left = deadline - time.perf_counter() - (0.02 * time_limit + 5e-7 * core.nnz)
    if left <= 0.01:
        return EngineResult("UNKNOWN", None, None, known_bound)
    solver.parameters.max_time_in_seconds = left
    solver.parameters.log_search_progress = log
    # The solver's own stop, not the callback's: it ends a search at its first solution reproducibly.
    solver.parameters.stop_after_first_solution = first_solution

    best_bound = [known_bound]

    class _Callback(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            objective = int(round(self.objective_value))
            bound = max(best_bound[0], ceil_bound(self.best_objective_bound))
            if progress is not None:
                progress(objective, bound)
            if objective <= bound:
                self.stop_search()

    def on_bound(value: float) -> None:
        best_bound[0] = max(best_bound[0], ceil_bound(value))
        if progress is not None:
            progress(None, best_bound[0])

    solver.best_bound_callback = on_bound
    with _Watcher(cancel, solver.stop_search, deadline + 0.1) as watcher:
        if watcher.cancelled:
            return EngineResult("UNKNOWN", None, None, known_bound, cancelled=True)
        status = solver.solve(model, _Callback())
    bound = max(known_bound, best_bound[0])
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        selected = np.asarray(solver.boolean_values(x), dtype=bool)
        objective = int(round(solver.objective_value))
        bound = max(bound, ceil_bound(solver.best_objective_bound))
        if status == cp_model.OPTIMAL:
            bound = objective
        label = "OPTIMAL" if objective <= bound else "FEASIBLE"
        return EngineResult(label, selected, objective, min(bound, objective), cancelled=watcher.cancelled)
    if status == cp_model.INFEASIBLE:
        return EngineResult("INFEASIBLE", None, None, bound)
    return EngineResult("UNKNOWN", None, None, bound, cancelled=watcher.cancelled)


def _highs_model(core: Core, integer: bool):
    """HiGHS model of the core: covering rows (>= demand) then group rows (<= 1)."""
    groups = core.groups()
    group_row = {}
    for g, members in enumerate(groups):
        for j in members:
            group_row[j] = core.n_rows + g
    starts = [0]
    index: list[int] = []
    for j, rows in enumerate(core.cols):
        index.extend(rows.tolist())
        if j in group_row:
            index.append(group_row[j])
        starts.append(len(index))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = core.n_cols
    lp.num_row_ = core.n_rows + len(groups)
    lp.col_cost_ = np.asarray(core.costs, dtype=np.float64)
    lp.col_lower_ = np.zeros(core.n_cols)
    lp.col_upper_ = np.ones(core.n_cols)
    lp.row_lower_ = np.concatenate([core.demand.astype(np.float64), np.full(len(groups), -inf)])
    lp.row_upper_ = np.concatenate([np.full(core.n_rows, inf), np.ones(len(groups))])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.ones(len(index))
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * core.n_cols
    return lp


_highs_banner_done = threading.Lock()
_highs_banner_shown = [False]


def _construct_highs():
    """A Highs object; the first one in a process prints a banner on C-level stdout, which we swallow."""
    with _highs_banner_done:
        if _highs_banner_shown[0]:
            return highspy.Highs()
        # The CLI contract allows exactly one JSON object on stdout.
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _highs_banner_shown[0] = True
        return h


def new_highs(time_limit: float, seed: int, log: bool):
    """A silent Highs object with a time limit, a seed and one thread."""
    h = _construct_highs()
    h.setOptionValue("output_flag", bool(log))
    h.setOptionValue("time_limit", float(max(0.01, time_limit)))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", 1)
    return h


def lp_bound(core: Core, *, time_limit: float, seed: int = 0) -> float | None:
    """Optimal value of the LP relaxation (a valid lower bound), or None if not solved within the limit."""
    solved = lp_duals(core, time_limit=time_limit, seed=seed)
    return None if solved is None else solved[0]


def lp_duals(core: Core, *, time_limit: float, seed: int = 0) -> tuple[float, np.ndarray, np.ndarray] | None:
    """LP relaxation value with its row duals (covering rows, then one per group of core.groups()), or None."""
    if core.n_cols == 0:
        return 0.0, np.zeros(core.n_rows), np.zeros(0)
    # Building the model in Python counts against the limit; skip it when even that would not fit.
    deadline = time.perf_counter() + time_limit
    if 1e-6 * core.nnz > time_limit:
        return None
    model = _highs_model(core, integer=False)
    left = deadline - time.perf_counter()
    if left <= 0.01:
        return None
    h = new_highs(left, seed, False)
    h.passModel(model)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    duals = np.asarray(h.getSolution().row_dual, dtype=np.float64)
    if duals.size != model.num_row_:
        duals = np.zeros(model.num_row_)
    return float(h.getInfo().objective_function_value), duals[: core.n_rows], duals[core.n_rows :]


def solve_mip(
    core: Core,
    hint: np.ndarray | None,
    *,
    time_limit: float,
    seed: int,
    known_bound: int,
    cancel: threading.Event | None,
    progress: CoreProgress | None,
    log: bool = False,
    cutoff: int | None = None,
) -> EngineResult:
    """Minimum-cost k-cover of the core with HiGHS branch and cut, warm-started from the hint.

    With `cutoff`, only covers of cost at most `cutoff` count: INFEASIBLE then means none exists.
    """
    h = new_highs(time_limit, seed, log)
    # Costs are integral: an absolute gap below 1 already proves optimality after rounding the bound up.
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1.0 - 1e-4)
    h.passModel(_highs_model(core, integer=True))
    if cutoff is not None:
        # A constraint, not HiGHS's objective_bound option: that one prunes but still accepts dearer covers.
        h.addRow(-highspy.kHighsInf, float(cutoff), core.n_cols, np.arange(core.n_cols, dtype=np.int32),
                 np.asarray(core.costs, dtype=np.float64))
    if hint is not None:
        solution = highspy.HighsSolution()
        solution.col_value = hint.astype(np.float64).tolist()
        solution.value_valid = True
        h.setSolution(solution)
    state = {"cancelled": False}
    hard_deadline = time.perf_counter() + time_limit + 0.2

    def on_interrupt(event) -> None:
        if cancel is not None and cancel.is_set():
            state["cancelled"] = True
            event.data_in.user_interrupt = True
        elif time.perf_counter() > hard_deadline:
            event.data_in.user_interrupt = True

    def on_improving(event) -> None:
        out = event.data_out
        if progress is not None and math.isfinite(out.mip_primal_bound):
            dual = out.mip_dual_bound
            bound = max(known_bound, ceil_bound(dual)) if math.isfinite(dual) else known_bound
            progress(int(round(out.mip_primal_bound)), bound)

    h.cbMipInterrupt.subscribe(on_interrupt)
    h.cbMipImprovingSolution.subscribe(on_improving)
    h.run()
    info = h.getInfo()
    model_status = h.getModelStatus()
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return EngineResult("INFEASIBLE", None, None, known_bound)
    bound = known_bound
    if math.isfinite(info.mip_dual_bound):
        bound = max(bound, ceil_bound(info.mip_dual_bound))
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return EngineResult("UNKNOWN", None, None, bound, cancelled=state["cancelled"])
    selected = np.asarray(h.getSolution().col_value) > 0.5
    objective = int(round(float(core.costs[selected].sum())))
    if model_status == highspy.HighsModelStatus.kOptimal:
        bound = max(bound, objective)
    label = "OPTIMAL" if objective <= bound else "FEASIBLE"
    return EngineResult(label, selected, objective, min(bound, objective), cancelled=state["cancelled"])
