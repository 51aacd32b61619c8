"""Reductions for weighted k-cover with locks and groups, and the split into independent components.

Every rule keeps at least one optimal solution of the remaining problem, so optimum and bounds carry over:

- forced: a locked column; or a row whose remaining candidates, all in different groups, number exactly its
  remaining demand (all of them are needed); a forced column's group mates are removed;
- empty columns (cost >= 0, cover nothing that is still needed) are removed;
- duplicate and dominated rows: if cols(i) ⊆ cols(j) and demand(i) >= demand(j), covering i covers j;
- dominated columns (only when every row of c needs one more column): rows(c) ⊆ rows(d), cost(d) <= cost(c)
  and d is ungrouped or in c's group, so d can replace c;
- cost-dominated columns (same demand-1 condition, ungrouped replacements): the cheapest other columns of
  c's rows together cost no more than c (Beasley 1987);
- independent components (rows linked through shared columns or groups) are solved apart.
Dominance checks are capped in time: stopping early leaves a smaller but still valid reduction.

Reduced-cost fixing (:func:`reduced_cost_fixing`) is of another kind: given a cover of cost U and any
multipliers, it keeps every cover of cost below U (so an optimum, unless the cover of cost U is one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planner.setcover.core import Core
from planner.setcover.problem import ReductionStats


@dataclass
class Reduced:
    """Result of the reductions: fixed columns, remaining independent components, infeasible rows."""

    fixed: list[int]  # original column ids fixed to 1
    components: list[Core]
    infeasible_rows: list[int]  # original row ids that no allowed column set can cover
    stats: ReductionStats


class _State:
    """Mutable incidence sets for the reduction rules."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.col_rows: list[set[int]] = [set(c.tolist()) for c in core.cols]
        self.row_cols: list[set[int]] = [set() for _ in range(core.n_rows)]
        for j, rows in enumerate(self.col_rows):
            for r in rows:
                self.row_cols[r].add(j)
        self.demand = core.demand.astype(np.int64).copy()
        self.col_alive = np.ones(core.n_cols, dtype=bool)
        self.row_alive = self.demand > 0
        for r in np.flatnonzero(~self.row_alive).tolist():
            self._drop_row(r)
        self.members: dict[int, list[int]] = {}
        for j, g in enumerate(core.group_of.tolist()):
            if g >= 0:
                self.members.setdefault(g, []).append(j)
        self.fixed: list[int] = []
        self.removed_cols = 0
        self.removed_rows = 0

    def _drop_row(self, r: int) -> None:
        self.row_alive[r] = False
        for j in self.row_cols[r]:
            self.col_rows[j].discard(r)
        self.row_cols[r] = set()

    def drop_row(self, r: int) -> None:
        """Remove a row that no longer needs coverage."""
        if self.row_alive[r]:
            self._drop_row(r)
            self.removed_rows += 1

    def drop_col(self, j: int) -> None:
        """Fix column j to 0."""
        if self.col_alive[j]:
            self.col_alive[j] = False
            for r in self.col_rows[j]:
                self.row_cols[r].discard(j)
            self.col_rows[j] = set()
            self.removed_cols += 1

    def force_col(self, j: int) -> None:
        """Fix column j to 1: lower the demand of its rows and remove its group mates."""
        if not self.col_alive[j]:
            return
        rows = list(self.col_rows[j])
        self.col_alive[j] = False
        for r in rows:
            self.row_cols[r].discard(j)
        self.col_rows[j] = set()
        self.fixed.append(j)
        for r in rows:
            self.demand[r] -= 1
            if self.demand[r] <= 0:
                self.drop_row(r)
        g = int(self.core.group_of[j])
        if g >= 0:
            for m in self.members[g]:
                self.drop_col(m)

    def distinct_groups(self, cols: set[int]) -> int:
        """How many columns of `cols` can be chosen together (one per group)."""
        group_of = self.core.group_of
        seen: set[int] = set()
        count = 0
        for j in cols:
            g = int(group_of[j])
            if g < 0:
                count += 1
            elif g not in seen:
                seen.add(g)
                count += 1
        return count


