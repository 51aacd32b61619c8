"""The mapper between inventory rows and planner.floor's dataclasses, which own the floor format.

- ``floor_model(floor)``: the rows as a ``planner.floor.Floor`` (no JSON round trip), for overlays, plans
  and the verifier; ``export_floor`` writes it with the engine's writer.
- ``import_floor`` parses a collection with the engine's parser and ``apply_floor`` writes the parsed
  dataclasses as differences: the outline, walls, openings and zones by their stable feature id,
  terminals by their ID. Unchanged rows are not touched, so they leave no audit event.
- Every door applies the same rules: the engine's (format, outline) and the inventory's field limits
  (``inventory.fields``), each error naming the feature and field.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory.choices import TerminalStatus
from inventory.errors import Forbidden
from inventory.fields import TERMINAL_FIELDS, ZONE_FIELDS, Field, ValidationError, clean
from inventory.lru import LRUCache
from inventory.models import CameraModel, Floor, Terminal, Zone
from planner import floor as pf
from planner.errors import InputError

IN_SERVICE = (TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL)
DEFAULT_RANGE_M = 10.0  # a terminal with no optics recorded: a conservative 10 m view
_TERMINAL_FIELDS = {f.name: f for f in TERMINAL_FIELDS}
_ZONE_FIELDS = {f.name: f for f in ZONE_FIELDS}
# Inventory field name -> the floor-format property it is written as.
_PROPERTY = {"code": "id", "kind": "type", "x": "coordinates", "y": "coordinates"}


def new_feature_id(kind: str) -> str:
    """A fresh stable id for a feature that arrived without one (never reused)."""
    return f"{kind}-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- rows -> model


def terminal_model(t: Terminal) -> pf.Terminal:
    """A terminal row as the engine's Terminal (optics from its camera model when it has none of its own)."""
    return _terminal_model(t, t.camera_model.hpx if t.camera_model else None)


def _terminal_model(t: Any, model_hpx: int | None) -> pf.Terminal:
    """terminal_model of a terminal's values (an ORM row or a Core row), its camera model's pixels given."""
    hpx = t.hpx if t.hpx is not None else model_hpx
    range_m = DEFAULT_RANGE_M if t.range_m is None and hpx is None else t.range_m
    return pf.Terminal(id=t.code, type=t.kind.value, x=t.x, y=t.y, heading_deg=t.heading_deg, hfov_deg=t.hfov_deg,
                       range_m=range_m, hpx=hpx, height_m=t.height_m, tilt_deg=t.tilt_deg or None,
                       face_recognition=t.face_recognition, audio=t.audio,
                       locked=t.locked.value if t.locked is not None else None)


def _ring(coords: Iterable[Any]) -> pf.Ring:
    return tuple((p[0], p[1]) for p in coords)


def zone_model(z: Zone | Any) -> pf.Zone:
    """A zone row as the engine's Zone, its key as the feature id."""
    rings = z.geometry["coordinates"]
    return pf.Zone(name=z.name, zone=z.kind.value, exterior=_ring(rings[0]), holes=tuple(_ring(r) for r in rings[1:]),
                   k=z.k, tier=z.tier.value, use=z.use or None, feature_id=z.key)


def _structure(floor: Floor) -> tuple[pf.Outline | None, list[pf.Wall], list[pf.Opening]]:
    """The stored outline, walls and openings as dataclasses."""
    return _structure_of(floor.structure or [])


def _structure_of(features: list[dict[str, Any]]) -> tuple[pf.Outline | None, list[pf.Wall], list[pf.Opening]]:
    outline, walls, openings = None, [], []
    for index, feature in enumerate(features):
        item = pf.parse_feature(feature, index)
        if isinstance(item, pf.Outline):
            outline = item
        elif isinstance(item, pf.Wall):
            walls.append(item)
        elif isinstance(item, pf.Opening):
            openings.append(item)
    return outline, walls, openings


