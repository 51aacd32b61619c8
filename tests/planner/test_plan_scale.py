"""The plan loop's venue-scale paths: the model's distinct rows and the witness matrix of many poses per mount."""

from __future__ import annotations

import dataclasses

import numpy as np

from planner.floor import TIERS, parse_floor
from planner.geometry import in_sector
from planner.plan import PlanOptions
from planner.plan.loop import _distinct_rows, _distinct_rows_exact
from planner.plan.prepare import prepare
from planner.research.floorgen import generate_mall_floor


def _reaim_prep():
    floor = parse_floor(generate_mall_floor(3, 60))
    return prepare(floor, PlanOptions(reaim_step=30, time_limit=120, workers=1, witnesses_per_zone=60))


def test_distinct_rows_group_exactly_the_witnesses_seen_by_the_same_poses() -> None:
    prep = _reaim_prep()
    m = prep.matrix
    rows = _distinct_rows(m)
    row_of, first, row_columns = rows.row_of, rows.firsts, rows.columns
    seen_by: list[set[int]] = [set() for _ in m.wx]
    for j, column in enumerate(m.columns):
        for i in column:
            seen_by[i].add(j)
    assert len(first) > 1 and len(first) < sum(d > 0 for d in m.demand)  # some rows are shared
    for i, d in enumerate(m.demand):
        if d <= 0:
            assert row_of[i] == -1
            continue
        r = int(row_of[i])
        # Same poses and demand as the row's first witness, and the first witness is the earliest such one.
        assert seen_by[i] == seen_by[first[r]] and m.demand[i] == m.demand[first[r]] and first[r] <= i
    assert first == sorted(first)
    for r, w in enumerate(first):
        assert {j for j, rows in enumerate(row_columns) if r in rows} == seen_by[w]
    # The one-witness-at-a-time definition gives the same model.
    col_of, wit = m.pairs()
    order = np.lexsort((col_of, wit))
    bounds = np.searchsorted(wit[order], np.arange(len(m.wx) + 1))
    exact = _distinct_rows_exact(m, col_of[order], bounds, np.asarray(m.demand))
    assert np.array_equal(exact.row_of, row_of) and exact.firsts == first and exact.columns == row_columns


def test_rows_of_added_witnesses_are_those_a_full_read_gives() -> None:
    # A refinement round adds witnesses: some where earlier ones are (the same poses see them), some elsewhere.
    prep = _reaim_prep()
    m = prep.matrix
    before = _distinct_rows(m)
    rng = np.random.default_rng(3)
    for zi, zd in enumerate(prep.zones):
        same = rng.choice(np.flatnonzero(np.asarray(m.wzone) == zi), size=5)
        minx, miny, maxx, maxy = zd.region.bounds
        xs = np.r_[np.asarray(m.wx)[same], rng.uniform(minx, maxx, 200)]
        ys = np.r_[np.asarray(m.wy)[same], rng.uniform(miny, maxy, 200)]
        m.add_witnesses(zi, xs, ys)
    grown = _distinct_rows(m, before)
    full = _distinct_rows(m)
    assert len(grown.firsts) > len(before.firsts)  # new rows were made ...
    assert np.count_nonzero(grown.row_of[before.n_witnesses:] < len(before.firsts)) >= 5  # ... and old ones joined
    assert np.array_equal(grown.row_of, full.row_of) and grown.firsts == full.firsts
    assert grown.columns == full.columns
    assert before.columns == _distinct_rows_of(before)  # the earlier rows are left as they were


def _distinct_rows_of(rows) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """The columns of ``rows`` as read back from its per-row poses."""
    out: list[list[int]] = [[] for _ in rows.columns]
    for r, poses in enumerate(rows.poses):
        for j in poses.tolist():
            out[j].append(r)
    return out


def test_matrix_of_reaimed_mounts_equals_the_per_pose_sector_test() -> None:
    prep = _reaim_prep()
    m, engine = prep.matrix, prep.engine
    assert max(np.bincount(m.mount_of)) >= 6  # several poses share each mount
    xs, ys = np.asarray(m.wx), np.asarray(m.wy)
    tier = np.array([TIERS.index(prep.zones[z].zone.tier) for z in m.wzone])
    for j in range(len(prep.cols)):
        pose = prep.cols[j]
        expected = np.zeros(len(xs), dtype=bool)
        for t in np.unique(tier):
            sel = tier == t
            expected[sel] = engine.sees(pose, TIERS[t], xs[sel], ys[sel])
        assert sorted(m.columns[j]) == np.flatnonzero(expected).tolist()


def test_the_same_floor_gives_the_same_matrix() -> None:
    a, b = _reaim_prep().matrix, _reaim_prep().matrix
    assert a.columns == b.columns and a.demand == b.demand


def test_sector_test_of_many_poses_at_once_equals_one_pose_at_a_time() -> None:
    rng = np.random.default_rng(4)
    xs, ys = rng.uniform(-30, 30, 4000), rng.uniform(-30, 30, 4000)
    heading = rng.choice([0.0, 15.0, 97.5, 180.0, 359.0], 4000)
    hfov = rng.choice([30.0, 90.0, 179.0, 270.0, 360.0], 4000)
    radius = rng.choice([0.0, 5.0, 22.5], 4000)
    together = in_sector(1.5, -2.0, heading, hfov, radius, xs, ys)
    one_by_one = [bool(in_sector(1.5, -2.0, float(h), float(f), float(r), xs[i:i + 1], ys[i:i + 1])[0])
                  for i, (h, f, r) in enumerate(zip(heading, hfov, radius, strict=True))]
    assert together.tolist() == one_by_one and 0 < together.sum() < len(xs)


def test_phase_two_bound_holds_for_the_target_its_solve_leaves() -> None:
    from planner.plan.loop import Rounds, _rest_bound, _solve_lexicographic, _take, cover_problem
    from planner.plan.options import Clock
    from planner.setcover import CoverProblem, SolveOptions, Status, solve

    prep = _reaim_prep()
    options = PlanOptions(reaim_step=30, time_limit=120, workers=1, witnesses_per_zone=60)
    state = Rounds(slack=True)
    problem = cover_problem(prep, state, options)
    assert state.slack_rows  # one pose per mount: the two-phase model
    n_cols = len(prep.cols)
    result = _solve_lexicographic(problem, prep, state, options, 30.0, Clock.for_options(options))
    _take(state, result, n_cols, prep.matrix)
    found = _rest_bound(prep, state, options)
    # The fewest cameras covering every row but those the solve gave up, proven alone.
    given_up = {state.slack_rows[j - n_cols] for j in result.selected if j >= n_cols}
    demand = [0 if r in given_up else d for r, d in enumerate(problem.demand)]
    alone = solve(CoverProblem(n_rows=problem.n_rows, columns=problem.columns[:n_cols], demand=demand,
                               groups=problem.groups), SolveOptions(time_limit=60, workers=1))
    assert alone.status == Status.OPTIMAL
    assert 0 < found <= alone.objective
    # It belongs to that answer only: another kept answer (another target) gets no bound from it.
    state.result = dataclasses.replace(result)
    assert _rest_bound(prep, state, options) == 0

