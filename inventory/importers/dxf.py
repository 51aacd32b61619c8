"""DXF drawings through ezdxf: layers mapped (or guessed) to walls, glass, doors, rooms, labels and outline.

Metres come from $INSUNITS, the chosen units, a scale factor or a two-point calibration. Rooms are the drawn
room polygons and the spaces the walls and doors enclose, named from the TEXT/MTEXT labels inside them.
"""

from __future__ import annotations

import io
import math
import re
import struct
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import shapely
from ezdxf.lldxf.const import DXFError
from shapely.geometry import LineString, Point, Polygon

from inventory.importers.base import (
    Background,
    ImportFailed,
    ImportOptions,
    ImportResult,
    Level,
    Limits,
    check_time,
)
from inventory.importers.features import collection, feature, lines, valid_polygons
from inventory.importers.plan import (
    MIN_ROOM_AREA_M2,
    Label,
    clusters,
    enclosed,
    is_label,
    long_axis,
    name_room,
    outline_for,
    size_note,
)
from inventory.importers.zones import private_use, unique_name

name = "dxf"
extensions = (".dxf",)

ROLES = ("wall", "window", "glass", "door", "room", "private", "text", "outline", "ignore")
# First match wins: labels before rooms ("A-AREA-IDEN" is text), doors and windows before walls, and
# layers that are never structure (furniture, dimensions, hatching, roof projections) before everything else.
_GUESSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"text|label|anno|iden|txt|name|beschrift|texte|标注|文字", re.I), "text"),
    (re.compile(r"furn|m[öo]bel|mobilier|meuble|equip|plant|tree|arbre|baum|landsc|hatch|schraff|hachur|"
                r"pattern|flooring|paving|tiles?\b|carrel|fliese|dim|cote|bema[ßs]|尺寸|家具|defpoints|"
                r"vport|viewport|title|border|cartouche|legend|grid|axis|achse|proj|overhead|roof|toit|dach|"
                r"hidden|cach[ée]|verdeckt|cancel|demo|abriss", re.I), "ignore"),
    (re.compile(r"toilet|\bwc\b|restroom|lavator|shower|douche|dusch|changing|vestiaire|umkleide|sanit|\bsan\b|"
                r"卫生间|厕所|洗手间|淋浴|更衣", re.I), "private"),
    (re.compile(r"door|\bt[üu]r|porte|puerta|\bdr\b|门", re.I), "door"),
    (re.compile(r"glass|glaz|crystal|cristal|verre|\bglas\b|verglas|玻璃", re.I), "glass"),
    (re.compile(r"window|fenster|fen[êe]tre|ventana|\bwin\b|窗", re.I), "window"),
    (re.compile(r"wall|\bmurs?\b|wand|w[äa]nde|mauer|cloison|partition|struct|column|\bcols?\b|pillar|poteau|"
                r"st[üu]tze|concr|b[ée]ton|plaster|pl[âa]tre|gips|brick|brique|ziegel|masonry|ma[çc]onn|"
                r"t[ôo]le|existing|墙|柱|隔断", re.I), "wall"),
    (re.compile(r"outline|boundary|bndy|footprint|perimeter|umriss|contour|轮廓", re.I), "outline"),
    (re.compile(r"room|space|area|zone|\brm\b|raum|r[äa]ume|pi[èe]ce|salle|local|房间|区域|空间", re.I), "room"),
]
# $INSUNITS code -> metres per drawing unit, for units a floor plan can plausibly use.
INSUNITS = {1: 0.0254, 2: 0.3048, 4: 0.001, 5: 0.01, 6: 1.0, 10: 0.9144, 14: 0.1, 21: 1200 / 3937}
UNIT_NAMES = {"in": 0.0254, "inch": 0.0254, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "mm": 0.001,
              "cm": 0.01, "dm": 0.1, "m": 1.0, "yd": 0.9144}
# Units to suggest for a plan that is not building-sized, in order of preference.
_SUGGEST = {"mm": 0.001, "m": 1.0, "cm": 0.01, "in": 0.0254, "ft": 0.3048}
MAX_BLOCK_DEPTH = 16
# Chord tolerance for arcs and bulges, in metres.
FLATTEN_M = 0.01
# A door swing: an arc of this radius (metres) and sweep (degrees).
DOOR_RADIUS_M = (0.45, 1.6)
DOOR_SWEEP_DEG = (60.0, 120.0)
# A straight segment at least this long (metres) counts towards a layer looking like walls.
LONG_M = 1.0
# Geometric roles: what the importer turns into floor geometry.
_GEOMETRIC = ("wall", "window", "glass", "door", "room", "private", "outline")


def guess_role(layer: str) -> str:
    """A role for a layer from its name (e.g. A-WALL -> wall, Doors -> door); "ignore" when nothing fits."""
    return _name_guess(layer) or "ignore"


