"""The `sightline-floor/1` floor model: typed, validated dataclasses parsed from / exported to GeoJSON.

Public API (stable):

- ``parse_floor(obj: dict) -> Floor``: validate a FeatureCollection and return a :class:`Floor`.
  Every problem raises :class:`planner.errors.InputError` whose ``where`` names the feature,
  e.g. ``"feature 12 (terminal 'cam-3')"`` (features are numbered from 0 in file order).
- ``load_floor(path) -> Floor``: read a JSON file and parse it.
- ``floor_to_geojson(floor) -> dict``: export; ``parse_floor(floor_to_geojson(f)) == f`` and ids,
  unknown properties and foreign members survive the round trip.
- Dataclasses :class:`Floor`, :class:`Outline`, :class:`Wall`, :class:`Opening`, :class:`Zone`,
  :class:`Terminal`; each exposes a ``.geometry`` shapely object (built on demand).
- Enumerations as tuples: ``ZONE_KINDS``, ``TIERS``, ``TERMINAL_TYPES``, ``LOCKS``, ``FEATURE_KINDS``.

Coordinates are metres in the floor's local frame, y up.  Headings are degrees counter-clockwise from
+x, normalised to [0, 360).  Polygon rings are stored closed (first point repeated last), as in GeoJSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.validation import explain_validity

from planner.errors import InputError

FORMAT = "sightline-floor/1"
FEATURE_KINDS = ("outline", "wall", "opening", "zone", "terminal")
ZONE_KINDS = ("required", "private", "general")
TIERS = ("detect", "observe", "recognise", "identify")
TERMINAL_TYPES = ("camera", "face_terminal", "access_reader", "other")
LOCKS = ("keep", "remove")

# Local metres: anything past 10,000 km is a unit or CRS mistake (and would overflow the geometry).
MAX_COORD = 1e7

XY = tuple[float, float]
Ring = tuple[XY, ...]

# Properties each kind understands; anything else is kept verbatim in `extra`.
_ZONE_KEYS = ("kind", "zone", "name", "k", "tier", "use")
_TERMINAL_KEYS = (
    "kind", "id", "type", "heading_deg", "hfov_deg", "range_m", "hpx", "height_m", "tilt_deg",
    "face_recognition", "audio", "locked",
)


@dataclass(frozen=True)
class Outline:
    """The floor boundary: one exterior ring and optional holes (sight never leaves it)."""

    exterior: Ring
    holes: tuple[Ring, ...] = ()
    feature_id: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def geometry(self) -> Polygon:
        """The outline as a shapely Polygon."""
        return Polygon(self.exterior, self.holes)


@dataclass(frozen=True)
class Wall:
    """An occluder: a polyline (``holes`` empty, ``closed`` False) or a solid polygon (``closed`` True)."""

    coords: Ring
    closed: bool = False
    holes: tuple[Ring, ...] = ()
    see_through: bool = False
    feature_id: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def geometry(self) -> LineString | Polygon:
        """The wall as a shapely LineString or Polygon."""
        return Polygon(self.coords, self.holes) if self.closed else LineString(self.coords)


@dataclass(frozen=True)
class Opening:
    """A door or gap: the part of any wall it covers lets sight through."""

    coords: Ring
    feature_id: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def geometry(self) -> LineString:
        """The opening as a shapely LineString."""
        return LineString(self.coords)


@dataclass(frozen=True)
class Zone:
    """A polygon with a coverage requirement (``required``), a ban (``private``) or none (``general``)."""

    name: str
    zone: str
    exterior: Ring
    holes: tuple[Ring, ...] = ()
    k: int = 1
    tier: str = "observe"
    use: str | None = None
    feature_id: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def geometry(self) -> Polygon:
        """The zone as a shapely Polygon."""
        return Polygon(self.exterior, self.holes)


@dataclass(frozen=True)
class Terminal:
    """A data-collection terminal: pose, optics, capabilities and lock."""

    id: str
    type: str
    x: float
    y: float
    heading_deg: float
    hfov_deg: float
    range_m: float | None = None
    hpx: int | None = None
    height_m: float | None = None
    tilt_deg: float | None = None
    face_recognition: bool = False
    audio: bool = False
    locked: str | None = None
    feature_id: str | int | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    @cached_property
    def geometry(self) -> Point:
        """The mount point as a shapely Point."""
        return Point(self.x, self.y)


@dataclass(frozen=True)
class Floor:
    """One parsed `sightline-floor/1` floor."""

    outline: Outline
    walls: tuple[Wall, ...] = ()
    openings: tuple[Opening, ...] = ()
    zones: tuple[Zone, ...] = ()
    terminals: tuple[Terminal, ...] = ()
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def zones_of(self, kind: str) -> tuple[Zone, ...]:
        """Zones of one kind (``required``, ``private`` or ``general``), in file order."""
        return tuple(z for z in self.zones if z.zone == kind)

    def terminal(self, terminal_id: str) -> Terminal:
        """The terminal with this id (KeyError if absent)."""
        for t in self.terminals:
            if t.id == terminal_id:
                return t
        raise KeyError(terminal_id)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the outline."""
        return tuple(self.outline.geometry.bounds)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- parsing


