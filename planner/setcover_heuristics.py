"""Warm-start heuristics on a reduced core: greedy k-cover with groups, redundancy removal, local search."""

from __future__ import annotations

import heapq
import time

import numpy as np

from planner.setcover_reduce import Core


def greedy(core: Core, *, exponent: float = 1.0, start: list[int] | None = None) -> np.ndarray | None:
    """Chvátal greedy for k-cover with groups (price = cost / gain**exponent); None if it gets stuck."""
    residual = core.demand.astype(np.int64).copy()
    selected = np.zeros(core.n_cols, dtype=bool)
    used_groups: set[int] = set()
    group_of = core.group_of
    costs = core.costs.astype(np.float64)

    def take(j: int) -> None:
        selected[j] = True
        residual[core.cols[j]] -= 1
        if group_of[j] >= 0:
            used_groups.add(int(group_of[j]))

    for j in start or []:
        if not selected[j] and (group_of[j] < 0 or int(group_of[j]) not in used_groups):
            take(j)
    heap: list[tuple[float, int]] = []
    for j in range(core.n_cols):
        if selected[j]:
            continue
        gain = int(np.count_nonzero(residual[core.cols[j]] > 0))
        if gain:
            heap.append((costs[j] / gain**exponent, j))
    heapq.heapify(heap)
    needed = int(np.count_nonzero(residual > 0))
    while needed and heap:
        price, j = heapq.heappop(heap)
        if selected[j] or (group_of[j] >= 0 and int(group_of[j]) in used_groups):
            continue
        gain = int(np.count_nonzero(residual[core.cols[j]] > 0))
        if gain == 0:
            continue
        fresh = costs[j] / gain**exponent
        if fresh > price + 1e-12:
            heapq.heappush(heap, (fresh, j))
            continue
        take(j)
        needed = int(np.count_nonzero(residual > 0))
    if needed:
        return None
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
    steepest.set_max_iterations(10 * core.n_cols)
    steepest.next_solution()
    guided = sc.GuidedLocalSearch(invariant)
    guided.initialize()
    # Guided local search runs in fixed iteration slices so it respects the time budget.
    iterations = max(100, min(5000, 2_000_000 // max(1, core.nnz // core.n_cols + 1) // 10))
    guided.set_max_iterations(iterations)
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


def warm_start(core: Core, *, hint: list[int] | None, seconds: float, seed: int = 0) -> np.ndarray | None:
    """Best of several greedy variants (plus the repaired hint), polished by local search; None if all fail."""
    candidates: list[np.ndarray] = []
    if hint:
        repaired = greedy(core, start=hint)
        if repaired is not None:
            candidates.append(repaired)
    for exponent in (1.0, 0.5, 2.0):
        solution = greedy(core, exponent=exponent)
        if solution is not None:
            candidates.append(solution)
    if not candidates:
        return None
    best = min(candidates, key=lambda s: (cost_of(core, s), int(s.sum())))
    return local_search(core, best, seconds=seconds, seed=seed)
