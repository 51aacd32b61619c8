"""Art-gallery benchmark: every Unicamp polygon solved with vertex guards, checked against vertex-guards.csv.

Usage: python bench/bench_agp.py [--root DIR] [--time-limit S] [--only-reference] [--out CSV] [--summary MD]
Writes one CSV row per polygon (appending; polygons already in the CSV are skipped, so a run can resume).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.agp import solve_agp  # noqa: E402
from planner.polfile import read_pol  # noqa: E402

FIELDS = ["file", "class", "vertices", "holes", "reference", "guards", "bound", "status", "uncovered_m2",
          "float_residue_m2", "seconds", "rounds", "witnesses", "match"]


def _size(name: str) -> int:
    m = re.search(r"-(\d+)-\d+\.pol$", name) or re.search(r"_(\d+)v-", name)
    return int(m.group(1)) if m else 0


def main() -> None:
    """Solve the polygons (smallest first) and append results to the CSV."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default="/work/shared/benchmarks/agp-unicamp")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--only-reference", action="store_true", help="only polygons with a reference count")
    ap.add_argument("--out", default="bench/results/agp.csv")
    ap.add_argument("--max-vertices", type=int, default=10_000)
    args = ap.parse_args()
    root = Path(args.root)
    ref = {r["file"]: r for r in csv.DictReader(open(root / "vertex-guards.csv"))}
    files = sorted((str(p.relative_to(root)) for p in root.glob("*/*.pol")), key=lambda f: (_size(f), f))
    if args.only_reference:
        files = [f for f in files if f in ref]
    done: set[str] = set()
    if os.path.exists(args.out):
        done = {r["file"] for r in csv.DictReader(open(args.out))}
    new = not os.path.exists(args.out)
    with open(args.out, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for f in files:
            if f in done or _size(f) > args.max_vertices:
                continue
            pol = read_pol(root / f)
            t0 = time.perf_counter()
            res = solve_agp(pol, time_limit=args.time_limit)
            secs = time.perf_counter() - t0
            r = ref.get(f)
            reference = int(r["vertex_guards"]) if r else ""
            match = "" if r is None else (len(res.guards) == reference and res.status == "OPTIMAL")
            w.writerow({"file": f, "class": f.split("/")[0], "vertices": pol.n_vertices, "holes": len(pol.holes),
                        "reference": reference, "guards": len(res.guards), "bound": res.bound, "status": res.status,
                        "uncovered_m2": res.uncovered_m2, "float_residue_m2": f"{res.float_residue_m2:.3g}",
                        "seconds": f"{secs:.3f}", "rounds": res.rounds, "witnesses": res.witnesses, "match": match})
            fh.flush()
            print(f, reference, len(res.guards), res.status, f"{secs:.2f}s", flush=True)


if __name__ == "__main__":
    main()
