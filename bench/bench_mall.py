"""Venue-scale plans on generated malls: reduce (installed poses, and re-aim) and design (k = 1, 2).

Floors: ``planner.research.floorgen.generate_mall_floor(seed, segments)`` with the generated terminals replaced by
a camera in every corner of every required zone, aimed at its centre (``bench_reduction.synthetic_westport``,
the way the reduction benchmark over-provisions Westport House).  Design mode removes them and places new
mounts every ``spacing`` m along the walls (no corner mounts, 4 headings, one 1080p 90° model).

Each case runs in its own subprocess (its peak RSS is its own) and reports: status, cameras, bound (at least
that many cameras are needed), gap (none while coverable area is unseen), coverable area unseen, area
reported infeasible, the phase a short run stopped in, wall time against the limit, and peak memory.
With ``--baselines`` the first case of each size (reduce, installed poses) also gives its first-round set-cover
instance (candidates × witnesses, as the loop builds it), with the same time limit, to our solver, greedy,
OR-Tools' SCIP and plain HiGHS (``bench.baselines``), side by side in the same subprocess.

    .venv/bin/python -m bench.bench_mall --quick                   # the short pass of `make bench`
    .venv/bin/python -m bench.bench_mall --time-limit 60 --baselines --out bench/results/mall.csv
    .venv/bin/python -m bench.bench_mall --one 2000 reduce 15 1 60  # one case: segments mode reaim k limit
    .venv/bin/python -m bench.bench_mall --sizes 500 --time-limit 30 --before /tmp/base  # old commit, side by side
    .venv/bin/python -m bench.bench_mall --sizes 500 --cases design:0:1 --spacing 6 --per-zone 100  # ~5,000 poses
    .venv/bin/python -m bench.bench_mall --sizes 2000 --cases reduce:15:1 --parts-side-by-side  # parts: serial, forked
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIELDS = ["segments", "mode", "reaim", "k", "installed", "candidates", "witnesses", "status", "cameras", "bound",
          "gap", "coverable_unseen_m2", "infeasible_m2", "stopped_in", "rounds", "wall_s", "limit_s", "over_limit",
          "cpu_s", "peak_mb", "greedy", "scip", "highs", "ours_instance", "baseline_note"]
PHASE_FIELDS = ["segments", "mode", "reaim", "k", "candidates", "witnesses", "rows", "privacy_cpu_s",
                "witnesses_cpu_s", "model_cpu_s", "exact_cpu_s", "explain_cpu_s", "peak_mb"]
SIZES = (200, 500, 1000, 2000)
SPACING = {200: 12.0, 500: 16.0, 1000: 24.0, 2000: 32.0}  # design mounts: metres along the walls
CASES = (("reduce", 0, 1), ("reduce", 15, 1), ("design", 0, 1), ("design", 0, 2))


def _floor(segments: int, mode: str):
    from bench.bench_reduction import synthetic_westport
    from planner.floor import parse_floor
    from planner.research.floorgen import generate_mall_floor

    obj = generate_mall_floor(1, segments)
    obj = {**obj, "features": [f for f in obj["features"] if f["properties"].get("kind") != "terminal"]}
    return parse_floor(synthetic_westport(obj))


def one(segments: int, mode: str, reaim: float, k: int, limit: float, baselines: bool,
        spacing: float | None = None, per_zone: int = 300, serial_parts: bool = False) -> dict:
    """Plan one case in this process and measure it (``spacing``: design mounts, m; ``per_zone``: witnesses;
    ``serial_parts``: the set-cover parts one after the other, as before they ran on forked workers)."""
    from planner.plan import PlanOptions, plan
    from planner.setcover import pipeline

    if serial_parts:
        pipeline.lanes_for = lambda options, n: 1  # type: ignore[assignment]

    floor = _floor(segments, mode)
    options = PlanOptions(mode=mode, reaim_step=reaim or None, time_limit=limit, explain=True,
                          k_override=k if mode == "design" else None,
                          design_spacing=spacing or SPACING.get(segments, 16.0), design_headings=4,
                          design_corners=False, witnesses_per_zone=per_zone)
    t0 = time.perf_counter()
    p = plan(floor, options)
    wall = time.perf_counter() - t0
    row = {"segments": segments, "mode": mode, "reaim": reaim, "k": k,
           "installed": sum(t.type == "camera" for t in floor.terminals), "candidates": p.candidates,
           "witnesses": p.witnesses, "status": p.status, "cameras": p.objective, "bound": p.bound,
           "gap": None if p.gap is None else round(p.gap, 4), "coverable_unseen_m2": round(p.coverable_unseen_m2, 2),
           "infeasible_m2": round(sum(i["area_m2"] for i in p.infeasible), 2), "stopped_in": p.stopped_in,
           "rounds": p.rounds, "wall_s": round(wall, 2), "limit_s": limit, "over_limit": round(wall / limit - 1, 4),
           "cpu_s": round(_cpu_s(), 1)}
    if baselines:
        row.update(_baselines(floor, options, limit))
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return row


def _cpu_s() -> float:
    """CPU seconds of this process and its finished (forked) workers."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def phases(segments: int, mode: str, reaim: float, k: int, spacing: float | None = None,
           per_zone: int = 300) -> dict:
    """CPU seconds of each phase of one round on a floor, with no time limit (less load-sensitive than wall time).

    privacy (candidates), witnesses (the matrix), model (the set-cover rows of round one, built twice as the warm
    start and round one do), exact (the exact check of a greedy cover), explain (the per-camera explanations).
    """
    from planner.plan import PlanOptions
    from planner.plan.exact import ExactCheck
    from planner.plan.explain import explain_plan
    from planner.plan.loop import Rounds, cover_problem, greedy_partial
    from planner.plan.prepare import prepare

    floor = _floor(segments, mode)
    options = PlanOptions(mode=mode, reaim_step=reaim or None, time_limit=1e6, workers=1,
                          k_override=k if mode == "design" else None,
                          design_spacing=spacing or SPACING.get(segments, 16.0), design_headings=4,
                          design_corners=False, witnesses_per_zone=per_zone)
    out: dict = {"segments": segments, "mode": mode, "reaim": reaim, "k": k}
    events: dict[str, float] = {}

    def mark(e: dict) -> None:
        events.setdefault(str(e.get("phase")), time.process_time())

    options.progress = mark
    t = time.process_time()
    prep = prepare(floor, options)
    done = time.process_time()
    out["privacy_cpu_s"] = round(events.get("witnesses", done) - events.get("candidates", t), 2)
    out["witnesses_cpu_s"] = round(done - events.get("witnesses", done), 2)
    out["candidates"], out["witnesses"] = len(prep.cols), len(prep.matrix.wx)
    t = time.process_time()
    state = Rounds(slack=bool(prep.candidates.groups))
    problem = cover_problem(prep, state, options)
    problem = cover_problem(prep, state, options)
    out["model_cpu_s"] = round(time.process_time() - t, 2)
    out["rows"] = problem.n_rows
    selected = [j for j in greedy_partial(problem).selected if j < len(prep.cols)]
    t = time.process_time()
    ExactCheck(prep).run(selected)
    out["exact_cpu_s"] = round(time.process_time() - t, 2)
    t = time.process_time()
    explain_plan(floor, prep.engine, [prep.cols[j] for j in selected], prep.zones, [])
    out["explain_cpu_s"] = round(time.process_time() - t, 2)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return out


