"""Heuristics on a reduced core: greedy k-cover with groups, redundancy removal, local search, Lagrangian bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from planner.setcover.core import Core
from planner.setcover.rwls import RowWeightingSearch, advance_all


def greedy(core: Core, *, exponent: float = 1.0, start: list[int] | None = None,
           deadline: float | None = None) -> np.ndarray | None:
    """Chvátal greedy for k-cover with groups (price = cost / gain**exponent); None if it gets stuck or
    ``deadline`` (``time.perf_counter()`` seconds) passes first."""
    flat = _Flat(core)
    residual = core.demand.astype(np.int64).copy()
    selected = np.zeros(core.n_cols, dtype=bool)
    blocked = np.zeros(core.n_cols, dtype=bool)
    group_of = core.group_of
    has_groups = bool(np.any(group_of >= 0))
    costs = np.maximum(core.costs.astype(np.float64), 1e-9)
    gains = flat.gains((residual > 0).astype(np.float64))

    def take(j: int) -> None:
        selected[j] = True
        blocked[j] = True
        rows = core.cols[j]
        residual[rows] -= 1
        done = rows[residual[rows] == 0]
        if done.size:
            # Rows that need nothing more stop counting in every column that covers them.
            np.subtract.at(gains, flat.columns_of_rows(done), 1)
        if has_groups and group_of[j] >= 0:
            blocked[group_of == group_of[j]] = True

    def swap_in(j: int) -> bool:
        """Make room for blocked column j by dropping its selected group mate (each pair once); False if none."""
        mates = np.flatnonzero(selected & (group_of == group_of[j])) if group_of[j] >= 0 else []
        if len(mates) != 1 or (int(mates[0]), j) in swapped:
            return False
        out = int(mates[0])
        swapped.add((out, j))
        selected[out] = False
        residual[core.cols[out]] += 1
        blocked[:] = selected
        grouped = np.unique(group_of[selected & (group_of >= 0)])
        blocked[np.isin(group_of, grouped) & (group_of >= 0)] = True
        gains[:] = flat.gains((residual > 0).astype(np.float64))
        take(j)
        return True

    swapped: set[tuple[int, int]] = set()
    for j in start or []:
        if not blocked[j]:
            take(j)
    needed = int(np.count_nonzero(residual > 0))
    price = np.empty(core.n_cols)
    picks = 0
    while needed:
        picks += 1
        if deadline is not None and picks % 32 == 0 and time.perf_counter() > deadline:
            return None
        with np.errstate(divide="ignore"):
            np.divide(costs, gains if exponent == 1.0 else gains**exponent, out=price)
        price[blocked | (gains <= 0)] = np.inf
        j = int(np.argmin(price))
        if not np.isfinite(price[j]):
            # Stuck: every column of some needed row has a chosen group mate. Swap a mate out for the column
            # that covers the most still-needed rows (a repair, not a proof: with groups, finding any cover
            # is NP-hard, and the exact engine still runs when this fails).
            row = int(np.flatnonzero(residual > 0)[0])
            covering = flat.row_cols[flat.row_ptr[row] : flat.row_ptr[row + 1]].tolist()
            choices = sorted((c for c in covering if not selected[c]), key=lambda c: (-gains[c], costs[c], c))
            if not any(swap_in(c) for c in choices):
                return None
        else:
            take(j)
        needed = int(np.count_nonzero(residual > 0))
    return remove_redundant(core, selected)


def remove_redundant(core: Core, selected: np.ndarray) -> np.ndarray:
    """Drop selected columns, most expensive first, while every row keeps its demand."""
    selected = selected.copy()
    cover = np.zeros(core.n_rows, dtype=np.int64)
    for j in np.flatnonzero(selected).tolist():
        cover[core.cols[j]] += 1
    order = sorted(
        np.flatnonzero(selected).tolist(), key=lambda j: (-int(core.costs[j]), len(core.cols[j]), j)
    )
    for j in order:
        rows = core.cols[j]
        if np.all(cover[rows] > core.demand[rows]):
            selected[j] = False
            cover[rows] -= 1
    return selected


def is_core_cover(core: Core, selected: np.ndarray) -> bool:
    """Whether `selected` meets every demand and group of the core."""
    cover = np.zeros(core.n_rows, dtype=np.int64)
    for j in np.flatnonzero(selected).tolist():
        cover[core.cols[j]] += 1
    if np.any(cover < core.demand):
        return False
    groups = core.group_of[selected]
    groups = groups[groups >= 0]
    return len(groups) == len(np.unique(groups))


def cost_of(core: Core, selected: np.ndarray) -> int:
    """Total cost of the selected columns."""
    return int(core.costs[selected].sum())


def local_search(core: Core, selected: np.ndarray, *, seconds: float, seed: int = 0) -> np.ndarray:
    """Improve a cover with OR-Tools set_cover steepest descent + guided local search (k=1, no groups only)."""
    if seconds <= 0 or np.any(core.demand != 1) or np.any(core.group_of >= 0) or core.n_cols == 0:
        return selected
    try:
        from ortools.set_cover.python import set_cover as sc
    except ImportError:  # pragma: no cover - optional module of ortools
        return selected
    model = sc.SetCoverModel()
    for j in range(core.n_cols):
        model.add_empty_subset(float(core.costs[j]))
        for r in core.cols[j].tolist():
            model.add_element_to_last_subset(r)
    model.create_sparse_row_view()
    invariant = sc.SetCoverInvariant(model)
    for j in np.flatnonzero(selected).tolist():
        invariant.select(j, sc.consistency_level.FREE_AND_UNCOVERED)
    best = selected.copy()
    best_cost = cost_of(core, best)
    deadline = time.perf_counter() + seconds
    steepest = sc.SteepestSearch(invariant)
    steepest.set_max_iterations(core.n_cols)
    steepest.next_solution()
    guided = sc.GuidedLocalSearch(invariant)
    guided.initialize()
    # Guided local search runs in fixed iteration slices so it respects the time budget.
    guided.set_max_iterations(100)
    while time.perf_counter() < deadline:
        guided.next_solution()
        candidate = np.asarray(invariant.is_selected(), dtype=bool)
        if is_core_cover(core, candidate):
            candidate = remove_redundant(core, candidate)
            cost = cost_of(core, candidate)
            if cost < best_cost:
                best, best_cost = candidate, cost
            else:
                break
        else:
            break
    return best


def warm_start(core: Core, *, hint: list[int] | None, seconds: float, seed: int = 0,
               deadline: float | None = None) -> np.ndarray | None:
    """Best of several greedy variants (plus the repaired hint), polished by local search; None if all fail.

    ``seconds`` is the budget for the variants beyond the first; ``deadline`` stops even the first pass.
    """
    hard = deadline
    deadline = time.perf_counter() + max(0.0, seconds)
    candidates: list[np.ndarray] = []
    if hint:
        repaired = greedy(core, start=hint, deadline=hard)
        if repaired is not None:
            candidates.append(repaired)
    # Extra price exponents only where a greedy pass is cheap (thousands of picks over many columns are not)
    # and only while the budget lasts; the first pass always runs, so there is a cover to return.
    for exponent in (1.0, 0.5, 2.0) if core.n_rows * core.n_cols < 20_000_000 else (1.0,):
        if candidates and time.perf_counter() > deadline:
            break
        solution = greedy(core, exponent=exponent, deadline=hard)
        if solution is not None:
            candidates.append(solution)
        elif hard is not None and time.perf_counter() > hard:
            break
    if not candidates:
        return None
    best = min(candidates, key=lambda s: (cost_of(core, s), int(s.sum())))
    if core.nnz > 100_000:  # OR-Tools' search steps take too long per slice on large cores to keep the budget
        return best
    return local_search(core, best, seconds=deadline - time.perf_counter(), seed=seed)


def rwls_applies(core: Core) -> bool:
    """Whether the row-weighting search fits the core: unit costs, demand 1 and no group of two or more."""
    if core.n_cols == 0:
        return False
    costs = core.costs
    return bool(np.all(costs == costs[0])) and bool(np.all(core.demand == 1)) and not core.groups()


def improve(
    core: Core,
    selected: np.ndarray,
    *,
    seconds: float,
    seed: int = 0,
    target: int = 0,
    patience: int | None = None,
    cancel: threading.Event | None = None,
    threads: int = 1,
    searches: list[RowWeightingSearch] | None = None,
    on_improve: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, list[RowWeightingSearch] | None]:
    """Spend up to `seconds` improving a cover by compiled row-weighting local search (see planner.setcover.rwls).

    `threads` searches with seeds seed, seed + 1, ... run side by side; `on_improve(size)` hears of each
    better cover as it is found. `target` is a number of columns. Stops early at a cover of `target`
    columns or after `patience` swaps without a better cover. Returns the better of `selected` and the best
    cover found, and the searches to resume next time (they go on with their row weights unless `selected`
    is better than all they found).
    """
    if seconds <= 0 or not selected.any() or not rwls_applies(core):
        return selected, searches
    size = int(selected.sum())
    if not searches or min(s.best_size for s in searches) > size:
        searches = [RowWeightingSearch(core, selected, seed=seed + i) for i in range(max(1, threads))]
    advance_all(
        searches, seconds=seconds, target=target, patience=patience, cancel=cancel, on_improve=on_improve
    )
    found = min((remove_redundant(core, s.best_selection()) for s in searches), key=lambda c: cost_of(core, c))
    if cost_of(core, found) < cost_of(core, selected):
        return found, searches
    return selected, searches


class _Flat:
    """Column-major flat incidence arrays of a core, for vectorised gain computations."""

    def __init__(self, core: Core) -> None:
        sizes = np.asarray([len(c) for c in core.cols], dtype=np.int64)
        self.rows = np.concatenate(core.cols) if core.n_cols else np.zeros(0, dtype=np.int64)
        self.col_of = np.repeat(np.arange(core.n_cols), sizes)
        self.ptr = np.concatenate([[0], np.cumsum(sizes)])
        self.n = core.n_cols
        order = np.argsort(self.rows, kind="stable")
        self.row_cols = self.col_of[order]
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.rows, minlength=core.n_rows))])

    def columns_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """All columns covering any of `rows` (with repetition, one entry per incidence)."""
        if rows.size == 1:
            r = int(rows[0])
            return self.row_cols[self.row_ptr[r] : self.row_ptr[r + 1]]
        return np.concatenate([self.row_cols[self.row_ptr[r] : self.row_ptr[r + 1]] for r in rows.tolist()])

    def gains(self, need: np.ndarray) -> np.ndarray:
        """Per column: how many of its rows still need coverage."""
        return np.bincount(self.col_of, weights=need[self.rows], minlength=self.n)


def lagrangian_bound(core: Core, *, seconds: float, upper: float | None = None) -> float:
    """Best subgradient Lagrangian bound max_u>=0 of sum d_i u_i + sum_j min(0, c_j - u(col j)); groups relaxed."""
    if core.n_cols == 0 or core.n_rows == 0:
        return 0.0
    flat = _Flat(core)
    costs = core.costs.astype(np.float64)
    demand = core.demand.astype(np.float64)
    sizes = np.diff(flat.ptr).astype(np.float64)
    # Start from each row's cheapest price per covered row.
    ratio = costs / np.maximum(sizes, 1.0)
    u = np.full(core.n_rows, np.inf)
    np.minimum.at(u, flat.rows, ratio[flat.col_of])
    u[~np.isfinite(u)] = 0.0
    target = float(upper) if upper is not None else float(costs.sum())
    best = -np.inf
    step = 2.0
    stall = 0
    deadline = time.perf_counter() + max(0.0, seconds)
    for iteration in range(100_000):
        reduced = costs - np.bincount(flat.col_of, weights=u[flat.rows], minlength=flat.n)
        chosen = reduced < 0
        value = float(demand @ u + reduced[chosen].sum())
        if value > best + 1e-9:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2.0, 0
        if step < 1e-4 or best >= target - 1e-9 or (iteration % 8 == 0 and time.perf_counter() > deadline):
            break
        covered = np.bincount(flat.rows[chosen[flat.col_of]], minlength=core.n_rows)
        gradient = demand - covered
        # Rows already at zero price with a negative gradient cannot move further down.
        gradient[(u <= 0) & (gradient < 0)] = 0.0
        norm = float(gradient @ gradient)
        if norm == 0:
            break
        u = np.maximum(0.0, u + step * max(target - value, 1e-6) / norm * gradient)
    return max(0.0, best)


def prune_partial(core: Core, selected: np.ndarray) -> np.ndarray:
    """Drop chosen columns, most expensive first, while the covered row weight stays at least min_covered."""
    target = core.min_covered or 0
    weight = core.row_weight if core.row_weight is not None else np.ones(core.n_rows, dtype=np.int64)
    selected = selected.copy()
    cover = np.zeros(core.n_rows, dtype=np.int64)
    for j in np.flatnonzero(selected).tolist():
        cover[core.cols[j]] += 1
    covered_weight = int(weight[cover >= core.demand].sum())
    order = sorted(
        np.flatnonzero(selected).tolist(), key=lambda j: (-int(core.costs[j]), len(core.cols[j]), j)
    )
    for j in order:
        rows = core.cols[j]
        lost = rows[cover[rows] == core.demand[rows]]
        loss = int(weight[lost].sum())
        if covered_weight - loss >= target:
            selected[j] = False
            cover[rows] -= 1
            covered_weight -= loss
    return selected
