"""WRLD indoor maps: the real Westport House building (CC BY 4.0, WRLD Ltd) and hostile variants."""

from __future__ import annotations

import io
import itertools
import json
import math
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape
from shapely.ops import substring

from inventory.importers import ImportFailed, ImportOptions, import_bytes, import_path
from planner.floor import parse_floor
from tests.inventory.test_importers_projection import haversine, vincenty

DATA = Path(__file__).parent.parent / "data" / "westport-house"
MAIN = json.loads((DATA / "main.json").read_text())
LEVEL_FILES = {lv["readable_name"]: DATA / lv["filename"] for lv in MAIN["levels"]}


@pytest.fixture(scope="module")
def building():
    """Westport House imported once through its main.json."""
    return import_path(DATA / "main.json")


def _source_types(path: Path) -> Counter[str]:
    return Counter(f["properties"]["type"] for f in json.loads(path.read_text())["features"])


def test_one_floor_per_level_in_z_order(building) -> None:
    assert [lv.name for lv in building.levels] == [lv["readable_name"] for lv in MAIN["levels"]]
    assert building.format == "wrld"
    assert building.warnings == []


@pytest.mark.parametrize("level", list(LEVEL_FILES))
def test_counts_per_level_match_the_source(building, level: str) -> None:
    src = _source_types(LEVEL_FILES[level])
    floor = next(lv for lv in building.levels if lv.name == level)
    counts = floor.counts()
    # Counted straight from the source file: walls = wall + window + inaccessible_space polygons,
    # openings = doors, zones = rooms, bathrooms, named areas, stairs, lifts and floor openings.
    assert counts["outline"] == 1 == src["building_outline"]
    assert counts["wall"] == src["wall"] + src["window"] + src["inaccessible_space"]
    assert counts.get("opening", 0) == src["door"]
    zone_types = ("room", "bathroom", "no_geometry", "stairs", "elevator", "floor_opening")
    assert counts["zone"] == sum(src[t] for t in zone_types)
    assert counts.get("zone:private", 0) == src["bathroom"]
    see_through = sum(1 for f in floor.floor["features"] if f["properties"].get("see_through"))
    assert see_through == src["window"]
    parse_floor(floor.floor)  # the engine accepts every floor


def test_westport_known_counts(building) -> None:
    # Hand-checked against SOURCE.md (feature totals per level: G 111, 1 88, 2 121, 3 226, 4 216, 5 37, 6 29).
    totals = [sum(_source_types(p).values()) for p in LEVEL_FILES.values()]
    assert totals == [111, 88, 121, 226, 216, 37, 29]
    doors = [c.get("opening", 0) for c in building.counts().values()]
    assert doors == [36, 11, 25, 122, 114, 15, 10]
    assert sum(lv.counts().get("zone:private", 0) for lv in building.levels) == 6


def test_private_zones_are_the_bathrooms(building) -> None:
    second = next(lv for lv in building.levels if lv.name == "Second Floor")
    private = sorted(f["properties"]["name"] for f in second.floor["features"]
                     if f["properties"]["kind"] == "zone" and f["properties"]["zone"] == "private")
    assert private == ["Bathroom", "Men's Bathroom", "Restroom", "Women's Bathroom"]
    general = {f["properties"]["name"] for f in second.floor["features"]
               if f["properties"]["kind"] == "zone" and f["properties"]["zone"] == "general"}
    assert {"Kitchen", "Server room", "Meeting Room Large"} <= general
    for lv in building.levels:
        names = [f["properties"]["name"] for f in lv.floor["features"] if f["properties"]["kind"] == "zone"]
        assert len(names) == len(set(names))