def _name_guess(layer: str) -> str | None:
    for pattern, role in _GUESSES:
        if pattern.search(layer):
            return role
    return None


@dataclass
class _Shape:
    role: str
    layer: str
    group: int
    kind: str  # "line", "arc", "text"
    points: list[tuple[float, float]] = field(default_factory=list)
    closed: bool = False
    text: str = ""
    center: tuple[float, float] | None = None
    radius: float = 0.0
    sweep: float = 0.0
    height: float = 0.0
    handle: str = ""
    block: str | None = None

def _read(data: bytes, where: str) -> Any:
    import ezdxf
    from ezdxf import recover

    tail = data[-64:].rstrip(b"\x00 \t\r\n")
    if not tail.endswith(b"EOF"):
        # ezdxf recovers what it can from a cut-off file; a plan missing its end is refused instead.
        raise ImportFailed("truncated DXF (no EOF marker at the end)", where=where)
    try:
        if data.startswith(b"AutoCAD Binary DXF"):
            # ezdxf's recover mode reads text only; binary DXF goes through the binary tag loader.
            from ezdxf.document import Drawing
            from ezdxf.lldxf.tagger import binary_tags_loader

            doc = Drawing.load(binary_tags_loader(data, errors="surrogateescape"))
            auditor = doc.audit()
        else:
            doc, auditor = recover.read(io.BytesIO(data))
    except ezdxf.DXFStructureError as exc:
        raise ImportFailed(f"corrupt or truncated DXF ({exc})", where=where) from exc
    except (ValueError, TypeError, UnicodeDecodeError, IndexError, KeyError, EOFError, OSError, struct.error) as exc:
        raise ImportFailed(f"unreadable DXF ({type(exc).__name__}: {exc})", where=where) from exc
    from ezdxf.audit import AuditError

    # A layer name AutoCAD would not allow ("Doors/Windows") is harmless here: read on, and warn.
    fatal = [e for e in auditor.errors if e.code != AuditError.INVALID_LAYER_NAME]
    if fatal:
        bad = "; ".join(str(e.message) for e in fatal[:3])
        raise ImportFailed(f"DXF has unrecoverable errors ({bad})", where=where)
    doc.sightline_bad_layers = sorted({str(e.data) for e in auditor.errors if e.code == AuditError.INVALID_LAYER_NAME})
    return doc


def _units(doc: Any, where: str, options: ImportOptions) -> tuple[float | None, str]:
    """(metres per drawing unit, unit name); None when the drawing does not say and the user has not chosen."""
    if options.scale is not None:
        if not (math.isfinite(options.scale) and options.scale > 0):
            raise ImportFailed(f"the scale must be a positive number of metres per drawing unit, got {options.scale!r}",
                               where=where)
        return float(options.scale), f"scale {options.scale:g} m per unit"
    if options.calibration is not None:
        try:
            (x1, y1), (x2, y2), dist = options.calibration
            units = math.dist((float(x1), float(y1)), (float(x2), float(y2)))
            dist = float(dist)
        except (TypeError, ValueError) as exc:
            raise ImportFailed("calibration must be two drawing points and their distance in metres", where=where) from exc
        if not (math.isfinite(dist) and dist > 0 and math.isfinite(units) and units > 0):
            raise ImportFailed("calibration needs two distinct points and a positive distance in metres", where=where)
        return dist / units, "two-point calibration"
    if options.units:
        key = options.units.strip().lower()
        if key not in UNIT_NAMES:
            raise ImportFailed(f"unknown units {options.units!r}; use one of {', '.join(sorted(UNIT_NAMES))}",
                               where=where)
        return UNIT_NAMES[key], key
    code = doc.header.get("$INSUNITS", 0)
    if code in INSUNITS:
        from ezdxf import units

        return INSUNITS[code], units.unit_name(code)
    if code == 0:
        return None, "unitless"
    raise ImportFailed(f"$INSUNITS {code} is not a floor-plan unit; choose the units (mm, cm, m, in, ft)", where=where)


@dataclass
class _Item:
    entity: Any
    layer: str
    group: int
    block: str | None


