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

The rules run in the C extension ``sightline_reduce`` (``native/rwls/reduce.c``, built by ``pip install`` from
requirements.txt), in the order written above, to a fixed point; the split runs on numpy arrays. In Python sets
they took 9.8 s on the 2,000-segment re-aim mall's camera model (2.5 million entries), so they were skipped at
that size; compiled, 0.66 s, leaving 9,486 of its 100,040 rows and 12,300 of its 63,398 columns.

Reduced-cost fixing (:func:`reduced_cost_fixing`) is of another kind: given a cover of cost U and any
multipliers, it keeps every cover of cost below U (so an optimum, unless the cover of cost U is one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planner.setcover.core import Core
from planner.setcover.problem import ReductionStats

RULES_S_PER_ENTRY = 3e-7  # seconds an entry: about one pass of the compiled rules (0.26 µs to the fixed point, measured)


@dataclass
class Reduced:
    """Result of the reductions: fixed columns, remaining independent components, infeasible rows."""

    fixed: list[int]  # original column ids fixed to 1
    components: list[Core]
    infeasible_rows: list[int]  # original row ids that no allowed column set can cover
    stats: ReductionStats


def reduce_problem(
    core: Core, forced: list[int], *, full: bool, time_cap: float, split: bool = True
) -> Reduced:
    """Apply locks, then (when `full`) the reduction rules until nothing changes; split into components."""
    start = time.perf_counter()
    stats = ReductionStats(rows_before=int((core.demand > 0).sum()), columns_before=core.n_cols)
    if not full and not forced and not np.any(core.group_of >= 0) and split:
        return _trivial(core, stats, start)
    if not full:
        return _flat_pass(core, forced, stats, start, split)
    flat, owner = _entries(core)
    col_ptr = np.r_[0, np.cumsum(np.bincount(owner, minlength=core.n_cols))].astype(np.int64)
    by_row = np.lexsort((owner, flat))
    row_ptr = np.r_[0, np.cumsum(np.bincount(flat, minlength=core.n_rows))].astype(np.int64)
    group_of = core.group_of.astype(np.int64)
    grouped = np.flatnonzero(group_of >= 0)
    grouped = grouped[np.argsort(group_of[grouped], kind="stable")]
    n_groups = int(group_of.max()) + 1 if core.n_cols else 0
    group_ptr = np.r_[0, np.cumsum(np.bincount(group_of[grouped], minlength=n_groups))].astype(np.int64)
    demand = core.demand.astype(np.int64).copy()
    col_alive = np.zeros(core.n_cols, dtype=np.uint8)
    row_alive = np.zeros(core.n_rows, dtype=np.uint8)
    fixed = np.zeros(core.n_cols, dtype=np.int64)
    infeasible = np.zeros(core.n_rows, dtype=np.int64)
    arrays = (col_ptr, flat, row_ptr, np.ascontiguousarray(owner[by_row]), core.costs.astype(np.int64), group_of,
              group_ptr, grouped.astype(np.int64), np.asarray(sorted({int(j) for j in forced}), dtype=np.int64),
              demand, col_alive, row_alive, fixed, infeasible)
    # The dominance checks stop at the cap, but get at least one pass's time: reading the model for the locks
    # and the split alone costs about as much (the 2,000-segment re-aim mall's camera model, 2.5 million
    # entries: every rule to its fixed point in 0.66 s, against 0.8 s for the locks and split in numpy).
    cap = max(time_cap, core.nnz * RULES_S_PER_ENTRY)
    n_fixed, n_infeasible, stats.removed_columns, stats.removed_rows, capped = _rules_kernel()(
        arrays, max(0.0, start + cap - time.perf_counter()))
    stats.capped |= bool(capped)
    stats.forced_columns = int(n_fixed)
    if n_infeasible:
        stats.seconds = time.perf_counter() - start
        rows = sorted(core.row_ids[infeasible[:n_infeasible]].tolist())
        return Reduced(fixed=[], components=[], infeasible_rows=rows, stats=stats)
    alive = col_alive.astype(bool)[owner] & row_alive.astype(bool)[flat]
    return _split(core, flat[alive], owner[alive], row_alive.astype(bool), demand, fixed[:n_fixed].tolist(), stats,
                  start, split)


def _rules_kernel():
    """The compiled reduction rules' rules(arrays, seconds)."""
    try:
        import sightline_reduce
    except ImportError as exc:  # pragma: no cover - an installation problem, not a code path
        raise ImportError("the compiled reductions are missing: run `make install` (pip install ./native/rwls)") \
            from exc
    return sightline_reduce.rules


def _entries(core: Core) -> tuple[np.ndarray, np.ndarray]:
    """Every (row, column) incidence as two flat arrays in column order: rows, and the column of each."""
    lens = np.fromiter((len(c) for c in core.cols), dtype=np.int64, count=core.n_cols)
    owner = np.repeat(np.arange(core.n_cols, dtype=np.int64), lens)
    flat = np.concatenate(core.cols).astype(np.int64) if core.n_cols else np.zeros(0, dtype=np.int64)
    return flat, owner


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


def _flat_pass(core: Core, forced: list[int], stats: ReductionStats, start: float, split: bool) -> Reduced:
    """Locks (forced columns and their group mates), the demand check and the split into components, without the
    dominance rules: what the rules' first pass does when they are off, a whole array at a time."""
    n_rows, n_cols = core.n_rows, core.n_cols
    flat, owner = _entries(core)
    group_of = core.group_of.astype(np.int64)
    demand = core.demand.astype(np.int64).copy()
    col_alive = np.ones(n_cols, dtype=bool)
    fixed = sorted({int(j) for j in forced})
    if fixed:
        # A forced column serves its rows once and rules out its group mates.
        is_fixed = np.zeros(n_cols, dtype=bool)
        is_fixed[fixed] = True
        demand -= np.bincount(flat[is_fixed[owner]], minlength=n_rows)
        groups = np.unique(group_of[fixed])
        mates = np.isin(group_of, groups[groups >= 0]) & ~is_fixed
        col_alive &= ~(mates | is_fixed)
        stats.removed_columns = int(mates.sum())
        stats.removed_rows = int(((core.demand > 0) & (demand <= 0)).sum())
    row_alive = demand > 0
    keep = col_alive[owner] & row_alive[flat]
    stats.forced_columns = len(fixed)
    # A row needs its demand in candidates from distinct groups (an ungrouped column is a group of its own).
    n_groups = int(group_of.max()) + 1 if n_cols else 0
    rows, cols = flat[keep], owner[keep]
    key = np.where(group_of[cols] >= 0, group_of[cols], n_groups + cols)
    pairs = np.unique(rows * (n_groups + n_cols) + key)
    available = np.bincount(pairs // (n_groups + n_cols), minlength=n_rows)
    infeasible = np.flatnonzero(row_alive & (available < demand))
    if infeasible.size:
        stats.seconds = time.perf_counter() - start
        return Reduced(fixed=[], components=[], infeasible_rows=sorted(core.row_ids[infeasible].tolist()),
                       stats=stats)
    return _split(core, rows, cols, row_alive, demand, fixed, stats, start, split)


def _split(core: Core, flat: np.ndarray, owner: np.ndarray, row_alive: np.ndarray, demand: np.ndarray,
           fixed: list[int], stats: ReductionStats, start: float, split: bool) -> Reduced:
    """The alive rows and columns as independent sub-problems (rows linked by shared columns or groups), with the
    local fixed columns: ``flat`` and ``owner`` are the alive entries (row, column) in column order, and every
    alive row has one."""
    n_rows, n_cols = core.n_rows, core.n_cols
    group_of = core.group_of.astype(np.int64)
    # Rows are linked by the columns that cover them, and the columns of one group by their group.
    live = np.flatnonzero(np.bincount(owner, minlength=n_cols) > 0)  # alive columns still covering a row
    first_row = flat[np.searchsorted(owner, live)]
    first_of = np.full(n_cols, -1, dtype=np.int64)
    first_of[live] = first_row
    u, v = [first_of[owner]], [flat]
    grouped = live[group_of[live] >= 0]
    if grouped.size:
        order = np.argsort(group_of[grouped], kind="stable")
        g_sorted = group_of[grouped][order]
        u.append(first_of[grouped[order]][np.searchsorted(g_sorted, g_sorted)])
        v.append(first_of[grouped[order]])
    if not split and live.size:
        u.append(np.full(live.size, first_row.min(), dtype=np.int64))
        v.append(first_row)
    label = _component_labels(n_rows, np.concatenate(u), np.concatenate(v))
    # Components in order of their smallest row, rows and columns in their original order within each.
    rows = np.flatnonzero(row_alive)
    rows = rows[np.argsort(label[rows], kind="stable")]
    row_label = label[rows]
    row_starts = np.r_[0, np.flatnonzero(np.diff(row_label)) + 1] if rows.size else np.zeros(0, dtype=np.int64)
    row_ends = np.r_[row_starts[1:], rows.size].astype(np.int64)[:row_starts.size]
    local_of = np.full(n_rows, -1, dtype=np.int64)
    local_of[rows] = np.arange(rows.size) - np.repeat(row_starts, row_ends - row_starts)
    local = np.split(local_of[flat], np.searchsorted(owner, live[1:])) if live.size else []
    col_label = label[first_row]
    col_order = np.argsort(col_label, kind="stable")
    col_starts = np.searchsorted(col_label[col_order], row_label[row_starts])
    col_ends = np.r_[col_starts[1:], live.size].astype(np.int64)[:col_starts.size]
    components: list[Core] = []
    for r0, r1, c0, c1 in zip(row_starts.tolist(), row_ends.tolist(), col_starts.tolist(), col_ends.tolist(),
                              strict=True):
        picked = col_order[c0:c1]
        cols = live[picked]
        comp_rows = rows[r0:r1]
        components.append(Core(n_rows=r1 - r0, cols=[local[i] for i in picked.tolist()],
                               costs=core.costs[cols].astype(np.int64), demand=demand[comp_rows],
                               group_of=group_of[cols], col_ids=core.col_ids[cols], row_ids=core.row_ids[comp_rows]))
    stats.components = len(components)
    stats.rows_after = int(rows.size)
    stats.columns_after = int(live.size)
    stats.seconds = time.perf_counter() - start
    return Reduced(fixed=sorted(int(core.col_ids[j]) for j in fixed), components=components, infeasible_rows=[],
                   stats=stats)


def _component_labels(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Each node's connected component (edges u–v), named by its smallest node: hook and jump, as Shiloach and
    Vishkin, a whole edge array at a time."""
    parent = np.arange(n, dtype=np.int64)
    while u.size:
        pu, pv = parent[u], parent[v]
        lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
        apart = lo != hi
        u, v, lo, hi = u[apart], v[apart], lo[apart], hi[apart]
        # Every root hooks under the smallest root it touches; the parents then jump to their roots.
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


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
