"""The floor format (``FORMAT``, the one spelling of its name) and floor model: typed, validated dataclasses parsed from / exported to GeoJSON.

Public API (stable):

- ``parse_floor(obj: dict) -> Floor``: validate a FeatureCollection and return a :class:`Floor`.
  Every problem raises :class:`planner.errors.InputError` whose ``where`` names the feature,
  e.g. ``"feature 12 (terminal 'cam-3')"`` (features are numbered from 0 in file order).
- ``load_floor(path) -> Floor``: read a JSON file and parse it.
- ``floor_to_geojson(floor) -> dict``: export; ``parse_floor(floor_to_geojson(f)) == f`` and ids,
  unknown properties and foreign members survive the round trip.
- Dataclasses :class:`Floor`, :class:`Outline`, :class:`Wall`, :class:`Opening`, :class:`Zone`,
  :class:`Terminal`; each exposes a ``.geometry`` shapely object (built on demand).
- Enumerations as tuples: ``ZONE_KINDS``, ``TIERS``, ``TERMINAL_TYPES``, ``LOCKS``, ``FEATURE_KINDS``
  (``inventory.choices`` derives its enums from them).
- ``normalise_heading(deg)``: the one heading rule, [0, 360).
- ``floor_problems(floor)`` / ``without_bad_terminals(floor)``: the same checks on a Floor built in
  memory (e.g. from database rows), collected instead of raised.
- ``collection_to_geojson(...)``: the writer, also for a draft floor that has no outline yet.

Coordinates are metres in the floor's local frame, y up.  Headings are degrees counter-clockwise from
+x, normalised to [0, 360).  Feature ids (the GeoJSON ``id`` member; terminals also ``properties.id``)
are unique within a floor.  A terminal must stand inside the outline (on it counts) and a zone must lie
inside it.  Polygon rings are stored closed (first point repeated last), as in GeoJSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
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

# A zone may stick out of the outline by this much (m², the privacy tolerance's scale) before it counts as
# crossing it: drawings traced to wall faces rather than centre lines leave slivers of a few cm².
OUTLINE_SLACK_M2 = 0.01

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
    """One parsed floor."""

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


def normalise_heading(deg: float) -> float:
    """A heading in degrees brought into [0, 360): the one rule for every door."""
    heading = math.fmod(float(deg), 360.0)
    if heading < 0.0:
        heading += 360.0
    # -1e-20 + 360.0 rounds to 360.0, the same direction as 0; and -0.0 is written as 0.0.
    return 0.0 if heading >= 360.0 or heading == 0.0 else heading


# --------------------------------------------------------------------------------------------- parsing


def short_label(label: str, limit: int = 40) -> str:
    """A name or id cut to ``limit`` characters for messages (a 100,000-character id stays readable)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _where(index: int, kind: str | None, label: str | None = None) -> str:
    if label is not None:
        label = short_label(label)
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
    heading = normalise_heading(_number(props["heading_deg"], "heading_deg", where))
    if "hfov_deg" not in props:
        raise InputError("missing hfov_deg", where=where)
    hfov = _number(props["hfov_deg"], "hfov_deg", where)
    range_m = hpx = height = tilt = None
    if props.get("range_m") is not None:
        range_m = _number(props["range_m"], "range_m", where)
    if props.get("hpx") is not None:
        raw = props["hpx"]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not float(raw).is_integer():
            raise InputError(f"hpx must be a positive integer (at most 1e6), got {raw!r}", where=where)
        hpx = int(raw)
    if props.get("height_m") is not None:
        height = _number(props["height_m"], "height_m", where)
    if props.get("tilt_deg") is not None:
        tilt = _number(props["tilt_deg"], "tilt_deg", where)
    face = _optional_bool(props, "face_recognition", where, default=(ttype == "face_terminal"))
    audio = _optional_bool(props, "audio", where)
    locked = props.get("locked")
    if locked is not None:
        _choice(locked, "locked", LOCKS, where)
    terminal = Terminal(
        id=tid, type=ttype, x=x, y=y, heading_deg=heading, hfov_deg=hfov, range_m=range_m, hpx=hpx,
        height_m=height, tilt_deg=tilt, face_recognition=face, audio=audio, locked=locked,
        feature_id=feature.get("id"), extra=_extra(props, _TERMINAL_KEYS),
    )
    problem = terminal_value_problem(terminal)
    if problem:
        raise InputError(problem, where=where)
    return terminal


