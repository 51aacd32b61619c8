"""Coverage overlays and the editor export of a stored floor, cached per floor version.

`Floor.version` is a fresh random token whenever the floor, one of its zones, terminals or findings is
written (`install` sets it in the writing transaction). The floor's export is cached under (floor, version);
overlays under the SHA-256 of the engine's floor model, looked up through (floor, version), so an edit that
changes no geometry (a serial number) reuses them and one that moves a camera computes them once. The floor's
findings map is keyed likewise by a findings generation: the version at which its findings, zones or terminal
points last changed. Every key
names its content, so entries are never invalidated: a process keeps its own copies (an LRU) in front of
Redis (REDIS_URL, shared by every gunicorn worker; without it the LRU alone). A terminal that
breaks a rule is listed among the overlays' problems, not fatal.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from inventory import floorio
from inventory.lru import LRUCache
from inventory.models import CameraModel, Floor, Terminal, Zone
from planner import floor as pf

CACHE_SECONDS = 7 * 24 * 3600  # entries of versions nobody reads any more expire from Redis
MEMORY_BYTES = 64 * 1024 * 1024  # this process's copies (the mall floor's overlays: 2.7 MB)
_TOUCHED = "floor_versions_touched"


# Every key names its content (a random floor version, a geometry digest), so an entry never changes once
# written: this process's copy of a Redis entry is always valid, and saves fetching and unpacking megabytes
# from Redis on every request. Held uncompressed, ready to send.
_memory: LRUCache[str, bytes] = LRUCache(MEMORY_BYTES, weigh=len)


_NOT_CODE = {"tests", "instance", "node_modules", "venv", "static", "docs", "bench", "migrations"}


def code_generation(root: Path) -> str:
    """A digest of the code and catalogues under root that compute cached values (every .py and .mo file)."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _NOT_CODE)
        for name in sorted(files):
            if name.endswith((".py", ".mo")):
                path = Path(folder, name)
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


# Redis outlives a deploy: an entry computed by other code (a changed engine, wording or export) is not the value
# its key names any more, so keys carry the generation of the code that computed them.
PREFIX = f"sightline:floor-cache:{code_generation(Path(__file__).resolve().parent.parent)}:"
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
    """The bytes cached under key (this process, then Redis), computed and stored when missing.

    `key` must name its content (include a floor version or a digest): entries are never invalidated.
    """
    full = PREFIX + key
    value = _memory.get(full)
    if value is not None:
        return value
    client = _redis_client()
    raw = client.get(full) if client is not None else None
    if raw is not None:
        value = zlib.decompress(raw)
    else:
        value = compute()
        if client is not None:
            client.set(full, zlib.compress(value, 1), ex=CACHE_SECONDS)
    _memory.set(full, value)
    return value


def cached(key: str, compute: Callable[[], Any]) -> Any:
    """The JSON value cached under key, computed (and stored) when missing."""
    return json.loads(cached_json(key, compute))


