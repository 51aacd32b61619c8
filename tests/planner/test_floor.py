"""The sightline-floor/1 model: parsing, validation messages, and the exact GeoJSON round trip."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.floor import Floor, floor_to_geojson, load_floor, parse_floor
from planner.research.floorgen import generate_mall_floor

DATA = Path(__file__).resolve().parents[1] / "data" / "floors"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _base() -> dict:
    return json.loads((DATA / "two_rooms.json").read_text())


def _terminal(**props) -> dict:
    p = {"kind": "terminal", "id": "cam-9", "type": "camera", "heading_deg": 0, "hfov_deg": 90, "hpx": 1920}
    p.update(props)
    return {"type": "Feature", "properties": p, "geometry": {"type": "Point", "coordinates": [5, 5]}}


def _with(feature: dict) -> dict:
    obj = _base()
    obj["features"].append(feature)
    return obj


def _error(obj) -> InputError:
    with pytest.raises(InputError) as info:
        parse_floor(obj)
    return info.value


def test_parse_two_rooms():
    f = load_floor(DATA / "two_rooms.json")
    assert isinstance(f, Floor)
    assert f.name == "Two rooms with a door"
    assert f.outline.geometry.area == 200
    assert len(f.walls) == 1 and not f.walls[0].closed and f.walls[0].feature_id == "w-mid"
    assert f.openings[0].geometry.length == 2
    left, toilet = f.zones
    assert (left.zone, left.k, left.tier) == ("required", 1, "detect")
    assert (toilet.zone, toilet.k, toilet.tier, toilet.use) == ("private", 1, "observe", "toilet")
    cam = f.terminal("cam-1")
    assert (cam.x, cam.y, cam.range_m, cam.hpx, cam.height_m) == (5, 5, 100, None, 3)
    assert cam.extra == {"asset_tag": "A-17"}
    assert f.zones_of("private") == (toilet,)


@pytest.mark.parametrize("obj", [
    _base(),
    generate_mall_floor(3, 120),
    _with(_terminal(heading_deg=-90, hfov_deg=360, locked="keep", face_recognition=True, tilt_deg=15)),
], ids=["two_rooms", "generated", "extras"])
def test_round_trip_is_exact(obj):
    first = parse_floor(obj)
    exported = floor_to_geojson(first)
    again = parse_floor(json.loads(json.dumps(exported)))
    assert again == first
    assert floor_to_geojson(again) == exported


def test_export_preserves_ids_properties_and_foreign_members():
    obj = _base()
    obj["venue_ref"] = "V-12"
    obj["features"][1]["properties"]["material"] = "brick"
    out = floor_to_geojson(parse_floor(obj))
    assert out["format"] == "sightline-floor/1" and out["name"] == obj["name"] and out["venue_ref"] == "V-12"
    by_id = {f.get("id"): f for f in out["features"]}
    assert set(by_id) == {"outline", "w-mid", "door-1", "z-left", "z-wc", "t-1"}
    assert by_id["w-mid"]["properties"]["material"] == "brick"
    assert by_id["t-1"]["properties"]["asset_tag"] == "A-17"
    assert by_id["z-wc"]["properties"]["use"] == "toilet"


HEADING_EDGES = [(-90, 270.0), (720, 0.0), (359.5, 359.5), (-1e-20, 0.0), (-0.0, 0.0), (360, 0.0), (-360, 0.0),
                 (0, 0.0), (1e-20, 1e-20), (-359.5, 0.5), (1e9 + 0.25, 280.25), (math.nextafter(360.0, 0.0),
                                                                            math.nextafter(360.0, 0.0))]


@pytest.mark.parametrize("given, stored", HEADING_EDGES)
def test_heading_is_normalised(given, stored):
    f = parse_floor(_with(_terminal(heading_deg=given)))
    heading = f.terminal("cam-9").heading_deg
    assert heading == stored and 0.0 <= heading < 360.0 and math.copysign(1.0, heading) == 1.0


def test_where_names_the_feature():
    err = _error(_with(_terminal(hfov_deg=0)))
    assert err.where == "feature 6 (terminal 'cam-9')"
    assert "hfov_deg" in str(err) and str(err).startswith("feature 6 (terminal 'cam-9'): ")


@pytest.mark.parametrize("hfov", [0, -10, 5e-324, 0.0999, 360.0001, 720])
def test_hfov_outside_range(hfov):
    assert "hfov_deg must be in [0.1, 360]" in _error(_with(_terminal(hfov_deg=hfov))).message


def test_the_narrowest_lens_is_allowed():
    assert parse_floor(_with(_terminal(hfov_deg=0.1))).terminal("cam-9").hfov_deg == 0.1


def test_hfov_360_is_allowed():
    assert parse_floor(_with(_terminal(hfov_deg=360))).terminal("cam-9").hfov_deg == 360


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_coordinates(value):
    obj = _base()
    obj["features"][1]["geometry"]["coordinates"][1][1] = value
    err = _error(obj)
    assert "finite" in err.message and err.where == "feature 1 (wall 'w-mid')"


def test_non_finite_terminal_number():
    err = _error(json.loads(json.dumps(_with(_terminal(range_m=float("inf"))))))
    assert "range_m must be finite" in err.message


def test_zero_length_wall():
    obj = _with({"type": "Feature", "properties": {"kind": "wall"},
                 "geometry": {"type": "LineString", "coordinates": [[3, 3], [3, 3]]}})
    err = _error(obj)
    assert "zero-length" in err.message and err.where == "feature 6 (wall)"


def test_terminal_outside_outline():
    feat = _terminal()
    feat["geometry"]["coordinates"] = [25, 5]
    err = _error(_with(feat))
    assert "outside the floor outline" in err.message and "cam-9" in err.where


def test_terminal_in_an_outline_hole_is_outside_but_on_the_outline_is_inside():
    obj = _base()
    obj["features"][0]["geometry"]["coordinates"].append([[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]])
    feat = _terminal()
    feat["geometry"]["coordinates"] = [3, 3]
    obj["features"].append(feat)
    assert "outside" in _error(obj).message
    feat["geometry"]["coordinates"] = [20, 5]
    assert parse_floor(obj).terminal("cam-9").x == 20


def test_self_intersecting_zone_names_the_zone_and_location():
    obj = _with({"type": "Feature", "properties": {"kind": "zone", "zone": "general", "name": "Bow tie"},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 4], [4, 0], [0, 4], [0, 0]]]}})
    err = _error(obj)
    assert err.where == "feature 6 (zone 'Bow tie')"
    assert "Self-intersection[2 2]" in err.message


@pytest.mark.parametrize("props, needle", [
    ({"kind": "camera"}, "properties.kind must be one of"),
    ({"kind": "zone", "zone": "secret", "name": "X"}, "zone must be one of required, private, general"),
    ({"kind": "zone", "zone": "required", "name": "X", "tier": "sharp"}, "tier must be one of"),
    ({"kind": "zone", "zone": "required", "name": "X", "k": 0}, "k must be an integer >= 1"),
    ({"kind": "zone", "zone": "required"}, "non-empty string name"),
])
def test_unknown_enums_and_missing_zone_fields(props, needle):
    obj = _with({"type": "Feature", "properties": props,
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}})
    assert needle in _error(obj).message


@pytest.mark.parametrize("drop, needle", [
    ("heading_deg", "missing heading_deg"),
    ("hfov_deg", "missing hfov_deg"),
    ("hpx", "needs range_m or hpx"),
    ("id", "non-empty string id"),
    ("type", "type must be one of"),
])
def test_missing_terminal_fields(drop, needle):
    feat = _terminal()
    del feat["properties"][drop]
    assert needle in _error(_with(feat)).message


@pytest.mark.parametrize("props, needle", [
    ({"type": "drone"}, "type must be one of"),
    ({"locked": "maybe"}, "locked must be one of keep, remove"),
    ({"hpx": 12.5}, "hpx must be a positive integer"),
    ({"range_m": -1}, "range_m must be positive metres"),
    ({"face_recognition": "yes"}, "face_recognition must be true or false"),
    ({"heading_deg": "north"}, "heading_deg must be a number"),
])
def test_bad_terminal_values(props, needle):
    assert needle in _error(_with(_terminal(**props))).message


def test_collection_level_errors():
    obj = _base()
    obj["format"] = "geojson"
    assert "format must be" in _error(obj).message
    obj = _base()
    obj["features"] = [f for f in obj["features"] if f["properties"]["kind"] != "outline"]
    assert "no outline" in _error(obj).message
    obj = _base()
    second = copy.deepcopy(obj["features"][0])
    second.pop("id", None)
    obj["features"].append(second)
    assert "exactly one outline" in _error(obj).message
    assert "duplicate terminal id" in _error(_with(_terminal(id="cam-1"))).message
    assert "FeatureCollection" in _error([1, 2]).message
    obj = _base()
    del obj["features"][2]["geometry"]
    assert _error(obj).where == "feature 2 (opening 'door-1')"


def test_load_floor_rejects_bad_json(tmp_path):
    p = tmp_path / "bad.geojson"
    p.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_floor(p)


def test_schema_accepts_the_test_floor_and_rejects_a_bad_one():
    schema = json.loads((DOCS / "sightline-floor-1.schema.json").read_text())
    assert schema["properties"]["format"]["const"] == "sightline-floor/1"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(_base(), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_with(_terminal(type="drone")), schema)


def test_coordinates_must_be_local_metres():
    obj = _base()
    obj["features"][1]["geometry"]["coordinates"][1] = [1e308, 5]
    assert "not in local metres" in _error(obj).message
