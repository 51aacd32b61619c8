"""CPU per request of the load test's workload, one process, no concurrency: what each request costs the server
whatever else runs on the machine (the load figures of a shared machine are noisy; these much less).

Usage:
  .venv/bin/python -m bench.load.cpu [--app-dir DIR] [--database sqlite|postgresql] [--repeat 5] [--label after] [--redis]
      [--profile 'floor page']

Seeds the same database as `python -m bench.load` (bench/load/seed.py), signs the manager and the inspector in
through the Flask test client (https base URL: production's Secure cookies), requests each page once to warm
up, then --repeat times; prints median CPU ms (time.process_time), the PostgreSQL server processes' CPU ms
(/proc/PID/schedstat of the app's connections' backends; 0 on SQLite), wall ms and SQL statements per request, and
writes OUT/LABEL-cpu.md. --profile NAME prints cProfile's top functions of the requests whose name contains NAME
(--profile sql: every request's SQL statements). The "after a save" rows time the floor view's requests each right after an inline edit (a
new floor version: what the load's floor viewers meet). --redis keeps the served app's REDIS_URL (its floor
cache in Redis), else the process's own cache alone. --app-dir measures another checkout (an older commit), as the matrix runner does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.load.__main__ import ROOT, prepare

# Runs in the served checkout: the requests of the locustfile's tasks, timed one by one.
# Run in the served checkout before a measurement, with `app` created: the SQL statements the app sends, and the
# CPU of the PostgreSQL server processes of its connections (their CPU is the request's too; 0 on SQLite).
MEASURED_APP = r"""
import sqlalchemy as sa
from extensions import db
statements, backends = [], set()
with app.app_context():
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
    sa.event.listen(db.engine, "checkout", lambda dbapi, *a: backends.add(getattr(getattr(dbapi, "info", None),
                                                                                "backend_pid", None)))

def server_ns():
    total = 0
    for pid in backends - {None}:
        try:
            with open(f"/proc/{pid}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except OSError:
            pass  # a backend that ended (a replaced connection)
    return total
"""

MEASURE = r"""
import json, re, statistics, sys, time
from app import create_app
targets, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
app = create_app()
""" + MEASURED_APP + r"""
app.config["PREFERRED_URL_SCHEME"] = "https"  # the test client's requests come as https, as behind the proxy
meta = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

def client(email):
    c = app.test_client()
    token = meta.search(c.get("/login").text).group(1)
    page = c.post("/login", data={"email": targets[email], "password": targets["password"], "csrf_token": token},
                  headers={"Referer": "https://localhost/login"}, follow_redirects=True)
    return c, meta.search(page.text).group(1)

manager, csrf = client("manager")
inspector, _ = client("inspector")
floor, term = targets["mall_floor"], targets["mall_terminals"][7]
hx = {"HX-Request": "true", "X-CSRFToken": csrf, "Referer": f"https://localhost/floors/{floor}"}  # CSRF over https
# The row form's values as stored, the serial changed: what the load's inline edit submits (a turned camera would be
# another edit, evaluated, and with no worker here its queued check would stay for every later save to take over).
with app.app_context():
    from inventory.models import Terminal
    stored = db.session.get(Terminal, term)
    row = {"code": stored.code, "kind": stored.kind.value, "status": stored.status.value,
           "heading_deg": str(stored.heading_deg), "hfov_deg": str(stored.hfov_deg)}
serial = iter(range(10**6))
requests = [
    ("venue list", lambda: manager.get("/")),
    ("venue page", lambda: manager.get(f"/venues/{targets['mall_venue']}")),
    ("floor page (500 terminals)", lambda: manager.get(f"/floors/{floor}")),
    ("floor editor state", lambda: manager.get(f"/api/v1/floors/{floor}/editor")),
    ("floor overlays", lambda: manager.get(f"/api/v1/floors/{floor}/overlays")),
    ("floor findings", lambda: manager.get(f"/api/v1/floors/{floor}/findings")),
    ("terminal row form", lambda: manager.get(f"/terminals/{term}/row?edit=1", headers=hx)),
    ("terminal row save", lambda: manager.post(f"/terminals/{term}/row", headers=hx, data={
        **row, "serial": f"CPU-{next(serial)}"})),
    ("CSV export", lambda: manager.get(f"/floors/{floor}/terminals.csv")),
    ("dashboard", lambda: inspector.get("/dashboard/")),
]
save = requests[7][1]
# What the floor's viewers meet under load: an inline edit (a new floor version) between two views.
requests += [(f"{name} after a save", call, save) for name, call in requests[2:6]]
profile = sys.argv[3]
rows = []
for name, call, *before in requests:
    status = call().status_code
    cpu, wall, queries, server = [], [], [], []
    profiler = None
    if profile and profile in name:
        import cProfile
        profiler = cProfile.Profile()
    for _ in range(repeat):
        for step in before:
            step()
        if profiler:
            profiler.enable()
        del statements[:]
        s0, c0, w0 = server_ns(), time.process_time(), time.perf_counter()
        status = call().status_code
        queries.append(len(statements))
        cpu.append((time.process_time() - c0) * 1000)
        server.append((server_ns() - s0) / 1e6)
        wall.append((time.perf_counter() - w0) * 1000)
        if profiler:
            profiler.disable()
    if profiler:
        import io, pstats
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        print(f"=== {name} (cProfile, {repeat} calls)", text.getvalue(), sep="\n", file=sys.stderr)
    rows.append({"request": name, "status": status, "cpu_ms": round(statistics.median(cpu), 1),
                 "wall_ms": round(statistics.median(wall), 1), "queries": statistics.median(queries),
                 "server_ms": round(statistics.median(server), 2)})
    if profile == "sql" and "after" not in name:
        print(f"=== {name}", *statements, sep="\n--\n", file=sys.stderr)
print(json.dumps(rows))
"""


def main(argv: list[str] | None = None) -> int:
    """Seed, measure each request's CPU time, print and write the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.load.cpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", default=str(ROOT))
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--label", default="after")
    parser.add_argument("--redis", action="store_true", help="keep REDIS_URL (the floor cache in Redis, as served)")
    parser.add_argument("--profile", default="", help="print cProfile's top functions of the requests whose "
                        "name contains this (e.g. 'floor page'; 'sql': each request's SQL statements); their CPU figures then "
                        "include the profiler's cost")
    parser.add_argument("--out", default=str(ROOT / "bench/results/load"))
    parser.add_argument("--work", default="/tmp/sightline-load-cpu")
    args = parser.parse_args(argv)
    app_dir = Path(args.app_dir).resolve()
    env, targets = prepare(args.database, Path(args.work) / args.database, app_dir)
    if not args.redis:
        env.pop("REDIS_URL")  # the in-process cache: one process, nothing to share
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(targets), str(args.repeat), args.profile],
                          cwd=app_dir, env=env, check=True, capture_output=True, text=True)
    if args.profile:
        print(done.stderr, file=sys.stderr)
    out = done.stdout
    rows = json.loads(out.strip().splitlines()[-1])
    lines = [f"`python -m bench.load.cpu {' '.join(argv or sys.argv[1:])}` ({args.database}, median of "
             f"{args.repeat})", "", "| request | status | CPU ms | server CPU ms | wall ms | SQL statements |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['request']} | {r['status']} | {r['cpu_ms']} | {r['server_ms']} | {r['wall_ms']} | "
              f"{r.get('queries', '')} |"
              for r in rows]
    text = "\n".join(lines) + "\n"
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{args.label}-cpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
