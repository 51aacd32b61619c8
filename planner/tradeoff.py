"""Trade-off curves: the minimum camera count as a function of the required coverage fraction, or of k.

- ``k_curve(floor, ks, options)``: one exact plan (refinement loop, 0 uncovered area) per k.
- ``coverage_curve(floor, fractions, options)``: fraction 1.0 is the exact plan; for a fraction f < 1 set
  cover's partial cover (``CoverProblem.min_covered``) asks that witnesses carrying at least f of the required
  area (each grid witness carries its grid cell ∩ zone) be covered k times.  The fraction is thus enforced on
  the witness grid; the exact covered fraction of the chosen cameras (polygon overlay) is reported next to it.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import shapely

from planner.coverage import uncovered
from planner.floor import Floor
from planner.plan import PlanOptions, Prepared, plan, prepare
from planner.setcover import CoverProblem, SolveOptions, Status, solve

AREA_SCALE = 10_000  # witness areas in cm² (the solver needs integer row weights)


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


def _witness_areas(prep: Prepared) -> np.ndarray:
    """Area carried by each witness: its grid cell ∩ its zone region (0 for the other witnesses)."""
    m = prep.matrix
    xs, ys, zs = np.asarray(m.wx), np.asarray(m.wy), np.asarray(m.wzone)
    grid = np.asarray(m.wgrid, dtype=bool)
    areas = np.zeros(len(xs))
    for zi, zd in enumerate(prep.zones):
        idx = np.flatnonzero((zs == zi) & grid)
        if not len(idx) or zd.region.is_empty:
            continue
        h = zd.spacing / 2
        cells = shapely.box(xs[idx] - h, ys[idx] - h, xs[idx] + h, ys[idx] + h)
        areas[idx] = shapely.area(shapely.intersection(cells, zd.region))
    return areas


def coverage_curve(floor: Floor, fractions: tuple[float, ...] = (1.0, 0.99, 0.95, 0.90),
                   options: PlanOptions | None = None) -> list[dict]:
    """Minimum cameras needed to cover at least each fraction of the required area (k times)."""
    base = options or PlanOptions(explain=False)
    for f in fractions:
        if not 0 < f <= 1:
            raise ValueError(f"coverage fraction must be in (0, 1], got {f}")
    out: list[dict] = []
    exact = plan(floor, replace(base, explain=False))
    prep = prepare(floor, base)
    total_area = sum(zd.region.area for zd in prep.zones) or 1.0
    for f in fractions:
        if f >= 1.0:
            out.append({"fraction": 1.0, "cameras": exact.objective, "bound": exact.bound, "status": exact.status,
                        "covered_fraction": round(1 - exact.uncovered_m2["total"] / total_area, 6)})
            continue
        out.append(_partial(prep, f, base, total_area))
    return out


def _partial(prep: Prepared, fraction: float, options: PlanOptions, total_area: float) -> dict:
    """Fewest cameras covering witnesses that carry at least `fraction` of the required area (set cover's
    partial cover, same lexicographic weights, mount groups and locks as the exact plan)."""
    start = time.perf_counter()
    m = prep.matrix
    weights = np.round(_witness_areas(prep) * AREA_SCALE).astype(np.int64)
    problem = CoverProblem(n_rows=len(m.wx), columns=m.columns, costs=prep.objective.weights, demand=list(m.demand),
                           forced=prep.candidates.forced, groups=prep.candidates.groups,
                           row_weights=weights.tolist(), min_covered=int(math.ceil(fraction * weights.sum())))
    res = solve(problem, SolveOptions(time_limit=float(options.time_limit), workers=max(1, options.workers),
                                      seed=options.seed, deterministic=options.deterministic))
    if res.objective is None:
        return {"fraction": fraction, "cameras": None, "bound": None, "status": str(res.status)}
    chosen = res.selected
    left = sum(uncovered(zd.region, [prep.engine.view(prep.cols[j], zd.zone.tier) for j in chosen], zd.k).area
               for zd in prep.zones)
    return {
        "fraction": fraction, "cameras": len(chosen),
        "bound": len(chosen) if res.status == Status.OPTIMAL else int(res.bound) // prep.objective.camera_scale,
        "status": str(res.status), "covered_fraction": round(1 - left / total_area, 6),
        "seconds": round(time.perf_counter() - start, 3),
    }
