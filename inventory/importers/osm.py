"""OpenStreetMap indoor maps as GeoJSON (Simple Indoor Tagging, wiki.openstreetmap.org/wiki/Simple_Indoor_Tagging).

`indoor=level` is a floor's outline; `indoor=room|corridor|area` become zones (room and corridor edges are walls,
an area's are not); `indoor=wall` ways are walls; `door=*` and `entrance=*` nodes and ways are openings; `level=`
values ("0", "0;1", "-1~1", "0-2") say which floors a feature is on.
"""

from __future__ import annotations

import math
import re
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon

from inventory.importers.base import ImportFailed, ImportOptions, ImportResult, Level, Limits, check_time
from inventory.importers.features import collection, feature, lines, source_geometry, valid_polygons
from inventory.importers.plan import share_inside
from inventory.importers.projection import centred_on
from inventory.importers.safety import load_json
from inventory.importers.zones import private_use, unique_name

name = "osm"
extensions = (".geojson", ".json")

ZONE_VALUES = ("room", "corridor", "area")
# Edges of these are walls (SIT: an area has no walls of its own).
WALLED = ("room", "corridor")
# Door width when the node has no width= tag (metres).
DOOR_WIDTH_M = 0.9
# A door node further than this from any room edge or wall is dropped (metres).
DOOR_SNAP_M = 0.5
# Openings are cut out of room-edge walls with this half-width to absorb coordinate noise.
CUT_M = 0.02
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:~|-|\.\.)\s*(-?\d+(?:\.\d+)?)\s*$")


def is_osm_indoor(obj: Any) -> bool:
    """True for a GeoJSON FeatureCollection of Simple Indoor Tagging features (any feature with an indoor= tag)."""
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        return False
    feats = obj.get("features")
    return isinstance(feats, list) and any(
        isinstance(f, dict) and isinstance(f.get("properties"), dict) and "indoor" in f["properties"] for f in feats
    )


def levels_of(value: Any, where: str) -> list[float]:
    """The levels a level= value names: "0", "0;1", "-1~1" or "0-2" (every whole level between), "1.5"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return [0.0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    out: list[float] = []
    for part in str(value).split(";"):
        part = part.strip()
        if not part:
            continue
        m = _RANGE.match(part)
        try:
            if m:
                lo, hi = sorted((float(m.group(1)), float(m.group(2))))
                if hi - lo > 200:
                    raise ImportFailed(f"level range {part!r} spans more than 200 levels", where=where)
                steps = [lo + i for i in range(int(math.floor(hi - lo)) + 1)]
                out += steps if steps[-1] == hi else [*steps, hi]
            else:
                out.append(float(part))
        except ValueError as exc:
            raise ImportFailed(f"level {value!r} is not a number, a list (0;1) or a range (0~2)", where=where) from exc
    return sorted(set(out)) or [0.0]


def _private(props: dict[str, Any]) -> str | None:
    """The private use of a room from its tags (amenity=toilets, toilets=yes, room=shower, name=WC)."""
    if props.get("amenity") == "toilets" or str(props.get("toilets", "no")).lower() not in ("no", ""):
        return "toilet"
    for key in ("room", "amenity", "shower", "name"):
        value = props.get(key)
        if key == "shower" and value not in (None, "no"):
            return private_use("shower")
        if isinstance(value, str) and (use := private_use(value.replace("_", " "))):
            return use
    return None


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import an OSM indoor GeoJSON file: one floor per level value."""
    if len(files) != 1:
        raise ImportFailed("expected a single GeoJSON file", where=source)
    fname, data = next(iter(files.items()))
    obj = load_json(data, fname)
    if not is_osm_indoor(obj):
        raise ImportFailed("not an OSM indoor GeoJSON file (no feature has an indoor= tag)", where=fname)
    feats = obj["features"]
    if len(feats) > limits.max_features:
        raise ImportFailed(f"more than {limits.max_features} features", where=fname)
    warnings: list[str] = []
    items = []
    dropped: dict[str, int] = {}
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or not isinstance(f.get("properties"), dict):
            raise ImportFailed("not a GeoJSON Feature with properties", where=f"{fname}: feature {i}")
        props = f["properties"]
        fid = f.get("id", props.get("id", i))
        where = f"{fname}: feature {fid}"
        kind = _kind(props)
        if kind is None:
            key = f"indoor={props.get('indoor')}" if "indoor" in props else "untagged"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        items.append((kind, props, source_geometry(f.get("geometry"), where), where, fid))
    if not items:
        raise ImportFailed("no indoor=level, room, corridor, area, wall or door features", where=fname)
    tm = centred_on([g for _, _, g, _, _ in items], fname)
    by_level: dict[float, list[tuple[str, dict[str, Any], Any, str, Any]]] = {}
    for kind, props, g, where, fid in items:
        for lv in levels_of(props.get("level"), where):
            by_level.setdefault(lv, []).append((kind, props, tm.geometry(g), where, fid))
    mapping: dict[tuple[str, str], int] = {}
    out = []
    half = 0.0
    for lv in sorted(by_level):
        label = f"Level {lv:g}"
        check_time(f"converting {label}", fname)
        fc = _level(label, by_level[lv], options, warnings, mapping)
        if fc is None:
            continue
        out.append(Level(name=label, floor=fc, ordinal=lv))
        b = shapely.total_bounds([shapely.geometry.shape(f["geometry"]) for f in fc["features"]])
        half = max(half, abs(b[0]), abs(b[2]), abs(b[1]), abs(b[3]))
    if not out:
        raise ImportFailed("no level has rooms, walls or an outline", where=fname)
    return ImportResult(
        format=name, source=source, levels=out, warnings=warnings,
        mapping=[{"source": s, "to": t, "count": n} for (s, t), n in sorted(mapping.items())],
        georef=tm.describe(half), dropped=dropped,
    )


