"""Art-gallery benchmark: every Unicamp polygon solved with vertex guards, checked against vertex-guards.csv.

Usage: python bench/bench_agp.py [--root DIR] [--time-limit S] [--only-reference] [--out CSV] [--summary]
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

from planner.research.agp import solve_agp  # noqa: E402
from planner.research.polfile import read_pol  # noqa: E402

FIELDS = ["file", "class", "vertices", "holes", "reference", "guards", "bound", "status", "uncovered_m2",
          "float_residue_m2", "seconds", "rounds", "witnesses", "match"]


def _size(name: str) -> int:
    m = re.search(r"-(\d+)-\d+\.pol$", name) or re.search(r"_(\d+)v-", name)
    return int(m.group(1)) if m else 0


def main() -> None:
    """Solve the polygons (smallest first) and append results to the CSV."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "agp-unicamp"))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--only-reference", action="store_true", help="only polygons with a reference count")
    ap.add_argument("--out", default="bench/results/agp.csv")
    ap.add_argument("--max-vertices", type=int, default=10_000)
    ap.add_argument("--summary", action="store_true", help="only print the markdown table and draw the plot")
    ap.add_argument("--redo", action="store_true", help="re-solve the rows of the CSV that are not OPTIMAL")
    args = ap.parse_args()
    if args.summary:
        print(summarize(args.out))
        return
    if args.redo:
        redo(args)
        return
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


def _row(root: Path, f: str, ref: dict, time_limit: float) -> dict:
    """Solve one polygon and return its CSV row."""
    pol = read_pol(root / f)
    t0 = time.perf_counter()
    res = solve_agp(pol, time_limit=time_limit)
    secs = time.perf_counter() - t0
    r = ref.get(f)
    reference = int(r["vertex_guards"]) if r else ""
    match = "" if r is None else (len(res.guards) == reference and res.status == "OPTIMAL")
    return {"file": f, "class": f.split("/")[0], "vertices": pol.n_vertices, "holes": len(pol.holes),
            "reference": reference, "guards": len(res.guards), "bound": res.bound, "status": res.status,
            "uncovered_m2": res.uncovered_m2, "float_residue_m2": f"{res.float_residue_m2:.3g}",
            "seconds": f"{secs:.3f}", "rounds": res.rounds, "witnesses": res.witnesses, "match": match}


def redo(args: argparse.Namespace) -> None:
    """Re-solve the non-OPTIMAL rows with --time-limit and rewrite the CSV (the row keeps the new time)."""
    root = Path(args.root)
    ref = {r["file"]: r for r in csv.DictReader(open(root / "vertex-guards.csv"))}
    rows = list(csv.DictReader(open(args.out)))
    for i, r in enumerate(rows):
        if r["status"] != "OPTIMAL":
            rows[i] = _row(root, r["file"], ref, args.time_limit)
            print(rows[i], flush=True)
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)


def summarize(path: str = "bench/results/agp.csv", plot: str | None = "docs/img/agp-time.png") -> str:
    """Markdown table (class × size: polygons, reference matches, OPTIMAL, median/max seconds) and a plot."""
    import statistics

    rows = list(csv.DictReader(open(path)))
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["class"], int(r["vertices"])), []).append(r)
    lines = ["| class | vertices | polygons | with reference | matches | OPTIMAL | 0 uncovered | median s | max s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (cls, n), rs in sorted(groups.items()):
        secs = [float(r["seconds"]) for r in rs]
        ref = [r for r in rs if r["reference"] != ""]
        lines.append(f"| {cls} | {n} | {len(rs)} | {len(ref)} | {sum(r['match'] == 'True' for r in ref)} | "
                     f"{sum(r['status'] == 'OPTIMAL' for r in rs)} | {sum(float(r['uncovered_m2']) == 0 for r in rs)} | "
                     f"{statistics.median(secs):.2f} | {max(secs):.2f} |")
    ref = [r for r in rows if r["reference"] != ""]
    lines.append(f"| **all** | | {len(rows)} | {len(ref)} | {sum(r['match'] == 'True' for r in ref)} | "
                 f"{sum(r['status'] == 'OPTIMAL' for r in rows)} | {sum(float(r['uncovered_m2']) == 0 for r in rows)} | "
                 f"{statistics.median(float(r['seconds']) for r in rows):.2f} | "
                 f"{max(float(r['seconds']) for r in rows):.2f} |")
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for cls in sorted({c for c, _ in groups}):
            xs = sorted(n for c, n in groups if c == cls)
            ax.plot(xs, [statistics.median(float(r["seconds"]) for r in groups[(cls, n)]) for n in xs], "o-",
                    label=cls)
        ax.set_xlabel("vertices")
        ax.set_ylabel("median seconds to OPTIMAL")
        ax.set_yscale("log")
        ax.set_title("Exact vertex guards, Unicamp AGP polygons (2-core VM)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