def cached_json(key: str, compute: Callable[[], Any]) -> bytes:
    """The JSON bytes of the value cached under key, computed (and stored) when missing: ready to send."""
    return cached_bytes(key, lambda: json_bytes(compute()))


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON (no NaN: the browser's JSON.parse rejects it)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode()


def etag(*parts: str) -> str:
    """An ETag naming a response made of content-addressed parts (cache keys, small JSON)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def geometry_digest(floor: Floor) -> str | None:
    """SHA-256 of the engine's model of the floor (structure, zones, terminals in service, name): what overlays,
    the export and the tier ranges depend on. None while the floor has no outline (it has no model)."""
    def compute() -> str:
        if not floorio.has_outline(floor):
            return ""
        return hashlib.sha256(repr(floorio.floor_model(floor)).encode()).hexdigest()

    return cached(f"digest:{floor.id}:{floor.version}", compute) or None


def _model_key(floor: Floor) -> str:
    """What names a value computed from the floor's model: its digest (an edit of a serial number keeps it), or
    the version while the floor has no outline."""
    digest = geometry_digest(floor)
    return digest if digest is not None else f"{floor.id}:{floor.version}"


def export_json(floor: Floor) -> bytes:
    """The floor's floor-format export (floorio.export_floor) as JSON bytes, cached per floor model."""
    return cached_json(export_key(floor), lambda: floorio.export_floor(floor))


def export_key(floor: Floor) -> str:
    """The cache key of the floor's export (the export writes the model: keyed by its digest)."""
    return f"export:{_model_key(floor)}"


def ranges_key(floor: Floor) -> str:
    """The cache key of the floor's tier ranges (those of the model's terminals)."""
    return f"ranges:{_model_key(floor)}"


def overlays(floor: Floor, tolerance: float | None = None) -> dict[str, Any]:
    """Coverage overlays (planner.overlays) as GeoJSON, plus the problems that kept a terminal out of them."""
    return json.loads(overlays_json(floor, tolerance)[0])


def overlays_json(floor: Floor, tolerance: float | None = None) -> tuple[bytes, str]:
    """`overlays` as JSON bytes, and an ETag naming them (the geometry digest and the tolerance)."""
    digest = geometry_digest(floor)
    if digest is None:
        return json_bytes({"type": "FeatureCollection", "features": [], "problems": [],
                           "note": "the floor has no outline yet"}), f"none-{floor.version}"
    key = f"{digest}-{tolerance!r}"
    return cached_bytes(f"overlays:{key}", lambda: json_bytes(_compute(floor, tolerance))), key


def body_etag(key: str, body: Callable[[], bytes]) -> str:
    """An ETag of the content cached under key (a hash of the bytes: equal content, equal tag, whatever the
    key), itself cached, so a revalidation that matches costs neither the body nor its hash."""
    return cached_bytes(f"etag:{key}", lambda: hashlib.sha256(body()).hexdigest()[:32].encode()).decode()


def _compute(floor: Floor, tolerance: float | None) -> dict[str, Any]:
    from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
    from planner.overlays import coverage_overlays

    usable, problems = pf.without_bad_terminals(floorio.floor_model(floor))
    out = coverage_overlays(Engine(usable), tolerance=PRIVACY_TOLERANCE_M2 if tolerance is None else tolerance)
    out["problems"] = [{"kind": p.kind, p.kind: p.label, "error": p.message} for p in problems]
    return out


# What floorio.terminal_model reads of a terminal (and floorio's in-service filter, and the relationship's
# removed_at): a flush that changes none of these on a floor's terminals leaves the floor's engine model as it
# was (tests/web/test_floor_cache.py checks terminal_model reads nothing else).
MODEL_ATTRIBUTES = frozenset({
    "code", "kind", "x", "y", "heading_deg", "hfov_deg", "range_m", "hpx", "camera_model_id", "camera_model",
    "height_m", "tilt_deg", "face_recognition", "audio", "locked", "status", "removed_at", "floor_id"})


# What the floor's findings map (findings.service.floor_findings_geojson) reads of a terminal: its point and
# code, and whether it is on the floor (tests/web/test_floor_cache.py checks the map changes with nothing else).
FINDINGS_ATTRIBUTES = frozenset({"code", "x", "y", "removed_at", "floor_id"})


def attributes_kept(session: Session, obj: Any, attributes: frozenset[str]) -> bool:
    """Whether this flush's write of `obj` (an ORM object) leaves every one of `attributes` as it was: what a cache
    or a derived figure reading only those attributes may keep."""
    if obj in session.new or obj in session.deleted:
        return False
    state = sa.inspect(obj)
    return not any(state.attrs[name].history.has_changes() for name in attributes)


def _model_kept(session: Session, terminal: Terminal) -> bool:
    """Whether this flush's write of the terminal leaves every attribute of its engine model as it was."""
    return attributes_kept(session, terminal, MODEL_ATTRIBUTES)


def findings_generation(floor: Floor) -> str:
    """The version at which the floor's findings map last changed (its findings, zones, or its terminals' points,
    codes or presence): what names the cached map. A version nobody carried a generation to is its own."""
    return cached(f"findings-gen:{floor.id}:{floor.version}", lambda: floor.version)


def _carry_digest(floor_id: int, old: str, new: str) -> None:
    """Name the old version's cached geometry digest under the new one (the model is the same), so what is keyed by
    the digest (overlays, export, tier ranges) is found without rebuilding the model. Nothing cached: nothing to do.

    If the transaction rolls back, the new version is never stored and its entry never read.
    """
    _carry("digest", floor_id, old, new)


def _carry_generation(floor_id: int, old: str, new: str) -> None:
    """Name the old version's findings generation under the new version (the map is the same). A version with no
    generation stored is its own (findings_generation), and is stored as such first: under a burst of edits most
    versions are never read, and the chain must not break at them."""
    _carry("findings-gen", floor_id, old, new, default=json_bytes(old))


def _carry(kind: str, floor_id: int, old: str, new: str, default: bytes | None = None) -> None:
    """Name the old version's cached `kind` entry (a digest, a findings generation) under the new version; with
    none cached, `default` (stored for the old version too), or nothing."""
    if not has_app_context():
        return
    key = f"{PREFIX}{kind}:{floor_id}:"
    value = _memory.get(key + old)
    client = _redis_client()
    if value is None and client is not None:
        raw = client.get(key + old)
        value = zlib.decompress(raw) if raw is not None else None
    if value is None and default is None:
        return
    stores = [key + new] if value is not None else [key + old, key + new]
    value = value if value is not None else default
    for full in stores:
        _memory.set(full, value)
        if client is not None:
            client.set(full, zlib.compress(value, 1), ex=CACHE_SECONDS)


def install(session_factory: Any) -> None:
    """Give a floor a new version in every flush that writes it, one of its zones, terminals or findings, or a camera
    model one of its terminals uses."""
    from compliance.models import Finding

    @event.listens_for(session_factory, "after_flush")
    def _touch(session: Session, _context: Any) -> None:
        floors: set[int] = set()
        remodelled: set[int] = set()  # floors whose engine model this flush may have changed
        refound: set[int] = set()  # floors whose findings map this flush may have changed
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Terminal | Zone | Finding) and obj.floor_id is not None and (
                    obj in session.new or obj in session.deleted or session.is_modified(obj, include_collections=False)):
                history = sa.inspect(obj).attrs.floor_id.history
                touched = {obj.floor_id, *(f for f in history.deleted or () if f is not None)}  # moved off another
                floors |= touched
                if not isinstance(obj, Finding) and not (isinstance(obj, Terminal) and _model_kept(session, obj)):
                    remodelled |= touched
                if not (isinstance(obj, Terminal) and attributes_kept(session, obj, FINDINGS_ATTRIBUTES)):
                    refound |= touched
            elif isinstance(obj, Floor) and obj not in session.new and session.is_modified(obj, include_collections=False):
                floors.add(obj.id)
                remodelled.add(obj.id)
            elif isinstance(obj, CameraModel) and obj not in session.new and session.is_modified(obj):
                # Terminals without optics of their own take the model's pixels (floorio.terminal_model), and the
                # floor's pages show the model: every floor using it is a new version.
                users = set(session.connection().scalars(
                    sa.select(Terminal.floor_id).where(Terminal.camera_model_id == obj.id).distinct()))
                floors |= users
                if sa.inspect(obj).attrs.hpx.history.has_changes():
                    remodelled |= users
        if not floors:
            return
        connection = session.connection()
        # A plain UPDATE: the version is not an edit of the floor (no audit event, no compliance run of its own).
        for floor_id in sorted(floors):
            # FOR UPDATE: on PostgreSQL a concurrent writer of the floor's model holds the row until it commits;
            # the version read after that wait is the one this transaction's write builds on (SQLite: one writer).
            old = connection.scalar(sa.select(Floor.version).where(Floor.id == floor_id).with_for_update()) \
                if floor_id not in remodelled or floor_id not in refound else None
            new = uuid.uuid4().hex
            connection.execute(sa.update(Floor).where(Floor.id == floor_id)
                               .values(version=new, updated_at=Floor.updated_at))
            if old is not None and floor_id not in remodelled:
                _carry_digest(floor_id, old, new)
            if old is not None and floor_id not in refound:
                _carry_generation(floor_id, old, new)
        session.info.setdefault(_TOUCHED, set()).update(floors)

    @event.listens_for(session_factory, "after_flush_postexec")
    def _expire(session: Session, _context: Any) -> None:
        for floor_id in session.info.pop(_TOUCHED, ()):
            floor = session.identity_map.get(identity_key(Floor, floor_id))
            if floor is not None:
                session.expire(floor, ["version"])
