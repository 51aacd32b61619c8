"""Coverage overlays and the editor export of a stored floor, cached per floor version.

`Floor.version` is a fresh random token whenever the floor, one of its zones or one of its terminals is
written (`install` sets it in the writing transaction). The floor's export is cached under (floor, version);
overlays under the SHA-256 of the engine's floor model, looked up through (floor, version), so an edit that
changes no geometry (a serial number) reuses them and one that moves a camera computes them once. The cache
is Redis when REDIS_URL is set (shared by every gunicorn worker), else this process's memory. A terminal that
breaks a rule is listed among the overlays' problems, not fatal.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from inventory import floorio
from inventory.models import Floor, Terminal, Zone
from planner import floor as pf

CACHE_SECONDS = 7 * 24 * 3600  # entries of versions nobody reads any more expire from Redis
MEMORY_ENTRIES = 64
_TOUCHED = "floor_versions_touched"


class _MemoryCache:
    """A small LRU of compressed values for one process (tests and deployments without Redis)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            if key not in self.items:
                return None
            self.items.move_to_end(key)
            return self.items[key]

    def set(self, key: str, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_memory = _MemoryCache(MEMORY_ENTRIES)
_redis: dict[str, Any] = {}


def _redis_client() -> Any:
    """The app's Redis (REDIS_URL), or None: test apps keep the process cache."""
    url = current_app.config.get("REDIS_URL")
    if not url or current_app.config.get("TESTING"):
        return None
    if url not in _redis:
        import redis

        _redis[url] = redis.Redis.from_url(url)
    return _redis[url]


def cached_bytes(key: str, compute: Callable[[], bytes]) -> bytes:
    """The bytes cached under key, computed (and stored, compressed) when missing."""
    client = _redis_client()
    full = "sightline:floor-cache:" + key
    raw = client.get(full) if client is not None else _memory.get(full)
    if raw is not None:
        return zlib.decompress(raw)
    value = compute()
    packed = zlib.compress(value, 1)
    if client is not None:
        client.set(full, packed, ex=CACHE_SECONDS)
    else:
        _memory.set(full, packed)
    return value


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """The JSON value cached under key, computed (and stored) when missing."""
    return json.loads(cached_bytes(key, lambda: _json(compute())))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def geometry_digest(floor: Floor) -> str:
    """SHA-256 of the engine's model of the floor (structure, zones, terminals in service): what overlays depend on."""
    return cached(f"digest:{floor.id}:{floor.version}",
                  lambda: hashlib.sha256(repr(floorio.floor_model(floor)).encode()).hexdigest())


def export(floor: Floor) -> dict[str, Any]:
    """The floor's floor-format export (floorio.export_floor), cached per floor version."""
    return cached(f"export:{floor.id}:{floor.version}", lambda: floorio.export_floor(floor))


def overlays(floor: Floor, tolerance: float | None = None) -> dict[str, Any]:
    """Coverage overlays (planner.overlays) as GeoJSON, plus the problems that kept a terminal out of them."""
    return json.loads(overlays_json(floor, tolerance)[0])


def overlays_json(floor: Floor, tolerance: float | None = None) -> tuple[bytes, str]:
    """`overlays` as JSON bytes, and an ETag naming them (the geometry digest and the tolerance)."""
    if not floorio.has_outline(floor):
        return _json({"type": "FeatureCollection", "features": [], "problems": [],
                      "note": "the floor has no outline yet"}), f"none-{floor.version}"
    key = f"{geometry_digest(floor)}-{tolerance!r}"
    return cached_bytes(f"overlays:{key}", lambda: _json(_compute(floor, tolerance))), key


def _compute(floor: Floor, tolerance: float | None) -> dict[str, Any]:
    from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
    from planner.overlays import coverage_overlays

    usable, problems = pf.without_bad_terminals(floorio.floor_model(floor))
    out = coverage_overlays(Engine(usable), tolerance=PRIVACY_TOLERANCE_M2 if tolerance is None else tolerance)
    out["problems"] = [{"kind": p.kind, p.kind: p.label, "error": p.message} for p in problems]
    return out


def install(session_factory: Any) -> None:
    """Give a floor a new version in every flush that writes it, one of its zones or one of its terminals."""

    @event.listens_for(session_factory, "after_flush")
    def _touch(session: Session, _context: Any) -> None:
        floors: set[int] = set()
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Terminal | Zone) and obj.floor_id is not None and (
                    obj in session.new or obj in session.deleted or session.is_modified(obj, include_collections=False)):
                floors.add(obj.floor_id)
                history = sa.inspect(obj).attrs.floor_id.history
                floors.update(f for f in history.deleted or () if f is not None)  # moved off another floor
            elif isinstance(obj, Floor) and obj not in session.new and session.is_modified(obj, include_collections=False):
                floors.add(obj.id)
        if not floors:
            return
        # A plain UPDATE: the version is not an edit of the floor (no audit event, no compliance run of its own).
        for floor_id in sorted(floors):
            session.connection().execute(sa.update(Floor).where(Floor.id == floor_id)
                                         .values(version=uuid.uuid4().hex, updated_at=Floor.updated_at))
        session.info.setdefault(_TOUCHED, set()).update(floors)

    @event.listens_for(session_factory, "after_flush_postexec")
    def _expire(session: Session, _context: Any) -> None:
        for floor_id in session.info.pop(_TOUCHED, ()):
            floor = session.identity_map.get(identity_key(Floor, floor_id))
            if floor is not None:
                session.expire(floor, ["version"])