def _baselines(floor, options, limit: float) -> dict:
    """The first-round instance given to ours, greedy, SCIP and HiGHS with the same limit: 'objective/bound s'."""
    from bench.baselines import compare
    from planner.plan import prepare
    from planner.plan.loop import Rounds, cover_problem

    prep = prepare(floor, options)
    problem = cover_problem(prep, Rounds(slack=bool(prep.candidates.groups)), options)
    out = compare(problem, limit, solvers=["ours", "greedy", "scip", "highs"])
    scale = prep.objective.camera_scale

    def cell(name: str) -> str:
        r = out["solvers"][name]
        obj = "—" if r["objective"] is None else str(int(r["objective"]) // scale)
        bound = "—" if r["bound"] is None else str(int(r["bound"]) // scale)
        return f"{obj}/{bound} {r['status']} {r['seconds']}s"

    note = f"instance {problem.n_rows} rows × {problem.n_columns} columns"
    return {"greedy": cell("greedy"), "scip": cell("scip"), "highs": cell("highs"), "ours_instance": cell("ours"),
            "baseline_note": note}


def main(argv: list[str] | None = None) -> int:
    """Run the cases, each in a subprocess, and write one CSV row each."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--baselines", action="store_true",
                    help="also run greedy, SCIP and HiGHS on each size's reduce instance")
    ap.add_argument("--quick", action="store_true", help="200 segments, 10 s, reduce and re-aim, one baseline run")
    ap.add_argument("--out", default="bench/results/mall.csv")
    ap.add_argument("--one", nargs=5, metavar=("SEGMENTS", "MODE", "REAIM", "K", "LIMIT"))
    ap.add_argument("--phases", action="store_true",
                    help="CPU seconds per phase of each case (no time limit) instead of timed plan runs")
    ap.add_argument("--summary", action="store_true", help="only print the markdown table of --out")
    ap.add_argument("--before", metavar="DIR",
                    help="a checkout of an older commit (git worktree add DIR COMMIT): each case runs there, then "
                         "here, one after the other, rows marked side = before / after")
    ap.add_argument("--cases", help="only these cases, e.g. 'reduce:15:1,design:0:2' (mode:reaim:k)")
    ap.add_argument("--spacing", type=float, help="design mounts every this many metres (default: by size)")
    ap.add_argument("--per-zone", type=int, default=300, help="target witnesses per zone (default 300)")
    ap.add_argument("--serial-parts", action="store_true",
                    help="solve the set-cover parts one after the other (not on forked workers)")
    ap.add_argument("--parts-side-by-side", action="store_true",
                    help="each case with the parts one after the other, then on forked workers (side = serial / "
                         "parallel)")
    args = ap.parse_args(argv)
    if args.one and args.phases:
        seg, mode, reaim, k, _limit = args.one
        print(json.dumps(phases(int(seg), mode, float(reaim), int(k), args.spacing, args.per_zone)))
        return 0
    if args.one:
        seg, mode, reaim, k, limit = args.one
        print(json.dumps(one(int(seg), mode, float(reaim), int(k), float(limit), args.baselines, args.spacing,
                             args.per_zone, args.serial_parts)))
        return 0
    if args.summary:
        print(summarize(args.out))
        return 0
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    limit = 10.0 if args.quick else args.time_limit
    cases = CASES[:2] if args.quick else CASES
    if args.cases:
        cases = tuple((m, float(r), int(k)) for m, r, k in (c.split(":") for c in args.cases.split(",")))
    sides = [("before", Path(args.before).resolve(), []), ("after", ROOT, [])] if args.before else [("", ROOT, [])]
    if args.parts_side_by_side:
        sides = [("serial", ROOT, ["--serial-parts"]), ("parallel", ROOT, [])]
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["side", "load", *(PHASE_FIELDS if args.phases else FIELDS)],
                           extrasaction="ignore")
        w.writeheader()
        for seg in sizes:
            for n, (mode, reaim, k) in enumerate(cases):
                for side, where, extra in sides:
                    # This script measures both sides; only the planner (and bench helpers) come from `where`.
                    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(seg), mode, str(reaim), str(k),
                           str(limit), "--per-zone", str(args.per_zone)] + \
                        (["--spacing", str(args.spacing)] if args.spacing else []) + \
                        (["--baselines"] if (args.baselines or args.quick) and n == 0 else []) + \
                        (["--phases"] if args.phases else []) + extra
                    load = os.getloadavg()[0]
                    proc = subprocess.run(cmd, cwd=where, capture_output=True, text=True,
                                          env={**os.environ, "PYTHONPATH": str(where)})
                    if proc.returncode != 0:
                        print(proc.stderr[-2000:], file=sys.stderr)
                        return 1
                    row = {"side": side, "load": round(load, 2), **json.loads(proc.stdout.strip().splitlines()[-1])}
                    w.writerow(row)
                    fh.flush()
                    print(row, flush=True)
    if not args.phases:
        print(summarize(args.out))
    return 0


def summarize(path: str) -> str:
    """Markdown table of a results CSV."""
    rows = list(csv.DictReader(open(path)))
    head = ("| segments | mode | re-aim | k | installed | candidates | witnesses | status | cameras | bound | gap | "
            "coverable unseen m² | infeasible m² | stopped in | wall s / limit | peak MB | greedy | SCIP | HiGHS | "
            "ours on the instance |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        gap = "—" if r["gap"] in ("", "None") else f"{100 * float(r['gap']):.1f} %"
        lines.append(f"| {r['segments']} | {r['mode']} | {r['reaim'] or '—'} | {r['k']} | {r['installed']} | "
                     f"{r['candidates']} | {r['witnesses']} | {r['status']} | {r['cameras']} | {r['bound']} | {gap} | "
                     f"{r['coverable_unseen_m2']} | {r['infeasible_m2']} | {r['stopped_in'] or '—'} | "
                     f"{r['wall_s']} / {r['limit_s']} | {r['peak_mb']} | {r['greedy'] or '—'} | {r['scip'] or '—'} | "
                     f"{r['highs'] or '—'} | {r['ours_instance'] or '—'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