def _where(index: int, kind: str | None, label: str | None = None) -> str:
    if kind is None:
        return f"feature {index}"
    return f"feature {index} ({kind} {label!r})" if label else f"feature {index} ({kind})"


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{what} must be a number, got {value!r}", where=where)
    f = float(value)
    if not math.isfinite(f):
        raise InputError(f"{what} must be finite, got {value!r}", where=where)
    return f


def _position(value: Any, where: str) -> XY:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise InputError(f"a position must be [x, y], got {value!r}", where=where)
    x, y = _number(value[0], "coordinate", where), _number(value[1], "coordinate", where)
    if abs(x) > MAX_COORD or abs(y) > MAX_COORD:
        raise InputError(f"coordinate {[x, y]} is not in local metres (|value| > {MAX_COORD:g})", where=where)
    return (x, y)


def _line(coords: Any, where: str, what: str) -> Ring:
    if not isinstance(coords, list | tuple) or len(coords) < 2:
        raise InputError(f"{what} needs at least two positions", where=where)
    pts = tuple(_position(c, where) for c in coords)
    for i in range(len(pts) - 1):
        if pts[i] == pts[i + 1]:
            raise InputError(f"{what} has a zero-length segment at {list(pts[i])}", where=where)
    return pts


def _ring(coords: Any, where: str, what: str) -> Ring:
    if not isinstance(coords, list | tuple):
        raise InputError(f"{what} ring must be a list of positions", where=where)
    pts = [_position(c, where) for c in coords]
    if pts and pts[0] != pts[-1]:
        pts.append(pts[0])
    if len(pts) < 4:
        raise InputError(f"{what} ring needs at least three distinct positions", where=where)
    return tuple(pts)


def _polygon(geom: dict, where: str, what: str) -> tuple[Ring, tuple[Ring, ...]]:
    coords = geom.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise InputError(f"{what} Polygon needs coordinates", where=where)
    rings = [_ring(r, where, what) for r in coords]
    poly = Polygon(rings[0], rings[1:])
    if not poly.is_valid:
        raise InputError(f"{what} polygon is invalid: {explain_validity(poly)}", where=where)
    if poly.area <= 0.0:
        raise InputError(f"{what} polygon has zero area", where=where)
    return rings[0], tuple(rings[1:])


def _geometry(feature: dict, where: str, allowed: tuple[str, ...]) -> dict:
    geom = feature.get("geometry")
    if not isinstance(geom, dict):
        raise InputError("missing geometry", where=where)
    gtype = geom.get("type")
    if gtype not in allowed:
        raise InputError(f"geometry must be {' or '.join(allowed)}, got {gtype!r}", where=where)
    return geom


def _optional_bool(props: dict, key: str, where: str, default: bool = False) -> bool:
    value = props.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, got {value!r}", where=where)
    return value


