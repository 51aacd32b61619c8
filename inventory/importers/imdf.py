"""Apple IMDF archives (OGC Community Standard 20-094, IMDF 1.0.0): levels, units, openings, fixtures."""

from __future__ import annotations

import posixpath
from typing import Any

import shapely
from shapely.geometry import LineString, Polygon

from compliance import vocabulary
from inventory.importers.base import ImportFailed, ImportOptions, ImportResult, Level, Limits, check_time
from inventory.importers.features import collection, feature, lines, source_geometry, valid_polygons
from inventory.importers.projection import LocalTM, centred_on
from inventory.importers.safety import load_json
from inventory.importers.zones import private_use, unique_name

name = "imdf"
extensions = (".zip", ".imdf")

REQUIRED = ("manifest.json", "level.geojson", "unit.geojson")
OPTIONAL = ("opening.geojson", "fixture.geojson")
# Feature files read but not turned into floor geometry (reported as dropped).
IGNORED = (
    "venue", "address", "building", "footprint", "amenity", "anchor", "occupant", "section", "kiosk",
    "geofence", "detail", "relationship",
)

# Unit categories that are private rooms (Decree 799: toilets, bathrooms, changing and nursing rooms).
PRIVATE_CATEGORIES = vocabulary.imdf_private_categories()
# Unit categories that are built structure: they occlude like walls (glass lets sight through).
WALL_CATEGORIES = {"brick", "concrete", "drywall", "glass", "wood", "structure", "column"}
# Open-plan categories: the boundary between two of these is not a wall.
OPEN_CATEGORIES = {
    "walkway", "walkway.island", "lobby", "unenclosedarea", "opentobelow", "ramp", "footbridge",
    "movingwalkway", "escalator", "steps", "platform", "terrace", "road", "parking", "fieldofplay",
    "waitingroom", "foodservice", "recreation", "lounge", "smokingarea", "vegetation",
}
_GENERAL_USE = {"walkway": "corridor", "elevator": "lift", "stairs": "stair", "opentobelow": "void"}
# Flat fixtures a camera sees across.
FLAT_FIXTURES = {"water"}
# Openings are lines on unit boundaries; this half-width absorbs coordinate noise when cutting walls.
OPENING_CUT_M = 0.02


def zone_for_category(category: str, unit_name: str | None, overrides: dict[str, str] | None) -> tuple[str, str | None, str]:
    """(kind, use, reason) for a unit: kind is private/general/required/wall/ignore."""
    if overrides and category in overrides:
        return overrides[category], None, "user mapping"
    root = category.split(".")[0]
    if category in PRIVATE_CATEGORIES or root in PRIVATE_CATEGORIES:
        return "private", PRIVATE_CATEGORIES.get(category) or PRIVATE_CATEGORIES[root], "category"
    if category in WALL_CATEGORIES:
        return "wall", None, "category"
    guessed = private_use(unit_name)
    if guessed:
        return "private", guessed, "name"
    return "general", _GENERAL_USE.get(category, category or None), "category"