def reduce_problem(
    core: Core, forced: list[int], *, full: bool, time_cap: float, split: bool = True
) -> Reduced:
    """Apply locks, then (when `full`) the reduction rules until nothing changes; split into components."""
    start = time.perf_counter()
    deadline = start + max(0.0, time_cap)
    stats = ReductionStats(rows_before=int((core.demand > 0).sum()), columns_before=core.n_cols)
    nnz = core.nnz
    # Building the incidence sets and one pass of the rules cost 7-16 µs per nonzero (design malls, 60k nonzeros);
    # skip them beyond the cap.
    if full and nnz * 1.2e-5 > time_cap:
        full = False
        stats.capped = True
    if not full and not forced and not np.any(core.group_of >= 0) and split:
        return _trivial(core, stats, start)
    state = _State(core)
    for j in forced:
        state.force_col(j)
    infeasible: list[int] = []
    for _round in range(50):
        changed = False
        # A row needs at least its demand in candidates from distinct groups; exactly that many forces them all.
        to_force: list[int] = []
        for r in np.flatnonzero(state.row_alive).tolist():
            cands = state.row_cols[r]
            available = state.distinct_groups(cands)
            if available < state.demand[r]:
                infeasible.append(r)
            elif full and available == len(cands) == state.demand[r]:
                to_force.extend(cands)
        if infeasible:
            break
        if to_force:
            for j in sorted(set(to_force)):
                state.force_col(j)
            continue
        if not full:
            break
        # A column that covers no row still in need is never useful (costs are non-negative).
        for j in np.flatnonzero(state.col_alive).tolist():
            if not state.col_rows[j]:
                state.drop_col(j)
        changed |= _dominated_rows(state, deadline, stats)
        changed |= _cost_dominated_columns(state, deadline, stats)
        changed |= _dominated_columns(state, deadline, stats)
        if not changed:
            break
    stats.forced_columns = len(state.fixed)
    stats.removed_columns = state.removed_cols
    stats.removed_rows = state.removed_rows
    if infeasible:
        stats.seconds = time.perf_counter() - start
        rows = sorted(int(core.row_ids[r]) for r in infeasible)
        return Reduced(fixed=[], components=[], infeasible_rows=rows, stats=stats)
    components = _components(state, split)
    stats.components = len(components)
    stats.rows_after = sum(c.n_rows for c in components)
    stats.columns_after = sum(c.n_cols for c in components)
    stats.seconds = time.perf_counter() - start
    fixed = sorted(int(core.col_ids[j]) for j in state.fixed)
    return Reduced(fixed=fixed, components=components, infeasible_rows=[], stats=stats)


def _trivial(core: Core, stats: ReductionStats, start: float) -> Reduced:
    """No reductions: drop rows without demand and check that every row has enough candidates."""
    rows_all = np.concatenate(core.cols) if core.n_cols else np.zeros(0, dtype=np.int64)
    counts = np.bincount(rows_all, minlength=core.n_rows)
    short = np.flatnonzero(counts < core.demand)
    if short.size:
        stats.seconds = time.perf_counter() - start
        return Reduced(
            fixed=[], components=[], infeasible_rows=sorted(core.row_ids[short].tolist()), stats=stats
        )
    needed = np.flatnonzero(core.demand > 0)
    if needed.size == core.n_rows:
        component = core
    else:
        local_of = np.full(core.n_rows, -1, dtype=np.int64)
        local_of[needed] = np.arange(needed.size)
        cols = [local_of[c][local_of[c] >= 0] for c in core.cols]
        component = Core(
            needed.size,
            cols,
            core.costs,
            core.demand[needed],
            core.group_of,
            core.col_ids,
            core.row_ids[needed],
        )
    components = [component] if component.n_rows else []
    stats.components = len(components)
    stats.rows_after = component.n_rows
    stats.columns_after = component.n_cols if components else 0
    stats.seconds = time.perf_counter() - start
    return Reduced(fixed=[], components=components, infeasible_rows=[], stats=stats)


