"""The Huey queue: SQLite in instance/ by default, Redis when REDIS_URL is set, immediate in tests."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

_instances: dict[str, Huey] = {}
_run_plan_tasks: dict[int, Any] = {}
_worker_app: Flask | None = None


def make_huey(backend: str | None, *, redis_url: str | None, sqlite_path: str) -> Huey:
    """Build the Huey instance for a backend name, with Sightline's tasks registered."""
    if backend is None:
        backend = "redis" if redis_url else "sqlite"
    if backend == "immediate":
        huey: Huey = MemoryHuey("sightline", immediate=True)
    elif backend == "redis":
        huey = RedisHuey("sightline", url=redis_url or "redis://127.0.0.1:6379/0")
    elif backend == "sqlite":
        huey = SqliteHuey("sightline", filename=sqlite_path)
    else:
        raise ValueError(f"unknown HUEY_BACKEND {backend!r} (sqlite, redis or immediate)")
    _run_plan_tasks[id(huey)] = huey.task(name="run_plan", context=False)(run_plan_task)
    return huey


def huey_for_app(app: Flask) -> Huey:
    """The app's Huey instance, created once per configuration."""
    sqlite_path = app.config.get("HUEY_SQLITE_PATH") or os.path.join(app.instance_path, "jobs.sqlite")
    key = f"{app.config.get('HUEY_BACKEND')}|{app.config.get('REDIS_URL')}|{sqlite_path}"
    if key not in _instances:
        _instances[key] = make_huey(app.config.get("HUEY_BACKEND"), redis_url=app.config.get("REDIS_URL"),
                                    sqlite_path=sqlite_path)
    return _instances[key]


def set_worker_app(app: Flask) -> None:
    """Tell tasks which app (database, config) a worker process serves."""
    global _worker_app
    _worker_app = app


def run_plan_task(plan_id: int) -> None:
    """Queue task: execute one plan inside an application context."""
    from plans.service import execute_plan

    if has_app_context():
        execute_plan(plan_id, workers=current_app.config["SOLVER_WORKERS"])
        return
    if _worker_app is None:
        raise RuntimeError("no worker app: start workers with `python -m jobs.worker`")
    with _worker_app.app_context():
        execute_plan(plan_id, workers=_worker_app.config["SOLVER_WORKERS"])


def enqueue_plan(plan_id: int, app: Any = None) -> None:
    """Put a plan on the queue (runs at once with the immediate backend)."""
    huey = huey_for_app(app or current_app._get_current_object())
    _run_plan_tasks[id(huey)](plan_id)
