"""Side-by-side baselines for any set-cover instance: greedy, OR-Tools' SCIP (pywraplp) and plain HiGHS (highspy).

Give every solver the same `CoverProblem` and the same time limit; :func:`compare` runs ours and the baselines
one after the other in this process and reports our ratio to the better of SCIP and HiGHS. An instance can
be written out as JSON (``write_problem``) so a venue-scale model (candidates × witnesses) can be re-run
alone:

    .venv/bin/python -m bench.baselines problem.json --time-limit 60 [--solvers ours,scip,highs,greedy]

Baselines get the model as it is (rows >= demand, at most one column per group, locks as bounds), default
parameters, no hint and no reductions. SCIP and HiGHS get `threads` threads where they take the setting.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from planner.setcover import CoverProblem, SolveOptions, is_cover, solve
from planner.setcover.heuristics import greedy as greedy_core
from planner.setcover.pipeline import validated_core

Record = dict[str, object]


def _record(objective: float | None, bound: float | None, status: str, seconds: float) -> Record:
    return {
        "objective": None if objective is None else int(round(objective)),
        # A float bound of an integral objective: round up, tolerating round-off.
        "bound": None if bound is None or not math.isfinite(bound) else int(math.ceil(bound - 1e-6)),
        "status": status,
        "seconds": round(seconds, 3),
    }


def _costs(problem: CoverProblem) -> list[int]:
    return [1] * problem.n_columns if problem.costs is None else [int(c) for c in problem.costs]


def _demand(problem: CoverProblem) -> list[int]:
    if isinstance(problem.demand, int | np.integer):
        return [int(problem.demand)] * problem.n_rows
    return [int(d) for d in problem.demand]


def _rows(problem: CoverProblem) -> list[list[int]]:
    rows: list[list[int]] = [[] for _ in range(problem.n_rows)]
    for j, column in enumerate(problem.columns):
        for r in set(int(r) for r in column):
            rows[r].append(j)
    return rows


def run_ours(problem: CoverProblem, time_limit: float, threads: int = 2, seed: int = 0) -> Record:
    """Our pipeline with defaults (reductions, warm start, local search, bound, CP-SAT)."""
    result = solve(problem, SolveOptions(time_limit=time_limit, workers=threads, seed=seed))
    return _record(result.objective, result.bound, str(result.status), result.seconds)


def run_greedy(problem: CoverProblem, time_limit: float, threads: int = 2, seed: int = 0) -> Record:
    """Best of three greedy price rules (cost / gain^e, e = 1, 0.5, 2) + redundancy removal; no bound."""
    start = time.perf_counter()
    core, forced = validated_core(problem, SolveOptions(time_limit=time_limit))
    # The same price rules as our warm start, which also keeps to one rule on very large matrices.
    exponents = (1.0, 0.5, 2.0) if core.n_rows * core.n_cols < 20_000_000 else (1.0,)
    covers = [greedy_core(core, exponent=e, start=forced) for e in exponents]
    covers = [c for c in covers if c is not None]
    seconds = time.perf_counter() - start
    if not covers:
        return _record(None, None, "UNKNOWN", seconds)
    best = min(covers, key=lambda c: int(core.costs[c].sum()))
    selected = [int(core.col_ids[j]) for j in np.flatnonzero(best)]
    if not is_cover(problem, selected):  # forced columns the greedy dropped as redundant, say
        return _record(None, None, "UNKNOWN", seconds)
    return _record(int(core.costs[best].sum()), None, "FEASIBLE", seconds)


def run_scip(problem: CoverProblem, time_limit: float, threads: int = 2, seed: int = 0) -> Record:
    """OR-Tools' SCIP through pywraplp: binary x_j, one >= row per witness, <= 1 per group; defaults."""
    from ortools.linear_solver import pywraplp

    start = time.perf_counter()
    # Data.
    costs, demand, rows = _costs(problem), _demand(problem), _rows(problem)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    # Variables: x[j] = 1 when column j is chosen (locks as bounds).
    forced, forbidden = set(problem.forced), set(problem.forbidden)
    x = [
        solver.BoolVar(f"x{j}") if j not in forced | forbidden else solver.IntVar(j in forced, j in forced, f"x{j}")
        for j in range(problem.n_columns)
    ]
    # Every row is covered by at least its demand of chosen columns.
    for r, members in enumerate(rows):
        if demand[r] > 0:
            solver.Add(solver.Sum([x[j] for j in members]) >= demand[r])
    # At most one column of each group.
    for group in problem.groups:
        solver.Add(solver.Sum([x[int(j)] for j in group]) <= 1)
    # Objective: total cost.
    solver.Minimize(solver.Sum([c * x[j] for j, c in enumerate(costs) if c]))
    # Solve.
    solver.SetTimeLimit(int(time_limit * 1000))
    solver.SetNumThreads(threads)
    status = solver.Solve()
    seconds = time.perf_counter() - start
    if status == pywraplp.Solver.INFEASIBLE:
        return _record(None, None, "INFEASIBLE", seconds)
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return _record(None, solver.Objective().BestBound(), "UNKNOWN", seconds)
    objective = solver.Objective().Value()
    bound = objective if status == pywraplp.Solver.OPTIMAL else solver.Objective().BestBound()
    return _record(objective, bound, "OPTIMAL" if status == pywraplp.Solver.OPTIMAL else "FEASIBLE", seconds)