def _dominated_rows(state: _State, deadline: float, stats: ReductionStats) -> bool:
    """Drop row j when some row i has cols(i) ⊆ cols(j) and demand(i) >= demand(j)."""
    changed = False
    order = sorted(np.flatnonzero(state.row_alive).tolist(), key=lambda r: (len(state.row_cols[r]), r))
    for step, i in enumerate(order):
        if step % 64 == 0 and time.perf_counter() > deadline:
            stats.capped = True
            break
        if not state.row_alive[i]:
            continue
        cols_i = state.row_cols[i]
        if not cols_i:
            continue
        pivot = min(cols_i, key=lambda c: len(state.col_rows[c]))
        for j in list(state.col_rows[pivot]):
            if j == i or not state.row_alive[j] or state.demand[j] > state.demand[i]:
                continue
            cols_j = state.row_cols[j]
            if len(cols_j) >= len(cols_i) and cols_i <= cols_j:
                state.drop_row(j)
                changed = True
    return changed


def _replaceable(state: _State, c: int) -> bool:
    """Whether column c only serves rows that need one more column (so a dominating column can replace it)."""
    return all(state.demand[r] == 1 for r in state.col_rows[c])


def _dominated_columns(state: _State, deadline: float, stats: ReductionStats) -> bool:
    """Drop column c when an alive column d covers all its rows at no higher cost and may replace it."""
    changed = False
    costs = state.core.costs
    group_of = state.core.group_of
    alive_cols = np.flatnonzero(state.col_alive)
    sizes = np.zeros(state.core.n_cols, dtype=np.int64)
    sizes[alive_cols] = [len(state.col_rows[c]) for c in alive_cols.tolist()]
    order = sorted(alive_cols.tolist(), key=lambda c: (-int(costs[c]), int(sizes[c]), c))
    for step, c in enumerate(order):
        if step % 64 == 0 and time.perf_counter() > deadline:
            stats.capped = True
            break
        rows_c = state.col_rows[c]
        if not state.col_alive[c] or not rows_c or not _replaceable(state, c):
            continue
        pivot = min(rows_c, key=lambda r: len(state.row_cols[r]))
        cands = np.fromiter(state.row_cols[pivot], dtype=np.int64)
        g = int(group_of[c])
        # Cheap numeric filters first; the set inclusion test runs on the few survivors.
        keep = (cands != c) & (costs[cands] <= costs[c]) & (sizes[cands] >= len(rows_c))
        keep &= (group_of[cands] < 0) | (group_of[cands] == g)
        for d in cands[keep].tolist():
            if rows_c <= state.col_rows[d]:
                state.drop_col(c)
                sizes[c] = 0
                changed = True
                break
    return changed


def _cost_dominated_columns(state: _State, deadline: float, stats: ReductionStats) -> bool:
    """Drop column c when the cheapest other ungrouped columns of its rows together cost no more than c."""
    costs = state.core.costs
    group_of = state.core.group_of
    alive = state.col_alive
    big = np.iinfo(np.int64).max // 4
    # Per row: cheapest and second cheapest ungrouped columns, refreshed when one of them is removed.
    best: dict[int, tuple[int, int, int, int]] = {}

    def cheapest(r: int) -> tuple[int, int, int, int]:
        b1, a1, b2, a2 = big, -1, big, -1
        for d in state.row_cols[r]:
            if group_of[d] >= 0:
                continue
            cd = int(costs[d])
            if cd < b1 or (cd == b1 and d < a1):
                b1, a1, b2, a2 = cd, d, b1, a1
            elif cd < b2 or (cd == b2 and d < a2):
                b2, a2 = cd, d
        best[r] = (b1, a1, b2, a2)
        return best[r]

    changed = False
    for step, c in enumerate(np.flatnonzero(alive).tolist()):
        if step % 256 == 0 and time.perf_counter() > deadline:
            stats.capped = True
            break
        rows_c = state.col_rows[c]
        if not rows_c or not _replaceable(state, c):
            continue
        total = 0
        limit = int(costs[c])
        for r in rows_c:
            entry = best.get(r)
            if (
                entry is None
                or (entry[1] >= 0 and not alive[entry[1]])
                or (entry[3] >= 0 and not alive[entry[3]])
            ):
                entry = cheapest(r)
            b1, a1, b2, _ = entry
            total += b2 if a1 == c else b1
            if total > limit:
                break
        if total <= limit:
            state.drop_col(c)
            changed = True
    return changed


