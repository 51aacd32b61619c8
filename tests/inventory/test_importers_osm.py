"""OSM indoor GeoJSON written from the Simple Indoor Tagging specification (wiki.openstreetmap.org/wiki/Simple_Indoor_Tagging)."""

from __future__ import annotations

import json
import math

import pytest
from shapely.geometry import shape

from inventory.importers import ImportFailed, ImportOptions, import_bytes
from inventory.importers.osm import levels_of
from planner.floor import parse_floor

LON0, LAT0 = 11.5755, 48.1374  # Munich
M_LAT = 111_132.0  # metres per degree of latitude (approximate, the fixture's scale only)
M_LON = M_LAT * math.cos(math.radians(LAT0))


def _ll(x: float, y: float) -> list[float]:
    return [LON0 + x / M_LON, LAT0 + y / M_LAT]


def _poly(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[_ll(x0, y0), _ll(x1, y0), _ll(x1, y1), _ll(x0, y1), _ll(x0, y0)]]}


def _f(geom: dict, **tags: str) -> dict:
    return {"type": "Feature", "properties": tags, "geometry": geom}


def sit_building() -> dict:
    """Two levels of a 20 m x 10 m building: a corridor, an office, toilets and a shower; a stair on both levels."""
    feats = [
        _f(_poly(0, 0, 20, 10), indoor="level", level="0;1"),
        _f(_poly(0, 0, 20, 4), indoor="corridor", level="0"),
        _f(_poly(0, 4, 8, 10), indoor="room", level="0", name="Office 0.01", ref="0.01"),
        _f(_poly(8, 4, 12, 10), indoor="room", level="0", amenity="toilets", ref="0.02"),
        _f(_poly(12, 4, 16, 10), indoor="room", level="0", room="shower", ref="0.03"),
        _f(_poly(16, 4, 20, 10), indoor="room", level="0~1", room="stairs", ref="S1"),
        _f(_poly(0, 4, 16, 10), indoor="area", level="1", name="Open office"),
        _f({"type": "LineString", "coordinates": [_ll(0, 4), _ll(16, 4)]}, indoor="wall", level="1"),
        # Door nodes on the corridor edge of each room (y = 4 m), one 1.2 m wide.
        _f({"type": "Point", "coordinates": _ll(4, 4)}, door="hinged", level="0", width="1.2"),
        _f({"type": "Point", "coordinates": _ll(10, 4)}, door="hinged", level="0"),
        _f({"type": "Point", "coordinates": _ll(14, 4)}, door="hinged", level="0"),
        _f({"type": "Point", "coordinates": _ll(18, 4)}, door="yes", level="0;1"),
        _f({"type": "Point", "coordinates": _ll(0, 2)}, entrance="main", level="0"),
        _f({"type": "LineString", "coordinates": [_ll(2, 2), _ll(18, 2)]}, indoor="yes", highway="corridor", level="0"),
    ]
    return {"type": "FeatureCollection", "features": feats}


def _kinds(floor: dict, kind: str) -> list[dict]:
    return [f for f in floor["features"] if f["properties"]["kind"] == kind]


def test_level_values() -> None:
    assert levels_of("0", "x") == [0.0]
    assert levels_of("0;1", "x") == [0.0, 1.0]
    assert levels_of("0~0", "x") == [0.0]
    assert levels_of("-1~2", "x") == [-1.0, 0.0, 1.0, 2.0]
    assert levels_of("-2--1", "x") == [-2.0, -1.0]
    assert levels_of("1.5", "x") == [1.5]
    assert levels_of(None, "x") == [0.0]
    with pytest.raises(ImportFailed, match="x: level 'ground' is not a number"):
        levels_of("ground", "x")


def test_building_imports_rooms_walls_doors_and_toilets() -> None:
    r = import_bytes(json.dumps(sit_building()).encode(), "building.geojson",
                     options=ImportOptions(render_background=False))
    assert r.format == "osm" and [lv.name for lv in r.levels] == ["Level 0", "Level 1"]
    ground, first = (lv.floor for lv in r.levels)
    for fl in (ground, first):
        parse_floor(fl)
    zones = {z["properties"]["name"]: z["properties"] for z in _kinds(ground, "zone")}
    assert set(zones) == {"Corridor", "Office 0.01", "0.02", "0.03", "S1"}
    assert (zones["0.02"]["zone"], zones["0.02"]["use"]) == ("private", "toilet")
    assert (zones["0.03"]["zone"], zones["0.03"]["use"]) == ("private", "shower")
    assert zones["Office 0.01"]["zone"] == "general"
    widths = sorted(round(shape(o["geometry"]).length, 3) for o in _kinds(ground, "opening"))
    assert widths == [0.9, 0.9, 0.9, 0.9, 1.2]  # four doors and the entrance
    assert r.dropped == {"indoor=yes": 1}
    # Room edges are walls, with the doorways cut out: nothing blocks the 1.2 m door at x = 4 m.
    walls = [shape(w["geometry"]) for w in _kinds(ground, "wall")]
    door = next(shape(o["geometry"]) for o in _kinds(ground, "opening") if shape(o["geometry"]).length > 1)
    assert all(w.intersection(door.buffer(0.01)).length < 0.05 for w in walls)
    # Level 1: an area has no walls of its own; the stair (level 0~1) and the 0;1 door are on it too.
    z1 = {z["properties"]["name"] for z in _kinds(first, "zone")}
    assert z1 == {"Open office", "S1"}
    assert len(_kinds(first, "opening")) == 1
    wall_len = sum(shape(w["geometry"]).length for w in _kinds(first, "wall"))
    assert wall_len == pytest.approx(16 + 2 * (4 + 6) - 0.9, abs=0.2)  # indoor=wall plus the stair's edges


def test_warnings_and_refusals() -> None:
    doc = sit_building()
    doc["features"] = [f for f in doc["features"] if "door" not in f["properties"] and "entrance" not in f["properties"]]
    doc["features"].append(_f(_poly(0, 0, 5, 5), indoor="level", level="3"))
    r = import_bytes(json.dumps(doc).encode(), "b.geojson", options=ImportOptions(render_background=False))
    assert any("Level 0: no doors on this level: every room is sealed" in w for w in r.warnings)
    assert any("Level 3: no rooms or walls on this level; not imported" in w for w in r.warnings)
    assert [lv.name for lv in r.levels] == ["Level 0", "Level 1"]
    bad = sit_building()
    bad["features"][2]["properties"]["level"] = "first"
    with pytest.raises(ImportFailed, match=r"b\.geojson: feature 2: level 'first' is not a number"):
        import_bytes(json.dumps(bad).encode(), "b.geojson")
    plain = {"type": "FeatureCollection", "features": [_f(_poly(0, 0, 1, 1), building="yes")]}
    with pytest.raises(ImportFailed, match="not WRLD, IMDF or OSM indoor"):
        import_bytes(json.dumps(plain).encode(), "b.geojson")