def _terminals(floor: Floor, include_removed: bool) -> list[Terminal]:
    return [t for t in floor.terminals if include_removed or t.status in IN_SERVICE]


def _name(floor: Floor) -> str:
    return f"{floor.venue.name} · {floor.name}"


def has_outline(floor: Floor) -> bool:
    """Whether the floor has an outline yet (a floor without one cannot be checked or planned)."""
    return any(f.get("properties", {}).get("kind") == "outline" for f in floor.structure or [])


def floor_model(floor: Floor, *, include_removed: bool = False) -> pf.Floor:
    """The floor as the engine's Floor, built from the rows (terminals in service unless asked otherwise).

    It is not validated: a terminal stored before the rules were enforced is kept as it is, so callers can
    run ``planner.floor.without_bad_terminals`` and list it as a problem instead of failing the floor.
    """
    outline, walls, openings = _structure(floor)
    if outline is None:
        raise ValidationError("floor", _("the floor has no outline yet"))
    return pf.Floor(outline=outline, walls=tuple(walls), openings=tuple(openings),
                    zones=tuple(zone_model(z) for z in floor.zones),
                    terminals=tuple(terminal_model(t) for t in _terminals(floor, include_removed)),
                    name=_name(floor))


# ---------------------------------------------------------------- the same model from plain rows

# The parsed outline, walls and openings by the SHA-256 of the structure's stored JSON text: equal text, equal
# features, so an entry is never stale (the mall floor's 170 kB parse is most of a re-check when rebuilt each time).
_STRUCTURES: LRUCache[str, tuple[bool, pf.Outline | None, tuple[pf.Wall, ...], tuple[pf.Opening, ...]]] = \
    LRUCache(32)
_ZONES: LRUCache[str, tuple[pf.Zone, ...]] = LRUCache(32)  # zone models by the SHA-256 of their rows' values


@dataclass(frozen=True)
class FloorRows:
    """A floor read with plain queries (no ORM objects): its model and the rows the findings name."""

    model: pf.Floor | None  # floor_model(floor); None when the floor has no outline yet (has_outline)
    geometry_key: str  # names the outline, walls, openings and zones: equal key, equal geometry
    terminals: dict[str, Any]  # code -> row of each terminal on the floor, any status (see floor_rows)
    zones: tuple[Any, ...]  # the rows (id, key, name, ...) of the floor's zones, by id
    columns: tuple[str, ...] = ()  # the other columns asked for: the last values of each terminal row, in order


def _parsed_structure(text: str, digest: str) -> tuple[bool, pf.Outline | None, tuple[pf.Wall, ...],
                                                       tuple[pf.Opening, ...]]:
    """has_outline and _structure of the structure stored as `text` (parsed once per distinct text)."""
    cached = _STRUCTURES.get(digest)
    if cached is not None:
        return cached
    features = json.loads(text) or []
    if not any(f.get("properties", {}).get("kind") == "outline" for f in features):
        value: tuple[bool, pf.Outline | None, tuple[pf.Wall, ...], tuple[pf.Opening, ...]] = (False, None, (), ())
    else:
        outline, walls, openings = _structure_of(features)
        value = (True, outline, tuple(walls), tuple(openings))
    _STRUCTURES.set(digest, value)  # a parse that raised is not stored: it raises again next time
    return value


def _geometry_rows(floor: Floor) -> tuple[str, str, list[Any], str]:
    """The floor's stored structure (JSON text) and zone rows (geometry as JSON text), each with its SHA-256."""
    text = db.session.scalar(sa.select(sa.cast(Floor.structure, sa.Text)).where(Floor.id == floor.id)) or "null"
    z = Zone.__table__.c
    zone_rows = list(db.session.execute(sa.select(z.id, z.key, z.name, z.kind, z.use, z.k, z.tier,
                                                  sa.cast(z.geometry, sa.Text).label("geometry"))
                                        .where(z.floor_id == floor.id).order_by(z.id)))
    # repr of plain values (ints, strings, enums, None) is unambiguous: equal text, equal rows.
    zones_digest = hashlib.sha256(repr([tuple(r) for r in zone_rows]).encode()).hexdigest()
    return text, hashlib.sha256(text.encode()).hexdigest(), zone_rows, zones_digest


