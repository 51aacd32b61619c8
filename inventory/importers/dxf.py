"""DXF drawings through ezdxf: layers mapped to walls, windows, doors, rooms, labels and outline; metric via $INSUNITS."""

from __future__ import annotations

import io
import math
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import shapely
from ezdxf import bbox
from ezdxf.lldxf.const import DXFError
from shapely.geometry import LineString, Point, Polygon

from inventory.importers.base import Background, ImportFailed, ImportOptions, ImportResult, Level, Limits
from inventory.importers.features import collection, feature, lines, valid_polygons
from inventory.importers.zones import private_use, unique_name

name = "dxf"
extensions = (".dxf",)

ROLES = ("wall", "window", "door", "room", "text", "outline", "ignore")
# First match wins: labels before rooms ("A-AREA-IDEN" is text), doors and windows before walls.
_GUESSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"text|label|anno|iden|txt|name|标注|文字", re.I), "text"),
    (re.compile(r"door|tür|porte|puerta|\bdr\b|门", re.I), "door"),
    (re.compile(r"window|glaz|glass|fenster|fenêtre|\bwin\b|窗", re.I), "window"),
    (re.compile(r"wall|mur|wand|partition|column|\bcols?\b|墙|柱", re.I), "wall"),
    (re.compile(r"outline|boundary|bndy|footprint|perimeter|轮廓", re.I), "outline"),
    (re.compile(r"room|space|area|zone|\brm\b|房间|区域", re.I), "room"),
]
# $INSUNITS code -> metres per drawing unit, for units a floor plan can plausibly use.
INSUNITS = {1: 0.0254, 2: 0.3048, 4: 0.001, 5: 0.01, 6: 1.0, 10: 0.9144, 14: 0.1, 21: 1200 / 3937}
UNIT_NAMES = {"in": 0.0254, "inch": 0.0254, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "mm": 0.001,
              "cm": 0.01, "dm": 0.1, "m": 1.0, "yd": 0.9144}
MAX_BLOCK_DEPTH = 16
# Chord tolerance for arcs and bulges, in metres.
FLATTEN_M = 0.01


def guess_role(layer: str) -> str:
    """A role for a layer from its name (e.g. A-WALL -> wall, Doors -> door); "ignore" when nothing fits."""
    for pattern, role in _GUESSES:
        if pattern.search(layer):
            return role
    return "ignore"


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
    handle: str = ""


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
    if auditor.has_errors:
        bad = "; ".join(str(e.message) for e in auditor.errors[:3])
        raise ImportFailed(f"DXF has unrecoverable errors ({bad})", where=where)
    return doc


def _units(doc: Any, where: str, override: str | None) -> tuple[float, str]:
    if override:
        key = override.strip().lower()
        if key not in UNIT_NAMES:
            raise ImportFailed(f"unknown units {override!r}; use one of {', '.join(sorted(UNIT_NAMES))}", where=where)
        return UNIT_NAMES[key], key
    code = doc.header.get("$INSUNITS", 0)
    if code in INSUNITS:
        from ezdxf import units

        return INSUNITS[code], units.unit_name(code)
    if code == 0:
        raise ImportFailed("drawing units unknown ($INSUNITS is 0, unitless); choose the units (mm, cm, m, in, ft)",
                           where=where)
    raise ImportFailed(f"$INSUNITS {code} is not a floor-plan unit; choose the units (mm, cm, m, in, ft)", where=where)


def _walk(msp: Any, limits: Limits, where: str) -> Iterator[tuple[Any, str, int]]:
    """(entity, effective layer, top-level group) with INSERTs expanded, refusing block bombs."""
    count = 0

    def expand(entity: Any, layer: str, group: int, depth: int) -> Iterator[tuple[Any, str, int]]:
        nonlocal count
        count += 1
        if count > limits.max_dxf_entities:
            raise ImportFailed(
                f"drawing expands to more than {limits.max_dxf_entities} entities (nested block bomb?)", where=where
            )
        own = entity.dxf.get("layer", "0")
        # AutoCAD rule: block content on layer 0 takes the layer of the INSERT that places it.
        eff = layer if own == "0" and depth > 0 else own
        if entity.dxftype() == "INSERT":
            if depth >= MAX_BLOCK_DEPTH:
                raise ImportFailed(f"blocks nested deeper than {MAX_BLOCK_DEPTH} levels", where=where)
            for attrib in entity.attribs:
                yield attrib, attrib.dxf.get("layer", eff), group
            try:
                inserts = list(entity.multi_insert()) if entity.mcount > 1 else [entity]
                for ins in inserts:
                    for sub in ins.virtual_entities():
                        yield from expand(sub, eff, group, depth + 1)
            except (ValueError, ZeroDivisionError, ArithmeticError, KeyError, DXFError) as exc:
                raise ImportFailed(f"cannot expand block {entity.dxf.get('name')!r} ({exc})",
                                   where=f"{where}: layer {eff}") from exc
        else:
            yield entity, eff, group

    for i, e in enumerate(msp):
        yield from expand(e, "0", i, 0)


