"""Trade-off curves: the minimum camera count as a function of the required coverage fraction, or of k.

- ``k_curve(floor, ks, options)``: one exact plan (refinement loop, 0 uncovered area) per k.
- ``coverage_curve(floor, fractions, options)``: fraction 1.0 is the exact plan; for a fraction f < 1 the
  CP-SAT model below asks that witnesses carrying at least f of the required area (each grid witness
  carries its grid cell ∩ zone) be covered k times.  The fraction is thus enforced on the witness grid;
  the exact covered fraction of the chosen cameras (polygon overlay) is reported next to it.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import shapely
from ortools.sat.python import cp_model

from planner.floor import Floor
from planner.optimizer import PlanOptions, plan, prepare
from planner.verify import uncovered

AREA_SCALE = 10_000  # witness areas in cm² (CP-SAT needs integers)


def k_curve(floor: Floor, ks: tuple[int, ...] = (1, 2, 3), options: PlanOptions | None = None) -> list[dict]:
    """Minimum cameras for each k (every required zone planned with that k)."""
    base = options or PlanOptions(explain=False)
    out = []
    for k in ks:
        p = plan(floor, replace(base, k_override=k, explain=False))
        out.append({"k": k, "cameras": p.objective, "bound": p.bound, "status": p.status,
                    "uncovered_m2": p.uncovered_m2.get("total"),
                    "infeasible_m2": round(sum(i["area_m2"] for i in p.infeasible), 6), "seconds": round(p.seconds, 3)})
    return out


def _witness_areas(prep, spacing_of: dict[int, float]) -> np.ndarray:
    """Area carried by each witness: its grid cell ∩ its zone region (0 for extra witnesses)."""
    m = prep.model
    xs, ys, zs = np.asarray(m.wx), np.asarray(m.wy), np.asarray(m.wzone)
    grid = np.asarray(m.wgrid, dtype=bool)
    areas = np.zeros(len(xs))
    for zi, zd in enumerate(prep.zones):
        idx = np.flatnonzero((zs == zi) & grid)
        if not len(idx) or zd.region.is_empty:
            continue
        h = spacing_of[zi] / 2
        cells = shapely.box(xs[idx] - h, ys[idx] - h, xs[idx] + h, ys[idx] + h)
        areas[idx] = shapely.area(shapely.intersection(cells, zd.region))
    return areas


def coverage_curve(floor: Floor, fractions: tuple[float, ...] = (1.0, 0.99, 0.95, 0.90),
                   options: PlanOptions | None = None) -> list[dict]:
    """Minimum cameras needed to cover at least each fraction of the required area (k times)."""
    base = options or PlanOptions(explain=False)
    out: list[dict] = []
    exact = plan(floor, replace(base, explain=False))
    total_area = sum(zd.region.area for zd in prepare(floor, base).zones) or 1.0
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"coverage fraction must be in (0, 1], got {f}")
        if f >= 1.0:
            out.append({"fraction": 1.0, "cameras": exact.objective, "bound": exact.bound, "status": exact.status,
                        "covered_fraction": round(1 - exact.uncovered_m2["total"] / total_area, 6)})
            continue
        out.append(_partial(floor, f, base, total_area))
    return out


def _partial(floor: Floor, fraction: float, options: PlanOptions, total_area: float) -> dict:
    """Fewest cameras covering witnesses that carry at least `fraction` of the required area."""
    start = time.perf_counter()
    prep = prepare(floor, options, start)
    spacing_of = {zi: options.witness_spacing or min(5.0, max(0.25, math.sqrt(zd.region.area / options.witnesses_per_zone)))
                  for zi, zd in enumerate(prep.zones)}
    areas = _witness_areas(prep, spacing_of)
    m = prep.model
    n_rows = len(m.wx)
    covering: list[list[int]] = [[] for _ in range(n_rows)]
    for j, rows in enumerate(m.columns):
        for i in rows:
            covering[i].append(j)

    # Data → variables: x[j] = candidate j chosen; y[i] = witness i seen at least k times.
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(len(prep.cols))]
    y = [model.new_bool_var(f"y{i}") for i in range(n_rows)]
    # A witness counts as covered only if at least k chosen cameras see it.
    for i in range(n_rows):
        k = prep.zones[m.wzone[i]].k
        if m.demand[i] == 0:
            model.add(y[i] == 0)
        else:
            model.add(sum(x[j] for j in covering[i]) >= k * y[i])
    # The covered witnesses carry at least the required fraction of the area.
    weights = np.round(areas * AREA_SCALE).astype(np.int64)
    model.add(sum(int(w) * y[i] for i, w in enumerate(weights) if w) >= int(math.ceil(fraction * weights.sum())))
    # At most one pose per physical mount.
    for g in prep.groups:
        model.add_at_most_one(x[j] for j in g)
    # Must-keep locks.
    for j in prep.forced:
        model.add(x[j] == 1)
    # Objective: the same lexicographic weights as the exact plan.
    model.minimize(sum(w * x[j] for j, w in enumerate(prep.weights)))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(options.time_limit)
    solver.parameters.num_workers = max(1, options.workers)
    solver.parameters.random_seed = options.seed
    if options.workers < 8:
        solver.parameters.subsolvers.extend(["max_lp", "quick_restart", "default_lp", "core"][:max(1, options.workers)])
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {"fraction": fraction, "cameras": None, "bound": None, "status": solver.status_name(status)}
    chosen = [j for j in range(len(x)) if solver.value(x[j])]
    left = sum(uncovered(zd.region, [prep.engine.view(prep.cols[j], zd.zone.tier) for j in chosen], zd.k).area
               for zd in prep.zones)
    scale = max(1, sum(prep.level_change) + 1)
    return {
        "fraction": fraction, "cameras": len(chosen),
        "bound": len(chosen) if status == cp_model.OPTIMAL else int(solver.best_objective_bound) // scale,
        "status": solver.status_name(status), "covered_fraction": round(1 - left / total_area, 6),
        "seconds": round(time.perf_counter() - start, 3),
    }
