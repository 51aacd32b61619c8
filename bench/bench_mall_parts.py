"""A plan run's set-cover solves again, parts one after the other and on forked workers, side by side.

One plan run of the mall (reduce, re-aim) records every set-cover solve the loop makes (problem and time limit);
the solves with at least ``--min-parts`` parts are then solved again in this process with the same limit, serial
then parallel, ``--reps`` times, alternating. Wall time, the parts' wall time and CPU time (this process and
its forked workers) for each, with the load average at the start.

    .venv/bin/python -m bench.bench_mall_parts --segments 2000 --limit 100 --reps 2
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import time

from bench.bench_mall import _floor


def _cpu() -> tuple[float, float]:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    """Record the solves of one plan run, then solve the large ones again both ways."""
    import planner.plan.loop as loop
    from planner.plan import PlanOptions, plan
    from planner.setcover import SolveOptions, pipeline, solve

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=2000)
    ap.add_argument("--reaim", type=float, default=15.0)
    ap.add_argument("--limit", type=float, default=100.0, help="the plan run's limit (long enough for round two)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--min-parts", type=int, default=30)
    args = ap.parse_args()

    recorded: list[tuple[bytes, float, int]] = []  # a copy of each problem: the loop's matrix grows
    real_solve = loop.solve

    def record(problem, options=None):  # type: ignore[no-untyped-def]
        result = real_solve(problem, options)
        recorded.append((pickle.dumps(problem), options.time_limit, len(result.parts or [])))
        return result

    loop.solve = record  # type: ignore[assignment]
    options = PlanOptions(mode="reduce", reaim_step=args.reaim, time_limit=args.limit, explain=False)
    p = plan(_floor(args.segments, "reduce"), options)
    loop.solve = real_solve  # type: ignore[assignment]
    print(f"plan: {p.status} {p.objective} at least {p.bound}, {len(recorded)} solves", flush=True)

    lanes, parts_solve = pipeline.lanes_for, pipeline._solve_components
    parts_wall = [0.0]

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = parts_solve(*a, **k)
        parts_wall[0] = time.perf_counter() - t
        return out

    pipeline._solve_components = timed  # type: ignore[assignment]
    for rep in range(args.reps):
        for side in ("serial", "parallel"):
            pipeline.lanes_for = (lambda o, n: 1) if side == "serial" else lanes  # type: ignore[assignment]
            for n, (problem, limit, n_parts) in enumerate(recorded):
                if n_parts < args.min_parts:
                    continue
                load = os.getloadavg()[0]
                c0, t0 = _cpu(), time.perf_counter()
                r = solve(pickle.loads(problem), SolveOptions(time_limit=limit, workers=options.workers,  # type: ignore[arg-type]
                                                deterministic=options.deterministic))
                wall, c1 = time.perf_counter() - t0, _cpu()
                print(f"rep {rep} {side:8} solve {n + 1} ({n_parts} parts, limit {limit:.2f} s): {r.status} "
                      f"{r.objective} / {r.bound}, wall {wall:.2f} s, parts {parts_wall[0]:.2f} s, CPU "
                      f"{c1[0] - c0[0]:.2f} + workers {c1[1] - c0[1]:.2f} s, load {load:.2f}", flush=True)


if __name__ == "__main__":
    main()