def _choice(value: Any, key: str, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise InputError(f"{key} must be one of {', '.join(choices)}; got {value!r}", where=where)
    return value


def _extra(props: dict, known: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in known}


def _parse_terminal(feature: dict, props: dict, index: int) -> Terminal:
    tid = props.get("id")
    label = tid if isinstance(tid, str) else None
    where = _where(index, "terminal", label)
    if not isinstance(tid, str) or not tid.strip():
        raise InputError("terminal needs a non-empty string id", where=where)
    geom = _geometry(feature, where, ("Point",))
    x, y = _position(geom.get("coordinates"), where)
    ttype = _choice(props.get("type"), "type", TERMINAL_TYPES, where)
    if "heading_deg" not in props:
        raise InputError("missing heading_deg", where=where)
    heading = _number(props["heading_deg"], "heading_deg", where) % 360.0
    if heading >= 360.0:  # -1e-20 % 360 rounds up to 360.0
        heading = 0.0
    if "hfov_deg" not in props:
        raise InputError("missing hfov_deg", where=where)
    hfov = _number(props["hfov_deg"], "hfov_deg", where)
    if not 0.0 < hfov <= 360.0:
        raise InputError(f"hfov_deg must be in (0, 360], got {hfov}", where=where)
    range_m = hpx = height = tilt = None
    if props.get("range_m") is not None:
        range_m = _number(props["range_m"], "range_m", where)
        if not 0 < range_m <= MAX_COORD:
            raise InputError(f"range_m must be positive metres (at most {MAX_COORD:g}), got {range_m}", where=where)
    if props.get("hpx") is not None:
        raw = props["hpx"]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not float(raw).is_integer() or not 0 < raw <= 1e6:
            raise InputError(f"hpx must be a positive integer (at most 1e6), got {raw!r}", where=where)
        hpx = int(raw)
    if range_m is None and hpx is None:
        raise InputError("terminal needs range_m or hpx", where=where)
    if props.get("height_m") is not None:
        height = _number(props["height_m"], "height_m", where)
        if height < 0:
            raise InputError(f"height_m must be >= 0, got {height}", where=where)
    if props.get("tilt_deg") is not None:
        tilt = _number(props["tilt_deg"], "tilt_deg", where)
        if not -90.0 <= tilt <= 90.0:
            raise InputError(f"tilt_deg must be in [-90, 90], got {tilt}", where=where)
    face = _optional_bool(props, "face_recognition", where, default=(ttype == "face_terminal"))
    audio = _optional_bool(props, "audio", where)
    locked = props.get("locked")
    if locked is not None:
        _choice(locked, "locked", LOCKS, where)
    return Terminal(
        id=tid, type=ttype, x=x, y=y, heading_deg=heading, hfov_deg=hfov, range_m=range_m, hpx=hpx,
        height_m=height, tilt_deg=tilt, face_recognition=face, audio=audio, locked=locked,
        feature_id=feature.get("id"), extra=_extra(props, _TERMINAL_KEYS),
    )


def _parse_zone(feature: dict, props: dict, index: int) -> Zone:
    name = props.get("name")
    where = _where(index, "zone", name if isinstance(name, str) else None)
    if not isinstance(name, str) or not name.strip():
        raise InputError("zone needs a non-empty string name", where=where)
    kind = _choice(props.get("zone"), "zone", ZONE_KINDS, where)
    k = props.get("k", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k!r}", where=where)
    tier = _choice(props.get("tier", "observe"), "tier", TIERS, where)
    use = props.get("use")
    if use is not None and not isinstance(use, str):
        raise InputError(f"use must be a string, got {use!r}", where=where)
    geom = _geometry(feature, where, ("Polygon",))
    exterior, holes = _polygon(geom, where, "zone")
    return Zone(
        name=name, zone=kind, exterior=exterior, holes=holes, k=k, tier=tier, use=use,
        feature_id=feature.get("id"), extra=_extra(props, _ZONE_KEYS),
    )


def parse_floor(obj: dict) -> Floor:
    """Validate a `sightline-floor/1` FeatureCollection and return the typed :class:`Floor`."""
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise InputError("a sightline-floor/1 file must be a GeoJSON FeatureCollection")
    if obj.get("format") != FORMAT:
        raise InputError(f"format must be {FORMAT!r}, got {obj.get('format')!r}")
    name = obj.get("name")
    if name is not None and not isinstance(name, str):
        raise InputError(f"name must be a string, got {name!r}")
    features = obj.get("features")
    if not isinstance(features, list):
        raise InputError("features must be a list")

    outline: Outline | None = None
    walls: list[Wall] = []
    openings: list[Opening] = []
    zones: list[Zone] = []
    terminals: list[Terminal] = []
    terminal_index: list[int] = []
    for index, feature in enumerate(features):
        where = _where(index, None)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InputError("not a GeoJSON Feature", where=where)
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise InputError("missing properties", where=where)
        kind = props.get("kind")
        if kind not in FEATURE_KINDS:
            raise InputError(f"properties.kind must be one of {', '.join(FEATURE_KINDS)}; got {kind!r}", where=where)
        fid = feature.get("id")
        if kind == "outline":
            where = _where(index, "outline")
            if outline is not None:
                raise InputError("a floor has exactly one outline", where=where)
            exterior, holes = _polygon(_geometry(feature, where, ("Polygon",)), where, "outline")
            outline = Outline(exterior, holes, fid, _extra(props, ("kind",)))
        elif kind == "wall":
            where = _where(index, "wall", fid if isinstance(fid, str) else None)
            geom = _geometry(feature, where, ("LineString", "Polygon"))
            see = _optional_bool(props, "see_through", where)
            extra = _extra(props, ("kind", "see_through"))
            if geom["type"] == "LineString":
                walls.append(Wall(_line(geom.get("coordinates"), where, "wall"), False, (), see, fid, extra))
            else:
                exterior, holes = _polygon(geom, where, "wall")
                walls.append(Wall(exterior, True, holes, see, fid, extra))
        elif kind == "opening":
            where = _where(index, "opening", fid if isinstance(fid, str) else None)
            geom = _geometry(feature, where, ("LineString",))
            openings.append(Opening(_line(geom.get("coordinates"), where, "opening"), fid, _extra(props, ("kind",))))
        elif kind == "zone":
            zones.append(_parse_zone(feature, props, index))
        else:
            terminals.append(_parse_terminal(feature, props, index))
            terminal_index.append(index)
    if outline is None:
        raise InputError("the floor has no outline feature")

    seen: set[str] = set()
    region = outline.geometry
    shapely.prepare(region)
    for t, index in zip(terminals, terminal_index, strict=True):
        where = _where(index, "terminal", t.id)
        if t.id in seen:
            raise InputError(f"duplicate terminal id {t.id!r}", where=where)
        seen.add(t.id)
        # A terminal on the outline (mounted on the outer wall) counts as inside.
        if not region.covers(t.geometry) and region.distance(t.geometry) > 1e-9:
            raise InputError(f"terminal at ({t.x}, {t.y}) is outside the floor outline", where=where)
    names: set[str] = set()
    for z in zones:
        if z.name in names:
            raise InputError(f"duplicate zone name {z.name!r}")
        names.add(z.name)
    return Floor(
        outline=outline, walls=tuple(walls), openings=tuple(openings), zones=tuple(zones),
        terminals=tuple(terminals), name=name,
        extra={k: v for k, v in obj.items() if k not in ("type", "format", "name", "features")},
    )


def load_floor(path: str | PathLike[str]) -> Floor:
    """Read a `sightline-floor/1` JSON file and parse it."""
    with open(path, encoding="utf-8") as fh:
        try:
            obj = json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", where=str(path))
    return parse_floor(obj)


# --------------------------------------------------------------------------------------------- export


def _ring_json(ring: Ring) -> list[list[float]]:
    return [[x, y] for x, y in ring]


def _feature(fid: str | int | None, props: dict, geometry: dict) -> dict:
    feat: dict[str, Any] = {"type": "Feature"}
    if fid is not None:
        feat["id"] = fid
    feat["properties"] = props
    feat["geometry"] = geometry
    return feat


def _poly_json(exterior: Ring, holes: tuple[Ring, ...]) -> dict:
    return {"type": "Polygon", "coordinates": [_ring_json(exterior)] + [_ring_json(h) for h in holes]}


def floor_to_geojson(floor: Floor) -> dict:
    """Export a :class:`Floor` as a `sightline-floor/1` FeatureCollection (round-trips exactly)."""
    features: list[dict] = []
    o = floor.outline
    features.append(_feature(o.feature_id, {"kind": "outline", **o.extra}, _poly_json(o.exterior, o.holes)))
    for w in floor.walls:
        props: dict[str, Any] = {"kind": "wall", **w.extra}
        if w.see_through:
            props["see_through"] = True
        geom = _poly_json(w.coords, w.holes) if w.closed else {"type": "LineString", "coordinates": _ring_json(w.coords)}
        features.append(_feature(w.feature_id, props, geom))
    for op in floor.openings:
        features.append(_feature(op.feature_id, {"kind": "opening", **op.extra},
                                 {"type": "LineString", "coordinates": _ring_json(op.coords)}))
    for z in floor.zones:
        props = {"kind": "zone", "zone": z.zone, "name": z.name, "k": z.k, "tier": z.tier}
        if z.use is not None:
            props["use"] = z.use
        props.update(z.extra)
        features.append(_feature(z.feature_id, props, _poly_json(z.exterior, z.holes)))
    for t in floor.terminals:
        props = {"kind": "terminal", "id": t.id, "type": t.type, "heading_deg": t.heading_deg, "hfov_deg": t.hfov_deg}
        for key in ("range_m", "hpx", "height_m", "tilt_deg", "locked"):
            value = getattr(t, key)
            if value is not None:
                props[key] = value
        props["face_recognition"] = t.face_recognition
        props["audio"] = t.audio
        props.update(t.extra)
        features.append(_feature(t.feature_id, props, {"type": "Point", "coordinates": [t.x, t.y]}))
    out: dict[str, Any] = {"type": "FeatureCollection", "format": FORMAT}
    if floor.name is not None:
        out["name"] = floor.name
    out.update(floor.extra)
    out["features"] = features
    return out