def _label(value: Any, language: str) -> str | None:
    """A LABELS object's text in the manifest language, else any language."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return None
    for key in (language, language.split("-")[0]):
        if isinstance(value.get(key), str):
            return value[key]
    first = next(iter(value.values()))
    return first if isinstance(first, str) else None


def _collection(files: dict[str, bytes], base: str, fname: str, required: bool) -> list[dict[str, Any]]:
    path = posixpath.join(base, fname) if base else fname
    if path not in files:
        if required:
            raise ImportFailed(f"IMDF archive is missing required file {fname}", where=posixpath.basename(base) or "archive")
        return []
    obj = load_json(files[path], path)
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection" or not isinstance(obj.get("features"), list):
        raise ImportFailed("not a GeoJSON FeatureCollection", where=path)
    feature_type = fname.split(".")[0]
    out = []
    for i, f in enumerate(obj["features"]):
        fid = f.get("id") if isinstance(f, dict) else None
        where = f"{path}: feature {fid if fid is not None else i}"
        if not isinstance(f, dict) or not isinstance(f.get("properties"), dict):
            raise ImportFailed("not an IMDF feature (no properties)", where=where)
        if f.get("feature_type", feature_type) != feature_type:
            raise ImportFailed(f"feature_type {f.get('feature_type')!r} in {fname}", where=where)
        if fid is None:
            raise ImportFailed("IMDF feature has no id", where=where)
        f = dict(f, _where=where)
        out.append(f)
    return out


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import an IMDF archive's members: one floor per level."""
    manifests = [n for n in files if posixpath.basename(n) == "manifest.json"]
    if not manifests:
        raise ImportFailed("IMDF archive is missing required file manifest.json", where=source)
    if len(manifests) > 1:
        raise ImportFailed("IMDF archive has more than one manifest.json", where=source)
    base = posixpath.dirname(manifests[0])
    manifest = load_json(files[manifests[0]], manifests[0])
    if not isinstance(manifest, dict) or "version" not in manifest:
        raise ImportFailed("manifest has no IMDF version", where=manifests[0])
    warnings: list[str] = []
    if manifest.get("version") != "1.0.0":
        warnings.append(f"{manifests[0]}: IMDF version {manifest.get('version')!r}; read as 1.0.0")
    language = manifest.get("language") if isinstance(manifest.get("language"), str) else "en"

    for fname in REQUIRED[1:]:
        if (posixpath.join(base, fname) if base else fname) not in files:
            raise ImportFailed(f"IMDF archive is missing required file {fname}", where=source)
    levels_src = _collection(files, base, "level.geojson", True)
    units = _collection(files, base, "unit.geojson", True)
    openings = _collection(files, base, "opening.geojson", False)
    fixtures = _collection(files, base, "fixture.geojson", False)
    if not levels_src:
        raise ImportFailed("level.geojson has no levels", where=source)
    if sum(map(len, (levels_src, units, openings, fixtures))) > limits.max_features:
        raise ImportFailed(f"more than {limits.max_features} features", where=source)
    dropped: dict[str, int] = {}
    for kind in IGNORED:
        path = posixpath.join(base, f"{kind}.geojson") if base else f"{kind}.geojson"
        if path in files:
            obj = load_json(files[path], path)
            n = len(obj.get("features") or []) if isinstance(obj, dict) else 0
            if n:
                dropped[kind] = n
    if fl := [f for f in fixtures if f["properties"].get("category") in FLAT_FIXTURES]:
        dropped["fixture (flat)"] = len(fl)

    geoms: dict[int, Any] = {}
    for f in levels_src + units + openings + fixtures:
        geoms[id(f)] = source_geometry(f.get("geometry"), f["_where"])
    tm = centred_on(geoms.values(), source)

    level_ids = {str(lv["id"]) for lv in levels_src}
    for f in units + openings + fixtures:
        lid = f["properties"].get("level_id")
        if str(lid) not in level_ids:
            raise ImportFailed(f"level_id {lid!r} is not a level in level.geojson", where=f["_where"])

    mapping: dict[tuple[str, str], int] = {}
    out_levels = []
    half = 0.0
    ordered = sorted(levels_src, key=lambda lv: (_ordinal(lv), str(lv["id"])))
    taken_names: set[str] = set()
    for lv in ordered:
        lid = str(lv["id"])
        label = _label(lv["properties"].get("name"), language) or _label(lv["properties"].get("short_name"), language)
        label = unique_name(label or f"Level {_ordinal(lv):g}", taken_names, lid[:8])
        check_time(f"converting level {label!r}", source)
        lv_units = [u for u in units if str(u["properties"].get("level_id")) == lid]
        lv_openings = [o for o in openings if str(o["properties"].get("level_id")) == lid]
        lv_fixtures = [x for x in fixtures if str(x["properties"].get("level_id")) == lid
                       and x["properties"].get("category") not in FLAT_FIXTURES]
        if not lv_units and not lv_fixtures:
            warnings.append(f"{lv['_where']}: level {label!r} has no units or fixtures; not imported")
            continue
        if not lv_openings:
            warnings.append(f"{lv['_where']}: level {label!r} has no openings: every room is sealed")
        for part_label, fc in _convert_level(label, lv, lv_units, lv_openings, lv_fixtures, geoms, tm, options,
                                             language, warnings, mapping, taken_names):
            out_levels.append(Level(name=part_label, floor=fc, ordinal=_ordinal(lv)))
            b = shapely.total_bounds([shapely.geometry.shape(f["geometry"]) for f in fc["features"]])
            half = max(half, abs(b[0]), abs(b[2]))
    if not out_levels:
        raise ImportFailed("no level has units or fixtures", where=source)
    return ImportResult(
        format=name, source=source, levels=out_levels, warnings=warnings,
        mapping=[{"source": s, "to": t, "count": n} for (s, t), n in sorted(mapping.items())],
        georef=tm.describe(half), dropped=dropped,
    )


