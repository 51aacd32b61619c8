"""WRLD indoor maps (WRLD Indoor Map Format 1.0): a main.json building index plus one GeoJSON file per level."""

from __future__ import annotations

import posixpath
from typing import Any

import shapely
from shapely.geometry import Polygon

from inventory.importers.base import ImportFailed, ImportOptions, ImportResult, Level, Limits
from inventory.importers.features import (
    centre_line,
    collection,
    feature,
    lines,
    source_geometry,
    valid_polygons,
)
from inventory.importers.projection import LocalTM, centred_on
from inventory.importers.safety import load_json
from inventory.importers.zones import private_use, unique_name

name = "wrld"
extensions = (".json", ".geojson", ".zip")

# What a user may map a WRLD type to (ImportOptions.category_map); outlines and doors keep their meaning.
OVERRIDE_TARGETS = ("wall", "glass", "private", "general", "required", "ignore")
_GENERAL_USE = {"stairs": "stair", "elevator": "lift", "escalator": "escalator", "floor_opening": "void"}


def is_level_collection(obj: Any) -> bool:
    """True when a parsed JSON object looks like a WRLD level file (features typed with WRLD types)."""
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        return False
    feats = obj.get("features") or []
    if not isinstance(feats, list):
        return False
    # Any JSON may arrive here (the sniffer asks every reader): only string types can name a WRLD type.
    types = {props.get("type") for f in feats if isinstance(f, dict)
             and isinstance(props := f.get("properties"), dict) and isinstance(props.get("type"), str)}
    # Unknown types are tolerated (dropped and reported); the building outline is what marks a WRLD level.
    return bool(feats) and "building_outline" in types


def is_main(obj: Any) -> bool:
    """True when a parsed JSON object is a WRLD main.json building index."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("levels"), list)
        and all(isinstance(lv, dict) and "filename" in lv for lv in obj["levels"])
    )


def _level_files(files: dict[str, bytes], source: str) -> list[tuple[str, str, float | None, Any]]:
    """(file name, level name, z_order, parsed collection) for each level, in z order."""
    mains = []
    for fname, data in files.items():
        if posixpath.basename(fname).lower() == "main.json":
            obj = load_json(data, fname)
            if is_main(obj):
                mains.append((fname, obj))
    if len(mains) > 1:
        raise ImportFailed(f"more than one WRLD main.json ({', '.join(m[0] for m in mains)})", where=source)
    if mains:
        main_name, main = mains[0]
        base = posixpath.dirname(main_name)
        out = []
        for i, lv in enumerate(main["levels"]):
            fn = posixpath.normpath(posixpath.join(base, str(lv["filename"])))
            label = str(lv.get("readable_name") or lv.get("name") or lv.get("id") or f"Level {i}")
            if fn not in files:
                raise ImportFailed(f"level {label!r} file {lv['filename']!r} is missing", where=main_name)
            obj = load_json(files[fn], fn)
            if not is_level_collection(obj):
                raise ImportFailed("not a WRLD level FeatureCollection (no building_outline)", where=fn)
            z = lv.get("z_order", i)
            out.append((fn, label, float(z) if isinstance(z, (int, float)) else float(i), obj))
        if not out:
            raise ImportFailed("main.json lists no levels", where=main_name)
        return sorted(out, key=lambda t: t[2])
    candidates = []
    for fname, data in files.items():
        if fname.lower().endswith((".geojson", ".json")):
            obj = load_json(data, fname)
            if is_level_collection(obj):
                candidates.append((fname, obj))
    if len(candidates) == 1:
        fname, obj = candidates[0]
        stem = posixpath.splitext(posixpath.basename(fname))[0]
        return [(fname, stem, None, obj)]
    if not candidates:
        raise ImportFailed("no WRLD main.json or level file (a FeatureCollection with a building_outline)", where=source)
    raise ImportFailed("several WRLD level files but no main.json listing them", where=source)


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import a WRLD building (main.json + level files) or a single level file."""
    levels_in = _level_files(files, source)
    parsed: list[tuple[str, str, float | None, list[tuple[str, str, Any, dict[str, Any]]]]] = []
    n_features = 0
    for fname, label, z, obj in levels_in:
        feats = []
        for i, f in enumerate(obj.get("features") or []):
            props = (f.get("properties") or {}) if isinstance(f, dict) else {}
            fid = props.get("id", i)
            where = f"{fname}: feature {fid}"
            if not isinstance(f, dict) or f.get("geometry") is None:
                raise ImportFailed("feature has no geometry", where=where)
            feats.append((where, str(props.get("type")), source_geometry(f["geometry"], where), props))
        n_features += len(feats)
        if n_features > limits.max_features:
            raise ImportFailed(f"more than {limits.max_features} features", where=source)
        parsed.append((fname, label, z, feats))

    tm = centred_on((g for _, _, _, fs in parsed for _, _, g, _ in fs), source)
    warnings: list[str] = []
    dropped: dict[str, int] = {}
    mapping: dict[tuple[str, str], int] = {}
    levels = []
    half = 0.0
    for _fname, label, z, feats in parsed:
        fc = _convert_level(label, feats, tm, options, warnings, dropped, mapping)
        levels.append(Level(name=label, floor=fc, ordinal=z))
        for f in fc["features"]:
            b = shapely.geometry.shape(f["geometry"]).bounds
            half = max(half, abs(b[0]), abs(b[2]))
    return ImportResult(
        format=name,
        source=source,
        levels=levels,
        warnings=warnings,
        mapping=[{"source": s, "to": t, "count": n} for (s, t), n in sorted(mapping.items())],
        georef=tm.describe(half),
        dropped=dropped,
    )


