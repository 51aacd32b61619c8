"""Venue-scale benchmark: seeded mall floors (planner.research.floorgen), design mode, k = 1 and 2.

Candidates: new mounts along the walls of the required zones (corridors, every 5th shop) every `spacing`
metres on both sides of each wall, × `headings` evenly spaced headings, one 1080p 90° model; mounts viewing a
restroom are dropped before the model.  The installed cameras are removed (design mode).

Usage: python bench/bench_venue.py [--time-limit 60] [--out bench/results/venue.csv] [--configs small|all]
Each row: wall segments, candidate poses, witnesses, k, status, cameras, bound, gap, uncovered m², seconds,
refinement rounds.  Status OPTIMAL = provably minimal with 0 uncovered area; FEASIBLE = full coverage, gap
open; INCOMPLETE = time ran out inside the refinement loop (bound valid, some coverable area still unseen).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.floor import parse_floor  # noqa: E402
from planner.plan import PlanOptions, plan  # noqa: E402
from planner.research.floorgen import generate_mall_floor  # noqa: E402

FIELDS = ["seed", "segments", "spacing_m", "headings", "k", "candidates", "witnesses", "status", "cameras", "bound",
          "gap", "uncovered_m2", "infeasible_m2", "seconds", "time_to_first_s", "rounds", "time_limit_s"]

# (wall segments, mount spacing m, headings).
CONFIGS = [(200, 12.0, 4), (500, 16.0, 4), (1000, 24.0, 4), (2000, 32.0, 4)]


def main() -> None:
    """Run every configuration for k = 1 and 2 and append one CSV row each."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", default="bench/results/venue.csv")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ks", default="1,2")
    ap.add_argument("--summary", action="store_true", help="only print the markdown table and draw the plot")
    args = ap.parse_args()
    if args.summary:
        print(summarize(args.out))
        return
    new = not os.path.exists(args.out)
    with open(args.out, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for segments, spacing, headings in CONFIGS:
            floor = parse_floor(generate_mall_floor(args.seed, segments))
            n_seg = sum(max(1, len(wall.coords) - 1) for wall in floor.walls)
            for k in (int(x) for x in args.ks.split(",")):
                first: list[float] = []
                t0 = time.perf_counter()

                def progress(e: dict, first: list[float] = first, t0: float = t0) -> None:
                    if not first and e.get("phase") == "refine":
                        first.append(time.perf_counter() - t0)

                p = plan(floor, PlanOptions(mode="design", design_spacing=spacing, design_headings=headings,
                                            design_corners=False, k_override=k, time_limit=args.time_limit, explain=False,
                                            deterministic=False, progress=progress))
                row = {"seed": args.seed, "segments": n_seg, "spacing_m": spacing, "headings": headings, "k": k,
                       "candidates": p.candidates, "witnesses": p.witnesses, "status": p.status,
                       "cameras": p.objective, "bound": p.bound,
                       "gap": "" if p.gap is None else f"{p.gap:.4f}", "uncovered_m2": p.uncovered_m2["total"],
                       "infeasible_m2": round(sum(i["area_m2"] for i in p.infeasible), 3),
                       "seconds": f"{p.seconds:.1f}", "time_to_first_s": f"{first[0]:.1f}" if first else "",
                       "rounds": p.rounds, "time_limit_s": args.time_limit}
                w.writerow(row)
                fh.flush()
                print(row, flush=True)


def summarize(path: str = "bench/results/venue.csv", plot: str | None = "docs/img/venue-time.png") -> str:
    """Markdown table of the CSV and a plot of seconds and cameras by candidate count."""
    rows = list(csv.DictReader(open(path)))
    lines = ["| wall segments | candidates | witnesses | k | status | cameras | bound | gap | uncovered m² "
             "| of which reported infeasible m² | s | first cover s | rounds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['segments']} | {r['candidates']} | {r['witnesses']} | {r['k']} | {r['status']} | "
                     f"{r['cameras']} | {r['bound']} | {r['gap']} | {float(r['uncovered_m2']):.2f} | "
                     f"{float(r['infeasible_m2']):.2f} | {r['seconds']} | {r['time_to_first_s']} | {r['rounds']} |")
    if plot and rows:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for k in sorted({r["k"] for r in rows}):
            rs = [r for r in rows if r["k"] == k]
            ax.plot([int(r["candidates"]) for r in rs], [float(r["seconds"]) for r in rs], "o-", label=f"k = {k}")
            for r in rs:
                ax.annotate(r["status"], (int(r["candidates"]), float(r["seconds"])), fontsize=7)
        ax.axhline(60, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("candidate poses")
        ax.set_ylabel("seconds (limit 60)")
        ax.set_title("Venue-scale plans, seeded malls, design mode (2-core VM)")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
