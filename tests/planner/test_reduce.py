"""The k-cover reductions (compiled rules, and the locks and split on flat arrays) against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.setcover.core import Core
from planner.setcover.reduce import reduce_problem


def _random_core(rng: np.random.Generator) -> tuple[Core, list[int]]:
    """A small random k-cover core with costs (some 0), groups and locks."""
    n_rows, n_cols = int(rng.integers(1, 10)), int(rng.integers(1, 11))
    cols = [np.unique(rng.integers(0, n_rows, size=rng.integers(0, 5))).astype(np.int64) for _ in range(n_cols)]
    n_groups = int(rng.integers(0, 4))
    group_of = np.array([int(rng.integers(-1, n_groups)) if n_groups else -1 for _ in range(n_cols)], dtype=np.int64)
    demand = rng.integers(0, 3 if rng.random() < 0.3 else 2, size=n_rows).astype(np.int64)
    costs = rng.integers(0, 4, size=n_cols).astype(np.int64) if rng.random() < 0.6 else np.ones(n_cols, np.int64)
    forced, locked_groups = [], set()
    for j in range(n_cols):
        if rng.random() < 0.1 and (group_of[j] < 0 or int(group_of[j]) not in locked_groups):
            forced.append(j)
            locked_groups.add(int(group_of[j]))
    core = Core(n_rows, cols, costs, demand, group_of, np.arange(n_cols) + 100, np.arange(n_rows) + 1000)
    return core, forced


def _cheapest(n_rows: int, cols: list[np.ndarray], costs, demand, group_of, forced=()) -> int | None:
    """The cheapest cover by enumeration (one column per group, locks kept), or None."""
    best = None
    for chosen in itertools.product((0, 1), repeat=len(cols)):
        picked = [j for j, x in enumerate(chosen) if x]
        groups = [int(group_of[j]) for j in picked if group_of[j] >= 0]
        if any(j not in picked for j in forced) or len(groups) != len(set(groups)):
            continue
        seen = np.zeros(n_rows, dtype=np.int64)
        for j in picked:
            seen[cols[j]] += 1
        if np.all(seen >= demand):
            cost = int(sum(int(costs[j]) for j in picked))
            best = cost if best is None else min(best, cost)
    return best


def _after(core: Core, reduced) -> int | None:  # type: ignore[no-untyped-def]
    """The cheapest cover of what the reductions left, plus the fixed columns' cost (None if one part has none)."""
    local = {int(c): n for n, c in enumerate(core.col_ids)}
    total = sum(int(core.costs[local[int(j)]]) for j in reduced.fixed)
    for part in reduced.components:
        best = _cheapest(part.n_rows, part.cols, part.costs, part.demand, part.group_of)
        if best is None:
            return None
        total += best
    return total


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_every_reduction_keeps_the_cheapest_cover(seed: int, full: bool) -> None:
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(300):
        core, forced = _random_core(rng)
        truth = _cheapest(core.n_rows, core.cols, core.costs, core.demand, core.group_of, forced)
        reduced = reduce_problem(core, forced, full=full, time_cap=10.0)
        if reduced.infeasible_rows:
            # A row said to be uncoverable is: no choice of one column per group meets its demand.
            assert truth is None
            continue
        assert _after(core, reduced) == truth
        # The parts are independent: no column or group reaches two of them, and every row kept is in one.
        seen_cols = [set(part.col_ids.tolist()) for part in reduced.components]
        assert all(not (a & b) for a, b in itertools.combinations(seen_cols, 2))
        groups = [set(part.group_of[part.group_of >= 0].tolist()) for part in reduced.components]
        assert all(not (a & b) for a, b in itertools.combinations(groups, 2))
        checked += truth is not None
    assert checked > 50


def test_the_rules_shrink_a_model_that_has_dominated_rows_and_columns() -> None:
    # Row 1 ⊇ row 0 (dominated), column 2 ⊆ column 0 at a higher cost (dominated); the rest is forced.
    cols = [np.array([0, 1, 2]), np.array([2, 3]), np.array([0, 1]), np.array([3])]
    core = Core(4, cols, np.array([1, 1, 2, 5]), np.ones(4, dtype=np.int64), np.full(4, -1), np.arange(4),
                np.arange(4))
    reduced = reduce_problem(core, [], full=True, time_cap=1.0)
    assert reduced.stats.removed_rows >= 1 and reduced.stats.removed_columns >= 1
    assert _after(core, reduced) == _cheapest(4, cols, core.costs, core.demand, core.group_of) == 2
    assert reduced.stats.rows_after < 4


def test_the_split_without_rules_finds_the_connected_parts() -> None:
    # Rows 0-1 share column 0; rows 2-3 share column 2; column 1 (row 1) and column 3 (row 2) share a group,
    # which links the two halves; rows 4-5 stand alone with their own columns.
    cols = [np.array([0, 1]), np.array([1]), np.array([2, 3]), np.array([2]), np.array([4]), np.array([5])]
    group_of = np.array([-1, 0, -1, 0, -1, -1])
    core = Core(6, cols, np.ones(6, dtype=np.int64), np.ones(6, dtype=np.int64), group_of, np.arange(6),
                np.arange(6))
    reduced = reduce_problem(core, [], full=False, time_cap=1.0)
    assert [part.row_ids.tolist() for part in reduced.components] == [[0, 1, 2, 3], [4], [5]]
    assert [part.col_ids.tolist() for part in reduced.components] == [[0, 1, 2, 3], [4], [5]]
    whole = reduce_problem(core, [], full=False, time_cap=1.0, split=False)
    assert [part.row_ids.tolist() for part in whole.components] == [[0, 1, 2, 3, 4, 5]]