def _convert_level(
    label: str,
    feats: list[tuple[str, str, Any, dict[str, Any]]],
    tm: LocalTM,
    options: ImportOptions,
    warnings: list[str],
    dropped: dict[str, int],
    mapping: dict[tuple[str, str], int],
) -> dict[str, Any]:
    repair = options.repair

    def polys(where: str, g: Any) -> list[Polygon]:
        return valid_polygons(tm.geometry(g), where, repair=repair, warnings=warnings, locate=tm.locate)

    def note(src: str, to: str) -> None:
        mapping[(src, to)] = mapping.get((src, to), 0) + 1

    outlines: list[tuple[str, list[Polygon]]] = []
    walls: list[tuple[str, Any, bool, str]] = []
    doors: list[tuple[str, Any, str]] = []
    zones: list[dict[str, Any]] = []
    taken: set[str] = set()
    overrides = options.category_map or {}
    for where, typ, g, props in feats:
        pname = props.get("name") if isinstance(props.get("name"), str) else None
        fid = str(props.get("id", ""))
        target = overrides.get(typ)
        if target is not None and typ not in ("building_outline", "door"):
            # The user's confirmed mapping for a WRLD type (e.g. inaccessible_space -> general).
            if target not in OVERRIDE_TARGETS:
                raise ImportFailed(f"type {typ!r} cannot map to {target!r}; use one of {', '.join(OVERRIDE_TARGETS)}",
                                   where=where)
            note(typ, f"{target} (user mapping)")
            if target == "ignore":
                dropped[typ] = dropped.get(typ, 0) + 1
            elif target in ("wall", "glass"):
                walls.append((where, tm.geometry(g), target == "glass", f"wrld:{fid}"))
            else:
                zname = unique_name(pname or typ.replace("_", " ").capitalize(), taken, fid)
                use = private_use(pname) if target == "private" else None
                for j, p in enumerate(polys(where, g)):
                    nm = zname if j == 0 else unique_name(f"{zname} part {j + 1}", taken, fid)
                    zones.append(feature(p, kind="zone", zone=target, name=nm, use=use, source=f"wrld:{fid}"))
            continue
        if typ == "building_outline":
            outlines.append((where, polys(where, g)))
            note(typ, "outline")
        elif typ in ("wall", "window", "inaccessible_space", "railing"):
            glass = typ == "window" and options.windows_see_through
            # Railings are waist-high: a camera sees over them, so they are not occluders.
            if typ == "railing":
                dropped[typ] = dropped.get(typ, 0) + 1
                continue
            walls.append((where, tm.geometry(g), glass, f"wrld:{fid}"))
            note(typ, "wall (see-through)" if glass else "wall")
        elif typ == "door":
            doors.append((where, g, f"wrld:{fid}"))
            note(typ, "opening")
        elif typ in ("room", "bathroom", "no_geometry", "stairs", "elevator", "escalator", "floor_opening", "area"):
            use = "toilet" if typ == "bathroom" else private_use(pname)
            kind = "private" if use else "general"
            use = use or _GENERAL_USE.get(typ)
            zname = unique_name(pname or typ.replace("_", " ").capitalize(), taken, fid)
            by_name = kind == "private" and typ != "bathroom"
            note(f"{typ} (by name)" if by_name else typ, f"zone {kind}")
            parts = polys(where, g)
            for j, p in enumerate(parts):
                pname_j = zname if j == 0 else unique_name(f"{zname} part {j + 1}", taken, fid)
                zones.append(feature(p, kind="zone", zone=kind, name=pname_j, use=use, source=f"wrld:{fid}"))
        else:
            dropped[typ] = dropped.get(typ, 0) + 1
    outline = _one_outline(outlines, label, warnings)

    door_feats: list[dict[str, Any]] = []
    cutters = []
    for where, g, src in doors:
        if g.geom_type in ("Polygon", "MultiPolygon"):
            parts = polys(where, g)
            cutters += parts
            for p in parts:
                door_feats += [feature(ln, kind="opening", source=src) for ln in lines(centre_line(p))]
        else:
            door_feats += [feature(ln, kind="opening", source=src) for ln in lines(tm.geometry(g))]
    cut = shapely.union_all(cutters) if cutters else None

    wall_feats = []
    for where, g, glass, src in walls:
        if g.geom_type in ("LineString", "MultiLineString"):
            geom = g.difference(cut) if cut is not None else g
            wall_feats += [feature(ln, kind="wall", see_through=glass or None, source=src) for ln in lines(geom)]
            continue
        for p in valid_polygons(g, where, repair=repair, warnings=warnings, locate=tm.locate):
            # Doors sit in gaps between WRLD walls; cutting also opens walls drawn straight through a door.
            piece = p.difference(cut) if cut is not None and p.intersects(cut) else p
            for q in valid_polygons(piece, where, repair=True, warnings=[], locate=tm.locate):
                wall_feats.append(feature(q, kind="wall", see_through=glass or None, source=src))
    return collection(label, [outline] + wall_feats + door_feats + zones)


def _one_outline(outlines: list[tuple[str, list[Polygon]]], label: str, warnings: list[str]) -> dict[str, Any]:
    """The level's single outline: the union of its building_outline polygons, or the largest part."""
    parts = [p for _, ps in outlines for p in ps]
    if not parts:
        raise ImportFailed("level has no building_outline", where=f"level {label!r}")
    merged = shapely.union_all(parts)
    polys = list(getattr(merged, "geoms", [merged]))
    if len(polys) > 1:
        warnings.append(
            f"level {label!r}: building outline has {len(polys)} separate parts; kept the largest as the outline"
        )
    return feature(max(polys, key=lambda p: p.area), kind="outline")

