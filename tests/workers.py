"""One way for tests to start a real `python -m jobs.worker` process on an app's database, queue and settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

# The app settings a worker must share with the app that queued the work.
SHARED_SETTINGS = ("HUEY_BACKEND", "HUEY_SQLITE_PATH", "UPLOAD_FOLDER", "PLAN_HEARTBEAT_SECONDS",
                   "PLAN_HEARTBEAT_TIMEOUT", "JOB_HOUSEKEEPING_SECONDS", "PLAN_MAX_ATTEMPTS", "JOB_WORKERS",
                   "IMPORT_MAX_SECONDS", "REDIS_URL")


def start_worker(app: Flask, *, quiet: bool = False, **settings: str) -> subprocess.Popen:
    """Start a worker process on the app's database and queue; `settings` override environment values."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SOLVER_WORKERS="2")
    env.pop("REDIS_URL", None)
    for key in SHARED_SETTINGS:
        if app.config.get(key) is not None:
            env[key] = str(app.config[key])
    env.update(settings)
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen([sys.executable, "-m", "jobs.worker"], cwd=Path(__file__).resolve().parents[1], env=env,
                            stdout=output, stderr=subprocess.STDOUT if not quiet else subprocess.DEVNULL)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: its children, theirs, and so on."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
