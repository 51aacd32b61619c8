"""Problem and result types of weighted set cover / k-cover, and the checks on a selection (the package's bottom layer)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from planner.errors import InputError

# incumbent objective (None before the first solution), proven lower bound, seconds since the start.
ProgressCallback = Callable[[int | None, int, float], None]


class Status(StrEnum):
    """Outcome of a solve."""

    OPTIMAL = "OPTIMAL"  # objective == bound: provably minimal
    FEASIBLE = "FEASIBLE"  # a cover, optimality not proven within the time limit
    INFEASIBLE = "INFEASIBLE"  # no cover exists; CoverResult.uncoverable_rows names rows that cause it
    CANCELLED = "CANCELLED"  # stopped through SolveOptions.cancel; best cover so far, if any, is returned
    UNKNOWN = "UNKNOWN"  # time ran out before any cover was found (only possible with groups)


class Backend(StrEnum):
    """Exact engine used after the warm start."""

    CPSAT = "cpsat"
    MIP = "mip"  # HiGHS branch and cut through highspy
    GREEDY = "greedy"  # warm start only, with the LP bound as certificate


@dataclass(frozen=True)
class CoverProblem:
    """A weighted k-cover instance; all indices are 0-based.

    columns[j] lists the rows column j covers; costs[j] >= 0 is its integer cost (default 1 = unicost);
    demand is the number of distinct chosen columns each row needs (an int for all rows, or one per row;
    0 means the row is ignored); forced columns must be chosen, forbidden ones never; each group is a set of
    columns of which at most one may be chosen; hint is a known (possibly partial or infeasible) solution.

    Partial cover (trade-off curves): with min_covered set, only rows whose row_weights (default 1; e.g. the
    witness's area in cm²) sum to at least min_covered must meet their demand; the others may stay uncovered.
    Partial covers always use CP-SAT (no reductions, no LP bound).
    """

    n_rows: int
    columns: Sequence[Sequence[int]]
    costs: Sequence[int] | None = None
    demand: int | Sequence[int] = 1
    forced: Sequence[int] = ()
    forbidden: Sequence[int] = ()
    groups: Sequence[Sequence[int]] = ()
    hint: Sequence[int] | None = None
    row_weights: Sequence[int] | None = None
    min_covered: int | None = None

    @property
    def n_columns(self) -> int:
        """Number of candidate columns."""
        return len(self.columns)


@dataclass
class SolveOptions:
    """How to solve: limits, engine, determinism, cancellation and progress reporting."""

    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    backend: Backend | str = Backend.CPSAT
    reduce: bool = True
    warm_start: bool = True
    lp_bound: bool = True
    # Interleaved CP-SAT workers in one thread: reproducible for a seed when the solve ends by proof.
    deterministic: bool = False
    cancel: threading.Event | None = None
    progress: ProgressCallback | None = None
    log: bool = False


@dataclass
class ReductionStats:
    """What the reductions removed before the exact solve."""

    rows_before: int = 0
    columns_before: int = 0
    rows_after: int = 0
    columns_after: int = 0
    forced_columns: int = 0  # fixed to 1 (locks and rows with no spare candidate)
    removed_columns: int = 0  # fixed to 0 (forbidden, group mates of forced, empty, dominated)
    removed_rows: int = 0  # satisfied by forced columns, duplicates or dominated
    components: int = 0
    seconds: float = 0.0
    capped: bool = False  # a dominance check hit its time cap (reductions are then partial, still valid)


@dataclass
class CoverResult:
    """Certificate of a solve: status, objective, proven bound, gap and the chosen columns (0-based)."""

    status: Status
    objective: int | None
    bound: int
    selected: list[int]
    seconds: float
    backend: str
    uncoverable_rows: list[int] = field(default_factory=list)
    lp_bound: float | None = (
        None  # relaxation bound: LP (HiGHS) for weighted cores, else subgradient Lagrangian
    )
    warm_start_objective: int | None = None
    reductions: ReductionStats = field(default_factory=ReductionStats)
    # The independent parts left after the reductions, each solved on its own: rows, columns, status, objective
    # and bound (the whole bound is the forced columns' cost plus the parts' bounds).
    parts: list[dict] = field(default_factory=list)
    fixed_cost: int = 0  # cost of the columns the reductions forced

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective, 0.0 when optimal, None without a solution."""
        return relative_gap(self.objective, self.bound)

    @property
    def provably_minimal(self) -> bool:
        """True when the bound equals the objective."""
        return self.status == Status.OPTIMAL

    def to_dict(self) -> dict:
        """JSON-ready summary (selected stays 0-based here)."""
        return {
            "status": str(self.status),
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "backend": self.backend,
            "selected": self.selected,
            "uncoverable_rows": self.uncoverable_rows,
            "lp_bound": self.lp_bound,
            "warm_start_objective": self.warm_start_objective,
            "reductions": self.reductions.__dict__.copy(),
        }


def relative_gap(objective: int | None, bound: float) -> float | None:
    """(objective - bound) / objective, 0.0 for a zero objective, None without a solution."""
    if objective is None:
        return None
    if objective <= 0:
        return 0.0
    return max(0.0, (objective - bound) / objective)


def lexicographic_costs(levels: Sequence[Sequence[int]]) -> list[int]:
    """Fold cost vectors (most important first) into one integer weight per column with the same optimum order."""
    if not levels:
        raise InputError("lexicographic_costs needs at least one cost vector")
    n = len(levels[0])
    weights = [0] * n
    scale = 1
    for level in reversed(levels):
        if len(level) != n:
            raise InputError("all cost vectors must have one entry per column")
        if any(c < 0 for c in level):
            raise InputError("costs must not be negative")
        weights = [w + scale * int(c) for w, c in zip(weights, level, strict=True)]
        # Any solution's total at the levels folded so far is at most sum(weights) < the next scale.
        scale = sum(weights) + 1
    return weights


def _covering_counts(problem: CoverProblem, selected: Sequence[int]) -> np.ndarray:
    """Number of selected columns covering each row."""
    counts = np.zeros(problem.n_rows, dtype=np.int64)
    for j in set(selected):
        rows = np.unique(np.asarray(problem.columns[j], dtype=np.int64))
        counts[rows] += 1
    return counts


def uncovered_rows(problem: CoverProblem, selected: Sequence[int]) -> list[int]:
    """Rows covered by fewer selected columns than their demand."""
    demand = _demand_array(problem)
    return np.flatnonzero(_covering_counts(problem, selected) < demand).tolist()


def is_cover(problem: CoverProblem, selected: Sequence[int]) -> bool:
    """True when `selected` meets the demands (or min_covered), locks and groups of the problem."""
    chosen = set(selected)
    if any(j < 0 or j >= problem.n_columns for j in chosen):
        return False
    if not set(problem.forced) <= chosen or chosen & set(problem.forbidden):
        return False
    if any(len(chosen.intersection(g)) > 1 for g in problem.groups):
        return False
    missing = uncovered_rows(problem, list(chosen))
    if problem.min_covered is None:
        return not missing
    weights = (
        np.ones(problem.n_rows, dtype=np.int64)
        if problem.row_weights is None
        else np.asarray(problem.row_weights)
    )
    needed = _demand_array(problem) > 0
    satisfied = needed.copy()
    satisfied[missing] = False
    return int(weights[satisfied].sum()) >= problem.min_covered


def _demand_array(problem: CoverProblem) -> np.ndarray:
    if isinstance(problem.demand, int | np.integer):
        return np.full(problem.n_rows, int(problem.demand), dtype=np.int64)
    return np.asarray(problem.demand, dtype=np.int64)