def _ordinal(lv: dict[str, Any]) -> float:
    o = lv["properties"].get("ordinal")
    return float(o) if isinstance(o, (int, float)) and not isinstance(o, bool) else 0.0


def _convert_level(
    label: str,
    level: dict[str, Any],
    units: list[dict[str, Any]],
    openings: list[dict[str, Any]],
    fixtures: list[dict[str, Any]],
    geoms: dict[int, Any],
    tm: LocalTM,
    options: ImportOptions,
    language: str,
    warnings: list[str],
    mapping: dict[tuple[str, str], int],
    taken_names: set[str],
) -> list[tuple[str, dict[str, Any]]]:
    """(name, floor) of one level; a level in several parts gives one floor, or one per part if asked."""
    repair = options.repair

    def polys(f: dict[str, Any]) -> list[Polygon]:
        g = geoms[id(f)]
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise ImportFailed(f"geometry must be Polygon or MultiPolygon, got {g.geom_type}", where=f["_where"])
        return valid_polygons(tm.geometry(g), f["_where"], repair=repair, warnings=warnings, locate=tm.locate)

    outline_parts = polys(level)
    if not outline_parts:
        raise ImportFailed("level has no area", where=level["_where"])
    outer = sorted(outline_parts, key=lambda p: -p.area)
    if len(outer) > 1 and options.level_parts == "split":
        warnings.append(f"{level['_where']}: level has {len(outer)} parts; imported as {len(outer)} floors")
    elif len(outer) > 1:
        warnings.append(f"{level['_where']}: level has {len(outer)} parts; the outline surrounds them all "
                        "(choose one floor per part in the preview to split them)")
        outer = [Polygon(shapely.union_all(outer).convex_hull.exterior)]

    zones: list[dict[str, Any]] = []
    walls: list[dict[str, Any]] = []
    rooms: list[tuple[Polygon, str]] = []
    taken: set[str] = set()
    for u in units:
        props = u["properties"]
        category = str(props.get("category") or "unspecified")
        uname = _label(props.get("name"), language)
        kind, use, reason = zone_for_category(category, uname, options.category_map)
        key = (f"unit {category}" + (" (by name)" if reason == "name" else ""), kind)
        mapping[key] = mapping.get(key, 0) + 1
        parts = polys(u)
        src = f"imdf:{u['id']}"
        if kind == "ignore":
            continue
        if kind == "wall":
            walls += [feature(p, kind="wall", see_through=(category == "glass") or None, source=src) for p in parts]
            continue
        if kind not in ("private", "general", "required"):
            raise ImportFailed(f"category mapping {category!r} -> {kind!r} is not a zone kind", where=u["_where"])
        zname = unique_name(uname or f"{category.split('.')[0].capitalize()} {str(u['id'])[:8]}", taken, str(u["id"])[:8])
        for j, p in enumerate(parts):
            nm = zname if j == 0 else unique_name(f"{zname} part {j + 1}", taken, str(u["id"])[:8])
            zones.append(feature(p, kind="zone", zone=kind, name=nm, use=use, source=src))
            rooms.append((p, category))

    door_feats = []
    cut_lines = []
    for o in openings:
        g = tm.geometry(geoms[id(o)])
        if g.geom_type not in ("LineString", "MultiLineString"):
            raise ImportFailed(f"opening geometry must be LineString, got {g.geom_type}", where=o["_where"])
        for ln in lines(g):
            door_feats.append(feature(ln, kind="opening", source=f"imdf:{o['id']}"))
            cut_lines.append(ln)
        key = (f"opening {o['properties'].get('category') or 'unspecified'}", "opening")
        mapping[key] = mapping.get(key, 0) + 1

    walls = _boundary_walls(rooms, cut_lines) + walls
    for x in fixtures:
        cat = str(x["properties"].get("category") or "unspecified")
        mapping[(f"fixture {cat}", "wall")] = mapping.get((f"fixture {cat}", "wall"), 0) + 1
        walls += [feature(p, kind="wall", source=f"imdf:{x['id']}") for p in polys(x)]
    if len(outer) == 1:
        return [(label, collection(label, [feature(outer[0], kind="outline")] + walls + door_feats + zones))]
    out = []
    for k, part in enumerate(outer):
        grown = part.buffer(OPENING_CUT_M)
        keep = [f for f in walls + door_feats + zones
                if grown.covers(shapely.geometry.shape(f["geometry"]).representative_point())]
        nm = unique_name(f"{label} part {k + 1}", taken_names, str(k + 1))
        out.append((nm, collection(nm, [feature(part, kind="outline")] + keep)))
    return out


