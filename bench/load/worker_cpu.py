"""CPU of the queue worker's jobs in the load test's workload, one process: a compliance re-check after an inline
edit of a terminal on the 500-terminal mall floor, and a short plan run on the hotel floor (as the locustfile starts).

Usage:
  .venv/bin/python -m bench.load.worker_cpu [--app-dir DIR] [--database sqlite|postgresql] [--repeat 8]
      [--label after] [--out DIR]

Seeds the load test's database (bench/load/seed.py), then, in the served checkout: edits a terminal (its serial, as
the load does, or its heading) and commits, which queues a re-check (the floor is over the inline limit), and runs
that check as the worker would (jobs.queue.JOBS["compliance_check"]); starts a plan run (plans.service.create_plan,
mode reduce, 2 s) and runs it (JOBS["run_plan"], the engine in its child process as served). The first two of each
warm the process up (the worker's engine cache); then --repeat of each are timed. Prints the median CPU ms of this
process (time.process_time: the worker's share; the plan engine's child is not counted), the PostgreSQL backends'
CPU ms, wall ms and SQL statements per job, and writes OUT/LABEL-worker-cpu.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.load.__main__ import ROOT, prepare
from bench.load.cpu import MEASURED_APP

MEASURE = r"""
import json, statistics, sys, time
import sqlalchemy as sa
from app import create_app
from extensions import db
from jobs.queue import JOBS
from compliance.models import ComplianceCheck
from inventory.models import Floor, Terminal
targets, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
app = create_app()
""" + MEASURED_APP + r"""
def timed(fn):
    del statements[:]
    s0, c0, w0 = server_ns(), time.process_time(), time.perf_counter()
    with app.app_context():
        fn()
    return ((time.process_time() - c0) * 1000, (server_ns() - s0) / 1e6, (time.perf_counter() - w0) * 1000,
            len(statements))

counter = iter(range(10**6))
term = targets["mall_terminals"][7]

def edit(field):
    # The edit is a web worker's, which holds no engine for the big floor (else it evaluates the edit inline).
    from findings import service
    engines = dict(service._ENGINES)
    service._ENGINES.clear()
    with app.app_context():
        t = db.session.get(Terminal, term)
        if field == "serial":
            t.serial = f"WK-{next(counter)}"
        else:
            t.heading_deg = float((t.heading_deg + 7) % 360)
        db.session.commit()
        service._ENGINES.update(engines)
        ids = list(db.session.scalars(sa.select(ComplianceCheck.id).where(
            ComplianceCheck.venue_id == targets["mall_venue"], ComplianceCheck.state == "queued")))
    assert len(ids) <= 1, ids
    return ids[0] if ids else None  # none: the edit changed nothing a rule reads (findings.service.EVALUATED)

def start_plan():
    from accounts.models import User
    from plans.service import create_plan
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == targets["manager"]))
        plan = create_plan(user, db.session.get(Floor, targets["hotel_floor"]), {"mode": "reduce", "time_limit": "2"})
        db.session.commit()
        return plan.id

rows = []
jobs = [("re-check after a serial edit", lambda: edit("serial"), "compliance_check"),
        ("re-check after a heading edit", lambda: edit("heading"), "compliance_check"),
        ("plan run (hotel floor, reduce, 2 s)", start_plan, "run_plan")]
for name, make, job in jobs:
    samples = []
    for i in range(2 + repeat):
        job_id = make()
        if job_id is None:
            continue
        sample = timed(lambda: JOBS[job](job_id))
        if i >= 2:
            samples.append(sample)
    if not samples:
        rows.append({"job": name + " (none queued)", "cpu_ms": 0, "server_ms": 0, "wall_ms": 0, "queries": 0,
                     "cpu_all": []})
        continue
    cpu, server, wall, queries = zip(*samples)
    rows.append({"job": name, "cpu_ms": round(statistics.median(cpu), 1), "server_ms": round(statistics.median(server), 1),
                 "wall_ms": round(statistics.median(wall), 1), "queries": statistics.median(queries),
                 "cpu_all": [round(c, 1) for c in cpu]})
print(json.dumps(rows))
"""


def main(argv: list[str] | None = None) -> int:
    """Seed, time the worker's jobs, print and write the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.load.worker_cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", default=str(ROOT))
    parser.add_argument("--database", default="postgresql", choices=("sqlite", "postgresql"))
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", default=str(ROOT / "bench/results/load"))
    parser.add_argument("--work", default="/tmp/sightline-load-worker-cpu")
    args = parser.parse_args(argv)
    app_dir = Path(args.app_dir).resolve()
    env, targets = prepare(args.database, Path(args.work) / args.database, app_dir)
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(targets), str(args.repeat)],
                          cwd=app_dir, env=env, capture_output=True, text=True)
    if done.returncode:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    lines = [f"`python -m bench.load.worker_cpu {' '.join(argv or sys.argv[1:])}` ({args.database}, median of "
             f"{args.repeat})", "", "| job | worker CPU ms | server CPU ms | wall ms | SQL statements | CPU ms, each |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['job']} | {r['cpu_ms']} | {r['server_ms']} | {r['wall_ms']} | {r['queries']} | "
              f"{' '.join(str(c) for c in r['cpu_all'])} |" for r in rows]
    text = "\n".join(lines) + "\n"
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{args.label}-worker-cpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
