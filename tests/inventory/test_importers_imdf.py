"""Apple IMDF archives: a two-level swimming-pool venue written from the OGC IMDF 1.0.0 specification."""

from __future__ import annotations

import io
import json
import math
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import shapely
from shapely.geometry import LineString, shape

from inventory.importers import ImportFailed, ImportOptions, import_bytes, import_path
from planner.floor import parse_floor

ARCHIVE = Path(__file__).parent.parent / "data" / "imdf" / "pool-venue.zip"
LON0, LAT0 = 121.4737, 31.2304  # Shanghai
NS = uuid.UUID("6f1c3c64-5d0e-4c1f-9a43-9a1e1f0b7a11")

# The venue in metres (x east, y north) about a corner at (LON0, LAT0): level -> units, openings, fixtures.
LEVELS = [
    {
        "name": "Ground Floor", "short": "GF", "ordinal": 0, "extent": (0, 0, 20, 12),
        "units": [
            ("Lobby", "lobby", (0, 0, 8, 6)),
            ("Corridor", "walkway", (8, 0, 20, 6)),
            ("Women's Restroom", "restroom.female", (0, 6, 4, 12)),
            ("Men's Restroom", "restroom.male", (4, 6, 8, 12)),
            ("Changing Room", "room", (8, 6, 14, 12)),
            ("Showers", "shower", (14, 6, 20, 12)),
            (None, "column", (10, 2, 10.5, 2.5)),
        ],
        "openings": [((3, 0), (5, 0), "pedestrian"), ((1, 6), (2, 6), "pedestrian"), ((5, 6), (6, 6), "pedestrian"),
                     ((10, 6), (11.2, 6), "pedestrian"), ((14, 8), (14, 9), "pedestrian")],
        "fixtures": [("Reception desk", "furniture", (2, 2, 5, 2.8)), ("Plunge pool", "water", (16, 1, 19, 4))],
    },
    {
        "name": "Level 1", "short": "1", "ordinal": 1, "extent": (0, 0, 20, 12),
        "units": [
            ("Gym", "fitnessroom", (0, 0, 12, 12)),
            ("Mothers' Room", "mothersroom", (12, 6, 16, 12)),
            ("Accessible WC", "restroom.unisex.wheelchair", (16, 6, 20, 12)),
            ("Landing", "walkway", (12, 0, 20, 6)),
        ],
        "openings": [((12, 2), (12, 4), "pedestrian"), ((13, 6), (14, 6), "pedestrian"), ((17, 6), (18, 6), "pedestrian")],
        "fixtures": [],
    },
]
# Hand-computed from the layout: perimeter + internal unit edges - open/open edges - openings.
EXPECTED_WALL_M = {"Ground Floor": 64 + 20 + 6 + 12 + 6 - 6 - 6.2, "Level 1": 64 + 12 + 8 + 6 - 4}
EXPECTED_PRIVATE = {"Ground Floor": 4, "Level 1": 2}  # restrooms, showers, changing room by name; mothers room, WC


def _lonlat(x: float, y: float) -> list[float]:
    # Metres to degrees with the WGS84 radii of curvature at LAT0 (exact to ~1e-6 over 20 m).
    a, e2 = 6_378_137.0, 0.00669437999014
    s = math.sin(math.radians(LAT0))
    n = a / math.sqrt(1 - e2 * s * s)
    m = a * (1 - e2) / (1 - e2 * s * s) ** 1.5
    return [LON0 + math.degrees(x / (n * math.cos(math.radians(LAT0)))), LAT0 + math.degrees(y / m)]


def _poly(b: tuple[float, float, float, float]) -> dict:
    x0, y0, x1, y1 = b
    return {"type": "Polygon", "coordinates": [[_lonlat(x0, y0), _lonlat(x1, y0), _lonlat(x1, y1),
                                                _lonlat(x0, y1), _lonlat(x0, y0)]]}


def _point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": _lonlat(x, y)}


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NS, "/".join(map(str, parts))))


def _fc(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1).encode()