def _segments(geom: Any) -> list[LineString]:
    """Two-point segments of a linear geometry."""
    out = []
    for ln in lines(geom) if not isinstance(geom, LineString) else [geom]:
        c = list(ln.coords)
        out += [LineString([c[i], c[i + 1]]) for i in range(len(c) - 1) if c[i] != c[i + 1]]
    return out


def _boundary_walls(rooms: list[tuple[Polygon, str]], cut_lines: list[LineString]) -> list[dict[str, Any]]:
    """Walls along unit boundaries, minus openings and minus boundaries between two open-plan units."""
    if not rooms:
        return []
    boundary = shapely.union_all([p.boundary for p, _ in rooms])
    tree = shapely.STRtree([p for p, _ in rooms])
    cutters: list[LineString] = []
    for ln in cut_lines:
        cutters += _segments(ln)
    for i, (p, cat) in enumerate(rooms):
        if cat not in OPEN_CATEGORIES:
            continue
        for j in tree.query(p, predicate="touches"):
            q, qcat = rooms[int(j)]
            if int(j) > i and qcat in OPEN_CATEGORIES:
                cutters += _segments(shapely.line_merge(p.boundary.intersection(q.boundary)))
    if not cutters:
        return [feature(ln, kind="wall") for ln in lines(shapely.line_merge(boundary))]
    bufs = [c.buffer(OPENING_CUT_M, cap_style="flat") for c in cutters]
    walls = boundary.difference(shapely.union_all(bufs))
    # A cutter's buffer also nicks walls that cross it (a partition meeting a doorway's jamb): put those back,
    # or sight would leak through a 4 cm slot.
    restored = []
    parts = shapely.get_parts(boundary)
    near = shapely.STRtree(parts)
    for c, b in zip(cutters, bufs, strict=True):
        (x0, y0), (x1, y1) = c.coords
        local = shapely.union_all(parts[near.query(b)])
        for r in _segments(local.intersection(b)):
            (a0, b0), (a1, b1) = r.coords
            cross = abs((x1 - x0) * (b1 - b0) - (y1 - y0) * (a1 - a0)) / (c.length * r.length)
            if cross > 0.5:
                restored.append(r)
    if restored:
        walls = shapely.union_all([walls, *restored])
    return [feature(ln, kind="wall") for ln in lines(shapely.line_merge(walls))]