def _components(state: _State, split: bool = True) -> list[Core]:
    """Split the alive rows and columns into independent sub-problems (shared columns or groups link rows)."""
    core = state.core
    parent = list(range(core.n_rows))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    alive_cols = np.flatnonzero(state.col_alive).tolist()
    group_anchor: dict[int, int] = {}
    for j in alive_cols:
        rows = state.col_rows[j]
        if not rows:
            continue
        first = min(rows)
        for r in rows:
            union(first, r)
        g = int(core.group_of[j])
        if g >= 0:
            if g in group_anchor:
                union(group_anchor[g], first)
            else:
                group_anchor[g] = first
    if not split:  # one sub-problem, e.g. when a coverage-weight constraint couples all rows
        alive_rows = np.flatnonzero(state.row_alive).tolist()
        for r in alive_rows:
            union(alive_rows[0], r)
        for j in alive_cols:
            if state.col_rows[j] and alive_rows:
                union(alive_rows[0], min(state.col_rows[j]))
    by_root: dict[int, list[int]] = {}
    for r in np.flatnonzero(state.row_alive).tolist():
        by_root.setdefault(find(r), []).append(r)
    col_by_root: dict[int, list[int]] = {}
    for j in alive_cols:
        if state.col_rows[j]:
            col_by_root.setdefault(find(min(state.col_rows[j])), []).append(j)
    components: list[Core] = []
    local_of = np.full(core.n_rows, -1, dtype=np.int64)
    for root in sorted(by_root):
        rows = by_root[root]
        local_of[rows] = np.arange(len(rows))
        cols = col_by_root.get(root, [])
        # Original columns are sorted by row and local numbering is monotone, so filtered rows stay sorted.
        local_cols = []
        for j in cols:
            mapped = local_of[core.cols[j]]
            local_cols.append(mapped[mapped >= 0])
        components.append(
            Core(
                n_rows=len(rows),
                cols=local_cols,
                costs=core.costs[cols].astype(np.int64) if cols else np.zeros(0, dtype=np.int64),
                demand=state.demand[rows].astype(np.int64),
                group_of=core.group_of[cols].astype(np.int64) if cols else np.zeros(0, dtype=np.int64),
                col_ids=core.col_ids[cols] if cols else np.zeros(0, dtype=np.int64),
                row_ids=core.row_ids[rows],
            )
        )
        local_of[rows] = -1
    return components


@dataclass
class Fixing:
    """Reduced-cost fixing for covers cheaper than an upper bound: which columns stay free, which are forced."""

    bound: float  # the Lagrangian lower bound the multipliers give
    drop: np.ndarray  # bool per column: in no cover cheaper than the upper bound
    force: np.ndarray  # bool per column: in every cover cheaper than the upper bound


def reduced_cost_fixing(core: Core, row_duals: np.ndarray, group_duals: np.ndarray, upper: int) -> Fixing:
    """Columns that no cover of cost below `upper` can use (or do without), from any LP or Lagrangian multipliers.

    With y >= 0 per covering row and z <= 0 per group (core.groups() order, at most one chosen), reduced
    costs rc = c - A'y - G'z give for every 0/1 cover x: cost(x) >= L + sum over j of |rc_j| where x_j
    differs from the sign of rc_j, with L = d'y + 1'z + sum(min(0, rc)). Costs are integral, so a column
    whose flip alone pushes that bound above upper - 1 is fixed for every cover cheaper than `upper`.
    The multipliers need not be optimal or exact: the bound is recomputed here from their clipped values.
    """
    y = np.maximum(0.0, np.asarray(row_duals, dtype=np.float64))
    rc = core.costs.astype(np.float64).copy()
    for j, rows in enumerate(core.cols):
        if rows.size:
            rc[j] -= y[rows].sum()
    bound = float(core.demand.astype(np.float64) @ y)
    groups = core.groups()
    z = np.minimum(0.0, np.asarray(group_duals, dtype=np.float64))
    if z.size == len(groups):
        for g, members in enumerate(groups):
            rc[members] -= z[g]
            bound += z[g]
    bound += float(np.minimum(rc, 0.0).sum())
    # Round-off margin: the fixing must only ever remove columns of covers that cost upper or more.
    threshold = upper - 1 - bound + 1e-6 * max(1.0, abs(upper))
    return Fixing(bound=bound, drop=rc > threshold, force=-rc > threshold)