def _geometry_key(floor: Floor, structure_digest: str, zones_digest: str) -> str:
    return f"{floor.id}:{structure_digest}:{zones_digest}"


def geometry_key(floor: Floor) -> str:
    """FloorRows.geometry_key of the floor, read without its terminals."""
    _text, structure_digest, _zones, zones_digest = _geometry_rows(floor)
    return _geometry_key(floor, structure_digest, zones_digest)


def floor_rows(floor: Floor, columns: Iterable[str] = ()) -> FloorRows:
    """The floor's model (as floor_model builds it, terminals in service) from three plain queries, the parsed
    structure, the zone models and each terminal's model reused while their stored values are unchanged; the
    terminal rows carry their id, status, what the model reads and the given other `columns`."""
    text, structure_digest, zone_rows, zones_digest = _geometry_rows(floor)
    present, outline, walls, openings = _parsed_structure(text, structure_digest)
    extra = tuple(columns)
    if _READ & set(extra):
        raise ValueError(f"floor_rows reads {sorted(_READ & set(extra))} anyway: ask only for other columns")
    t = Terminal.__table__.c
    terminal_rows = db.session.execute(sa.select(*(t[name] for name in (*_ROW_COLUMNS, *_MODEL_COLUMNS)),
                                                 CameraModel.hpx.label("model_hpx"),
                                                 *(t[name] for name in extra))
                                       .outerjoin(CameraModel, CameraModel.id == t.camera_model_id)
                                       .where(t.floor_id == floor.id, t.removed_at.is_(None)).order_by(t.id)).all()
    terminals = {r.code: r for r in terminal_rows}
    zone_ids = tuple(zone_rows)
    geometry_key = _geometry_key(floor, structure_digest, zones_digest)
    if not present:
        return FloorRows(None, geometry_key, terminals, zone_ids, extra)
    if outline is None:
        raise ValidationError("floor", _("the floor has no outline yet"))
    zones = _ZONES.get(zones_digest)
    if zones is None:
        zones = tuple(zone_model(_ZoneValues(r.key, r.name, r.kind, r.use, r.k, r.tier, json.loads(r.geometry)))
                      for r in zone_rows)
        _ZONES.set(zones_digest, zones)
    model = pf.Floor(outline=outline, walls=walls, openings=openings, zones=zones,
                     terminals=tuple(_cached_terminal_model(r) for r in terminal_rows if r.status in IN_SERVICE),
                     name=_name(floor))
    return FloorRows(model, geometry_key, terminals, zone_ids, extra)


# What _terminal_model reads of a terminal row (MODEL_ATTRIBUTES in inventory.floor_overlays: the same list), after
# the id and status; a row's values from code to model_hpx name its model.
_ROW_COLUMNS = ("id", "status")
_MODEL_COLUMNS = ("code", "kind", "x", "y", "heading_deg", "hfov_deg", "range_m", "hpx", "height_m", "tilt_deg",
                  "face_recognition", "audio", "locked")
_READ = frozenset((*_ROW_COLUMNS, *_MODEL_COLUMNS))
_MODEL_VALUES = slice(len(_ROW_COLUMNS), len(_ROW_COLUMNS) + len(_MODEL_COLUMNS) + 1)
_TERMINAL_MODELS: LRUCache[tuple[Any, ...], pf.Terminal] = LRUCache(8192)


def negative_zero(values: Iterable[Any]) -> bool:
    """Whether a float among the values is -0.0, which equals (and hashes as) 0.0: values holding one are not
    looked up by equality."""
    return any(type(v) is float and v == 0.0 and math.copysign(1.0, v) < 0 for v in values)


