"""sightline-floor/1 GeoJSON: exact round trip, engine validation, located errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from inventory.importers import ImportFailed, ImportOptions, import_bytes, import_path
from inventory.importers.geojson import dumps
from planner.floor import floor_to_geojson, parse_floor

WRLD_LEVEL = Path(__file__).parent.parent / "data" / "westport-house" / "westport-house-floor-2.geojson"

FLOOR = {
    "type": "FeatureCollection",
    "format": "sightline-floor/1",
    "name": "Pool ground floor",
    "features": [
        {"type": "Feature", "properties": {"kind": "outline"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [20, 0], [20, 12], [0, 12], [0, 0]]]}},
        {"type": "Feature", "id": "w1", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[8, 0], [8, 5], [8, 6]]}},
        {"type": "Feature", "properties": {"kind": "wall", "see_through": True, "note": "glass screen"},
         "geometry": {"type": "Polygon", "coordinates": [[[10, 2], [12, 2], [12, 2.1], [10, 2.1], [10, 2]]]}},
        {"type": "Feature", "properties": {"kind": "opening"},
         "geometry": {"type": "LineString", "coordinates": [[8, 5], [8, 6]]}},
        {"type": "Feature", "properties": {"kind": "zone", "zone": "private", "name": "Changing room",
                                           "use": "changing_room"},
         "geometry": {"type": "Polygon", "coordinates": [[[8, 6], [14, 6], [14, 12], [8, 12], [8, 6]]]}},
        {"type": "Feature", "properties": {"kind": "zone", "zone": "required", "name": "Entrance", "k": 2,
                                           "tier": "identify", "use": "entrance"},
         "geometry": {"type": "Polygon", "coordinates": [[[2, 0], [5, 0], [5, 2], [2, 2], [2, 0]]]}},
        {"type": "Feature", "properties": {"kind": "terminal", "id": "cam-1", "type": "camera", "heading_deg": 45,
                                           "hfov_deg": 90, "hpx": 1920, "height_m": 2.8, "face_recognition": False,
                                           "audio": False, "locked": "keep"},
         "geometry": {"type": "Point", "coordinates": [0.5, 0.5]}},
    ],
    "venue_ref": "riverside-pool",
}


def test_round_trip_is_exact() -> None:
    text = dumps(FLOOR)
    r = import_bytes(text.encode(), "floor.geojson")
    assert r.format == "geojson" and len(r.levels) == 1
    assert r.levels[0].name == "Pool ground floor"
    assert r.levels[0].floor == FLOOR
    assert dumps(r.levels[0].floor) == text
    # The engine reads the same thing and writes it back unchanged in meaning.
    assert parse_floor(floor_to_geojson(parse_floor(r.levels[0].floor))) == parse_floor(FLOOR)


def test_imported_wrld_floor_exports_and_reimports_identically(tmp_path: Path) -> None:
    wrld = import_path(WRLD_LEVEL).levels[0].floor
    path = tmp_path / "second.geojson"
    path.write_text(dumps(wrld), encoding="utf-8")
    again = import_path(path)
    assert again.levels[0].floor == wrld
    assert again.levels[0].counts() == import_path(WRLD_LEVEL).levels[0].counts()


def test_levels_object_from_convert_is_accepted() -> None:
    doc = {"levels": [{"name": "G", "floor": FLOOR}, {"name": "1", "floor": dict(FLOOR, name="Level 1")}]}
    r = import_bytes(json.dumps(doc).encode(), "venue.json")
    assert [lv.name for lv in r.levels] == ["G", "1"]
    assert r.to_json() == doc


def test_engine_errors_name_the_file_and_feature() -> None:
    bad = copy.deepcopy(FLOOR)
    bad["features"][4]["properties"]["zone"] = "secret"
    with pytest.raises(ImportFailed, match=r"floor\.geojson: feature 4 \(zone 'Changing room'\): zone must be one of"):
        import_bytes(json.dumps(bad).encode(), "floor.geojson")
    no_outline = dict(FLOOR, features=FLOOR["features"][1:])
    with pytest.raises(ImportFailed, match="floor.geojson: the floor has no outline"):
        import_bytes(json.dumps(no_outline).encode(), "floor.geojson")


def test_self_intersecting_zone_is_located_or_repaired() -> None:
    bad = copy.deepcopy(FLOOR)
    bad["features"][5]["geometry"]["coordinates"] = [[[2, 0], [5, 2], [5, 0], [2, 2], [2, 0]]]
    data = json.dumps(bad).encode()
    with pytest.raises(ImportFailed, match=r"floor\.geojson: feature 5: invalid polygon: self-intersection at x=3\.500 y=1\.000"):
        import_bytes(data, "floor.geojson")
    fixed = import_bytes(data, "floor.geojson", options=ImportOptions(repair=True))
    zone = [f for f in fixed.levels[0].floor["features"] if f["properties"].get("name") == "Entrance"]
    assert len(zone) == 1 and fixed.warnings
    parse_floor(fixed.levels[0].floor)


def test_plain_geojson_is_refused_with_a_reason() -> None:
    plain = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Point", "coordinates": [121.4, 31.2]}}]}
    with pytest.raises(ImportFailed, match=r"points\.geojson: GeoJSON without \"format\": \"sightline-floor/1\""):
        import_bytes(json.dumps(plain).encode(), "points.geojson")
    with pytest.raises(ImportFailed, match=r"floor\.geojson: invalid JSON at line 1 column 2"):
        import_bytes(b"{oops", "floor.geojson")
