"""Decomposition: independent parts (no candidate sees witnesses of two) are solved apart, their bounds added."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
from shapely.geometry import box, mapping, shape

from planner.floor import parse_floor
from planner.plan import PlanOptions, plan
from planner.setcover import CoverProblem, SolveOptions, Status, is_cover, solve

DATA = Path(__file__).resolve().parents[1] / "data" / "plan-floors"


def _block(rng: np.random.Generator, n_rows: int, n_cols: int, offset: int) -> tuple[list[list[int]], list[int]]:
    columns = [sorted({int(r) + offset for r in rng.choice(n_rows, size=4, replace=False)}) for _ in range(n_cols)]
    return columns, rng.integers(1, 20, size=n_cols).tolist()


def test_two_independent_blocks_are_two_parts_with_summed_bounds_and_the_same_optimum() -> None:
    rng = np.random.default_rng(3)
    cols_a, cost_a = _block(rng, 30, 60, 0)
    cols_b, cost_b = _block(rng, 30, 60, 0)
    alone_a = solve(CoverProblem(n_rows=30, columns=cols_a, costs=cost_a), SolveOptions(time_limit=20))
    alone_b = solve(CoverProblem(n_rows=30, columns=cols_b, costs=cost_b), SolveOptions(time_limit=20))
    whole_problem = CoverProblem(n_rows=60, columns=cols_a + [[r + 30 for r in c] for c in cols_b],
                                 costs=cost_a + cost_b)
    whole = solve(whole_problem, SolveOptions(time_limit=20))
    assert alone_a.status == alone_b.status == whole.status == Status.OPTIMAL
    assert whole.objective == alone_a.objective + alone_b.objective
    assert is_cover(whole_problem, whole.selected)
    # Each block is its own part (or more, if the reductions split it further), each with its own bound;
    # the whole bound is the forced columns' cost plus the parts' bounds.
    assert whole.reductions.components >= 2 and len(whole.parts) == whole.reductions.components
    assert whole.fixed_cost + sum(p["bound"] for p in whole.parts) == whole.bound
    assert all(p["status"] == "OPTIMAL" for p in whole.parts)


def _shifted(obj: dict, dx: float) -> dict:
    out = copy.deepcopy(obj)

    def move(c):
        return [c[0] + dx, c[1]] if isinstance(c[0], int | float) else [move(x) for x in c]

    for f in out["features"]:
        f["geometry"]["coordinates"] = move(f["geometry"]["coordinates"])
        for key in ("id", "name"):
            if key in f["properties"]:
                f["properties"][key] = f"{f['properties'][key]}-B"
    return out


def _two_wings(obj: dict, dx: float) -> dict:
    """The floor and a copy of it `dx` m east, under one outline: no camera of one wing reaches the other."""
    (outline,) = [f for f in obj["features"] if f["properties"]["kind"] == "outline"]
    minx, miny, maxx, maxy = shape(outline["geometry"]).bounds
    whole = {"type": "Feature", "properties": {"kind": "outline"},
             "geometry": json.loads(json.dumps(mapping(box(minx, miny, maxx + dx, maxy))))}
    rest = [f for f in obj["features"] if f["properties"]["kind"] != "outline"]
    copy_rest = [f for f in _shifted(obj, dx)["features"] if f["properties"]["kind"] != "outline"]
    return {**obj, "features": [whole, *rest, *copy_rest]}


def test_a_floor_of_two_disconnected_wings_is_solved_in_parts_with_the_summed_bound() -> None:
    wing = json.loads((DATA / "reaim.geojson").read_text())
    events: list[dict] = []
    # New poses every 2 m: with re-aims of the two installed cameras only, the reductions force both and leave
    # no part to solve.
    options = PlanOptions(time_limit=30, mode="design", design_spacing=2.0, progress=events.append)
    one = plan(parse_floor(wing), options)
    events.clear()
    both = plan(parse_floor(_two_wings(wing, 100.0)), options)
    assert one.status == both.status == "OPTIMAL"
    # The same optimum as solving each wing: twice one wing's, and the bound is the sum of the parts' bounds.
    assert both.objective == 2 * one.objective and both.bound == 2 * one.bound
    assert len(both.parts) >= 2
    assert sum(p["weighted_bound"] for p in both.parts) <= both.weighted_bound
    assert sum(p["at_least"] for p in both.parts) == both.bound
    assert both.to_dict()["certificate"]["parts"] == both.parts
    # While it runs, the progress events say how many cameras are needed at least (never more than the final bound).
    said = [e["needed_at_least"] for e in events if e.get("needed_at_least") is not None]
    assert said and max(said) == both.bound