def _cached_terminal_model(row: Any) -> pf.Terminal:
    """_terminal_model of a row, reused for equal values (the values are the key: an entry is never stale)."""
    key = tuple(row[_MODEL_VALUES])
    if negative_zero(key):
        return _terminal_model(row, row.model_hpx)
    model = _TERMINAL_MODELS.get(key)
    if model is None:
        model = _terminal_model(row, row.model_hpx)
        _TERMINAL_MODELS.set(key, model)
    return model


@dataclass(frozen=True)
class _ZoneValues:
    """What zone_model reads of a zone row."""

    key: str
    name: str
    kind: Any
    use: str | None
    k: int
    tier: Any
    geometry: dict[str, Any]


def export_floor(floor: Floor, *, include_removed: bool = False) -> dict[str, Any]:
    """The floor as one floor-format FeatureCollection, written by the engine's writer."""
    outline, walls, openings = _structure(floor)
    return pf.collection_to_geojson(outline, walls, openings, [zone_model(z) for z in floor.zones],
                                    [terminal_model(t) for t in _terminals(floor, include_removed)],
                                    name=_name(floor))


def outline_of(floor: Floor) -> pf.Outline | None:
    """The floor's outline, or None before one is drawn or imported."""
    return _structure(floor)[0]


def check_placement(floor: Floor, x: float, y: float) -> None:
    """Refuse a terminal position outside the floor outline (the rule every door applies)."""
    outline = outline_of(floor)
    if outline is not None and pf.outside_outline(outline.geometry, x, y):
        raise ValidationError("x", _("(%(x)s, %(y)s) is outside the floor outline", x=format(x, "g"), y=format(y, "g")))


# ---------------------------------------------------------------- model -> rows


def parse_collection(collection: Any) -> pf.Floor:
    """A FeatureCollection parsed by the engine; its first problem as a ValidationError naming the feature."""
    try:
        return pf.parse_floor(collection)
    except InputError as exc:
        raise ValidationError(exc.where or "floor", exc.message) from exc


def _clean(fields: dict[str, Field], values: dict[str, Any], label: str) -> dict[str, Any]:
    """The inventory's field rules on values that came in by a geometry door; the error names feature and field."""
    try:
        return clean(tuple(fields[name] for name in values), values)
    except ValidationError as exc:
        prop = _PROPERTY.get(exc.field or "", exc.field)
        raise ValidationError(f"{label}: {prop}", exc.message) from exc


def _terminal_values(t: pf.Terminal) -> dict[str, Any]:
    """The row values a terminal feature carries, checked by the same rules as the terminal form."""
    values: dict[str, Any] = {"code": t.id, "kind": t.type, "x": t.x, "y": t.y, "heading_deg": t.heading_deg,
                              "hfov_deg": t.hfov_deg, "range_m": t.range_m, "hpx": t.hpx,
                              "tilt_deg": t.tilt_deg if t.tilt_deg is not None else 0.0,
                              "face_recognition": t.face_recognition, "audio": t.audio, "locked": t.locked}
    if t.height_m is not None:
        values["height_m"] = t.height_m
    for extra in ("purpose", "serial"):
        if t.extra.get(extra) is not None:
            values[extra] = t.extra[extra]
    return _clean(_TERMINAL_FIELDS, values, f"terminal {pf.short_label(t.id)!r}")


def _zone_values(z: pf.Zone) -> dict[str, Any]:
    values = {"name": z.name, "kind": z.zone, "use": z.use, "k": z.k, "tier": z.tier}
    values = _clean(_ZONE_FIELDS, values, f"zone {pf.short_label(z.name)!r}")
    exterior = [list(p) for p in z.exterior]
    values["geometry"] = {"type": "Polygon", "coordinates": [exterior] + [[list(p) for p in h] for h in z.holes]}
    return values


def _key(feature_id: str | int | float | None, kind: str) -> str:
    return new_feature_id(kind) if feature_id is None else str(feature_id)


