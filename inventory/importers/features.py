"""Builders for sightline-floor/1 features, with the validity checks every importer shares."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString, Polygon, mapping
from shapely.validation import explain_validity

from inventory.importers.base import FORMAT_TAG, ImportFailed

# 0.1 mm: far below drawing accuracy, and keeps JSON small and round-trips stable.
DECIMALS = 4

Locate = Callable[[float, float], str]


def collection(name: str, features: list[dict[str, Any]]) -> dict[str, Any]:
    """A sightline-floor/1 FeatureCollection."""
    return {"type": "FeatureCollection", "format": FORMAT_TAG, "name": name, "features": features}


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    """A GeoJSON Feature with the given properties (None values left out)."""
    return {
        "type": "Feature",
        "properties": {k: v for k, v in props.items() if v is not None},
        "geometry": _plain(mapping(geom)),
    }


def _plain(geo: Any) -> Any:
    """Turn shapely's tuples into lists so the result equals its own JSON round-trip."""
    if isinstance(geo, dict):
        return {k: _plain(v) for k, v in geo.items()}
    if isinstance(geo, (list, tuple)):
        return [_plain(v) for v in geo]
    return geo


def rounded(geom: Any) -> Any:
    """The geometry with coordinates rounded to DECIMALS."""
    # Rounding can make neighbours coincide; the engine rejects zero-length segments.
    return shapely.remove_repeated_points(shapely.set_precision(geom, 10.0**-DECIMALS, mode="pointwise"))


def _location(message: str) -> tuple[float, float] | None:
    m = re.search(r"\[(-?[\d.eE+-]+) (-?[\d.eE+-]+)", message)
    return (float(m.group(1)), float(m.group(2))) if m else None


def valid_polygons(
    geom: Any,
    where: str,
    *,
    repair: bool,
    warnings: list[str],
    locate: Locate | None = None,
    min_area: float = 1e-6,
) -> list[Polygon]:
    """Polygons of a rounded polygonal geometry; invalid ones raise with their location unless repair is set."""
    geom = rounded(geom)
    if geom.is_empty:
        return []
    if not geom.is_valid:
        reason = explain_validity(geom)
        xy = _location(reason)
        at = ""
        if xy is not None:
            at = f" at x={xy[0]:.3f} y={xy[1]:.3f} m"
            if locate is not None:
                at += f" ({locate(*xy)})"
        if not repair:
            kind = reason.split("[")[0].strip().lower()
            raise ImportFailed(f"invalid polygon: {kind}{at}; import again with repair to fix it", where=where)
        geom = shapely.make_valid(geom)
        warnings.append(f"{where}: repaired invalid polygon ({reason.split('[')[0].strip()}{at})")
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon)]
    if not parts and hasattr(geom, "geoms"):
        parts = [p for g in geom.geoms for p in getattr(g, "geoms", []) if isinstance(p, Polygon)]
    out = []
    for p in parts:
        p = shapely.orient_polygons(p)
        if p.area >= min_area:
            out.append(p)
    return out


def lines(geom: Any) -> list[LineString]:
    """The non-degenerate LineStrings of a (multi)line geometry, rounded."""
    geom = rounded(geom)
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        parts = [geom]
    elif isinstance(geom, MultiLineString):
        parts = list(geom.geoms)
    else:
        parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, LineString)]
    return [p for p in parts if p.length > 0 and len(p.coords) >= 2]


def source_geometry(obj: Any, where: str) -> Any:
    """A shapely geometry from a GeoJSON geometry object, or a clear error."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise ImportFailed("missing or malformed geometry", where=where)
    try:
        geom = shapely.geometry.shape(obj)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ImportFailed(f"malformed {obj.get('type')} geometry ({exc})", where=where) from exc
    if geom.is_empty:
        raise ImportFailed(f"empty {obj.get('type')} geometry", where=where)
    if not all(map(lambda v: v == v and abs(v) != float("inf"), geom.bounds)):
        raise ImportFailed("non-finite coordinates", where=where)
    return geom


def centre_line(poly: Polygon) -> LineString:
    """The long axis of a thin polygon (a door leaf or frame) through its middle, as a LineString."""
    rect = poly.minimum_rotated_rectangle
    if not isinstance(rect, Polygon):
        return LineString(list(rect.coords)[:2]) if isinstance(rect, LineString) else LineString()
    c = list(rect.exterior.coords)[:4]
    sides = [(c[i], c[(i + 1) % 4]) for i in range(4)]
    lengths = [LineString(s).length for s in sides]
    # The two short sides' midpoints span the long axis.
    short = sorted(range(4), key=lambda i: lengths[i])[:2]
    mids = [((sides[i][0][0] + sides[i][1][0]) / 2, (sides[i][0][1] + sides[i][1][1]) / 2) for i in short]
    return LineString(mids)
