"""Peak memory of one plan run in one worker: a generated mall in design mode, as many candidates as the spacing gives.

    /usr/bin/time -v .venv/bin/python -m bench.bench_memory 2000 4 60 300   # segments, spacing m, limit s, witnesses/zone
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(argv: list[str] | None = None) -> int:
    """Plan one floor with workers=1 and print candidates, witnesses, status, wall time and peak RSS (JSON)."""
    from bench.bench_mall import _floor
    from planner.plan import PlanOptions, plan

    seg, spacing, limit, per_zone = (argv or sys.argv[1:]) or ("2000", "4", "60", "300")
    floor = _floor(int(seg), "design")
    t0 = time.perf_counter()
    p = plan(floor, PlanOptions(mode="design", time_limit=float(limit), design_spacing=float(spacing),
                                design_headings=4, design_corners=False, workers=1, witnesses_per_zone=int(per_zone)))
    print(json.dumps({"candidates": p.candidates, "witnesses": p.witnesses, "status": p.status,
                      "cameras": p.objective, "bound": p.bound, "stopped_in": p.stopped_in,
                      "wall_s": round(time.perf_counter() - t0, 2),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