def _shape(entity: Any, layer: str, role: str, group: int, chord: float) -> _Shape | None:
    from ezdxf import path

    t = entity.dxftype()
    handle = str(entity.dxf.get("handle", ""))
    if t in ("TEXT", "ATTRIB", "MTEXT"):
        text = entity.plain_text() if t == "MTEXT" else entity.dxf.get("text", "")
        p = entity.dxf.get("insert")
        if p is None or not str(text).strip():
            return None
        return _Shape(role, layer, group, "text", [(p.x, p.y)], text=" ".join(str(text).split()), handle=handle)
    if t not in ("LINE", "LWPOLYLINE", "POLYLINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE"):
        return None
    if t == "POLYLINE" and (entity.is_polygon_mesh or entity.is_poly_face_mesh):
        return None
    try:
        pts = [(v.x, v.y) for v in path.make_path(entity).flattening(chord, segments=8)]
    except (ValueError, TypeError, ZeroDivisionError, ArithmeticError):
        return None
    if len(pts) < 2:
        return None
    closed = t == "CIRCLE" or (t in ("LWPOLYLINE", "POLYLINE") and bool(entity.is_closed))
    if closed and pts[0] != pts[-1]:
        pts.append(pts[0])
    center = None
    if t == "ARC":
        c = entity.dxf.center
        center = (c.x, c.y)
    return _Shape(role, layer, group, "arc" if t == "ARC" else "line", pts, closed, center=center, handle=handle)


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import one DXF drawing as one floor (model space), with a rendered background."""
    if len(files) != 1:
        raise ImportFailed("expected a single DXF file", where=source)
    fname, data = next(iter(files.items()))
    doc = _read(data, fname)
    factor, unit_name = _units(doc, fname, options.units)
    layer_map = {k.lower(): v for k, v in (options.layer_map or {}).items()}
    for lname, role in layer_map.items():
        if role not in ROLES:
            raise ImportFailed(f"role {role!r} is not one of {', '.join(ROLES)}", where=f"{fname}: layer {lname}")
    chord = FLATTEN_M / factor

    shapes: list[_Shape] = []
    layer_entities: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    roles: dict[str, str] = {}
    all_pts: list[tuple[float, float]] = []
    for entity, layer, group in _walk(doc.modelspace(), limits, fname):
        role = roles.setdefault(layer, layer_map.get(layer.lower()) or guess_role(layer))
        layer_entities[layer] += 1
        s = _shape(entity, layer, role, group, chord)
        if s is None:
            dropped[entity.dxftype()] += 1
            continue
        if s.kind != "text":
            all_pts += [s.points[0], s.points[-1]] if not s.closed else s.points
        if role != "ignore":
            shapes.append(s)
    if not all_pts:
        raise ImportFailed("drawing has no geometry in model space", where=fname)
    # The origin is the corner of everything in model space, so it does not move when the mapping changes.
    ext = bbox.extents(doc.modelspace(), fast=True)
    if ext.has_data:
        ox, oy, mx, my = ext.extmin.x, ext.extmin.y, ext.extmax.x, ext.extmax.y
    else:
        xs, ys = [p[0] for p in all_pts], [p[1] for p in all_pts]
        ox, oy, mx, my = min(xs), min(ys), max(xs), max(ys)

    def to_m(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [((x - ox) * factor, (y - oy) * factor) for x, y in pts]

    mapping = [{"source": f"layer {ln}", "to": roles[ln], "count": n,
                "guessed": ln.lower() not in layer_map} for ln, n in sorted(layer_entities.items())]
    geometric = [s for s in shapes if s.kind != "text" and s.role in ("wall", "window", "door", "room", "outline")]
    if not geometric:
        found = ", ".join(f"{ln} ({roles[ln]})" for ln in sorted(layer_entities)) or "none"
        raise ImportFailed(
            f"no geometry on wall, window, door, room or outline layers; layers found: {found}; map them", where=fname
        )
    warnings: list[str] = []
    feats = _features(shapes, to_m, fname, options, warnings)
    level = Level(name=fname.rsplit(".", 1)[0], floor=feats, ordinal=0.0)
    level.floor["name"] = level.name
    if options.render_background:
        extent = (0.0, 0.0, (mx - ox) * factor, (my - oy) * factor)
        try:
            level.background = _render(doc, (ox, oy, mx, my), extent, limits, fname)
        except ImportFailed as exc:
            warnings.append(f"{exc}; imported without a background")
    return ImportResult(
        format=name, source=source, levels=[level], warnings=warnings, mapping=mapping,
        georef={"units": unit_name, "metres_per_unit": factor, "drawing_origin": [ox, oy]},
        dropped=dict(dropped),
    )


def _door_line(group: list[_Shape], to_m: Any) -> list[LineString]:
    """The doorway of one door symbol: hinge to the closed end of its swing arc, or its drawn lines."""
    arcs = [s for s in group if s.kind == "arc"]
    if not arcs:
        out = []
        for s in group:
            out += lines(LineString(to_m(s.points)))
        return out
    out = []
    leaves = [s for s in group if s.kind == "line"]
    for arc in arcs:
        hinge = to_m([arc.center])[0]  # type: ignore[list-item]
        ends = to_m([arc.points[0], arc.points[-1]])
        # The leaf is drawn open, ending at one end of the arc; the doorway runs to the other end.
        def near_leaf(p: tuple[float, float]) -> float:
            return min((Point(p).distance(LineString(to_m(s.points))) for s in leaves), default=math.inf)

        closed_end = max(ends, key=near_leaf) if leaves else ends[0]
        out += lines(LineString([hinge, closed_end]))
    return out


def _features(
    shapes: list[_Shape], to_m: Any, fname: str, options: ImportOptions, warnings: list[str]
) -> dict[str, Any]:
    walls, openings, zones, outline_polys = [], [], [], []
    texts = [(Point(to_m(s.points)[0]), s.text) for s in shapes if s.kind == "text"]
    doors: dict[int, list[_Shape]] = {}
    rooms: list[tuple[Polygon, str]] = []
    for s in shapes:
        if s.kind == "text":
            continue
        where = f"{fname}: layer {s.layer}, entity {s.handle or '?'}"
        if s.role in ("wall", "window"):
            walls += [feature(ln, kind="wall", see_through=(s.role == "window") or None) for ln in
                      lines(LineString(to_m(s.points)))]
        elif s.role == "door":
            doors.setdefault(s.group, []).append(s)
        elif s.role in ("room", "outline"):
            if not s.closed:
                continue  # open lines on a room layer are hatching or leaders, not outlines
            for p in valid_polygons(Polygon(to_m(s.points)), where, repair=options.repair, warnings=warnings):
                (rooms.append((p, s.layer)) if s.role == "room" else outline_polys.append(p))
    for group in doors.values():
        openings += [feature(ln, kind="opening") for ln in _door_line(group, to_m)]
    taken: set[str] = set()
    for i, (p, _layer) in enumerate(sorted(rooms, key=lambda r: (r[0].bounds[1], r[0].bounds[0]))):
        label = next((t for pt, t in texts if p.contains(pt)), None)
        use = private_use(label)
        zones.append(feature(p, kind="zone", zone="private" if use else "general",
                             name=unique_name(label or f"Room {i + 1}", taken, str(i + 1)), use=use))
    outline = _outline(outline_polys, walls + openings, [p for p, _ in rooms], fname, warnings)
    return collection("", [feature(outline, kind="outline")] + walls + openings + zones)


def _outline(polys: list[Polygon], linework: list[dict[str, Any]], rooms: list[Polygon], fname: str,
             warnings: list[str]) -> Polygon:
    """The mapped outline, else the area the walls and doors enclose, else the rooms' hull."""
    if polys:
        if len(polys) > 1:
            warnings.append(f"{fname}: {len(polys)} outline polygons; kept the largest")
        return max(polys, key=lambda p: p.area)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in linework]
    # Snap to 1 cm so door arcs that stop a hair short of their jambs still close the ring.
    noded = shapely.set_precision(shapely.union_all(geoms), 0.01) if geoms else None
    faces = list(shapely.polygonize(shapely.get_parts(noded)).geoms) if noded is not None else []
    faces += rooms
    if faces:
        merged = shapely.union_all(faces)
        best = max(getattr(merged, "geoms", [merged]), key=lambda p: p.area)
        if best.area > 0:
            warnings.append(f"{fname}: no outline layer; outline derived from the area the walls enclose, check it")
            return Polygon(best.exterior)
    hull = shapely.union_all(geoms + rooms).envelope
    if not isinstance(hull, Polygon) or hull.area <= 0:
        raise ImportFailed("cannot derive a floor outline: the walls enclose no area", where=fname)
    warnings.append(f"{fname}: walls enclose no area; outline set to the drawing's bounding box")
    return hull


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