def build_imdf() -> dict[str, bytes]:
    """The archive's members, as an IMDF 1.0.0 exporter would write them."""
    venue_id, building_id, address_id = _id("venue"), _id("building"), _id("address")
    files = {
        "manifest.json": json.dumps({"version": "1.0.0", "created": "2026-11-01T09:00:00Z",
                                     "generated_by": "Sightline test fixture", "language": "zh-Hans-CN",
                                     "extensions": None}, indent=1).encode(),
        "address.geojson": _fc([{"id": address_id, "type": "Feature", "feature_type": "address", "geometry": None,
                                 "properties": {"address": "1 Test Road", "unit": None, "locality": "Shanghai",
                                                "province": "CN-SH", "country": "CN", "postal_code": "200000",
                                                "postal_code_ext": None, "postal_code_vanity": None}}]),
        "venue.geojson": _fc([{"id": venue_id, "type": "Feature", "feature_type": "venue",
                               "geometry": _poly((-2, -2, 22, 14)),
                               "properties": {"category": "communitycenter", "restriction": None,
                                              "name": {"en": "Riverside Swimming Pool"}, "alt_name": None,
                                              "hours": "Mo-Su 06:00-22:00", "phone": None, "website": None,
                                              "display_point": _point(10, 6), "address_id": address_id}}]),
        "building.geojson": _fc([{"id": building_id, "type": "Feature", "feature_type": "building", "geometry": None,
                                  "properties": {"category": "unspecified", "restriction": None,
                                                 "name": {"en": "Main building"}, "alt_name": None,
                                                 "display_point": _point(10, 6), "address_id": address_id}}]),
        "footprint.geojson": _fc([{"id": _id("footprint"), "type": "Feature", "feature_type": "footprint",
                                   "geometry": _poly((0, 0, 20, 12)),
                                   "properties": {"category": "ground", "name": None, "building_ids": [building_id]}}]),
    }
    levels, units, openings, fixtures = [], [], [], []
    for lv in LEVELS:
        lid = _id("level", lv["ordinal"])
        levels.append({"id": lid, "type": "Feature", "feature_type": "level", "geometry": _poly(lv["extent"]),
                       "properties": {"category": "unspecified", "restriction": None, "outdoor": False,
                                      "ordinal": lv["ordinal"], "name": {"en": lv["name"]},
                                      "short_name": {"en": lv["short"]}, "display_point": _point(10, 6),
                                      "address_id": None, "building_ids": [building_id]}})
        for i, (uname, cat, b) in enumerate(lv["units"]):
            units.append({"id": _id("unit", lv["ordinal"], i), "type": "Feature", "feature_type": "unit",
                          "geometry": _poly(b),
                          "properties": {"category": cat, "restriction": None, "accessibility": None,
                                         "name": {"en": uname} if uname else None, "alt_name": None,
                                         "level_id": lid, "display_point": None}})
        for i, (p, q, cat) in enumerate(lv["openings"]):
            openings.append({"id": _id("opening", lv["ordinal"], i), "type": "Feature", "feature_type": "opening",
                             "geometry": {"type": "LineString", "coordinates": [_lonlat(*p), _lonlat(*q)]},
                             "properties": {"category": cat, "accessibility": None, "access_control": None,
                                            "door": {"type": "hinged", "automatic": False, "material": "wood"},
                                            "name": None, "alt_name": None, "display_point": None, "level_id": lid}})
        for i, (fname, cat, b) in enumerate(lv["fixtures"]):
            fixtures.append({"id": _id("fixture", lv["ordinal"], i), "type": "Feature", "feature_type": "fixture",
                             "geometry": _poly(b),
                             "properties": {"category": cat, "name": {"en": fname}, "alt_name": None,
                                            "anchor_id": None, "level_id": lid, "display_point": None}})
    files.update({"level.geojson": _fc(levels), "unit.geojson": _fc(units), "opening.geojson": _fc(openings),
                  "fixture.geojson": _fc(fixtures)})
    return files


