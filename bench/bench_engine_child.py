"""CPU cost of a plan run's engine child process, side by side: in-process, the configured child start, spawn.

Each mode runs in a fresh Python process on its own copy of the demo database: the planner posts N reduce
runs of the Bund View Hotel floor (the small demo floor), and a thread of that process (as a Huey worker
thread does) runs them one after the other through the queue's job runner (`jobs.queue.run_job`, so
`plans.execution.execute_plan` with its heartbeat, claim, engine, analysis and final commit).  CPU is that
process's whole tree: itself, its reaped children, and its live children with theirs (a forkserver reaps
the engines it forked, so their CPU shows in its ``cutime``).  Reported per mode: the first run (which may
start a forkserver), the steady runs after it, and the ratio of steady CPU per run to in-process's.  The
modes are interleaved over ``--rounds``, and every run's plan (status, objective, kept, removed) must be the
in-process one.

Usage: python bench/bench_engine_child.py [--runs 6] [--rounds 2] [--time-limit 30]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_VENUE = "Bund View Hotel"
PLANNER = "planner@sightline.example"
PASSWORD = "bench-password"
TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    """CPU seconds of this process, its reaped children and its live children (each with its own reaped ones)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields[1] is the ppid; 11..14 are utime, stime, cutime, cstime
            total += sum(int(v) for v in fields[11:15]) / TICK
    return total


def one_mode(mode: str, runs: int, time_limit: float) -> dict[str, Any]:
    """Run `runs` hotel plans through the job runner with the engine placed as `mode` says; return the figures."""
    from flask_migrate import upgrade

    from app import create_app

    if mode == "spawn":
        from jobs import child

        if not hasattr(child, "START_METHOD"):
            raise SystemExit("this jobs.child has no START_METHOD: its child mode is spawn already")
        child.START_METHOD = "spawn"
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'db.sqlite'}",
                      "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "UPLOAD_FOLDER": str(tmp / "uploads"),
                      "HUEY_BACKEND": "sqlite", "HUEY_SQLITE_PATH": str(tmp / "jobs.sqlite"),
                      "PLAN_ENGINE_PROCESS": mode != "in-process", "SOLVER_WORKERS": 2,
                      "PLAN_MAX_ACTIVE_PER_ORGANISATION": runs})
    import sqlalchemy as sa

    from extensions import db
    from inventory.demo import seed_demo
    from inventory.models import Floor, Venue
    from jobs.queue import run_job, set_worker_app
    from plans.models import Plan

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(PASSWORD)
        db.session.commit()
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == FLOOR_VENUE)
                                     .order_by(Floor.id))
    client = app.test_client()
    client.post("/login", data={"email": PLANNER, "password": PASSWORD})
    ids = []
    for _ in range(runs):
        response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": str(time_limit)})
        ids.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    set_worker_app(app)
    marks: list[tuple[float, float]] = []

    def worker() -> None:
        marks.append((tree_cpu(), time.perf_counter()))
        for plan_id in ids:
            run_job("run_plan", [plan_id])
            marks.append((tree_cpu(), time.perf_counter()))

    # A thread, as in a Huey worker; the process's main thread waits, as the consumer's does.
    thread = threading.Thread(target=worker, name="bench-worker")
    thread.start()
    thread.join()
    plans = []
    with app.app_context():
        for plan_id in ids:
            plan = db.session.get(Plan, plan_id)
            plans.append({"state": str(plan.state), "status": plan.result.get("status"),
                          "objective": plan.result.get("objective"), "kept": plan.result.get("kept"),
                          "removed": plan.result.get("removed"), "error": plan.error})
    shutil.rmtree(tmp, ignore_errors=True)
    cpu = [b[0] - a[0] for a, b in zip(marks, marks[1:], strict=False)]
    wall = [b[1] - a[1] for a, b in zip(marks, marks[1:], strict=False)]
    return {"mode": mode, "cpu": cpu, "wall": wall, "plans": plans}


def main() -> None:
    """Run every mode in its own process, interleaved, and print the per-run CPU table and ratios."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--modes", default="in-process,child,spawn")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_mode(args.one, args.runs, args.time_limit)))
        return
    modes = args.modes.split(",")
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for _ in range(args.rounds):
        for mode in modes:
            done = subprocess.run([sys.executable, __file__, "--one", mode, "--runs", str(args.runs),
                                   "--time-limit", str(args.time_limit)], cwd=ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{mode}: skipped ({done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode})")
                results.pop(mode, None)
                modes = [m for m in modes if m != mode]
                continue
            results[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    reference = [(p["status"], p["objective"], p["kept"], p["removed"]) for p in results[modes[0]][0]["plans"]][0]
    for mode in modes:
        for rnd in results[mode]:
            for p in rnd["plans"]:
                assert p["state"].lower().endswith("done") and p["error"] is None, (mode, p)
                assert (p["status"], p["objective"], p["kept"], p["removed"]) == reference, (mode, p)
    base = statistics.median(c for r in results[modes[0]] for c in r["cpu"][1:])
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs x {args.rounds} rounds per mode; "
          f"plan {reference[0]} {reference[1]} cameras, identical in every run")
    print("| mode | first run CPU s | steady CPU s per run (median) | steady wall s (median) | CPU vs in-process |")
    print("|---|---|---|---|---|")
    for mode in modes:
        first = statistics.median(r["cpu"][0] for r in results[mode])
        steady = statistics.median(c for r in results[mode] for c in r["cpu"][1:])
        wall = statistics.median(w for r in results[mode] for w in r["wall"][1:])
        print(f"| {mode} | {first:.2f} | {steady:.2f} | {wall:.2f} | {steady / base:.2f} |")


if __name__ == "__main__":
    main()