def _set(row: Any, values: dict[str, Any]) -> None:
    """Assign only the values that differ, so an unchanged row stays clean (and unaudited)."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def apply_structure(floor: Floor, model: pf.Floor) -> int:
    """Store the outline, walls and openings, each keeping its id (a feature without one gets a new id)."""
    outline = replace(model.outline, feature_id=_key(model.outline.feature_id, "outline"))
    walls = [replace(w, feature_id=_key(w.feature_id, "wall")) for w in model.walls]
    openings = [replace(o, feature_id=_key(o.feature_id, "opening")) for o in model.openings]
    structure = pf.collection_to_geojson(outline, walls, openings)["features"]
    if structure != floor.structure:
        floor.structure = structure
    return len(structure)


def apply_zones(floor: Floor, zones: Iterable[pf.Zone]) -> dict[str, int]:
    """Upsert the zones by key: same key, same row (shape, name or requirement edited in place)."""
    existing = {z.key: z for z in floor.zones}
    counts = {"zones_created": 0, "zones_updated": 0, "zones_deleted": 0}
    cleaned = [(z, _zone_values(z)) for z in zones]
    for z, values in cleaned:
        key = _key(z.feature_id, "zone")
        row = existing.pop(key, None)
        if row is None:
            db.session.add(Zone(floor=floor, key=key, **values))
            counts["zones_created"] += 1
        else:
            _set(row, values)
            counts["zones_updated"] += int(db.session.is_modified(row))
    for row in existing.values():
        floor.zones.remove(row)
        db.session.delete(row)
        counts["zones_deleted"] += 1
    db.session.flush()
    return counts


def _apply_terminal(terminal: Terminal, values: dict[str, Any]) -> None:
    """Copy pose, optics and capabilities from a parsed terminal onto its row."""
    values = dict(values)
    model_hpx = terminal.camera_model.hpx if terminal.camera_model is not None else None
    # The export fills hpx in from the camera model; keep it on the model, not copied onto the terminal.
    if terminal.hpx is None and values["hpx"] is not None and values["hpx"] == model_hpx:
        values["hpx"] = None
    if terminal.range_m is None and terminal.hpx is None and model_hpx is None and values["range_m"] == DEFAULT_RANGE_M:
        values["range_m"] = None  # the export's stand-in for missing optics
    values.setdefault("height_m", terminal.height_m if terminal.height_m is not None else 2.5)
    _set(terminal, values)


def apply_floor(user: User, floor: Floor, model: pf.Floor, *, replace_terminals: bool = False) -> dict[str, int]:
    """Write a parsed floor as differences: structure and zones by feature id, terminals by ID; all or nothing."""
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not import plans"))
    terminals = [(t, _terminal_values(t)) for t in model.terminals]
    counts = {"structure": apply_structure(floor, model), "zones": len(model.zones)}
    counts.update(apply_zones(floor, model.zones))
    counts.update(terminals_created=0, terminals_updated=0, terminals_deleted=0)
    existing = {t.code: t for t in floor.terminals}
    seen = set()
    for t, values in terminals:
        seen.add(t.id)
        row = existing.get(t.id)
        if row is None:
            db.session.add(Terminal(floor=floor, venue_id=floor.venue_id, **{"height_m": 2.5, **values}))
            counts["terminals_created"] += 1
        else:
            counts["terminals_updated"] += 1
            _apply_terminal(row, values)
    if replace_terminals:
        for code, row in existing.items():
            if code not in seen:
                db.session.delete(row)
                counts["terminals_deleted"] += 1
    db.session.flush()
    return counts


def import_floor(user: User, floor: Floor, collection: Any, *, replace_terminals: bool = False) -> dict[str, int]:
    """Parse a floor-format collection with the engine and apply it as differences, all or nothing."""
    if not isinstance(collection, dict):
        raise ValidationError("floor", f"body must be a {pf.FORMAT} FeatureCollection")
    return apply_floor(user, floor, parse_collection(collection), replace_terminals=replace_terminals)
