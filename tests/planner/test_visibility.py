"""Visibility polygons against the exact CGAL oracle (pyvispoly, test-only) and hand-computed areas."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon

from planner.coverage import CameraPose, Engine
from planner.floor import parse_floor
from planner.geometry import NUDGE
from planner.visibility import Occluders, resolve_mount, visibility_polygon
from tests.planner.oracles import sight_line_clear

AGP = Path(__file__).resolve().parents[1] / "data" / "agp"
AGP_FILES = sorted(AGP.glob("*.pol"))
REL_TOL = 1e-6


def _read(path: Path) -> tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]:
    tok = path.read_text().split()
    vals = iter(tok)

    def ring() -> list[tuple[float, float]]:
        n = int(next(vals))
        return [(float(Fraction(next(vals))), float(Fraction(next(vals)))) for _ in range(n)]

    outer = ring()
    rest = next(vals, None)
    holes = [ring() for _ in range(int(rest))] if rest is not None else []
    return outer, holes


def _oracle(outer, holes):
    pv = pytest.importorskip("pyvispoly")

    def poly(r):
        return pv.Polygon([pv.Point(x, y) for x, y in r])

    calc = pv.VisibilityPolygonCalculator(pv.PolygonWithHoles(poly(outer), [poly(h) for h in holes]))

    def vis(x: float, y: float) -> Polygon | None:
        try:
            vp = calc.compute_visibility_polygon(pv.Point(x, y))
        except Exception:  # the oracle refuses points not exactly in the closed polygon
            return None
        return Polygon([(float(p.x()), float(p.y())) for p in vp.boundary()])

    return vis


def _reflex(ring: list[tuple[float, float]], ccw: bool) -> list[tuple[float, float]]:
    out = []
    n = len(ring)
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = ring[i - 1], ring[i], ring[(i + 1) % n]
        cross = (bx - ax) * (cy - by) - (by - ay) * (cx - bx)
        if (cross < 0) == ccw and cross != 0:
            out.append(ring[i])
    return out


def _compare(outer, holes, points, oracle) -> tuple[int, float]:
    poly = Polygon(outer, holes)
    occ = Occluders.from_polygon(poly)
    worst, checked = 0.0, 0
    for x, y in points:
        ref = oracle(x, y)
        if ref is None:
            continue
        mine = visibility_polygon(occ, x, y)
        rel = mine.symmetric_difference(ref).area / poly.area
        assert rel < REL_TOL, f"viewpoint ({x!r}, {y!r}): symmetric difference {rel:.3g} of the area"
        worst = max(worst, rel)
        checked += 1
    return checked, worst


def test_agp_files_are_present():
    assert len(AGP_FILES) == 5
    assert any(_read(p)[1] for p in AGP_FILES), "at least one polygon with holes"


@pytest.mark.parametrize("path", AGP_FILES, ids=lambda p: p.stem)
def test_matches_oracle_from_every_vertex_and_interior_points(path: Path):
    outer, holes = _read(path)
    oracle = _oracle(outer, holes)
    poly = Polygon(outer, holes)
    vertices = list(outer) + [p for h in holes for p in h]
    reflex = _reflex(outer, ccw=True)
    assert reflex, "the polygon has reflex vertices, and they are among the viewpoints"
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = poly.bounds
    inner: list[tuple[float, float]] = []
    while len(inner) < 12:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if poly.contains(Point(x, y)):
            inner.append((x, y))
    checked, _ = _compare(outer, holes, vertices + inner, oracle)
    assert checked >= len(vertices) + len(inner) - 2  # the oracle accepted (nearly) every query


def test_matches_oracle_on_walls_and_with_collinear_vertices():
    # The orthogonal polygon has integer coordinates: edge midpoints are exactly on the walls,
    # and subdividing each edge adds collinear vertices without changing the polygon.
    outer, holes = _read(AGP / "random-40-3.pol")
    split = []
    for a, b in zip(outer, outer[1:] + outer[:1], strict=True):
        split += [a, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)]
    oracle = _oracle(split, holes)
    on_walls = split[1::2]
    checked, _ = _compare(split, holes, split + on_walls, oracle)
    assert checked == len(split) + len(on_walls)


def test_shadow_next_to_a_long_wall_has_its_far_cap():
    # 100 x 10 room, 80 m wall along y=5; viewpoint 1 mm above its middle.
    occ = Occluders(
        np.array([[0, 0, 100, 0], [100, 0, 100, 10], [100, 10, 0, 10], [0, 10, 0, 0], [10, 5, 90, 5]], float),
        shapely.box(0, 0, 100, 10),
    )
    vis = visibility_polygon(occ, 50.0, 5.001)
    # Above the wall: 500 m2; past each wall end a thin triangle 10 m long, 0.001*10/40 m tall (similar triangles).
    expected = 500.0 + 2 * 0.5 * 10 * (0.001 * 10 / 40)
    assert vis.area == pytest.approx(expected, rel=1e-9)


def _wall_floor(y0: float = 5.0):
    return parse_floor({
        "type": "FeatureCollection", "format": "sightline-floor/1", "features": [
            {"type": "Feature", "properties": {"kind": "outline"},
             "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [100, 10], [0, 10], [0, 0]]]}},
            {"type": "Feature", "properties": {"kind": "wall"},
             "geometry": {"type": "LineString", "coordinates": [[10, y0], [90, y0]]}},
        ]})


def _wall_room(y0: float = 5.0) -> Occluders:
    return Occluders.from_floor(_wall_floor(y0))


def test_epsilon_policy_camera_on_a_line_wall_sees_the_side_it_faces():
    occ = _wall_room()
    up = visibility_polygon(occ, 50.0, 5.0, heading_deg=90.0)
    down = visibility_polygon(occ, 50.0, 5.0, heading_deg=270.0)
    # Pushed NUDGE off the wall: 500 m2 plus two slivers of height NUDGE*10/40.
    sliver = 2 * 0.5 * 10 * (NUDGE * 10 / 40)
    assert up.area == pytest.approx(500.0 + sliver, abs=1e-9)
    assert down.area == pytest.approx(500.0 + sliver, abs=1e-9)
    assert up.centroid.y > 5 > down.centroid.y
    # Within EPS_ON (1e-9 m) of the wall counts as on it; 1e-6 m away is a real position.
    assert visibility_polygon(occ, 50.0, 5.0 - 1e-10, heading_deg=90.0).equals_exact(up, 1e-12)
    off = visibility_polygon(occ, 50.0, 5.0 - 1e-6, heading_deg=90.0)
    assert off.area == pytest.approx(500.0 + 2 * 0.5 * 10 * (1e-6 * 10 / 40), rel=1e-9)
    assert off.centroid.y < 5


def test_epsilon_policy_on_the_outline_and_outside():
    occ = _wall_room()
    q = resolve_mount(occ, 0.0, 2.0)
    assert q is not None and q[0] == pytest.approx(NUDGE) and q[1] == pytest.approx(2.0)
    # From the outline at (0, 2): below the wall, 90 m2 of the strip plus what shows past x=90.
    assert visibility_polygon(occ, 0.0, 2.0).area > 10 * 10
    assert visibility_polygon(occ, -1.0, 2.0).is_empty
    assert resolve_mount(occ, 100.5, 2.0) is None


def test_range_clip_and_cache_reuse():
    engine = Engine(_wall_floor())
    a = engine.pose_visibility(CameraPose("m", 50.0, 7.0, 0.0, 90.0, range_m=3.0))
    b = engine.pose_visibility(CameraPose("m", 50.0, 7.0, 123.0, 90.0, range_m=3.0))
    assert a is b and len(engine._vis) == 1
    # Radius 3 around (50, 7): the wall at y=5 and the outline at y=10 cut the disk to the strip 5..10.
    r = 3.0
    seg_top = r * r * math.acos(3 / r) - 3 * math.sqrt(r * r - 9)  # zero: the top just touches
    cap = r * r * math.acos(2 / r) - 2 * math.sqrt(r * r - 4)
    assert a.area == pytest.approx(math.pi * r * r - cap - seg_top, rel=1e-4)


def test_sight_line_agrees_with_polygon_on_random_points():
    outer, holes = _read(AGP / "g1_simple-simple_25_100v-10h_1.pol")
    poly = Polygon(outer, holes)
    occ = Occluders.from_polygon(poly)
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = poly.bounds
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(600, 2))
    pts = pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]
    x0, y0 = pts[0]
    vis = visibility_polygon(occ, x0, y0)
    disagree = 0
    for x, y in pts[1:]:
        inside = bool(shapely.intersects_xy(vis, x, y))
        if inside != sight_line_clear(occ, x0, y0, x, y) and vis.boundary.distance(Point(x, y)) > 1e-9:
            disagree += 1
    assert disagree == 0


def test_crossing_walls_t_junctions_and_overlaps_against_sight_lines():
    # Walls that cross (X), end on another wall (T), overlap the outline, and a pillar touching a wall:
    # noding must make the sweep exact; every random point must agree with a direct sight-line test.
    feats = [
        {"type": "Feature", "properties": {"kind": "outline"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 20], [0, 20], [0, 0]]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[5, 5], [15, 15]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[5, 15], [15, 5]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[20, 0], [20, 12]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[20, 8], [26, 8], [26, 14]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "LineString", "coordinates": [[0, 18], [12, 18], [12, 20], [14, 20]]}},
        {"type": "Feature", "properties": {"kind": "wall"},
         "geometry": {"type": "Polygon", "coordinates": [[[26, 14], [28, 14], [28, 16], [26, 16], [26, 14]]]}},
        {"type": "Feature", "properties": {"kind": "opening"},
         "geometry": {"type": "LineString", "coordinates": [[20, 3], [20, 5]]}},
    ]
    floor = parse_floor({"type": "FeatureCollection", "format": "sightline-floor/1", "features": feats})
    occ = Occluders.from_floor(floor)
    rng = np.random.default_rng(5)
    free = occ.free
    pts = rng.uniform((0, 0), (30, 20), size=(900, 2))
    pts = pts[shapely.contains_xy(free, pts[:, 0], pts[:, 1])]
    for x0, y0 in [(10.0, 10.0), (10.0, 12.0), (22.0, 10.0), (20.0, 4.0), *pts[:6]]:
        vis = visibility_polygon(occ, x0, y0, heading_deg=0.0)
        q = resolve_mount(occ, x0, y0, 0.0)
        assert vis.is_valid and not vis.is_empty
        for x, y in pts[6:]:
            inside = bool(shapely.intersects_xy(vis, x, y))
            if inside != sight_line_clear(occ, q[0], q[1], x, y):
                assert vis.boundary.distance(Point(x, y)) < 1e-9
    # The X crossing at (10, 10): seen from inside the top wedge, only that wedge (a 5x5 triangle
    # bounded by the two walls and the line y=15 from (5,15) to (15,15)) plus what shows above it.
    top = visibility_polygon(occ, 10.0, 12.0)
    assert not top.contains(Point(10.0, 8.0)) and top.contains(Point(10.0, 14.9))


def test_blocked_sweep_fallback_matches_the_pair_path(monkeypatch):
    import planner.visibility as vis_mod

    outer, holes = _read(AGP / "g1_simple-simple_25_100v-10h_1.pol")
    poly = Polygon(outer, holes)
    occ = Occluders.from_polygon(poly)
    pts = list(outer[:15]) + [p for h in holes[:3] for p in h]
    pairs = [visibility_polygon(occ, x, y) for x, y in pts]
    monkeypatch.setattr(vis_mod, "_PAIR_LIMIT", 0)
    for (x, y), ref in zip(pts, pairs, strict=True):
        blocked = visibility_polygon(occ, x, y)
        assert blocked.symmetric_difference(ref).area < 1e-9 * poly.area


def test_range_pruning_equals_clipping_the_unbounded_polygon():
    from planner.geometry import disk_polygon
    from planner.research.floorgen import generate_mall_floor

    floor = parse_floor(generate_mall_floor(4, 400))
    occ = Occluders.from_floor(floor)
    rng = np.random.default_rng(9)
    minx, miny, maxx, maxy = floor.bounds
    checked = 0
    while checked < 8:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not occ.in_free_space(x, y):
            continue
        for r in (3.0, 15.36):
            pruned = visibility_polygon(occ, x, y, radius=r)
            full = visibility_polygon(occ, x, y).intersection(disk_polygon(x, y, r))
            assert pruned.symmetric_difference(full).area < 1e-9 * max(full.area, 1.0)
            assert len(occ.near(x, y, r)) < len(occ.segments)
        checked += 1


def test_view_cache_keeps_the_two_faces_of_a_wall_apart():
    engine = Engine(_wall_floor())

    def vis(heading: float):
        return engine.pose_visibility(CameraPose("m", 50.0, 5.0, heading, 90.0, range_m=200.0))

    up, down = vis(80.0), vis(260.0)
    assert len(engine._vis) == 2 and up.centroid.y > 5 > down.centroid.y
    assert vis(100.0) is up and len(engine._vis) == 2