# Narrower than any real lens (a 40x zoom at full tele is about 1.5 degrees); below it the tier range and the
# sector arithmetic leave floating point (5e-324 degrees overflowed the visibility code).
MIN_HFOV_DEG = 0.1


def hfov_in_range(hfov_deg: float) -> bool:
    """Whether a horizontal field of view is one a lens can have: MIN_HFOV_DEG to 360 degrees."""
    return MIN_HFOV_DEG <= hfov_deg <= 360.0


def hfov_problem(hfov_deg: float) -> str:
    """The message for a field of view outside MIN_HFOV_DEG to 360 degrees."""
    return f"hfov_deg must be in [{MIN_HFOV_DEG:g}, 360], got {hfov_deg}"


def terminal_value_problem(t: Terminal) -> str | None:
    """What is wrong with a terminal's own values (optics, pose), or None; placement is checked apart."""
    for what, value in (("coordinate", t.x), ("coordinate", t.y), ("heading_deg", t.heading_deg),
                        ("hfov_deg", t.hfov_deg), ("range_m", t.range_m), ("height_m", t.height_m),
                        ("tilt_deg", t.tilt_deg)):
        if value is not None and not math.isfinite(value):
            return f"{what} must be finite, got {value!r}"
    if abs(t.x) > MAX_COORD or abs(t.y) > MAX_COORD:
        return f"coordinate {[t.x, t.y]} is not in local metres (|value| > {MAX_COORD:g})"
    if t.type not in TERMINAL_TYPES:
        return f"type must be one of {', '.join(TERMINAL_TYPES)}; got {t.type!r}"
    if not hfov_in_range(t.hfov_deg):
        return hfov_problem(t.hfov_deg)
    if t.range_m is not None and not 0 < t.range_m <= MAX_COORD:
        return f"range_m must be positive metres (at most {MAX_COORD:g}), got {t.range_m}"
    if t.hpx is not None and not 0 < t.hpx <= 1e6:
        return f"hpx must be a positive integer (at most 1e6), got {t.hpx!r}"
    if t.range_m is None and t.hpx is None:
        return "terminal needs range_m or hpx"
    if t.height_m is not None and t.height_m < 0:
        return f"height_m must be >= 0, got {t.height_m}"
    if t.tilt_deg is not None and not -90.0 <= t.tilt_deg <= 90.0:
        return f"tilt_deg must be in [-90, 90], got {t.tilt_deg}"
    return None


def outside_outline(region: Polygon, x: float, y: float) -> bool:
    """Whether a mount point lies outside the outline (a point on the outline, on the outer wall, is inside)."""
    point = Point(x, y)
    return not region.covers(point) and region.distance(point) > 1e-9


def zone_crosses_outline(outline: Outline, zone: Zone) -> bool:
    """Whether a zone reaches outside the outline's exterior ring (by more than OUTLINE_SLACK_M2).

    Holes are not counted: a room drawn as a rectangle around a pillar or an atrium is fine.
    """
    return zone.geometry.difference(Polygon(outline.exterior)).area > OUTLINE_SLACK_M2


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