def run_highs(problem: CoverProblem, time_limit: float, threads: int = 2, seed: int = 0) -> Record:
    """Plain HiGHS MIP through highspy: the same model, default options, no hint, in a fresh process.

    HiGHS fixes its thread count for the whole process at its first run (ours already ran one LP with one
    thread), so the baseline gets its own process to have `threads` threads. Its time starts there.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_highs_here, (problem, time_limit, threads, seed))


def _highs_here(problem: CoverProblem, time_limit: float, threads: int, seed: int) -> Record:
    import highspy

    from planner.setcover.engines import new_highs

    start = time.perf_counter()
    # Data: column-wise matrix, covering rows then group rows.
    costs, demand = _costs(problem), _demand(problem)
    n, m, groups = problem.n_columns, problem.n_rows, list(problem.groups)
    group_row = {int(j): m + g for g, members in enumerate(groups) for j in members}
    starts, index = [0], []
    for j, column in enumerate(problem.columns):
        index.extend(sorted(set(int(r) for r in column)))
        if j in group_row:
            index.append(group_row[j])
        starts.append(len(index))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m + len(groups)
    lp.col_cost_ = np.asarray(costs, dtype=np.float64)
    # Variables: binary x_j, locks as bounds.
    lower, upper = np.zeros(n), np.ones(n)
    lower[list(problem.forced)] = 1.0
    upper[list(problem.forbidden)] = 0.0
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    # Rows: covering >= demand (rows with demand 0 are free), groups <= 1.
    lp.row_lower_ = np.concatenate([np.asarray(demand, dtype=np.float64), np.full(len(groups), -inf)])
    lp.row_upper_ = np.concatenate([np.full(m, inf), np.ones(len(groups))])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.ones(len(index))
    # Solve.
    h = new_highs(time_limit, seed, False)
    h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    h.run()
    seconds = time.perf_counter() - start
    model_status = h.getModelStatus()
    info = h.getInfo()
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return _record(None, None, "INFEASIBLE", seconds)
    if info.primal_solution_status != 2:  # no feasible solution
        return _record(None, info.mip_dual_bound, "UNKNOWN", seconds)
    optimal = model_status == highspy.HighsModelStatus.kOptimal
    objective = info.objective_function_value
    return _record(objective, objective if optimal else info.mip_dual_bound, "OPTIMAL" if optimal else "FEASIBLE",
                   seconds)  # fmt: skip


SOLVERS: dict[str, Callable[..., Record]] = {
    "ours": run_ours,
    "greedy": run_greedy,
    "scip": run_scip,
    "highs": run_highs,
}


def better_baseline(records: dict[str, Record]) -> str | None:
    """The better of SCIP and HiGHS: proven optimal first, then lower objective, then less time."""

    def key(name: str) -> tuple:
        r = records[name]
        objective = r["objective"]
        return (r["status"] != "OPTIMAL", math.inf if objective is None else objective, r["seconds"])

    present = [name for name in ("scip", "highs") if name in records]
    return min(present, key=key) if present else None


def compare(
    problem: CoverProblem, time_limit: float, *, solvers: list[str] | None = None, threads: int = 2
) -> dict[str, object]:
    """Run each solver on `problem` with the same limit; add ours/best-baseline ratios of time and objective."""
    records = {name: SOLVERS[name](problem, time_limit, threads) for name in solvers or list(SOLVERS)}
    out: dict[str, object] = {"time_limit": time_limit, "solvers": records}
    base = better_baseline(records)
    if "ours" in records and base is not None:
        ours, other = records["ours"], records[base]
        out["baseline"] = base
        out["time_ratio"] = round(float(ours["seconds"]) / max(1e-9, float(other["seconds"])), 4)
        if ours["objective"] is not None and other["objective"]:
            out["objective_ratio"] = round(int(ours["objective"]) / int(other["objective"]), 4)
    return out


def write_problem(path: str | Path, problem: CoverProblem) -> None:
    """Write a CoverProblem as JSON (gzip when the name ends in .gz)."""
    data = {
        "n_rows": int(problem.n_rows),
        "columns": [sorted(int(r) for r in c) for c in problem.columns],
        "costs": None if problem.costs is None else [int(c) for c in problem.costs],
        "demand": problem.demand if isinstance(problem.demand, int) else [int(d) for d in problem.demand],
        "forced": [int(j) for j in problem.forced],
        "forbidden": [int(j) for j in problem.forbidden],
        "groups": [[int(j) for j in g] for g in problem.groups],
    }
    text = json.dumps(data, separators=(",", ":"))
    path = Path(path)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def read_problem(path: str | Path) -> CoverProblem:
    """Read a CoverProblem written by write_problem."""
    path = Path(path)
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return CoverProblem(
        n_rows=data["n_rows"],
        columns=data["columns"],
        costs=data.get("costs"),
        demand=data.get("demand", 1),
        forced=data.get("forced", []),
        forbidden=data.get("forbidden", []),
        groups=data.get("groups", []),
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: one JSON object with every solver's record and our ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="problem JSON written by bench.baselines.write_problem")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--solvers", default=",".join(SOLVERS), help="comma-separated subset of " + ",".join(SOLVERS))
    args = parser.parse_args(argv)
    result = compare(read_problem(args.file), args.time_limit, solvers=args.solvers.split(","), threads=args.threads)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
