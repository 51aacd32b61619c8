"""Coverage engine: hand-computed areas, k-coverage, privacy, witnesses, the matrix and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from planner.cli import main
from planner.coverage import CameraPose, Engine, engine_for, terminal_poses, tier_range
from planner.floor import TIERS, load_floor, parse_floor
from planner.geometry import ARC_STEP_DEG
from planner.research.floorgen import generate_mall_floor
from planner.visibility import resolve_mount
from tests.planner.oracles import sight_line_clear

DATA = Path(__file__).resolve().parents[1] / "data" / "floors"
# An inscribed polygon with one vertex per ARC_STEP_DEG loses this fraction of a disk's area.
ARC_LOSS = 1 - math.sin(math.radians(ARC_STEP_DEG)) / math.radians(ARC_STEP_DEG)


def _floor(name: str):
    return load_floor(DATA / name)


def test_tier_ranges():
    assert tier_range(90, 1920, "observe") == pytest.approx(15.36)
    assert tier_range(90, 1920, "detect") == pytest.approx(38.4)
    assert tier_range(90, 1920, "identify") == pytest.approx(3.84)
    assert tier_range(60, 1000, "recognise") == pytest.approx(1000 / (2 * math.tan(math.radians(30)) * 125))
    assert tier_range(360, 1920, "detect") == pytest.approx(1920 / (2 * math.pi * 25))  # fisheye model
    assert tier_range(90, 1920, "observe", {"observe": 100.0}) == pytest.approx(9.6)
    pose = CameraPose("m", 0, 0, 0, 90, hpx=1920, range_m=7.0)
    assert pose.range_for("identify") == 7.0  # explicit range wins


def test_two_rooms_by_hand():
    floor = _floor("two_rooms.json")
    cam = CameraPose.from_terminal(floor.terminal("cam-1"))
    # Left room 100 m2 + the door's cone into the right room: trapezoid, widths 2 and 6 over 10 m.
    assert engine_for(floor).view(cam).area == pytest.approx(140.0, abs=1e-9)
    intrusion = engine_for(floor).private_overlap(cam)["Toilet"]
    # The cone's upper edge y = 5 + (x-5)/5 crosses the toilet [16,20]x[6,10]: trapezoid 1.2 -> 2.0 over 4 m.
    assert intrusion.area == pytest.approx(6.4, abs=1e-9)
    assert intrusion.bounds == pytest.approx((16, 6, 20, 8))
    assert engine_for(floor).uncovered_pieces([cam])["Left room"].is_empty
    assert engine_for(floor).uncovered_pieces([])["Left room"].area == pytest.approx(100)


def test_door_closed_blocks_the_view():
    obj = json.loads((DATA / "two_rooms.json").read_text())
    obj["features"] = [f for f in obj["features"] if f["properties"]["kind"] != "opening"]
    floor = parse_floor(obj)
    cam = CameraPose.from_terminal(floor.terminal("cam-1"))
    assert engine_for(floor).view(cam).area == pytest.approx(100.0, abs=1e-9)
    assert engine_for(floor).private_overlap(cam)["Toilet"].is_empty


def test_glass_wall_and_pillar_shadow():
    floor = _floor("glass_pillar.json")
    dome = CameraPose.from_terminal(floor.terminal("dome"))
    # Shadow of the pillar [4,6]^2 seen from (1,5): (4,4),(16,0),(20,0),(20,10),(16,10),(4,6) = 112 m2.
    assert engine_for(floor).view(dome).area == pytest.approx(200 - 112, abs=1e-9)
    zc = engine_for(floor).zone_coverage([dome])["Floor"]
    assert zc.area_m2 == pytest.approx(196)  # the pillar is not floor area
    assert zc.covered_m2 == pytest.approx(88, abs=1e-9)
    assert zc.uncovered_m2 == pytest.approx(108, abs=1e-9)
    obj = json.loads((DATA / "glass_pillar.json").read_text())
    obj["features"][1]["properties"]["see_through"] = False
    opaque = parse_floor(obj)
    # Opaque partition at x=10: only x<10 minus the shadow part left of it (rays hit y=0/10 at x=16).
    shadow_left = 0.5 * (2 + 6) * 6 - 4  # wedge 2 m wide at x=4, 6 m at x=10, minus the pillar
    assert engine_for(opaque).view(CameraPose.from_terminal(opaque.terminal("dome"))).area == pytest.approx(
        100 - 4 - shadow_left, abs=1e-9)


def test_fov_sector_and_range_area():
    floor = _floor("glass_pillar.json")
    pose = CameraPose("m", 15.0, 5.0, 0.0, 90.0, range_m=4.0)
    expected = math.pi * 16 / 4 * (1 - ARC_LOSS)
    assert engine_for(floor).view(pose).area == pytest.approx(expected, rel=1e-9)
    full = CameraPose("m", 15.0, 5.0, 0.0, 360.0, range_m=4.0)
    assert engine_for(floor).view(full).area == pytest.approx(math.pi * 16 * (1 - ARC_LOSS), rel=1e-9)


def test_blind_zone_under_the_camera():
    floor = _floor("glass_pillar.json")
    pose = CameraPose("m", 15.0, 5.0, 0.0, 360.0, range_m=4.5, height_m=3.0, tilt_deg=30.0)
    assert pose.blind_radius() == 0.0  # a fisheye dome sees straight down
    narrow = CameraPose("m", 15.0, 5.0, 0.0, 90.0, range_m=4.5, height_m=3.0, tilt_deg=30.0)
    assert narrow.blind_radius() == pytest.approx(3.0 / math.tan(math.radians(30 + math.degrees(math.atan(9 / 16)))))
    with_blind = engine_for(floor).view(narrow, blind_zone=True).area
    without = engine_for(floor).view(narrow).area
    r = narrow.blind_radius()
    assert without - with_blind == pytest.approx(math.pi * r * r / 4, rel=1e-4)


def test_k2_coverage_and_unique_contribution():
    floor = _floor("k2_room.json")
    poses = terminal_poses(floor)
    quarter = math.pi * 25 / 4 * (1 - ARC_LOSS)
    zc = engine_for(floor).zone_coverage(poses)["Hall"]
    assert zc.k == 2 and zc.area_m2 == pytest.approx(100)
    assert zc.covered_m2 == pytest.approx(quarter, rel=1e-6)
    assert zc.uncovered_m2 == pytest.approx(100 - quarter, rel=1e-6)
    a, b = engine_for(floor).unique_contribution(poses, floor.zones_of("required")[0])
    assert a == pytest.approx(100 - quarter, rel=1e-6) and b == pytest.approx(0, abs=1e-9)


def test_k2_lens_of_two_disks():
    obj = json.loads((DATA / "k2_room.json").read_text())
    obj["features"][0]["geometry"]["coordinates"] = [[[-50, -50], [50, -50], [50, 50], [-50, 50], [-50, -50]]]
    obj["features"][1]["geometry"]["coordinates"] = [[[-50, -50], [50, -50], [50, 50], [-50, 50], [-50, -50]]]
    floor = parse_floor(obj)
    r, d = 5.0, 6.0
    poses = [CameraPose("a", 0, 0, 0, 360, range_m=r), CameraPose("b", d, 0, 0, 360, range_m=r),
             CameraPose("c", 40, 40, 0, 360, range_m=r)]
    lens = 2 * r * r * math.acos(d / (2 * r)) - (d / 2) * math.sqrt(4 * r * r - d * d)
    assert engine_for(floor).zone_coverage(poses)["Hall"].covered_m2 == pytest.approx(lens, rel=1e-4)


def test_privacy_inside_and_report():
    floor = _floor("two_rooms.json")
    eng = Engine(floor)
    assert eng.inside_private(18, 8) == ["Toilet"]
    assert eng.inside_private(16, 8) == []  # on the boundary: not inside
    report = engine_for(floor).report()
    cam = report["terminals"]["cam-1"]
    assert cam["view_m2"] == 140.0 and cam["private_overlap_m2"] == {"Toilet": 6.4}
    assert cam["inside_private"] is False and cam["forbidden"] is True
    assert report["zones"]["Left room"] == {"k": 1, "tier": "detect", "area_m2": 100.0, "covered_m2": 100.0,
                                            "uncovered_m2": 0.0}


def test_cli_prints_the_contract(capsys, tmp_path):
    assert main(["coverage", str(DATA / "two_rooms.json")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["terminals"]["cam-1"]["view_m2"] == 140.0
    assert out["terminals"]["cam-1"]["private_overlap_m2"]["Toilet"] == 6.4
    assert out["zones"]["Left room"]["uncovered_m2"] == 0.0


def test_cli_bad_input_is_one_line(capsys, tmp_path):
    obj = json.loads((DATA / "two_rooms.json").read_text())
    obj["features"][5]["properties"]["hfov_deg"] = 400
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(obj))
    assert main(["coverage", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "feature 5 (terminal 'cam-1')" in err and "hfov_deg" in err


def test_witnesses_of_a_square_zone():
    floor = _floor("k2_room.json")
    w = engine_for(floor).witnesses(spacing=1.0)
    grid = w.xy[w.kind == w.GRID]
    assert len(grid) == 100 and grid.min() == pytest.approx(0.5) and grid.max() == pytest.approx(9.5)
    verts = w.xy[w.kind == w.VERTEX]
    assert sorted(map(tuple, np.round(verts, 6))) == [(0.001, 0.001), (0.001, 9.999), (9.999, 0.001),
                                                       (9.999, 9.999)]
    assert (w.kind == w.BOUNDARY).sum() == 4 * 9  # each 9.998 m edge cut into 10 pieces
    assert shapely.contains_xy(floor.zones[0].geometry, w.xy[:, 0], w.xy[:, 1]).all()
    assert set(w.k) == {2} and TIERS[w.tier[0]] == "observe" and w.zone_names == ["Hall"]


def test_matrix_agrees_with_polygons_and_sight_lines():
    floor = parse_floor(generate_mall_floor(5, 150))
    eng = Engine(floor)
    wits = eng.witnesses(spacing=2.0)
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = floor.bounds
    poses = []
    for i in range(12):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        poses += [CameraPose(f"m{i}", x, y, h, 90.0, hpx=1280) for h in (0.0, 120.0, 240.0)]
    poses.append(CameraPose("dome", *floor.terminals[0].geometry.coords[0], 0.0, 360.0, hpx=1920))
    matrix = eng.coverage_matrix(poses, wits)
    assert matrix.nnz > 0
    cols = matrix.columns()
    assert sum(len(c) for c in cols) == matrix.nnz
    far = 0
    for i, pose in enumerate(poses):
        row = set(matrix.row(i).tolist())
        q = resolve_mount(eng.occ, pose.x, pose.y, pose.heading_deg)
        for tier_id in np.unique(wits.tier):
            tier = TIERS[tier_id]
            view = eng.view(pose, tier)
            idx = np.flatnonzero(wits.tier == tier_id)
            inside = shapely.intersects_xy(view, wits.xy[idx, 0], wits.xy[idx, 1]) if not view.is_empty else \
                np.zeros(len(idx), bool)
            for j, ins in zip(idx, inside, strict=True):
                if ins != (j in row):
                    # Only the polygonised range arc may disagree, within its sagitta.
                    assert view.boundary.distance(Point(wits.xy[j])) < 1e-4
                    far += 1
                if j in row and q is not None:
                    assert sight_line_clear(eng.occ, q[0], q[1], *wits.xy[j])
    assert far <= 2


def test_pose_validation():
    from planner.errors import InputError

    with pytest.raises(InputError, match="range_m or hpx"):
        CameraPose("x", 0, 0, 0, 90)
    with pytest.raises(InputError, match="hfov_deg"):
        CameraPose("x", 0, 0, 0, 0, range_m=3)


def test_overlays_geojson_and_png(tmp_path):
    from planner.overlays import coverage_overlays, render_png, write_geojson

    floor = _floor("two_rooms.json")
    fc = coverage_overlays(floor)
    by_layer: dict[str, list] = {}
    for f in fc["features"]:
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert by_layer["view"][0]["properties"] == {"layer": "view", "terminal": "cam-1", "heading_deg": 0.0,
                                                 "view_m2": 140.0, "forbidden": True}
    (intrusion,) = by_layer["private_intrusion"]
    assert intrusion["properties"]["zone"] == "Toilet" and intrusion["properties"]["area_m2"] == 6.4
    assert shapely.geometry.shape(intrusion["geometry"]).area == pytest.approx(6.4)
    (heat,) = by_layer["heat"]
    assert heat["properties"]["count"] == 1 and heat["properties"]["area_m2"] == 140.0
    assert "uncovered" not in by_layer
    k2 = coverage_overlays(_floor("k2_room.json"))
    counts = {f["properties"]["count"]: f["properties"]["area_m2"] for f in k2["features"]
              if f["properties"]["layer"] == "heat"}
    quarter = math.pi * 25 / 4 * (1 - ARC_LOSS)
    assert counts[2] == pytest.approx(quarter, abs=1e-6) and counts[1] == pytest.approx(100 - quarter, abs=1e-6)
    assert sum(f["properties"]["area_m2"] for f in k2["features"] if f["properties"]["layer"] == "uncovered") == \
        pytest.approx(100 - quarter, abs=1e-6)
    write_geojson(fc, tmp_path / "o.geojson")
    assert json.loads((tmp_path / "o.geojson").read_text()) == fc
    render_png(floor, tmp_path / "o.png", overlays=fc, dpi=40)
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_floorgen_is_deterministic_and_hits_the_segment_count():
    a, b = generate_mall_floor(9, 300), generate_mall_floor(9, 300)
    assert a == b and a != generate_mall_floor(10, 300)
    floor = parse_floor(a)
    segs = sum(len(w.coords) - 1 for w in floor.walls) + len(floor.outline.exterior) - 1
    assert segs == 300
    assert floor.zones_of("private") and floor.zones_of("required") and any(w.see_through for w in floor.walls)
    assert any(w.closed for w in floor.walls) and len(floor.openings) > 10


def test_forbidden_poses():
    floor = _floor("two_rooms.json")
    poses = [
        CameraPose("sees-toilet", 5, 5, 0, 360, range_m=100),       # 6.4 m2 through the door
        CameraPose("faces-away", 5, 5, 180, 90, range_m=100),       # looks at the left wall
        CameraPose("in-toilet", 18, 8, 270, 60, range_m=1),          # mounted inside
        CameraPose("short", 5, 5, 0, 360, range_m=4),               # never reaches the door
        CameraPose("grazing", 12, 5.9, 90, 10, range_m=3.95),        # reaches y=9.79 at x=12: no overlap
    ]
    assert engine_for(floor).forbidden(poses).tolist() == [True, False, True, False, False]
    assert engine_for(floor).forbidden(poses[:1], tolerance=6.5).tolist() == [False]


def test_refinement_round_reuses_views_and_matches_a_full_rebuild():
    floor = _floor("glass_pillar.json")
    eng = Engine(floor)
    poses = [CameraPose("m", 1, 5, h, 90, hpx=1280) for h in (0, 90, 180, 270)] + \
        [CameraPose("n", 19, 1, 135, 90, hpx=1280)]
    wits = eng.witnesses(spacing=2.0)
    first = eng.coverage_matrix(poses, wits)
    n_cached = len(eng._vis)
    added = np.array([(10.0, 9.5), (7.0, 5.0)])
    again = eng.incidence(poses, np.vstack([wits.xy, added]), np.r_[wits.tier, [wits.tier[0]] * 2])
    assert len(eng._vis) == n_cached  # no new visibility polygons
    for i in range(len(poses)):
        old = set(first.row(i).tolist())
        new = again.row(i).tolist()
        assert set(j for j in new if j < len(wits)) == old
    # (7, 5) is behind the pillar from (1, 5); (10, 9.5) is in plain view of the mount heading 0.
    seen_by = {j: {poses[i].heading_deg for i in again.columns()[j]} for j in (len(wits), len(wits) + 1)}
    assert 0.0 in seen_by[len(wits)] and not any(p.mount == "m" for p in
                                                  (poses[i] for i in again.columns()[len(wits) + 1]))


def test_witnesses_of_a_zone_with_a_hole_split_by_a_pillar():
    obj = json.loads((DATA / "glass_pillar.json").read_text())
    obj["features"][3]["geometry"]["coordinates"] = [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                                                     [[7, 7], [9, 7], [9, 9], [7, 9], [7, 7]]]
    floor = parse_floor(obj)
    eng = Engine(floor)
    region = eng.region(floor.zones[0])
    assert region.area == pytest.approx(100 - 4 - 4)  # hole and pillar are not floor to cover
    w = eng.witnesses(spacing=1.0)
    assert shapely.contains_xy(region, w.xy[:, 0], w.xy[:, 1]).all()
    # Vertices: 4 outer + 4 of the hole + 4 of the pillar, each inset by 1 mm.
    assert (w.kind == w.VERTEX).sum() == 12
    assert len(w) == len(np.unique(w.xy, axis=0))


def test_tiled_levels_equal_the_incremental_overlay():
    from planner.coverage import _levels_incremental, coverage_levels
    from planner.geometry import sector_polygon

    region = shapely.box(0, 0, 60, 30).difference(shapely.box(20, 10, 25, 20))
    rng = np.random.default_rng(4)
    views = [sector_polygon(float(x), float(y), float(h), 90.0, float(r))
             for x, y, h, r in zip(rng.uniform(0, 60, 40), rng.uniform(0, 30, 40), rng.uniform(0, 360, 40),
                                   rng.uniform(3, 15, 40), strict=True)]
    tiled = coverage_levels(region, views, 3)
    plain = _levels_incremental(region, views, 3)
    for a, b in zip(tiled, plain, strict=True):
        assert a.area > 0 and a.symmetric_difference(b).area < 1e-9 * region.area
    assert tiled[1].area > tiled[2].area > tiled[3].area