def parse_feature(feature: Any, index: int = 0) -> Outline | Wall | Opening | Zone | Terminal:
    """Validate one feature on its own (numbered ``index`` in messages); floor-level rules are parse_floor's."""
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
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, str | int | float)):
        raise InputError(f"a feature id must be a string or a number, got {fid!r}", where=where)
    if kind == "outline":
        where = _where(index, "outline")
        exterior, holes = _polygon(_geometry(feature, where, ("Polygon",)), where, "outline")
        return Outline(exterior, holes, fid, _extra(props, ("kind",)))
    if kind == "wall":
        where = _where(index, "wall", fid if isinstance(fid, str) else None)
        geom = _geometry(feature, where, ("LineString", "Polygon"))
        see = _optional_bool(props, "see_through", where)
        extra = _extra(props, ("kind", "see_through"))
        if geom["type"] == "LineString":
            return Wall(_line(geom.get("coordinates"), where, "wall"), False, (), see, fid, extra)
        exterior, holes = _polygon(geom, where, "wall")
        return Wall(exterior, True, holes, see, fid, extra)
    if kind == "opening":
        where = _where(index, "opening", fid if isinstance(fid, str) else None)
        geom = _geometry(feature, where, ("LineString",))
        return Opening(_line(geom.get("coordinates"), where, "opening"), fid, _extra(props, ("kind",)))
    if kind == "zone":
        return _parse_zone(feature, props, index)
    return _parse_terminal(feature, props, index)


def parse_floor(obj: dict) -> Floor:
    """Validate a floor-format FeatureCollection and return the typed :class:`Floor`."""
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise InputError(f"a {FORMAT} file must be a GeoJSON FeatureCollection")
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
    zone_index: list[int] = []
    ids: set[str | int] = set()
    for index, feature in enumerate(features):
        item = parse_feature(feature, index)
        fid = feature.get("id")
        if fid is not None:
            if fid in ids:
                raise InputError(f"duplicate feature id {fid!r}", where=_where(index, None))
            ids.add(fid)
        if isinstance(item, Outline):
            if outline is not None:
                raise InputError("a floor has exactly one outline", where=_where(index, "outline"))
            outline = item
        elif isinstance(item, Wall):
            walls.append(item)
        elif isinstance(item, Opening):
            openings.append(item)
        elif isinstance(item, Zone):
            zones.append(item)
            zone_index.append(index)
        else:
            terminals.append(item)
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
        if outside_outline(region, t.x, t.y):
            raise InputError(f"terminal at ({t.x}, {t.y}) is outside the floor outline", where=where)
    names: set[str] = set()
    for z, index in zip(zones, zone_index, strict=True):
        if z.name in names:
            raise InputError(f"duplicate zone name {z.name!r}", where=_where(index, "zone", z.name))
        names.add(z.name)
        if zone_crosses_outline(outline, z):
            raise InputError("zone reaches outside the floor outline", where=_where(index, "zone", z.name))
    return Floor(
        outline=outline, walls=tuple(walls), openings=tuple(openings), zones=tuple(zones),
        terminals=tuple(terminals), name=name,
        extra={k: v for k, v in obj.items() if k not in ("type", "format", "name", "features")},
    )


@dataclass(frozen=True)
class Problem:
    """One rule a floor built in memory breaks: the feature it names and why."""

    kind: str  # "terminal" or "zone"
    label: str  # the terminal id or zone name
    message: str


def floor_problems(floor: Floor) -> list[Problem]:
    """Every terminal and zone of an in-memory floor that breaks a rule parse_floor enforces."""
    return terminal_problems(floor) + zone_problems(floor)


def terminal_problems(floor: Floor) -> list[Problem]:
    """Every terminal of an in-memory floor that breaks a rule parse_floor enforces (floor_problems' first part)."""
    region = floor.outline.geometry
    shapely.prepare(region)
    problems: list[Problem] = []
    seen: set[str] = set()
    for t in floor.terminals:
        message = terminal_value_problem(t)
        if message is None and t.id in seen:
            message = f"duplicate terminal id {t.id!r}"
        if message is None and outside_outline(region, t.x, t.y):
            message = f"terminal at ({t.x}, {t.y}) is outside the floor outline"
        seen.add(t.id)
        if message:
            problems.append(Problem("terminal", t.id, message))
    return problems


def zone_problems(floor: Floor) -> list[Problem]:
    """Every zone of an in-memory floor that breaks a rule parse_floor enforces (floor_problems' second part)."""
    problems: list[Problem] = []
    names: set[str] = set()
    for z in floor.zones:
        if z.name in names:
            problems.append(Problem("zone", z.name, f"duplicate zone name {z.name!r}"))
        names.add(z.name)
        if not z.geometry.is_valid or z.geometry.area <= 0.0:
            problems.append(Problem("zone", z.name, "zone polygon is invalid"))
        elif zone_crosses_outline(floor.outline, z):
            problems.append(Problem("zone", z.name, "zone reaches outside the floor outline"))
    return problems