def test_metric_scale_against_geodesic_distance(building) -> None:
    src = json.loads(LEVEL_FILES["Ground Floor"].read_text())
    ring = next(f for f in src["features"] if f["properties"]["type"] == "building_outline")
    lonlat = ring["geometry"]["coordinates"][0]
    # The outline's diameter (largest vertex-to-vertex distance) does not depend on vertex order.
    geo = max(vincenty(*a, *b) for a, b in itertools.combinations(lonlat, 2))
    geo_sphere = max(haversine(*a, *b) for a, b in itertools.combinations(lonlat, 2))
    out = next(f for f in building.levels[0].floor["features"] if f["properties"]["kind"] == "outline")
    xy = out["geometry"]["coordinates"][0]
    projected = max(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 for a, b in itertools.combinations(xy, 2))
    assert 60 < geo < 100  # a city-block office building, not degrees or millimetres
    assert abs(projected / geo - 1) < 1e-5  # far inside the 1 % requirement
    assert abs(projected / geo_sphere - 1) < 0.01
    assert building.georef is not None and building.georef["max_scale_error"] < 1e-9


def test_doors_cut_walls_so_sight_passes(building) -> None:
    for lv in building.levels:
        feats = lv.floor["features"]
        walls = shapely.union_all([shape(f["geometry"]) for f in feats if f["properties"]["kind"] == "wall"])
        for f in feats:
            if f["properties"]["kind"] == "opening":
                line = shape(f["geometry"])
                assert 0.3 < line.length < 3.0, f["properties"]["source"]
                # The doorway between the jambs is free of wall, so sight passes along and through it.
                middle = substring(line, 0.05, 0.95, normalized=True)
                assert middle.intersection(walls).length < 1e-6, f["properties"]["source"]


def test_geometry_is_local_metres_y_up(building) -> None:
    for lv in building.levels:
        minx, miny, maxx, maxy = parse_floor(lv.floor).bounds
        assert -40 < minx < maxx < 40 and -40 < miny < maxy < 40
    # Place the northern-most and eastern-most source vertices with a plain equirectangular formula about
    # the reported origin: each must land (to decimetres) on an output vertex, so x is east and y is north.
    src = json.loads(LEVEL_FILES["Ground Floor"].read_text())
    ring = next(f for f in src["features"] if f["properties"]["type"] == "building_outline")
    lonlat = ring["geometry"]["coordinates"][0]
    lon0, lat0 = building.georef["lon0"], building.georef["lat0"]
    out = next(f for f in building.levels[0].floor["features"] if f["properties"]["kind"] == "outline")
    xy = out["geometry"]["coordinates"][0]
    for lon, lat in (max(lonlat, key=lambda p: p[1]), max(lonlat, key=lambda p: p[0])):
        ex = math.radians(lon - lon0) * 6_391_000 * math.cos(math.radians(lat0))
        ey = math.radians(lat - lat0) * 6_383_000
        assert min(math.hypot(x - ex, y - ey) for x, y in xy) < 0.2


def test_windows_opaque_when_asked() -> None:
    r = import_path(LEVEL_FILES["First Floor"], options=ImportOptions(windows_see_through=False))
    assert not any(f["properties"].get("see_through") for f in r.levels[0].floor["features"])


def test_user_mapping_of_wrld_types() -> None:
    src = _source_types(LEVEL_FILES["Third Floor"])
    r = import_path(LEVEL_FILES["Third Floor"], options=ImportOptions(category_map={"inaccessible_space": "general"}))
    counts = r.levels[0].counts()
    assert counts["wall"] == src["wall"] + src["window"]
    assert counts["zone:general"] == src["stairs"] + src["elevator"] + src["inaccessible_space"]
    assert {"source": "inaccessible_space", "to": "general (user mapping)", "count": 16} in r.mapping
    parse_floor(r.levels[0].floor)
    with pytest.raises(ImportFailed, match="cannot map to 'opening'"):
        import_path(LEVEL_FILES["Third Floor"], options=ImportOptions(category_map={"stairs": "opening"}))


@pytest.mark.slow
def test_directory_zip_and_single_level_agree(building, tmp_path: Path) -> None:
    as_dir = import_path(DATA)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in DATA.iterdir():
            zf.write(p, f"westport-house/{p.name}")
    as_zip = import_bytes(buf.getvalue(), "westport-house.zip")
    assert as_dir.to_json() == building.to_json() == as_zip.to_json()
    single = import_path(LEVEL_FILES["Second Floor"])
    assert len(single.levels) == 1
    assert single.levels[0].counts() == building.levels[2].counts()


