"""`python -m planner scp FILE`: solve an OR-Library set-cover instance (row format, gzip allowed)."""

from __future__ import annotations

import argparse

from planner.errors import InputError
from planner.research.orlib import read_orlib_scp
from planner.setcover import SolveOptions, Status, solve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the scp command's arguments."""
    parser.add_argument("file", help="OR-Library set-cover file in row format (.txt or .txt.gz)")
    parser.add_argument("--unicost", action="store_true", help="set every column cost to 1")
    parser.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="seconds (default 60)")
    parser.add_argument("--backend", choices=["cpsat", "mip", "greedy"], default="cpsat", help="exact engine")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args: argparse.Namespace) -> dict:
    """Read, solve and report objective, bound, status, seconds and 1-based selected columns."""
    if not args.time_limit > 0:
        raise InputError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    instance = read_orlib_scp(args.file)
    problem = instance.to_problem(unicost=args.unicost)
    options = SolveOptions(
        time_limit=args.time_limit, workers=args.workers, seed=args.seed, backend=args.backend
    )
    result = solve(problem, options)
    if result.status == Status.INFEASIBLE:
        rows = ", ".join(str(r + 1) for r in result.uncoverable_rows[:10])
        more = "" if len(result.uncoverable_rows) <= 10 else f" and {len(result.uncoverable_rows) - 10} more"
        raise InputError(f"no cover exists: row(s) {rows}{more} are covered by no column", where=args.file)
    if result.objective is None:
        raise InputError(f"no cover found within {args.time_limit:g} s", where=args.file)
    return {
        "instance": instance.name,
        "rows": instance.n_rows,
        "columns": instance.n_columns,
        "unicost": bool(args.unicost),
        "objective": result.objective,
        "bound": result.bound,
        "gap": round(result.gap or 0.0, 6),
        "status": "OPTIMAL" if result.status == Status.OPTIMAL else "FEASIBLE",
        "seconds": round(result.seconds, 3),
        "selected": [j + 1 for j in result.selected],
    }