def without_bad_terminals(floor: Floor, *, zones: bool = True) -> tuple[Floor, list[Problem]]:
    """The floor minus the terminals that break a rule, and every problem found (so checks still run); with
    ``zones=False`` the zones are not checked and only the terminals' problems are listed (the same floor)."""
    problems = floor_problems(floor) if zones else terminal_problems(floor)
    bad = {p.label for p in problems if p.kind == "terminal"}
    if not bad:
        return floor, problems
    kept = tuple(t for t in floor.terminals if t.id not in bad)
    return replace(floor, terminals=kept), problems


def load_floor(path: str | PathLike[str]) -> Floor:
    """Read a floor-format JSON file and parse it."""
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
    """Export a :class:`Floor` as a floor-format FeatureCollection (round-trips exactly)."""
    return collection_to_geojson(floor.outline, floor.walls, floor.openings, floor.zones, floor.terminals,
                                 name=floor.name, extra=floor.extra)


def collection_to_geojson(outline: Outline | None, walls: Iterable[Wall] = (), openings: Iterable[Opening] = (),
                          zones: Iterable[Zone] = (), terminals: Iterable[Terminal] = (), *,
                          name: str | None = None, extra: dict[str, Any] | None = None) -> dict:
    """The floor-format writer; without an outline it writes a draft that parse_floor refuses."""
    features: list[dict] = []
    if outline is not None:
        features.append(outline_feature(outline))
    features.extend(wall_feature(w) for w in walls)
    features.extend(opening_feature(op) for op in openings)
    features.extend(zone_feature(z) for z in zones)
    features.extend(terminal_feature(t) for t in terminals)
    out: dict[str, Any] = {"type": "FeatureCollection", "format": FORMAT}
    if name is not None:
        out["name"] = name
    out.update(extra or {})
    out["features"] = features
    return out


def outline_feature(o: Outline) -> dict:
    """The outline as a GeoJSON Feature."""
    return _feature(o.feature_id, {"kind": "outline", **o.extra}, _poly_json(o.exterior, o.holes))


def wall_feature(w: Wall) -> dict:
    """A wall as a GeoJSON Feature."""
    props: dict[str, Any] = {"kind": "wall", **w.extra}
    if w.see_through:
        props["see_through"] = True
    geom = _poly_json(w.coords, w.holes) if w.closed else {"type": "LineString", "coordinates": _ring_json(w.coords)}
    return _feature(w.feature_id, props, geom)


def opening_feature(op: Opening) -> dict:
    """An opening as a GeoJSON Feature."""
    return _feature(op.feature_id, {"kind": "opening", **op.extra},
                    {"type": "LineString", "coordinates": _ring_json(op.coords)})


def zone_feature(z: Zone) -> dict:
    """A zone as a GeoJSON Feature."""
    props: dict[str, Any] = {"kind": "zone", "zone": z.zone, "name": z.name, "k": z.k, "tier": z.tier}
    if z.use is not None:
        props["use"] = z.use
    props.update(z.extra)
    return _feature(z.feature_id, props, _poly_json(z.exterior, z.holes))


def terminal_feature(t: Terminal) -> dict:
    """A terminal as a GeoJSON Point Feature."""
    props: dict[str, Any] = {"kind": "terminal", "id": t.id, "type": t.type, "heading_deg": t.heading_deg,
                             "hfov_deg": t.hfov_deg}
    for key in ("range_m", "hpx", "height_m", "tilt_deg", "locked"):
        value = getattr(t, key)
        if value is not None:
            props[key] = value
    props["face_recognition"] = t.face_recognition
    props["audio"] = t.audio
    props.update(t.extra)
    return _feature(t.feature_id, props, {"type": "Point", "coordinates": [t.x, t.y]})
