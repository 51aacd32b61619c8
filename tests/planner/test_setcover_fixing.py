"""Reduced-cost fixing and the cutoff rounds: brute force on small instances, the published optimum of OR-Library 4.1."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from planner.research.orlib import read_orlib_scp
from planner.setcover import CoverProblem, SolveOptions, Status, is_cover, solve
from planner.setcover.core import Core
from planner.setcover.engines import lp_duals, solve_cpsat, solve_mip
from planner.setcover.heuristics import cost_of, greedy
from planner.setcover.pipeline import _solve_below, validated_core
from planner.setcover.problem import Backend
from planner.setcover.reduce import reduced_cost_fixing

DATA = Path(__file__).resolve().parents[1] / "data" / "orlib"
SCP41_OPTIMUM = 429  # optima.csv row scp41 (Beasley 1990; see tests/data/orlib/SOURCE.md)


def _small(rng: np.random.Generator, *, groups: bool, k2: bool) -> CoverProblem:
    n_rows, n_cols = 7, 11
    columns = [np.flatnonzero(rng.random(n_rows) < 0.35).tolist() for _ in range(n_cols)]
    for r in range(n_rows):  # every row coverable by three columns
        for j in rng.choice(n_cols, size=3, replace=False):
            if r not in columns[j]:
                columns[j].append(int(r))
    demand = rng.integers(1, 3, size=n_rows).tolist() if k2 else 1
    pairs = [[0, 1], [2, 3, 4]] if groups else []
    return CoverProblem(
        n_rows=n_rows, columns=columns, costs=rng.integers(1, 9, size=n_cols).tolist(), demand=demand, groups=pairs
    )


def _all_covers(problem: CoverProblem) -> list[tuple[int, tuple[int, ...]]]:
    costs = list(problem.costs or [])
    out = []
    for size in range(problem.n_columns + 1):
        for chosen in itertools.combinations(range(problem.n_columns), size):
            if is_cover(problem, list(chosen)):
                out.append((sum(costs[j] for j in chosen), chosen))
    return out


def _root(problem: CoverProblem) -> Core:
    validated = validated_core(problem, SolveOptions())
    assert validated is not None
    return validated[0]


@pytest.mark.parametrize("seed", range(12))
def test_fixing_keeps_every_cheaper_cover_for_lp_and_arbitrary_multipliers(seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem = _small(rng, groups=seed % 2 == 1, k2=seed % 3 == 2)
    covers = _all_covers(problem)
    if not covers:
        pytest.skip("random instance without a cover")
    optimum = min(c for c, _ in covers)
    core = _root(problem)
    solved = lp_duals(core, time_limit=10)
    assert solved is not None
    lp, y, z = solved
    multipliers = [(y, z, lp)]
    # Any multipliers give a valid bound and a valid fixing; the signs are clipped inside.
    for _ in range(4):
        multipliers.append((rng.normal(0.5, 1.5, core.n_rows), rng.normal(-0.5, 1.0, z.size), None))
    for row_duals, group_duals, lp_value in multipliers:
        for upper in (optimum, optimum + 1, optimum + 4):
            fixing = reduced_cost_fixing(core, row_duals, group_duals, upper)
            assert fixing.bound <= optimum + 1e-6
            if lp_value is not None:
                assert fixing.bound == pytest.approx(lp_value, abs=1e-6)
            for cost, chosen in covers:
                if cost >= upper:
                    continue
                x = np.zeros(core.n_cols, dtype=bool)
                x[list(chosen)] = True
                assert not np.any(x & fixing.drop), (upper, chosen)
                assert not np.any(~x & fixing.force), (upper, chosen)


def test_scp41_fixing_against_optimum_plus_one_keeps_the_published_optimum() -> None:
    problem = read_orlib_scp(DATA / "scp41.txt").to_problem()
    core = _root(problem)
    solved = lp_duals(core, time_limit=30)
    assert solved is not None
    fixing = reduced_cost_fixing(core, solved[1], solved[2], SCP41_OPTIMUM + 1)
    # The fixing is what makes the exact solve small: most of the 1000 columns go.
    assert int(fixing.drop.sum()) > core.n_cols // 2
    restricted = CoverProblem(
        n_rows=problem.n_rows, columns=problem.columns, costs=problem.costs,
        forbidden=core.col_ids[fixing.drop].tolist(), forced=core.col_ids[fixing.force].tolist(),
    )  # fmt: skip
    result = solve(restricted, SolveOptions(time_limit=30, seed=0))
    assert (result.status, result.objective) == (Status.OPTIMAL, SCP41_OPTIMUM)


@pytest.mark.parametrize("backend", ["cpsat", "mip"])
@pytest.mark.parametrize("seed", range(8))
def test_solve_matches_brute_force(backend: str, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    problem = _small(rng, groups=seed % 2 == 0, k2=seed % 4 == 1)
    covers = _all_covers(problem)
    result = solve(problem, SolveOptions(time_limit=20, backend=backend, seed=0))
    if not covers:
        assert result.status == Status.INFEASIBLE
        return
    assert (result.status, result.objective) == (Status.OPTIMAL, min(c for c, _ in covers))
    assert is_cover(problem, result.selected)


@pytest.mark.parametrize("engine", ["cpsat", "mip"])
def test_cutoff_below_the_optimum_is_a_proof_of_no_cheaper_cover(engine: str) -> None:
    rng = np.random.default_rng(5)
    problem = _small(rng, groups=False, k2=False)
    optimum = min(c for c, _ in _all_covers(problem))
    core = _root(problem)

    def run(cutoff: int):
        if engine == "mip":
            return solve_mip(core, None, time_limit=10, seed=0, known_bound=0, cancel=None, progress=None,
                             cutoff=cutoff)  # fmt: skip
        return solve_cpsat(core, None, time_limit=10, workers=2, seed=0, deterministic=True, known_bound=0,
                           cancel=None, progress=None, cutoff=cutoff)  # fmt: skip

    assert run(optimum - 1).status == "INFEASIBLE"
    at = run(optimum)
    assert (at.status, at.objective) == ("OPTIMAL", optimum)


@pytest.mark.parametrize("seed", range(10))
def test_fixing_rounds_from_any_cover_reach_the_brute_force_optimum(seed: int) -> None:
    # The rounds directly (the pipeline only takes them when the warm start is close to the LP bound).
    rng = np.random.default_rng(200 + seed)
    problem = _small(rng, groups=seed % 2 == 0, k2=seed % 3 == 1)
    covers = _all_covers(problem)
    if not covers:
        pytest.skip("random instance without a cover")
    core = _root(problem)
    start = greedy(core)
    if start is None:
        pytest.skip("greedy found no cover with these groups")
    solved = lp_duals(core, time_limit=10)
    assert solved is not None
    seen: list[tuple[int | None, int]] = []
    result = _solve_below(
        core, SolveOptions(seed=0, deterministic=True), Backend.CPSAT, start, cost_of(core, start),
        (solved[1], solved[2]), 0, time.perf_counter() + 20, lambda inc, bound: seen.append((inc, bound)),
    )  # fmt: skip
    optimum = min(c for c, _ in covers)
    assert (result.status, result.objective, result.bound) == ("OPTIMAL", optimum, optimum)
    chosen = core.col_ids[np.flatnonzero(result.selected)].tolist()
    assert is_cover(problem, chosen) and sum(problem.costs[j] for j in chosen) == optimum
    # Progress never reports a bound above the optimum.
    assert all(bound <= optimum for _, bound in seen)
