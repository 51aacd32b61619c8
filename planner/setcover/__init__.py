"""Geometry-free weighted set cover / k-cover solver: reductions, warm start, CP-SAT or HiGHS, certificate.

Problem: choose columns (candidate cameras) of least total integer cost so that every row (witness point)
``i`` is covered by at least ``demand[i]`` distinct chosen columns, with forced and forbidden columns and
groups of which at most one column may be chosen (one pose per physical mount).

Lexicographic objectives are folded into one integer weight per column by the caller with
:func:`lexicographic_costs`; the solver itself always minimises a single integer objective, so its bound is
exact and ``objective == bound`` proves optimality of the whole lexicographic order.

Layers, each importing only those listed before it:

- ``problem``: the public types (:class:`CoverProblem`, :class:`SolveOptions`, :class:`CoverResult`, ...)
  and the checks on a selection;
- ``core``: the internal sub-problem in local indices;
- ``reduce``: reductions and the split into independent components;
- ``heuristics``: greedy, redundancy removal, local search, the Lagrangian bound;
- ``engines``: CP-SAT, HiGHS MIP and the HiGHS LP bound on one core;
- ``pipeline``: :func:`solve` — validate → reductions → components → warm start → LP bound → exact
  engine with a complete hint → map back to the original columns. Weighted cores with an LP go to the
  exact engine in rounds instead: reduced-cost fixing against the incumbent (from the LP duals), the
  reductions again, and the engine looking only for cheaper covers (a cutoff), until none is left;
- ``shortfall``: :func:`~planner.setcover.shortfall.fewest_short`, the fewest units of demand left unmet with
  free columns (the conflict model's phase 1), by lazy row generation over :func:`solve`.
"""

from planner.setcover.pipeline import solve
from planner.setcover.problem import (
    Backend,
    CoverProblem,
    CoverResult,
    ProgressCallback,
    ReductionStats,
    SolveOptions,
    Status,
    is_cover,
    lexicographic_costs,
    relative_gap,
    uncovered_rows,
)

__all__ = [
    "Backend",
    "CoverProblem",
    "CoverResult",
    "ProgressCallback",
    "ReductionStats",
    "SolveOptions",
    "Status",
    "is_cover",
    "lexicographic_costs",
    "relative_gap",
    "solve",
    "uncovered_rows",
]
