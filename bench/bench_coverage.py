"""Coverage-matrix build time and memory on generated malls, with a scaling curve.

Run: ``.venv/bin/python -m bench.bench_coverage [--quick] [--plot docs/img/coverage-scaling.png]``

Each size runs in a fresh subprocess so its peak RSS (``resource.getrusage(...).ru_maxrss``) is its own.
A size is (wall segments, candidate poses, witnesses): the floor is ``generate_mall_floor(1, segments)``;
poses are mounts on a seeded jittered grid over the free space, each with 4 headings (0/90/180/270),
hfov 90 deg, 1920 px (observe range 15.4 m, detect 38.4 m); witnesses come from ``Engine.witnesses``
with the spacing searched so their count is within 2 % of the target.  Timed: engine build (occluders),
witness sampling, the full matrix (wall and CPU time: the shared VM's wall clock varies 2-4x with
other users' load), and the exact area check (``zone_coverage``) of the floor's installed
cameras.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import shapely

SIZES = [(250, 625, 2500), (500, 1250, 5000), (1000, 2500, 10000), (2000, 5000, 20000), (4000, 10000, 40000)]
TARGET = (2000, 5000, 20000)


def one(segments: int, n_poses: int, n_witnesses: int, seed: int = 1) -> dict:
    """Measure one size in this process."""
    from planner.coverage import CameraPose, Engine, terminal_poses
    from planner.floor import parse_floor
    from planner.research.floorgen import generate_mall_floor

    t0 = time.perf_counter()
    floor = parse_floor(generate_mall_floor(seed, segments))
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    eng = Engine(floor)
    t_engine = time.perf_counter() - t0

    t0 = time.perf_counter()
    area = sum(eng.region(z).area for z in floor.zones_of("required"))
    spacing = math.sqrt(area / n_witnesses)
    for _ in range(12):
        wits = eng.witnesses(spacing)
        err = len(wits) / n_witnesses - 1
        if abs(err) <= 0.02:
            break
        spacing *= math.sqrt(1 + err)
    t_wits = time.perf_counter() - t0

    rng = np.random.default_rng(seed)
    n_mounts = n_poses // 4
    free = eng.occ.free
    minx, miny, maxx, maxy = free.bounds
    side = math.sqrt((maxx - minx) * (maxy - miny) / n_mounts)
    mounts: list[tuple[float, float]] = []
    while len(mounts) < n_mounts:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n_mounts, 2))
        ok = shapely.contains_xy(free, xy[:, 0], xy[:, 1])
        mounts += [tuple(p) for p in xy[ok][: n_mounts - len(mounts)]]
    poses = [CameraPose(f"m{i}", x, y, h, 90.0, hpx=1920) for i, (x, y) in enumerate(mounts)
             for h in (0.0, 90.0, 180.0, 270.0)]
    t0, c0 = time.perf_counter(), time.process_time()
    matrix = eng.coverage_matrix(poses, wits)
    t_matrix, c_matrix = time.perf_counter() - t0, time.process_time() - c0
    installed = terminal_poses(floor)
    t0 = time.perf_counter()
    zc = eng.zone_coverage(installed)
    t_exact = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "segments": segments, "noded_segments": int(len(eng.occ.segments)), "poses": len(poses),
        "mounts": n_mounts, "witnesses": len(wits), "spacing_m": round(spacing, 3), "nnz": int(matrix.nnz),
        "parse_s": round(t_parse, 3), "engine_s": round(t_engine, 3), "witness_s": round(t_wits, 3),
        "matrix_s": round(t_matrix, 3), "matrix_cpu_s": round(c_matrix, 3),
        "total_cpu_s": round(time.process_time(), 3), "ms_per_mount": round(1000 * t_matrix / n_mounts, 3),
        "exact_check_s": round(t_exact, 3), "installed_cameras": len(installed),
        "uncovered_m2_installed": round(sum(z.uncovered_m2 for z in zc.values()), 3),
        "total_s": round(t_parse + t_engine + t_wits + t_matrix, 3), "maxrss_mb": round(rss_mb, 1),
        "side_m": round(side, 2),
    }


def plot(rows: list[dict], path: str) -> None:
    """Seconds and peak MB against problem size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["poses"] for r in rows]
    labels = [f"{r['segments']} seg\n{r['poses']} poses\n{r['witnesses']} wit." for r in rows]
    fig, ax1 = plt.subplots(figsize=(7.5, 4.2))
    ax1.plot(x, [r["matrix_cpu_s"] for r in rows], "o-", label="coverage matrix, CPU s")
    ax1.plot(x, [r["matrix_s"] for r in rows], "o:", label="coverage matrix, wall s (shared VM)")
    ax1.plot(x, [r["total_s"] for r in rows], "s--", label="parse + engine + witnesses + matrix, wall s")
    ax1.axhline(30, color="gray", linestyle=":", linewidth=1)
    ax1.text(x[0], 26, "30 s target", fontsize=7, color="gray")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xticks(x)
    ax1.set_xticklabels(labels, fontsize=7)
    ax1.set_ylabel("seconds (2-core shared VM)")
    ax2 = ax1.twinx()
    ax2.plot(x, [r["maxrss_mb"] for r in rows], "^-", color="firebrick", label="peak RSS (MB)")
    ax2.set_ylabel("peak RSS, MB", color="firebrick")
    ax2.set_yscale("log")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower right")
    ax1.set_title("Coverage matrix build: segments x poses x witnesses", fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    """Run each size in a subprocess, print JSON rows and a markdown table, optionally plot."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="only the two smallest sizes")
    ap.add_argument("--one", nargs=3, type=int, metavar=("SEGMENTS", "POSES", "WITNESSES"), help=argparse.SUPPRESS)
    ap.add_argument("--plot", help="save the scaling plot here (e.g. docs/img/coverage-scaling.png)")
    ap.add_argument("--json", help="write the rows to this JSON file")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    sizes = SIZES[:2] if args.quick else SIZES
    rows = []
    for size in sizes:
        out = subprocess.run([sys.executable, "-m", "bench.bench_coverage", "--one", *map(str, size)],
                             check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print("| segments (noded) | poses (mounts) | witnesses | nnz | engine s | witnesses s | matrix wall s "
          "| matrix CPU s | total wall s | process CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['segments']} ({r['noded_segments']}) | {r['poses']} ({r['mounts']}) | {r['witnesses']} | "
              f"{r['nnz']} | {r['engine_s']} | {r['witness_s']} | {r['matrix_s']} | {r['matrix_cpu_s']} | "
              f"{r['total_s']} | {r['total_cpu_s']} | {r['maxrss_mb']} |")
    if args.plot:
        plot(rows, args.plot)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