def _kind(props: dict[str, Any]) -> str | None:
    indoor = props.get("indoor")
    if "door" in props or "entrance" in props or indoor == "door":
        return "door"
    if indoor in ("level", "wall", *ZONE_VALUES):
        return str(indoor)
    return None


def _level(label: str, items: list[tuple[str, dict[str, Any], Any, str, Any]], options: ImportOptions,
           warnings: list[str], mapping: dict[tuple[str, str], int]) -> dict[str, Any] | None:
    """One floor's FeatureCollection, or None (with a warning) for a level with nothing on it."""
    outlines: list[Polygon] = []
    rooms: list[tuple[Polygon, str, dict[str, Any], Any]] = []
    wall_lines: list[LineString] = []
    doors: list[tuple[Any, dict[str, Any], str]] = []
    for kind, props, g, where, fid in items:
        if kind == "door":
            doors.append((g, props, where))
            continue
        if kind == "wall":
            if g.geom_type in ("Polygon", "MultiPolygon"):
                wall_lines += lines(g.boundary)
            else:
                wall_lines += lines(g)
            mapping[("indoor=wall", "wall")] = mapping.get(("indoor=wall", "wall"), 0) + 1
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            if g.geom_type in ("LineString", "MultiLineString") and kind in WALLED and g.is_closed:
                g = Polygon(g.coords) if g.geom_type == "LineString" else g
            else:
                warnings.append(f"{where}: indoor={kind} is a {g.geom_type}, not an area; dropped")
                continue
        polys = valid_polygons(g, where, repair=options.repair, warnings=warnings)
        if kind == "level":
            outlines += polys
        else:
            rooms += [(p, kind, props, fid) for p in polys]
    if not rooms and not wall_lines:
        warnings.append(f"{label}: no rooms or walls on this level; not imported")
        return None
    if outlines:
        merged = shapely.union_all(outlines)
        outline = merged if isinstance(merged, Polygon) else merged.convex_hull
        if not isinstance(merged, Polygon):
            warnings.append(f"{label}: the level outline has {len(merged.geoms)} parts; the outline surrounds them all")
    else:
        outline = shapely.union_all([p for p, *_ in rooms] + wall_lines).convex_hull
        warnings.append(f"{label}: no indoor=level outline; outline is the hull of the rooms and walls")
    outline = Polygon(outline.exterior)

    # Doors: a node on a room edge opens that edge over its width; a way is the opening itself.
    edges = shapely.union_all([p.boundary for p, k, *_ in rooms if k in WALLED] + wall_lines) \
        if rooms or wall_lines else None
    openings: list[LineString] = []
    for g, props, where in doors:
        mapping[("door", "opening")] = mapping.get(("door", "opening"), 0) + 1
        if g.geom_type in ("LineString", "MultiLineString"):
            openings += lines(g)
            continue
        if g.geom_type != "Point" or edges is None or edges.is_empty:
            continue
        if edges.distance(g) > DOOR_SNAP_M:
            warnings.append(f"{where}: door is {edges.distance(g):.1f} m from any room edge or wall; dropped")
            continue
        width = _width(props.get("width"))
        openings.append(_door_on_edge(g, edges, width))
    cut = shapely.union_all([o.buffer(CUT_M, cap_style="flat") for o in openings]) if openings else None
    walls: list[dict[str, Any]] = []
    if edges is not None and not edges.is_empty:
        solid = edges.difference(cut) if cut is not None else edges
        walls = [feature(ln, kind="wall") for ln in lines(shapely.line_merge(solid))]
    if not openings:
        warnings.append(f"{label}: no doors on this level: every room is sealed")

    zones = []
    taken: set[str] = set()
    for p, kind, props, fid in rooms:
        use = _private(props)
        zkind = "private" if use else "general"
        title = props.get("name") or props.get("ref") or str(props.get("room") or kind).replace("_", " ").capitalize()
        mapping[(f"indoor={kind}" + (" (private)" if use else ""), zkind)] = \
            mapping.get((f"indoor={kind}" + (" (private)" if use else ""), zkind), 0) + 1
        general_use = None if use else (kind if kind != "room" else props.get("room"))
        zones.append(feature(p, kind="zone", zone=zkind, name=unique_name(str(title), taken, str(fid)),
                             use=use or (str(general_use) if general_use else None), source=f"osm:{fid}"))
    share = share_inside(outline, [shapely.geometry.shape(w["geometry"]) for w in walls])
    if share < 0.95:
        warnings.append(f"{label}: {1 - share:.0%} of the wall length lies outside the level outline")
    return collection(label, [feature(outline, kind="outline")] + walls
                      + [feature(o, kind="opening") for o in openings] + zones)


def _width(value: Any) -> float:
    try:
        w = float(str(value).replace(",", ".").split()[0])
    except (ValueError, IndexError):
        return DOOR_WIDTH_M
    return w if 0.3 <= w <= 10 else DOOR_WIDTH_M


def _door_on_edge(point: Point, edges: Any, width: float) -> LineString:
    """An opening of `width` centred on the edge segment nearest to a door node, along that segment."""
    best: tuple[float, tuple[float, float], tuple[float, float]] | None = None
    for ln in getattr(edges, "geoms", [edges]):
        c = list(ln.coords)
        for a, b in zip(c, c[1:], strict=False):
            d = LineString([a, b]).distance(point)
            if best is None or d < best[0]:
                best = (d, a, b)
    assert best is not None
    _, a, b = best
    seg = LineString([a, b])
    at = seg.project(point)
    lo, hi = max(0.0, at - width / 2), min(seg.length, at + width / 2)
    if hi - lo < min(width, seg.length) - 1e-9:  # near a corner: keep the width, slide along the segment
        lo, hi = (0.0, min(width, seg.length)) if lo == 0.0 else (max(0.0, seg.length - width), seg.length)
    return LineString([seg.interpolate(lo), seg.interpolate(hi)])