def test_missing_level_file_names_it(tmp_path: Path) -> None:
    shutil.copy(DATA / "main.json", tmp_path / "main.json")
    shutil.copy(LEVEL_FILES["Ground Floor"], tmp_path)
    with pytest.raises(ImportFailed, match=r"main\.json: level 'First Floor' file 'westport-house-floor-1\.geojson'"):
        import_path(tmp_path)


def _level_with(mutate) -> bytes:
    obj = json.loads(LEVEL_FILES["Fifth Floor"].read_text())
    mutate(obj["features"])
    return json.dumps(obj).encode()


def test_malformed_geometry_names_the_feature() -> None:
    def break_door(feats):
        door = next(f for f in feats if f["properties"]["type"] == "door")
        door["geometry"] = {"type": "Polygon", "coordinates": [[[0, 0]]]}

    with pytest.raises(ImportFailed, match=r"level5\.geojson: feature \d+: malformed Polygon"):
        import_bytes(_level_with(break_door), "level5.geojson")


def test_self_intersecting_room_is_located_or_repaired() -> None:
    def bowtie(feats):
        stairs = next(f for f in feats if f["properties"]["type"] == "stairs")
        (a, b, c, d, _) = stairs["geometry"]["coordinates"][0][:5]
        stairs["geometry"]["coordinates"] = [[a, c, b, d, a]]
        stairs["properties"]["id"] = 9999

    data = _level_with(bowtie)
    with pytest.raises(ImportFailed, match=r"feature 9999: invalid polygon: self-intersection at x=.* m \(lon=.* lat=.*\)"):
        import_bytes(data, "level5.geojson")
    fixed = import_bytes(data, "level5.geojson", options=ImportOptions(repair=True))
    assert any("repaired" in w and "9999" in w for w in fixed.warnings)
    parse_floor(fixed.levels[0].floor)


def test_level_without_outline_is_refused() -> None:
    def drop_outline(feats):
        feats[:] = [f for f in feats if f["properties"]["type"] != "building_outline"]
        feats[0]["properties"]["type"] = "building_outline"
        feats[0]["geometry"] = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}

    # A "building outline" at lon/lat 0..1 next to Dundee spans thousands of km: refused, not mis-scaled.
    with pytest.raises(ImportFailed, match="spans more than"):
        import_bytes(_level_with(drop_outline), "level5.geojson")


def test_level_filename_cannot_leave_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.geojson"
    shutil.copy(LEVEL_FILES["Fifth Floor"], outside)
    (tmp_path / "bld").mkdir()
    main = dict(MAIN, levels=[dict(MAIN["levels"][0], filename="../secret.geojson")])
    (tmp_path / "bld" / "main.json").write_text(json.dumps(main))
    with pytest.raises(ImportFailed, match=r"main\.json: level 'Ground Floor' file '\.\./secret\.geojson' is missing"):
        import_path(tmp_path / "bld" / "main.json")


def test_engine_sees_through_every_door(building) -> None:
    # Importer and engine agree: from 0.4 m in front of each door, the engine's visibility reaches 0.4 m
    # behind it. Doors into solid blocks (inaccessible spaces) have no free space behind and are skipped.
    from planner.visibility import Occluders, visibility_polygon

    second = next(lv for lv in building.levels if lv.name == "Second Floor")
    floor = parse_floor(second.floor)
    occ = Occluders.from_floor(floor)
    checked = 0
    for op in floor.openings:
        line = op.geometry
        mid = line.interpolate(0.5, normalized=True)
        (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
        nx, ny = -(y1 - y0) / line.length, (x1 - x0) / line.length
        a = shapely.Point(mid.x + 0.4 * nx, mid.y + 0.4 * ny)
        b = shapely.Point(mid.x - 0.4 * nx, mid.y - 0.4 * ny)
        if not (occ.free.contains(a) and occ.free.contains(b)):
            continue
        assert visibility_polygon(occ, a.x, a.y, radius=5.0).buffer(1e-6).contains(b), op.extra.get("source")
        checked += 1
    assert checked >= len(floor.openings) - 1  # door 356 leads into inaccessible space 314, a solid block
