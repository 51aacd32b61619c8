"""Load test matrix: seed a database, serve it with gunicorn (production settings) and a Huey worker, then run
locust headless at 10, 50 and 100 users (1 s think time) and one closed-loop step; SQLite and PostgreSQL.

Usage:
  .venv/bin/python -m bench.load [--databases sqlite,postgresql] [--users 10,50,100] [--closed 20]
      [--duration 45] [--app-dir DIR] [--gunicorn-args "-w 4"] [--label after] [--out bench/results/load]

--app-dir serves another checkout (e.g. a `git worktree` of an older commit, for a before/after pair in the
same conditions); --gunicorn-args replaces the gunicorn settings of jobs/serve.py. Results: one CSV row per
step (rps, p50/p95/p99 ms, requests, errors, load average before and after) in OUT/LABEL.csv, the per-request
p95 in OUT/LABEL-requests.csv, and a Markdown table in OUT/LABEL.md. PostgreSQL uses the database
sightline_load (dropped and created afresh); Redis db 3 holds the queue and the sign-in counters. LOAD_PG_URL and
LOAD_REDIS_URL name others (the PostgreSQL database is dropped and created afresh too).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# LOAD_PG_URL / LOAD_REDIS_URL: another database and Redis db (benchmarks of several checkouts at once).
PG_URL = os.environ.get("LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432/sightline_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/3")
PASSWORD = "load-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(database: str, work: Path, app_dir: Path) -> dict[str, str]:
    """Production settings for the served app, its worker and the seeding."""
    url = f"sqlite:///{work / 'load.sqlite'}" if database == "sqlite" else PG_URL
    env = dict(os.environ, SIGHTLINE_ENV="production", SECRET_KEY=secrets.token_urlsafe(48), DATABASE_URL=url,
               REDIS_URL=REDIS_URL, HUEY_BACKEND="redis", UPLOAD_FOLDER=str(work / "uploads"),
               LOG_LEVEL="WARNING", PYTHONPATH=str(app_dir),
               # Every started run is queued (the load starts more than the usual three at once per organisation).
               PLAN_MAX_ACTIVE_PER_ORGANISATION="100000")
    env.pop("FLASK_APP", None)
    return env


def _reset_postgres() -> None:
    """Drop and create sightline_load."""
    base, _, name = PG_URL.rpartition("/")
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


# Run in the served checkout; bench/load/seed.py is loaded from this one by path (an older checkout has none).
# The mall floor's overlays are computed once, as its first viewer would: a checkout that caches them (in Redis,
# shared with the workers) starts warm, one that does not recomputes them on every request anyway.
SEED = """
import importlib.util, json, sys
from flask_migrate import upgrade
from app import create_app
spec = importlib.util.spec_from_file_location("load_seed", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = create_app()
with app.app_context():
    upgrade(directory="migrations")
    targets = module.seed(sys.argv[1])
    from extensions import db
    from inventory.floor_overlays import overlays
    from inventory.models import Floor
    overlays(db.session.get(Floor, targets["mall_floor"]))  # what the first viewer of the floor would compute
    print(json.dumps(targets))
"""


def prepare(database: str, work: Path, app_dir: Path) -> tuple[dict[str, str], dict]:
    """A fresh database, migrated and seeded (in a subprocess of the served checkout); the seeded targets."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "load.sqlite").unlink(missing_ok=True)
    if database == "postgresql":
        _reset_postgres()
    env = _environment(database, work, app_dir)
    subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([sys.executable, "-c", SEED, PASSWORD, str(ROOT / "bench/load/seed.py")], cwd=app_dir,
                         env=env, check=True, capture_output=True, text=True).stdout
    return env, json.loads(out.strip().splitlines()[-1])


def _wait_ready(port: int, server: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not become ready")


def _locust(port: int, users: int, think: float, duration: int, prefix: Path, targets: dict) -> None:
    """One headless locust step, measured for `duration` seconds from the last user's sign-in (the locustfile
    resets the stats then); -t only caps a step whose sign-ins never finish."""
    env = dict(os.environ, LOAD_TARGETS=json.dumps(targets), LOAD_THINK=str(think), LOAD_USERS=str(users),
               LOAD_DURATION=str(duration))
    rate = max(1, users // 5)
    subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench/load/locustfile.py"), "--headless",
                    "-u", str(users), "-r", str(rate), "-t", f"{duration + 240}s",
                    "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
                    "--loglevel", "ERROR", "--stop-timeout", "10"], env=env, cwd=ROOT, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stats(prefix: Path) -> tuple[dict, list[dict]]:
    """The aggregated row and the per-request rows of a locust stats CSV."""
    with open(f"{prefix}_stats.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    return total, [r for r in rows if r["Name"] != "Aggregated"]


def run_database(database: str, args: argparse.Namespace, out: Path) -> tuple[list[dict], list[dict]]:
    """Seed, serve and load one database through every step; stop the server and worker after."""
    work = Path(args.work) / database
    app_dir = Path(args.app_dir).resolve()
    env, targets = prepare(database, work, app_dir)
    port = _free_port()
    gunicorn = [str(Path(sys.executable).with_name("gunicorn")), "-b", f"127.0.0.1:{port}"]
    gunicorn += shlex.split(args.gunicorn_args) if args.gunicorn_args else ["-c", "python:jobs.serve"]
    logs = open(work / "server.log", "w")  # noqa: SIM115 (held for the servers' lifetime)
    server = subprocess.Popen([*gunicorn, "app:create_app()"], cwd=app_dir, env=env, stdout=logs, stderr=logs)
    worker = subprocess.Popen([sys.executable, "-m", "jobs.worker"], cwd=app_dir, env=env, stdout=logs, stderr=logs)
    rows, requests = [], []
    try:
        _wait_ready(port, server)
        steps = [(u, args.think) for u in args.users] + ([(args.closed, 0.0)] if args.closed else [])
        for users, think in steps:
            name = f"{users} users, {think:g} s think" if think else f"{users} users, closed loop"
            load_before = os.getloadavg()[0]
            prefix = out / f"{args.label}-{database}-{users}u-{'think' if think else 'closed'}"
            _locust(port, users, think, args.duration, prefix, targets)
            total, per_request = _stats(prefix)
            row = {"database": database, "step": name, "rps": f"{float(total['Requests/s']):.1f}",
                   "p50_ms": total["50%"], "p95_ms": total["95%"], "p99_ms": total["99%"],
                   "requests": total["Request Count"], "errors": total["Failure Count"],
                   "load_before": f"{load_before:.1f}", "load_after": f"{os.getloadavg()[0]:.1f}"}
            rows.append(row)
            print(" | ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            requests += [{"database": database, "step": name, "request": r["Name"], "method": r["Type"],
                          "requests": r["Request Count"], "errors": r["Failure Count"], "p50_ms": r["50%"],
                          "p95_ms": r["95%"], "p99_ms": r["99%"]} for r in per_request]
    finally:
        for process in (server, worker):
            process.send_signal(signal.SIGTERM)
        for process in (server, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()
    return rows, requests


def _write(rows: list[dict], requests: list[dict], out: Path, label: str, command: str) -> Path:
    """CSV files and a Markdown table of the steps."""
    for path, data in ((out / f"{label}.csv", rows), (out / f"{label}-requests.csv", requests)):
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(data[0]))
            writer.writeheader()
            writer.writerows(data)
    lines = [f"`{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores)", "",
             "| database | step | req/s | p50 ms | p95 ms | p99 ms | requests | errors | load avg before → after |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['database']} | {r['step']} | {r['rps']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
              f"{r['requests']} | {r['errors']} | {r['load_before']} → {r['load_after']} |" for r in rows]
    md = out / f"{label}.md"
    md.write_text("\n".join(lines) + "\n")
    return md


def main(argv: list[str] | None = None) -> int:
    """Run the matrix and write the results."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--users", default="10,50,100", type=lambda s: [int(u) for u in s.split(",") if u])
    parser.add_argument("--think", type=float, default=1.0, help="think time of the user steps (s)")
    parser.add_argument("--closed", type=int, default=20, help="users of the closed-loop step (0: none)")
    parser.add_argument("--duration", type=int, default=45, help="measured seconds per step")
    parser.add_argument("--app-dir", default=str(ROOT), help="checkout to serve")
    parser.add_argument("--gunicorn-args", default="", help="gunicorn settings instead of jobs/serve.py's")
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", default=str(ROOT / "bench/results/load"))
    parser.add_argument("--work", default="/tmp/sightline-load")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    requests: list[dict] = []
    for database in args.databases.split(","):
        more, per_request = run_database(database, args, out)
        rows += more
        requests += per_request
    command = "python -m bench.load " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    print(_write(rows, requests, out, args.label, command.strip()).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
