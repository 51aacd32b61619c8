"""sightline-floor/1 GeoJSON: import (validated by the engine's parser) and export, round-tripping exactly."""

from __future__ import annotations

import copy
import json
import posixpath
from typing import Any

from inventory.importers.base import FORMAT_TAG, ImportFailed, ImportOptions, ImportResult, Level, Limits
from inventory.importers.features import feature, source_geometry, valid_polygons
from inventory.importers.safety import load_json
from planner.errors import InputError
from planner.floor import parse_floor

name = "geojson"
extensions = (".geojson", ".json")


def is_floor(obj: Any) -> bool:
    """True for a sightline-floor/1 FeatureCollection."""
    return isinstance(obj, dict) and obj.get("format") == FORMAT_TAG


def is_levels(obj: Any) -> bool:
    """True for the convert CLI's {"levels": [{"name", "floor"}]} object."""
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("levels"), list)
        and all(isinstance(lv, dict) and "floor" in lv for lv in obj["levels"])
    )


def check_floor(fc: dict[str, Any], where: str, options: ImportOptions, warnings: list[str]) -> dict[str, Any]:
    """Validate a floor with the engine's parser; invalid polygons are located, or repaired if asked."""
    fc = copy.deepcopy(fc)
    feats = fc.get("features")
    if isinstance(feats, list):
        repaired: list[Any] = []
        for i, f in enumerate(feats):
            geom = f.get("geometry") if isinstance(f, dict) else None
            if isinstance(geom, dict) and geom.get("type") == "Polygon":
                fw = f"{where}: feature {i}"
                polys = valid_polygons(
                    source_geometry(geom, fw), fw, repair=options.repair, warnings=warnings, min_area=0.0
                )
                if options.repair and polys and not _same(geom, polys):
                    props = f.get("properties") or {}
                    # One outline per floor and unique zone names: keep the largest piece of those.
                    keep = polys if props.get("kind") == "wall" else [max(polys, key=lambda p: p.area)]
                    for p in keep:
                        repaired.append(dict(feature(p, **props), **({"id": f["id"]} if "id" in f else {})))
                    continue
            repaired.append(f)
        fc["features"] = repaired
    try:
        parse_floor(fc)
    except InputError as exc:
        raise ImportFailed(str(exc), where=where) from exc
    return fc


def _same(geom: dict[str, Any], polys: list[Any]) -> bool:
    return len(polys) == 1 and polys[0].equals(source_geometry(geom, ""))


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """Import one sightline-floor/1 floor, or several floors in the convert CLI's {"levels": [...]} shape."""
    if len(files) != 1:
        raise ImportFailed("expected a single GeoJSON file", where=source)
    fname, data = next(iter(files.items()))
    obj = load_json(data, fname)
    warnings: list[str] = []
    if is_levels(obj):
        levels = []
        for i, lv in enumerate(obj["levels"]):
            lname = lv.get("name") if isinstance(lv.get("name"), str) else f"Level {i + 1}"
            fc = check_floor(lv["floor"], f"{fname}: level {lname!r}", options, warnings)
            levels.append(Level(name=lname, floor=fc, ordinal=float(i)))
        if not levels:
            raise ImportFailed("no levels", where=fname)
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        if not is_floor(obj):
            raise ImportFailed(
                f"not a sightline-floor/1 file (\"format\" is {obj.get('format')!r}); plain WGS84 GeoJSON "
                "must come as an IMDF archive or WRLD building",
                where=fname,
            )
        fc = check_floor(obj, fname, options, warnings)
        stem = posixpath.splitext(posixpath.basename(fname))[0]
        levels = [Level(name=fc.get("name") or stem, floor=fc, ordinal=0.0)]
    else:
        raise ImportFailed("not a GeoJSON FeatureCollection", where=fname)
    n = sum(len(lv.floor["features"]) for lv in levels)
    if n > limits.max_features:
        raise ImportFailed(f"more than {limits.max_features} features", where=fname)
    return ImportResult(format=name, source=source, levels=levels, warnings=warnings)


def dumps(floor: dict[str, Any]) -> str:
    """Serialise one floor for export; `load` of this text gives back an equal FeatureCollection."""
    return json.dumps(floor, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
