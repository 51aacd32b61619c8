"""The fewest units of demand left unmet (the conflict model's phase 1), by lazy row generation, against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.errors import InputError
from planner.setcover import CoverProblem, SolveOptions, Status, shortfall
from planner.setcover.shortfall import fewest_short


def _random_problem(rng: np.random.Generator) -> CoverProblem:
    """A small random instance: grouped columns (mounts and their poses), some ungrouped, locks, demands 0-2."""
    n_rows = int(rng.integers(1, 14))
    n_groups = int(rng.integers(1, 5))
    columns, groups = [], []
    for _ in range(n_groups):
        members = []
        for _ in range(int(rng.integers(1, 4))):
            members.append(len(columns))
            columns.append(sorted({int(r) for r in rng.integers(0, n_rows, size=rng.integers(0, 6))}))
        groups.append(members)
    for _ in range(int(rng.integers(0, 3))):
        columns.append(sorted({int(r) for r in rng.integers(0, n_rows, size=rng.integers(0, 4))}))
    demand = rng.integers(0, 3, size=n_rows).tolist()
    forced = [int(rng.choice(groups[0]))] if rng.random() < 0.3 else []
    forbidden = [j for j in range(len(columns)) if j not in forced and rng.random() < 0.1]
    hint = [int(rng.choice(g)) for g in groups if rng.random() < 0.5]
    return CoverProblem(n_rows=n_rows, columns=columns, demand=demand, forced=forced, forbidden=forbidden,
                        groups=groups, hint=hint)


def _units_short(problem: CoverProblem, picked: list[int]) -> int:
    """Units of demand the picked columns leave unmet."""
    seen = np.zeros(problem.n_rows, dtype=np.int64)
    for j in picked:
        seen[list(problem.columns[j])] += 1
    return int(np.maximum(np.asarray(problem.demand) - seen, 0).sum())


def _fewest_by_enumeration(problem: CoverProblem) -> int:
    """The fewest unmet units over every choice of at most one column per group (locks kept)."""
    group_of = {j: g for g, members in enumerate(problem.groups) for j in members}
    allowed = [j for j in range(problem.n_columns) if j not in problem.forbidden]
    best = None
    for chosen in itertools.product((0, 1), repeat=len(allowed)):
        picked = [j for j, x in zip(allowed, chosen, strict=True) if x]
        used = [group_of[j] for j in picked if j in group_of]
        if len(used) != len(set(used)) or any(j not in picked for j in problem.forced):
            continue
        units = _units_short(problem, picked)
        best = units if best is None else min(best, units)
    assert best is not None
    return best


def _check(problem: CoverProblem, result) -> None:  # type: ignore[no-untyped-def]
    """The result is a valid choice, its objective is what it leaves unmet, and its short rows are named once per unit unmet."""
    group_of = {j: g for g, members in enumerate(problem.groups) for j in members}
    used = [group_of[j] for j in result.selected if j in group_of]
    assert len(used) == len(set(used)), "two columns of one group"
    assert set(problem.forced) <= set(result.selected)
    assert not set(problem.forbidden) & set(result.selected)
    assert result.objective == _units_short(problem, result.selected)
    seen = np.zeros(problem.n_rows, dtype=np.int64)
    for j in result.selected:
        seen[list(problem.columns[j])] += 1
    unmet = np.maximum(np.asarray(problem.demand) - seen, 0)
    assert sorted(result.uncoverable_rows) == np.repeat(np.arange(problem.n_rows), unmet).tolist()


@pytest.mark.parametrize(("spare", "whole"), [(shortfall.START_SPARE_GROUPS, shortfall.WHOLE_MODEL_SHARE),
                                               (-10, 1.0)])
def test_fewest_short_is_the_brute_force_minimum_and_proven(monkeypatch: pytest.MonkeyPatch, spare: int,
                                                            whole: float) -> None:
    # With spare -10 (and no switch to the whole model) the restricted model starts with only the rows the hint
    # leaves short, so the rows must be generated: every answer is still the minimum, and proven.
    monkeypatch.setattr(shortfall, "START_SPARE_GROUPS", spare)
    monkeypatch.setattr(shortfall, "WHOLE_MODEL_SHARE", whole)
    rng = np.random.default_rng(7)
    for _ in range(250):
        problem = _random_problem(rng)
        result = fewest_short(problem, SolveOptions(time_limit=10, workers=1))
        _check(problem, result)
        assert result.status == Status.OPTIMAL
        assert result.objective == result.bound == _fewest_by_enumeration(problem)


def test_rows_generated_beyond_the_start_are_the_ones_that_decide() -> None:
    # One mount, two poses: pose 0 sees rows 0-4 (seen by two more mounts), pose 1 row 5 (seen by it alone).
    # The rows seen by three mounts are not in the starting model, yet turning to row 5 would leave row 4
    # short: the answer must keep pose 0 only if that leaves fewer units unmet.
    columns = [[0, 1, 2, 3, 4], [5], [0, 1, 2, 3], [0, 1, 2, 3]]
    problem = CoverProblem(n_rows=6, columns=columns, demand=1, groups=[[0, 1]], hint=[1, 2, 3])
    result = fewest_short(problem, SolveOptions(time_limit=10, workers=1))
    assert result.status == Status.OPTIMAL
    # Pose 1 leaves row 4 short, pose 0 row 5: one unit either way.
    assert result.objective == result.bound == 1
    _check(problem, result)


def test_an_unmet_unit_is_never_traded_for_rows_of_the_restricted_model() -> None:
    # Pose 0 sees the three rows only it can see; pose 1 sees many rows that two other columns see anyway.
    columns = [[0, 1, 2], [3, 4, 5, 6, 7, 8], [3, 4, 5, 6, 7, 8], [3, 4, 5, 6, 7, 8]]
    problem = CoverProblem(n_rows=9, columns=columns, demand=1, groups=[[0, 1]], hint=[1])
    result = fewest_short(problem, SolveOptions(time_limit=10, workers=1))
    assert result.objective == 0 and 0 in result.selected


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="outside"):
        fewest_short(CoverProblem(n_rows=2, columns=[[0, 5]]), SolveOptions(time_limit=1))
