"""The Huey queue: SQLite in instance/ by default, Redis when REDIS_URL is set, immediate in tests."""

from __future__ import annotations

import os
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

_instances: dict[str, Huey] = {}


def make_huey(backend: str | None, *, redis_url: str | None, instance_path: str) -> Huey:
    """Build the Huey instance for a backend name."""
    if backend is None:
        backend = "redis" if redis_url else "sqlite"
    if backend == "immediate":
        return MemoryHuey("sightline", immediate=True)
    if backend == "redis":
        return RedisHuey("sightline", url=redis_url or "redis://127.0.0.1:6379/0")
    if backend == "sqlite":
        return SqliteHuey("sightline", filename=os.path.join(instance_path, "jobs.sqlite"))
    raise ValueError(f"unknown HUEY_BACKEND {backend!r} (sqlite, redis or immediate)")


def huey_for_app(app: Any) -> Huey:
    """The app's Huey instance, created once per configuration."""
    key = f"{app.config.get('HUEY_BACKEND')}|{app.config.get('REDIS_URL')}|{app.instance_path}"
    if key not in _instances:
        _instances[key] = make_huey(app.config.get("HUEY_BACKEND"), redis_url=app.config.get("REDIS_URL"),
                                    instance_path=app.instance_path)
    return _instances[key]