def _walk(msp: Any, limits: Limits, where: str, layer_map: dict[str, str] | None = None) -> Iterator[_Item]:
    """Every entity with its effective layer, top-level group and top-level block, refusing block bombs.

    Blocks placed on a layer whose name says it is never structure (furniture, plants) are not expanded:
    they are most of a furnished plan's entities and would only be dropped.
    """
    count = 0
    layer_map = layer_map or {}
    sizes: dict[str, int] = {}
    cap = limits.max_dxf_entities

    def block_size(name: str, depth: int) -> int:
        """Entities one placement of the block expands to, counted without expanding anything (capped at the
        limit + 1, so a 10,000 x 10,000 MINSERT is refused from its row and column counts alone)."""
        if name in sizes:
            return sizes[name]
        if depth >= MAX_BLOCK_DEPTH:
            raise ImportFailed(f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels", where=where)
        sizes[name] = cap + 1  # a block that places itself counts as too big while it is being counted
        block = msp.doc.blocks.get(name) if msp.doc is not None else None
        total = 0
        for sub in block or ():
            total += 1
            if sub.dxftype() == "INSERT":
                total += len(sub.attribs) + placements(sub) * block_size(str(sub.dxf.get("name", "")), depth + 1)
            if total > cap:
                break
        sizes[name] = min(total, cap + 1)
        return sizes[name]

    def placements(insert: Any) -> int:
        """How many copies an INSERT places: rows x columns of a MINSERT, else 1."""
        rows, cols = int(insert.dxf.get("row_count", 1) or 1), int(insert.dxf.get("column_count", 1) or 1)
        return max(1, rows) * max(1, cols)

    def expand(entity: Any, layer: str, group: int, block: str | None, depth: int) -> Iterator[_Item]:
        nonlocal count
        count += 1
        if count % 2000 == 0:
            check_time("expanding blocks", where)
        if count > limits.max_dxf_entities:
            raise ImportFailed(
                f"drawing expands to more than {limits.max_dxf_entities} entities (nested block bomb?)", where=where
            )
        own = entity.dxf.get("layer", "0")
        # AutoCAD rule: block content on layer 0 takes the layer of the INSERT that places it.
        eff = layer if own == "0" and depth > 0 else own
        if entity.dxftype() == "INSERT" and eff.lower() not in layer_map and _name_guess(eff) == "ignore":
            yield _Item(entity, eff, group, block)
        elif entity.dxftype() == "DIMENSION":
            try:
                for sub in entity.virtual_entities():
                    yield from expand(sub, eff, group, block, depth + 1)
            except (ValueError, ZeroDivisionError, ArithmeticError, KeyError, DXFError, AttributeError):
                yield _Item(entity, eff, group, block)
        elif entity.dxftype() == "INSERT":
            if depth >= MAX_BLOCK_DEPTH:
                raise ImportFailed(f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels", where=where)
            top = block if depth > 0 else str(entity.dxf.get("name", ""))
            predicted = placements(entity) * block_size(str(entity.dxf.get("name", "")), depth + 1)
            if count + predicted > cap:
                raise ImportFailed(f"drawing expands to more than {cap} entities (nested block bomb?): block "
                                   f"{entity.dxf.get('name')!r} placed {placements(entity):,} times", where=where)
            for attrib in entity.attribs:
                yield _Item(attrib, attrib.dxf.get("layer", eff), group, top)
            try:
                for ins in (entity.multi_insert() if entity.mcount > 1 else [entity]):
                    for sub in ins.virtual_entities():
                        yield from expand(sub, eff, group, top, depth + 1)
            except (ValueError, ZeroDivisionError, ArithmeticError, KeyError, DXFError) as exc:
                raise ImportFailed(f"cannot expand block {entity.dxf.get('name')!r} ({exc})",
                                   where=f"{where}: layer {eff}") from exc
        else:
            yield _Item(entity, eff, group, block)

    for i, e in enumerate(msp):
        yield from expand(e, "0", i, None, 0)


def _wcs(entity: Any, p: Any) -> tuple[float, float]:
    """An OCS point of a 2D entity in world coordinates (mirrored blocks give extrusion (0, 0, -1))."""
    ext = entity.dxf.get("extrusion")
    if ext is not None and (abs(ext[0]) > 1e-12 or abs(ext[1]) > 1e-12 or abs(ext[2] - 1.0) > 1e-12):
        w = entity.ocs().to_wcs(p)
        return (w.x, w.y)
    return (p[0], p[1])


def _shape(item: _Item, role: str, chord: float) -> _Shape | None:
    from ezdxf import path

    entity = item.entity
    t = entity.dxftype()
    handle = str(entity.dxf.get("handle", ""))
    base = {"role": role, "layer": item.layer, "group": item.group, "handle": handle, "block": item.block}
    if t in ("TEXT", "ATTRIB", "MTEXT"):
        text = entity.plain_text() if t == "MTEXT" else entity.dxf.get("text", "")
        p = entity.dxf.get("insert")
        if p is None or not str(text).strip():
            return None
        # TEXT and ATTRIB sit in their OCS; MTEXT's insertion point is already in world coordinates.
        xy = (p.x, p.y) if t == "MTEXT" else _wcs(entity, p)
        height = float(entity.dxf.get("char_height" if t == "MTEXT" else "height", 0) or 0)
        return _Shape(kind="text", points=[xy], text=" ".join(str(text).split()), height=height, **base)
    if t not in ("LINE", "LWPOLYLINE", "POLYLINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE"):
        return None
    if t == "POLYLINE" and (entity.is_polygon_mesh or entity.is_poly_face_mesh):
        return None
    if role == "door" and t in ("ELLIPSE", "SPLINE"):
        return None  # handles and hinges drawn inside a door symbol: only its arcs and lines place the door
    try:
        if t == "LINE":
            a, b = entity.dxf.start, entity.dxf.end
            pts = [(a.x, a.y), (b.x, b.y)]
        else:
            pts = [(v.x, v.y) for v in path.make_path(entity).flattening(chord, segments=8)]
    except (ValueError, TypeError, ZeroDivisionError, ArithmeticError):
        return None
    if len(pts) < 2:
        return None
    closed = t == "CIRCLE" or (t in ("LWPOLYLINE", "POLYLINE") and bool(entity.is_closed))
    if closed and pts[0] != pts[-1]:
        pts.append(pts[0])
    if t == "ARC":
        sweep = (entity.dxf.end_angle - entity.dxf.start_angle) % 360 or 360.0
        return _Shape(kind="arc", points=pts, center=_wcs(entity, entity.dxf.center), radius=float(entity.dxf.radius),
                      sweep=sweep, **base)
    return _Shape(kind="line", points=pts, closed=closed, **base)


@dataclass
class _Stats:
    entities: int = 0
    long_units: float = 0.0  # total length of long straight segments, drawing units
    straight_units: float = 0.0
    door_arcs: int = 0
    closed_areas: int = 0


class _Extent:
    """The corner points of everything in model space, from cheap per-entity bounds."""

    def __init__(self) -> None:
        self.xmin = self.ymin = math.inf
        self.xmax = self.ymax = -math.inf

    def add(self, x: float, y: float, r: float = 0.0) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.xmin, self.ymin = min(self.xmin, x - r), min(self.ymin, y - r)
            self.xmax, self.ymax = max(self.xmax, x + r), max(self.ymax, y + r)

    @property
    def has_data(self) -> bool:
        return self.xmin <= self.xmax


def _stats(item: _Item, s: _Stats, factor: float, box: _Extent) -> None:
    """Cheap per-layer content statistics for guessing roles, and the drawing's extent (no flattening)."""
    e, t = item.entity, item.entity.dxftype()
    s.entities += 1
    long_u = LONG_M / factor
    try:
        if t in ("TEXT", "MTEXT", "ATTRIB", "INSERT", "POINT"):
            p = e.dxf.get("insert") if t != "POINT" else e.dxf.get("location")
            if p is not None:
                box.add(*_wcs(e, p)) if t != "MTEXT" else box.add(p[0], p[1])
        elif t == "CIRCLE":
            box.add(*_wcs(e, e.dxf.center), e.dxf.radius)
        elif t == "ARC":
            for v in e.flattening(max(e.dxf.radius * 0.01, 1e-9)):
                box.add(v.x, v.y)
        elif t == "ELLIPSE":
            c, m = e.dxf.center, e.dxf.major_axis
            box.add(c[0], c[1], math.hypot(m[0], m[1]))
        elif t == "SPLINE":
            for p in e.control_points:
                box.add(p[0], p[1])
        elif t == "POLYLINE":
            for v in e.points():
                box.add(*_wcs(e, v))
        if t == "LINE":
            box.add(e.dxf.start[0], e.dxf.start[1])
            box.add(e.dxf.end[0], e.dxf.end[1])
            n = math.hypot(e.dxf.end[0] - e.dxf.start[0], e.dxf.end[1] - e.dxf.start[1])
            s.straight_units += n
            s.long_units += n if n >= long_u else 0.0
        elif t == "LWPOLYLINE":
            pts = list(e.get_points("xyb"))
            for p in pts:
                box.add(*_wcs(e, p[:2]))
            if e.closed and len(pts) >= 3 and shapely.Polygon([p[:2] for p in pts]).area * factor**2 >= 2.0:
                s.closed_areas += 1
            for a, b in zip(pts, pts[1:] + ([pts[0]] if e.closed else []), strict=False):
                if abs(a[2]) < 1e-9:
                    n = math.dist(a[:2], b[:2])
                    s.straight_units += n
                    s.long_units += n if n >= long_u else 0.0
        elif t == "ARC":
            sweep = (e.dxf.end_angle - e.dxf.start_angle) % 360
            if DOOR_RADIUS_M[0] <= e.dxf.radius * factor <= DOOR_RADIUS_M[1] and DOOR_SWEEP_DEG[0] <= sweep <= DOOR_SWEEP_DEG[1]:
                s.door_arcs += 1
    except (ValueError, TypeError, AttributeError, ArithmeticError, DXFError, shapely.errors.GEOSException):
        pass


def _roles(stats: dict[str, _Stats], layer_map: dict[str, str], warnings: list[str], where: str,
           texts: Counter[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(layer -> role, layer -> how it was chosen: mapped, name, content, busiest)."""
    roles: dict[str, str] = {}
    how: dict[str, str] = {}
    longest = max((s.long_units for s in stats.values()), default=0.0)
    for layer, s in stats.items():
        if layer.lower() in layer_map:
            roles[layer], how[layer] = layer_map[layer.lower()], "mapped"
            continue
        guess = _name_guess(layer)
        if guess is not None:
            roles[layer], how[layer] = guess, "name"
            continue
        # Content: mostly long straight lines -> walls; door swings -> doors; closed areas -> rooms; texts -> labels.
        geometric = max(s.entities - texts[layer], 1)
        if longest > 0 and s.long_units >= 0.25 * longest and s.long_units >= 0.5 * s.straight_units:
            roles[layer], how[layer] = "wall", "content"
        elif s.door_arcs >= 2 and s.door_arcs >= 0.2 * geometric:
            roles[layer], how[layer] = "door", "content"
        elif s.closed_areas >= 3 and s.closed_areas >= 0.5 * geometric:
            roles[layer], how[layer] = "room", "content"
        elif texts[layer] and texts[layer] >= 0.5 * s.entities:
            roles[layer], how[layer] = "text", "content"
        else:
            roles[layer], how[layer] = "ignore", "none"
    if not any(r == "wall" for r in roles.values()):
        # Not layers the user mapped, nor ones whose name says they are never structure (furniture, dimensions).
        candidates = [ln for ln in stats if how[ln] in ("none", "content") and stats[ln].straight_units > 0]
        if candidates:
            busiest = max(candidates, key=lambda ln: (stats[ln].long_units, stats[ln].straight_units))
            roles[busiest], how[busiest] = "wall", "busiest"
            warnings.append(f"{where}: no layer looks like walls; proposed layer {busiest!r} (the most long straight "
                            "lines) as walls: check the mapping")
    return roles, how

def _layer_map(options: ImportOptions, fname: str) -> dict[str, str]:
    layer_map = {k.strip().lower(): v for k, v in (options.layer_map or {}).items()}
    for lname, role in layer_map.items():
        if role not in ROLES:
            raise ImportFailed(f"role {role!r} is not one of {', '.join(ROLES)}", where=f"{fname}: layer {lname}")
    return layer_map


_TEXT_TYPES = ("TEXT", "MTEXT", "ATTRIB")


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import one DXF drawing as one floor (one drawing of model space), with a rendered background."""
    if len(files) != 1:
        raise ImportFailed("expected a single DXF file", where=source)
    fname, data = next(iter(files.items()))
    doc = _read(data, fname)
    factor, unit_name = _units(doc, fname, options)
    layer_map = _layer_map(options, fname)
    warnings: list[str] = []
    bad = sorted({ln.dxf.name for ln in doc.layers if re.search(r"[<>/\\\":;?*|=`]", ln.dxf.name)}
                 | set(getattr(doc, "sightline_bad_layers", ())))
    if bad:
        warnings.append(f"{fname}: layer name(s) {', '.join(map(repr, bad))} contain characters AutoCAD does not "
                        "allow; read anyway")
    msp = doc.modelspace()
    items = list(_walk(msp, limits, fname, layer_map))
    stats: dict[str, _Stats] = defaultdict(_Stats)
    texts: Counter[str] = Counter()
    ext = _Extent()
    for it in items:
        _stats(it, stats[it.layer], factor or 1.0, ext)
        if it.entity.dxftype() in _TEXT_TYPES:
            texts[it.layer] += 1
    if factor is None:
        hint = ""
        if ext.has_data:
            raw = max(ext.xmax - ext.xmin, ext.ymax - ext.ymin)
            note = size_note(raw * 1e6, 0.0, 1e6, _SUGGEST, "?")  # always out of range: gives the best unit
            hint = f"; {note.split('; ', 1)[1].split(':')[0]}" if note and "; " in note else ""
        raise ImportFailed("drawing units unknown ($INSUNITS is 0, unitless); choose the units (mm, cm, m, in, ft)"
                           + hint, where=fname)
    check_time("reading the layers", fname)
    roles, how = _roles(stats, layer_map, warnings, fname, texts)
    chord = FLATTEN_M / factor

    shapes: list[_Shape] = []
    dropped: Counter[str] = Counter()
    for i, it in enumerate(items):
        if i % 2000 == 0:
            check_time("flattening curves", fname)
        role = roles[it.layer]
        is_text = it.entity.dxftype() in _TEXT_TYPES
        # Text on any layer can label a room (plans drawn all on layer 0), unless the user said to ignore it.
        if (role == "ignore" and not is_text) or (is_text and role == "ignore" and how[it.layer] == "mapped"):
            continue
        s = _shape(it, role, chord)
        if s is None:
            if not is_text:
                dropped[it.entity.dxftype()] += 1
            continue
        shapes.append(s)
    if not items or not (ext.has_data or shapes):
        raise ImportFailed("drawing has no geometry in model space", where=fname)
    mapping = [{"source": f"layer {ln}", "to": roles[ln], "count": stats[ln].entities,
                "guessed": how[ln] != "mapped", "how": how[ln]} for ln in sorted(stats)]
    geometric = [s for s in shapes if s.kind != "text" and s.role in _GEOMETRIC]
    if not geometric:
        found = ", ".join(f"{ln} ({roles[ln]})" for ln in sorted(stats)) or "none"
        raise ImportFailed(
            f"no geometry on wall, window, door, room or outline layers; layers found: {found}; map them", where=fname
        )

    # Several drawings in one model space (plan, elevations, sections): import one, let the user pick.
    boxes = [_box(s.points) for s in geometric]
    diag = math.dist(*shapely.total_bounds([shapely.box(*b) for b in boxes]).reshape(2, 2))
    found = clusters(boxes, [LineString(s.points).length if len(s.points) > 1 else 0.0 for s in geometric],
                     max(5.0 / factor, 0.1 * diag))
    found = [c for c in found if c[2] >= 0.1 * found[0][2]]
    pick = (options.cluster or 1) - 1
    if not 0 <= pick < len(found):
        raise ImportFailed(f"drawing {pick + 1} requested but model space holds {len(found)}", where=fname)
    cluster_info = [{"index": i + 1, "width_m": round((b[2] - b[0]) * factor, 2),
                     "height_m": round((b[3] - b[1]) * factor, 2), "share": round(w / sum(c[2] for c in found), 3)}
                    for i, (_, b, w) in enumerate(found)]
    x0, y0, x1, y1 = found[pick][1]
    if len(found) > 1:
        keep = {id(geometric[i]) for i in found[pick][0]}
        pad = max(2.0 / factor, 0.01 * diag)
        shapes = [s for s in shapes if id(s) in keep or (s.kind == "text" and x0 - pad <= s.points[0][0] <= x1 + pad
                                                          and y0 - pad <= s.points[0][1] <= y1 + pad)]
        sizes = ", ".join(f"{c['index']}: {c['width_m']:g} x {c['height_m']:g} m" for c in cluster_info)
        warnings.append(f"{fname}: model space holds {len(found)} separate drawings ({sizes}); imported drawing "
                        f"{pick + 1}: choose another if this is not the plan")
        ox, oy, mx, my = x0, y0, x1, y1
    elif ext.has_data:
        # The origin is the corner of everything in model space, so it does not move when the mapping changes.
        ox, oy, mx, my = ext.xmin, ext.ymin, ext.xmax, ext.ymax
    else:
        ox, oy, mx, my = x0, y0, x1, y1
    if note := size_note((x1 - x0) * factor, (y1 - y0) * factor, factor, _SUGGEST, unit_name):
        warnings.append(f"{fname}: {note}")

    def to_m(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [((x - ox) * factor, (y - oy) * factor) for x, y in pts]

    level_name = fname.rsplit(".", 1)[0]
    feats = _features(shapes, to_m, factor, fname, options, warnings)
    feats["name"] = level_name
    level = Level(name=level_name, floor=feats, ordinal=0.0)
    if options.render_background:
        check_time("before drawing the background", fname)
        extent = (0.0, 0.0, (mx - ox) * factor, (my - oy) * factor)
        try:
            level.background = _render(doc, (ox, oy, mx, my), extent, limits, fname)
        except ImportFailed as exc:
            warnings.append(f"{exc}; imported without a background")
    return ImportResult(
        format=name, source=source, levels=[level], warnings=warnings, mapping=mapping,
        georef={"units": unit_name, "metres_per_unit": factor, "drawing_origin": [ox, oy],
                "size_m": [round((x1 - x0) * factor, 2), round((y1 - y0) * factor, 2)]},
        dropped=dict(dropped), clusters=cluster_info if len(found) > 1 else [],
    )


def _box(pts: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _is_door_arc(s: _Shape, factor: float) -> bool:
    return (s.kind == "arc" and DOOR_RADIUS_M[0] <= s.radius * factor <= DOOR_RADIUS_M[1]
            and DOOR_SWEEP_DEG[0] <= s.sweep <= DOOR_SWEEP_DEG[1])


class _Doors:
    """Door symbols to openings: each swing arc gives one opening from its hinge to the closed end."""

    def __init__(self, to_m: Callable[[list[tuple[float, float]]], list[tuple[float, float]]], factor: float,
                 jambs: Any) -> None:
        self.to_m, self.factor, self.jambs = to_m, factor, jambs

    def opening(self, arc: _Shape, others: list[_Shape]) -> tuple[LineString, list[_Shape]]:
        """The doorway of one swing arc, and the lines of `others` that are its leaf."""
        hinge = Point(self.to_m([arc.center])[0])  # type: ignore[list-item]
        r = arc.radius * self.factor
        ends = [Point(p) for p in self.to_m([arc.points[0], arc.points[-1]])]
        leaves = []
        for s in others:
            if s.kind == "text" or s is arc:
                continue
            ln = LineString(self.to_m(s.points))
            if ln.distance(hinge) <= 0.1 * r and ln.length <= 1.6 * r:
                leaves.append((s, ln))
        if leaves:
            # The leaf is drawn open, ending at one end of the arc; the doorway runs to the other end.
            closed = max(ends, key=lambda e: min(ln.distance(e) for _, ln in leaves))
        elif self.jambs is not None and not self.jambs.is_empty:
            closed = min(ends, key=lambda e: self.jambs.distance(e))
        else:
            closed = ends[0]
        return LineString([hinge, closed]), [s for s, _ in leaves]


def _features(shapes: list[_Shape], to_m: Any, factor: float, fname: str, options: ImportOptions,
              warnings: list[str]) -> dict[str, Any]:
    """Walls, openings, zones and the outline of one drawing, in floor metres."""
    walls: list[dict[str, Any]] = []
    wall_geoms: list[Any] = []
    openings: list[LineString] = []
    outline_polys: list[Polygon] = []
    drawn_rooms: list[tuple[Polygon, str, str]] = []  # (polygon, layer, role)
    room_lines: list[LineString] = []
    private_marks: list[tuple[Point, str]] = []
    labels = [Label(Point(to_m(s.points)[0]), s.text, s.height * factor) for s in shapes
              if s.kind == "text" and is_label(s.text)]

    def add_wall(geom: Any, see_through: bool, source: str | None = None) -> None:
        for ln in lines(geom):
            walls.append(feature(ln, kind="wall", see_through=see_through or None, source=source))
            wall_geoms.append(ln)

    # Wall-layer lines first: their ends are the jambs doors close against.
    wall_shapes = [s for s in shapes if s.role in ("wall", "window", "glass") and s.kind != "text"]
    door_arcs_on_walls = [s for s in wall_shapes if s.role == "wall" and _is_door_arc(s, factor)]
    plain = [s for s in wall_shapes if s not in door_arcs_on_walls]
    wall_lines = [LineString(to_m(s.points)) for s in plain]
    ends = shapely.union_all([Point(c) for ln in wall_lines for c in (ln.coords[0], ln.coords[-1])]) \
        if wall_lines else None
    jambs = shapely.union_all(wall_lines) if wall_lines else None
    doors = _Doors(to_m, factor, jambs)
    leaf_ids: set[int] = set()
    for arc in door_arcs_on_walls:
        hinge = Point(to_m([arc.center])[0])  # type: ignore[list-item]
        # An arc on the wall layer is a door when its hinge sits on a wall end (a gap between wall ends).
        if ends is not None and ends.distance(hinge) <= 0.15:
            line, leaves = doors.opening(arc, [s for s in plain if s.kind == "line"])
            openings.append(line)
            leaf_ids |= {id(s) for s in leaves}
        else:
            plain.append(arc)
    for s in plain:
        if id(s) not in leaf_ids:
            add_wall(LineString(to_m(s.points)), s.role == "glass")

    # Door-layer symbols: a block is one door; loose (exploded) entities are matched to their swing arcs.
    groups: dict[int, list[_Shape]] = defaultdict(list)
    loose: list[_Shape] = []
    for s in shapes:
        if s.role == "door" and s.kind != "text":
            (groups[s.group] if s.block is not None else loose).append(s)
    for group in groups.values():
        arcs = [s for s in group if _is_door_arc(s, factor)]
        if arcs:
            for arc in arcs:
                openings.append(doors.opening(arc, group)[0])
            continue
        axis = long_axis([LineString(to_m(s.points)) for s in group])
        block_role = _name_guess(group[0].block or "")
        if axis.length <= 0:
            continue
        if block_role == "door" and axis.length <= 3.0:
            openings.append(axis)
        else:
            # A window or partition block kept on the door layer: a wall, see-through only if it says glass.
            add_wall(axis, block_role == "glass", source=f"dxf:block {group[0].block}")
    loose_arcs = [s for s in loose if _is_door_arc(s, factor)]
    used: set[int] = set()
    swings = []
    for arc in loose_arcs:
        line, leaves = doors.opening(arc, [s for s in loose if s.kind == "line"])
        openings.append(line)
        used |= {id(arc)} | {id(s) for s in leaves}
        swings.append(shapely.convex_hull(shapely.union_all([line, LineString(to_m(arc.points))])).buffer(0.1))
    near = shapely.union_all(swings) if swings else None
    for s in loose:
        if id(s) in used or s.kind != "line":
            continue
        ln = LineString(to_m(s.points))
        if near is not None and near.covers(ln):
            continue  # a frame or threshold line of a door symbol
        add_wall(ln, False)

    for s in shapes:
        if s.kind == "text" or s.role not in ("room", "private", "outline"):
            continue
        where = f"{fname}: layer {s.layer}, entity {s.handle or '?'}"
        if not s.closed or len(s.points) < 4:
            if s.role == "room":
                room_lines.append(LineString(to_m(s.points)))
            elif s.role == "private":
                private_marks.append((LineString(to_m(s.points)).centroid, s.layer))
            continue
        for p in valid_polygons(Polygon(to_m(s.points)), where, repair=options.repair, warnings=warnings):
            if s.role == "private" and (s.block is not None or p.area < MIN_ROOM_AREA_M2):
                private_marks.append((p.centroid, s.layer))  # a fixture (WC pan, shower tray), not a room
            elif s.role == "outline":
                outline_polys.append(p)
            else:
                drawn_rooms.append((p, s.layer, s.role))

    opening_feats = [feature(ln, kind="opening") for o in openings for ln in lines(o)]
    barriers = wall_geoms + [o for o in openings if o.length > 0] + room_lines + \
        [p.exterior for p, _, _ in drawn_rooms]
    check_time("finding doors", fname)
    found, footprint = enclosed(barriers)
    check_time("finding the rooms walls enclose", fname)
    zones = _zones(drawn_rooms, found, labels, private_marks, options)
    mapped = wall_geoms + openings + [p for p, _, _ in drawn_rooms] + room_lines
    outline = outline_for(outline_polys, footprint, mapped, wall_geoms, fname, warnings)
    if not opening_feats:
        warnings.append(f"{fname}: no doors found: every room is sealed; map the door layer or draw the doors")
    return collection("", [feature(outline, kind="outline")] + walls + opening_feats + zones)


def _zones(drawn: list[tuple[Polygon, str, str]], found: list[Polygon], labels: list[Label],
           marks: list[tuple[Point, str]], options: ImportOptions) -> list[dict[str, Any]]:
    """Zones from drawn room polygons and from the spaces walls enclose, named and classified by their labels."""
    rooms: list[tuple[Polygon, str | None, str]] = [(p, layer, role) for p, layer, role in drawn]
    drawn_union = shapely.union_all([p for p, _, _ in drawn]) if drawn else None
    for p in found:
        if drawn_union is not None and p.intersection(drawn_union).area > 0.2 * p.area:
            continue  # already drawn as a room polygon
        rooms.append((p, None, "room"))
    overrides = options.category_map or {}
    taken: set[str] = set()
    out = []
    for i, (p, layer, role) in enumerate(sorted(rooms, key=lambda r: (round(-r[0].bounds[3], 1), r[0].bounds[0]))):
        label, use = name_room(p, labels)
        if use is None and role == "private":
            use = private_use(layer) or "toilet"
        if use is None:
            mark = next((lyr for pt, lyr in marks if p.contains(pt)), None)
            if mark is not None:
                use = private_use(mark) or "toilet"
        zname = unique_name(label or f"Room {i + 1}", taken, str(i + 1))
        kind = "private" if use else "general"
        kind = overrides.get(f"room:{zname}", kind)
        if kind == "ignore":
            continue
        if kind not in ("private", "general", "required"):
            raise ImportFailed(f"room mapping {zname!r} -> {kind!r} is not a zone kind")
        out.append(feature(p, kind="zone", zone=kind, name=zname, use=use if kind == "private" else None,
                           source="dxf:enclosed" if layer is None else f"dxf:layer {layer}"))
    return out

def _render(doc: Any, box: tuple[float, float, float, float], extent_m: tuple[float, float, float, float],
            limits: Limits, where: str) -> Background:
    """Render model space to a PNG whose edges are exactly the drawing extents (so pixels map to metres)."""
    from ezdxf.addons.drawing import Frontend, RenderContext
    from ezdxf.addons.drawing.config import BackgroundPolicy, ColorPolicy, Configuration
    from ezdxf.addons.drawing.matplotlib import MatplotlibBackend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    long_px = min(4096, int(math.sqrt(limits.max_render_pixels * max(w, h) / min(w, h))))
    wpx, hpx = (long_px, max(1, round(long_px * h / w))) if w >= h else (max(1, round(long_px * w / h)), long_px)
    dpi = 100
    fig = Figure(figsize=(wpx / dpi, hpx / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    try:
        # Black on white: CAD's default white-on-black would vanish under the editor's light map.
        config = Configuration(background_policy=BackgroundPolicy.WHITE, color_policy=ColorPolicy.BLACK)
        Frontend(RenderContext(doc), MatplotlibBackend(ax), config=config).draw_layout(
            doc.modelspace(), finalize=False
        )
    except Exception as exc:  # the renderer is third-party code and a background is only a convenience
        raise ImportFailed(f"cannot render the drawing ({type(exc).__name__}: {exc})", where=where) from exc
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    from PIL import Image

    with Image.open(io.BytesIO(buf.getvalue())) as im:
        size = im.size
    return Background(png=buf.getvalue(), width_px=size[0], height_px=size[1], extent_m=extent_m)
