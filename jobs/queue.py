"""The Huey queue: SQLite in instance/ by default, Redis when REDIS_URL is set, immediate in tests.

Jobs are plain functions registered by name with `@job("name")`; the queue knows nothing of what they do,
so areas that queue work import `jobs` and never the other way round.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

JOBS: dict[str, Callable[..., None]] = {}
# Housekeeping run by every worker process every few seconds (e.g. reaping runs whose worker died).
HOUSEKEEPING: list[Callable[[], None]] = []

_instances: dict[str, Huey] = {}
_run_tasks: dict[int, Any] = {}
_worker_app: Flask | None = None


def job(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a function as a queue job under `name` (called inside an application context)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        JOBS[name] = fn
        return fn

    return register


def housekeeping(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a function every worker calls periodically inside an application context."""
    if fn not in HOUSEKEEPING:
        HOUSEKEEPING.append(fn)
    return fn


def make_huey(backend: str | None, *, redis_url: str | None, sqlite_path: str) -> Huey:
    """Build the Huey instance for a backend name, with the generic job runner registered."""
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
    _run_tasks[id(huey)] = huey.task(name="run_job", context=False)(run_job)
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
    """Tell jobs which app (database, config) a worker process serves."""
    global _worker_app
    _worker_app = app


def run_job(name: str, args: list[Any]) -> None:
    """Queue task: run one registered job inside an application context."""
    fn = JOBS.get(name)
    if fn is None:
        raise RuntimeError(f"unknown job {name!r}: is the module that registers it imported by the app?")
    if has_app_context():
        fn(*args)
        return
    if _worker_app is None:
        raise RuntimeError("no worker app: start workers with `python -m jobs.worker`")
    with _worker_app.app_context():
        fn(*args)


def enqueue(name: str, *args: Any, app: Flask | None = None) -> None:
    """Put a registered job on the queue (runs at once with the immediate backend)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    huey = huey_for_app(app or current_app._get_current_object())  # type: ignore[attr-defined]
    _run_tasks[id(huey)](name, list(args))


def run_housekeeping(app: Flask) -> None:
    """Call every housekeeping function once, each in its own application context; log and go on on errors."""
    for fn in HOUSEKEEPING:
        with app.app_context():
            try:
                fn()
            except Exception:  # one failing chore must not stop the worker's others
                app.logger.exception("housekeeping %s failed", fn.__name__)