def _zip(files: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in files.items():
            if n not in drop:
                zf.writestr(n, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def venue():
    """The committed archive imported once."""
    return import_path(ARCHIVE)


def test_committed_archive_is_the_fixture() -> None:
    with zipfile.ZipFile(ARCHIVE) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == build_imdf()


def test_one_floor_per_level(venue) -> None:
    assert venue.format == "imdf"
    assert [lv.name for lv in venue.levels] == ["Ground Floor", "Level 1"]
    for lv in venue.levels:
        parse_floor(lv.floor)


@pytest.mark.parametrize("index", [0, 1])
def test_counts_match_the_source(venue, index: int) -> None:
    spec = LEVELS[index]
    floor = venue.levels[index]
    c = floor.counts()
    src_units = Counter("wall" if cat == "column" else "zone" for _, cat, _ in spec["units"])
    assert c["zone"] == src_units["zone"]
    assert c.get("zone:private", 0) == EXPECTED_PRIVATE[spec["name"]]
    assert c["opening"] == len(spec["openings"])
    feats = floor.floor["features"]
    solid = [f for f in feats if f["properties"]["kind"] == "wall" and f["geometry"]["type"] == "Polygon"]
    # Column unit and the desk; the plunge pool is water, which a camera sees across.
    assert len(solid) == src_units["wall"] + sum(1 for f in spec["fixtures"] if f[1] != "water")
    wall_m = sum(shape(f["geometry"]).length for f in feats
                 if f["properties"]["kind"] == "wall" and f["geometry"]["type"] == "LineString")
    assert wall_m == pytest.approx(EXPECTED_WALL_M[spec["name"]], rel=1e-4)


def test_metric_scale_and_openings_cut_walls(venue) -> None:
    gf = venue.levels[0].floor["features"]
    outline = shape(next(f for f in gf if f["properties"]["kind"] == "outline")["geometry"])
    assert outline.area == pytest.approx(20 * 12, rel=1e-4)
    minx, miny, maxx, maxy = outline.bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((20, 12), rel=1e-4)
    walls = shapely.union_all([shape(f["geometry"]) for f in gf if f["properties"]["kind"] == "wall"
                               and f["geometry"]["type"] == "LineString"])
    doors = [shape(f["geometry"]) for f in gf if f["properties"]["kind"] == "opening"]
    assert sorted(round(d.length, 3) for d in doors) == [1.0, 1.0, 1.0, 1.2, 2.0]
    for d in doors:
        assert d.buffer(0.001).intersection(walls).length < 0.05  # only the jambs touch
    # The lobby/corridor boundary (x = 8, y 0..6) is open plan: no wall there.
    ox, oy = minx, miny
    assert walls.intersection(LineString([(ox + 8, oy + 0.5), (ox + 8, oy + 5.5)]).buffer(0.01)).length < 1e-6


def test_private_mapping_is_reported(venue) -> None:
    zones = {f["properties"]["name"]: f["properties"] for lv in venue.levels for f in lv.floor["features"]
             if f["properties"]["kind"] == "zone"}
    assert zones["Changing Room"]["zone"] == "private" and zones["Changing Room"]["use"] == "changing_room"
    assert zones["Showers"]["use"] == "shower" and zones["Mothers' Room"]["use"] == "nursing_room"
    assert zones["Accessible WC"]["zone"] == "private" and zones["Women's Restroom"]["use"] == "toilet"
    assert zones["Lobby"]["zone"] == zones["Gym"]["zone"] == zones["Landing"]["zone"] == "general"
    mapping = {(m["source"], m["to"]): m["count"] for m in venue.mapping}
    assert mapping[("unit room (by name)", "private")] == 1
    assert mapping[("unit restroom.female", "private")] == 1
    assert mapping[("unit column", "wall")] == 1
    assert venue.dropped["venue"] == 1 and venue.dropped["fixture (flat)"] == 1


def test_unpacked_directory_imports_the_same(venue, tmp_path: Path) -> None:
    with zipfile.ZipFile(ARCHIVE) as zf:
        zf.extractall(tmp_path / "pool")
    assert import_path(tmp_path / "pool").to_json() == venue.to_json()


def test_user_can_override_a_category() -> None:
    r = import_bytes(_zip(build_imdf()), "pool.zip", options=ImportOptions(category_map={"fitnessroom": "required"}))
    gym = next(f for f in r.levels[1].floor["features"] if f["properties"].get("name") == "Gym")
    assert gym["properties"]["zone"] == "required"


@pytest.mark.parametrize("missing", ["manifest.json", "level.geojson", "unit.geojson"])
def test_missing_required_file(missing: str) -> None:
    data = _zip(build_imdf(), drop=(missing,))
    with pytest.raises(ImportFailed, match=f"missing required file {missing}"):
        import_bytes(data, "pool.zip", format="imdf")


def test_invalid_unit_geometry_is_located() -> None:
    files = build_imdf()
    obj = json.loads(files["unit.geojson"])
    ring = obj["features"][1]["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # bow-tie
    files["unit.geojson"] = json.dumps(obj).encode()
    with pytest.raises(ImportFailed, match=r"unit\.geojson: feature .*: invalid polygon: self-intersection at x="):
        import_bytes(_zip(files), "pool.zip")
    fixed = import_bytes(_zip(files), "pool.zip", options=ImportOptions(repair=True))
    assert any("repaired" in w for w in fixed.warnings)
    for lv in fixed.levels:
        parse_floor(lv.floor)


def test_unit_on_unknown_level_and_bad_json() -> None:
    files = build_imdf()
    obj = json.loads(files["unit.geojson"])
    obj["features"][0]["properties"]["level_id"] = "nope"
    with pytest.raises(ImportFailed, match=r"unit\.geojson: feature .*: level_id 'nope' is not a level"):
        import_bytes(_zip(dict(files, **{"unit.geojson": json.dumps(obj).encode()})), "pool.zip")
    with pytest.raises(ImportFailed, match=r"opening\.geojson: invalid JSON at line 1"):
        import_bytes(_zip(dict(files, **{"opening.geojson": b'{"type": "FeatureCollection", "features": [}'})), "p.zip")


def test_lone_imdf_file_asks_for_the_archive() -> None:
    with pytest.raises(ImportFailed, match="needs its whole archive"):
        import_bytes(build_imdf()["unit.geojson"], "unit.geojson")


def _edited(edit) -> bytes:  # type: ignore[no-untyped-def]
    """The fixture archive with level.geojson/unit.geojson/opening.geojson changed by `edit(levels, units, openings)`."""
    files = build_imdf()
    levels, units, openings = (json.loads(files[n])["features"] for n in ("level.geojson", "unit.geojson",
                                                                           "opening.geojson"))
    edit(levels, units, openings)
    files.update({"level.geojson": _fc(levels), "unit.geojson": _fc(units), "opening.geojson": _fc(openings)})
    return _zip(files)


def _annex(levels: list[dict], units: list[dict], openings: list[dict]) -> None:
    """Level 0 gets a second, separate part 10 m east of the first, holding one more unit (a plant room)."""
    lv = levels[0]
    x0, y0, x1, y1 = LEVELS[0]["extent"]
    annex = (x1 + 10, y0, x1 + 16, y0 + 6)
    lv["geometry"] = {"type": "MultiPolygon", "coordinates": [_poly(LEVELS[0]["extent"])["coordinates"],
                                                             _poly(annex)["coordinates"]]}
    units.append({"id": _id("annex"), "type": "Feature", "feature_type": "unit", "geometry": _poly(annex),
                  "properties": {"category": "room", "restriction": None, "accessibility": None,
                                 "name": {"en": "Plant room"}, "alt_name": None, "level_id": lv["id"],
                                 "display_point": None}})


def test_multi_part_level_keeps_every_part() -> None:
    data = _edited(_annex)
    merged = import_bytes(data, "venue.zip")
    assert len(merged.levels) == len(LEVELS)
    floor = merged.levels[0].floor
    parse_floor(floor)
    outline = shape(next(f for f in floor["features"] if f["properties"]["kind"] == "outline")["geometry"])
    zones = {f["properties"]["name"]: shape(f["geometry"]) for f in floor["features"]
             if f["properties"]["kind"] == "zone"}
    # Every unit of both parts lies in the one outline (issue 11: 68% of a level's zone area fell outside).
    assert all(outline.buffer(1e-6).covers(z) for z in zones.values()) and "Plant room" in zones
    assert any("level has 2 parts; the outline surrounds them all" in w for w in merged.warnings)
    split = import_bytes(data, "venue.zip", options=ImportOptions(level_parts="split"))
    assert len(split.levels) == len(LEVELS) + 1
    first, second = split.levels[0].floor, split.levels[1].floor
    names = [{f["properties"]["name"] for f in fl["features"] if f["properties"]["kind"] == "zone"}
             for fl in (first, second)]
    assert names[1] == {"Plant room"} and "Plant room" not in names[0]
    assert names[0] | names[1] == set(zones)
    for fl in (first, second):
        parse_floor(fl)


def test_empty_level_and_level_without_openings_are_warned() -> None:
    def edit(levels: list[dict], units: list[dict], openings: list[dict]) -> None:
        empty = json.loads(json.dumps(levels[0]))
        empty["id"] = _id("empty level")
        empty["properties"].update(ordinal=9, name={"en": "Roof"}, short_name={"en": "R"})
        levels.append(empty)
        openings[:] = [o for o in openings if o["properties"]["level_id"] != levels[0]["id"]]

    r = import_bytes(_edited(edit), "venue.zip")
    assert [lv.name for lv in r.levels] == [lv["name"] for lv in LEVELS]  # the empty roof level is left out
    assert any("'Roof' has no units or fixtures; not imported" in w for w in r.warnings)
    assert any(f"'{LEVELS[0]['name']}' has no openings: every room is sealed" in w for w in r.warnings)
