"""Per-query visibility time and exactness: planner.visibility vs pyvispoly (CGAL) and visilibity.

Run: ``.venv/bin/python -m bench.bench_visibility [--quick] [--json OUT]``

Both oracles are GPL/LGPL test-only dependencies; missing ones are skipped.  Every method answers the
same queries on the same polygons:

- Unicamp AGP polygons (``shared/benchmarks/agp-unicamp`` if present, else ``tests/data/agp``),
  viewpoints = every vertex (reflex ones included) + random interior points, unbounded range;
- generated mall floors (planner.research.floorgen) with 100 / 500 / 2000 wall segments, walls thickened to
  0.1 m so the free space is one polygon with holes that all three libraries accept; viewpoints =
  random interior points plus points 1 cm from wall corners.

Reported: mean CPU ms per query (``time.process_time``; wall time is in the JSON; preprocessing separate), ratio to ours, max symmetric-difference area
relative to the polygon area against pyvispoly.  Also timed: our engine path on the un-thickened
floor (line walls, openings, range cut at the observe range).
"""

from __future__ import annotations

import argparse
import json
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon

from planner.floor import parse_floor
from planner.research.floorgen import generate_mall_floor
from planner.visibility import Occluders, visibility_polygon

ROOT = Path(__file__).resolve().parents[1]
SHARED_AGP = ROOT.parent / "shared" / "benchmarks" / "agp-unicamp"


def read_pol(path: Path) -> Polygon:
    """A Unicamp .pol file as a shapely polygon (floats)."""
    vals = iter(path.read_text().split())

    def ring() -> list[tuple[float, float]]:
        n = int(next(vals))
        return [(float(Fraction(next(vals))), float(Fraction(next(vals)))) for _ in range(n)]

    outer = ring()
    rest = next(vals, None)
    holes = [ring() for _ in range(int(rest))] if rest is not None else []
    return Polygon(outer, holes)


def _rings(poly: Polygon) -> tuple[list, list[list]]:
    poly = shapely.geometry.polygon.orient(poly, 1.0)
    outer = list(poly.exterior.coords)[:-1]
    holes = [list(r.coords)[:-1] for r in poly.interiors]
    return outer, holes


class PyVisPoly:
    name = "pyvispoly"

    def __init__(self, poly: Polygon) -> None:
        import pyvispoly as pv

        self.pv = pv
        outer, holes = _rings(poly)

        def P(r):
            return pv.Polygon([pv.Point(x, y) for x, y in r])

        self.calc = pv.VisibilityPolygonCalculator(pv.PolygonWithHoles(P(outer), [P(h) for h in holes]))

    def query(self, x: float, y: float) -> Polygon | None:
        try:
            vp = self.calc.compute_visibility_polygon(self.pv.Point(x, y))
        except Exception:
            return None
        return Polygon([(float(p.x()), float(p.y())) for p in vp.boundary()])


class VisiLibity:
    name = "visilibity"
    EPS = 1e-8

    def __init__(self, poly: Polygon) -> None:
        import visilibity as vis

        self.vis = vis
        outer, holes = _rings(poly)
        polys = [vis.Polygon([vis.Point(x, y) for x, y in outer])]
        for h in holes:  # VisiLibity wants holes clockwise
            polys.append(vis.Polygon([vis.Point(x, y) for x, y in reversed(h)]))
        self.env = vis.Environment(polys)

    def query(self, x: float, y: float) -> Polygon | None:
        p = self.vis.Point(x, y)
        p.snap_to_boundary_of(self.env, self.EPS)
        p.snap_to_vertices_of(self.env, self.EPS)
        try:
            vp = self.vis.Visibility_Polygon(p, self.env, self.EPS)
        except Exception:
            return None
        pts = [(vp[i].x(), vp[i].y()) for i in range(vp.n())]
        return Polygon(pts) if len(pts) >= 3 else None


class Ours:
    name = "ours"

    def __init__(self, poly: Polygon) -> None:
        self.occ = Occluders.from_polygon(poly)

    def query(self, x: float, y: float) -> Polygon | None:
        return visibility_polygon(self.occ, x, y)


def _viewpoints(poly: Polygon, n_random: int, rng: np.random.Generator, corners: bool) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = poly.bounds
    pts: list[tuple[float, float]] = []
    while len(pts) < n_random:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(256, 2))
        ok = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        pts += [tuple(p) for p in xy[ok][: n_random - len(pts)]]
    if corners:
        inner = poly.buffer(-0.01, join_style="mitre")
        c = shapely.get_coordinates(inner)
        pick = rng.choice(len(c), size=min(n_random, len(c)), replace=False)
        pts += [tuple(c[i]) for i in pick]
    else:
        pts += [tuple(c) for c in shapely.get_coordinates(poly)]
    return pts


def _mall_polygon(n_segments: int, seed: int) -> Polygon:
    floor = parse_floor(generate_mall_floor(seed, n_segments))
    occ_lines = Occluders.from_floor(floor)
    lines = shapely.linestrings(occ_lines.segments.reshape(-1, 2, 2))
    free = floor.outline.geometry.difference(shapely.union_all(lines).buffer(0.05, cap_style="square",
                                                                           join_style="mitre"))
    parts = [p for p in shapely.get_parts(free) if p.geom_type == "Polygon"]
    best = max(parts, key=lambda p: p.area)
    return shapely.set_precision(best, 1e-6)


def run_case(label: str, poly: Polygon, points: list[tuple[float, float]], methods: list[type]) -> dict:
    """Time every method on the same queries and compare areas with pyvispoly."""
    row: dict = {"case": label, "vertices": int(len(shapely.get_coordinates(poly)) - 1 - len(poly.interiors)),
                 "holes": len(poly.interiors), "queries": len(points)}
    results: dict[str, list] = {}
    for cls in methods:
        try:
            t0 = time.perf_counter()
            m = cls(poly)
            prep = time.perf_counter() - t0
        except ImportError:
            continue
        out = []
        t0, c0 = time.perf_counter(), time.process_time()
        for x, y in points:
            out.append(m.query(x, y))
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        results[cls.name] = out
        # CPU time is the headline: the shared VM's wall clock varies 2-4x with other users' load.
        row[f"{cls.name}_ms"] = 1000 * dc / len(points)
        row[f"{cls.name}_wall_ms"] = 1000 * dt / len(points)
        row[f"{cls.name}_prep_ms"] = 1000 * prep
    if "pyvispoly" in results:
        worst, n = 0.0, 0
        for mine, ref in zip(results["ours"], results["pyvispoly"], strict=True):
            if ref is not None and ref.is_valid:
                worst = max(worst, mine.symmetric_difference(ref).area / poly.area)
                n += 1
        row["max_rel_symdiff_vs_cgal"] = worst
        row["compared"] = n
    if "visilibity" in results and "pyvispoly" in results:
        worst = 0.0
        for vl, ref in zip(results["visilibity"], results["pyvispoly"], strict=True):
            if vl is not None and ref is not None and vl.is_valid and ref.is_valid:
                worst = max(worst, vl.symmetric_difference(ref).area / poly.area)
        row["visilibity_max_rel_symdiff_vs_cgal"] = worst
    return row


def engine_case(n_segments: int, seed: int, n_points: int, rng: np.random.Generator) -> dict:
    """Our engine path on the real floor: line walls, openings, range cut at the observe range (15.4 m)."""
    floor = parse_floor(generate_mall_floor(seed, n_segments))
    t0 = time.perf_counter()
    occ = Occluders.from_floor(floor)
    prep = time.perf_counter() - t0
    pts = _viewpoints(occ.free, n_points, rng, corners=True)
    t0, c0 = time.perf_counter(), time.process_time()
    for x, y in pts:
        visibility_polygon(occ, x, y, radius=15.36)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return {"case": f"engine mall-{n_segments} r=15.4m", "segments": len(occ.segments), "queries": len(pts),
            "ours_ms": 1000 * dc / len(pts), "ours_wall_ms": 1000 * dt / len(pts), "ours_prep_ms": 1000 * prep}


def sweep(n_polygons: int, seed: int = 1) -> float:
    """Exactness only: N random Unicamp polygons, every vertex + 5 interior points, worst relative symdiff."""
    files = sorted(SHARED_AGP.glob("*/*.pol"))
    rng = np.random.default_rng(seed)
    worst = 0.0
    for i in rng.choice(len(files), size=min(n_polygons, len(files)), replace=False):
        poly = read_pol(files[i])
        ref, ours = PyVisPoly(poly), Ours(poly)
        for x, y in _viewpoints(poly, 5, rng, corners=False):
            r = ref.query(x, y)
            if r is None or not r.is_valid:
                continue
            d = ours.query(x, y).symmetric_difference(r).area / poly.area
            if d > 1e-6:
                print(f"over 1e-6: {files[i].name} ({x!r}, {y!r}) {d:.3g}", flush=True)
            worst = max(worst, d)
    print(f"sweep: {n_polygons} polygons, worst relative symmetric difference vs CGAL {worst:.2g}")
    return worst


def main() -> None:
    """Run the benchmark and print a markdown table (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer polygons and queries")
    ap.add_argument("--json", help="write the rows to this JSON file")
    ap.add_argument("--sweep", type=int, metavar="N", help="only check exactness on N random Unicamp polygons")
    args = ap.parse_args()
    if args.sweep:
        sweep(args.sweep)
        return
    rng = np.random.default_rng(2026)
    methods = [Ours, PyVisPoly, VisiLibity]
    agp_dir = SHARED_AGP if SHARED_AGP.exists() else ROOT / "tests" / "data" / "agp"
    if SHARED_AGP.exists():
        names = ["agp2009a-simplerand/randsimple-200-1.pol", "agp2009a-orthorand/random-200-1.pol",
                 "agp2009a-rvk/randvon-200-1.pol", "simple-polygons-with-holes/g1_simple-simple_50_200v-20h_1.pol"]
        if args.quick:
            names = names[::2]
        files = [agp_dir / n for n in names]
    else:
        files = sorted(agp_dir.glob("*.pol"))
    n_random = 10 if args.quick else 30
    rows = []
    for f in files:
        poly = read_pol(f)
        rows.append(run_case(f.stem, poly, _viewpoints(poly, n_random, rng, corners=False), methods))
        print(json.dumps(rows[-1]), flush=True)
    for nseg in ([100, 500] if args.quick else [100, 500, 2000]):
        poly = _mall_polygon(nseg, seed=1)
        rows.append(run_case(f"mall-{nseg} (walls 0.1 m thick)", poly, _viewpoints(poly, n_random, rng, True),
                             methods))
        print(json.dumps(rows[-1]), flush=True)
    for nseg in ([500] if args.quick else [500, 2000]):
        rows.append(engine_case(nseg, 1, 2 * n_random, rng))
        print(json.dumps(rows[-1]), flush=True)
    print()
    print("| case | vertices | holes | queries | ours ms | pyvispoly ms | visilibity ms | ours/pyvispoly | "
          "ours/visilibity | max rel. symdiff vs CGAL |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def f(key: str, fmt: str = "{:.2f}", r: dict = r) -> str:
            return fmt.format(r[key]) if key in r else "—"
        ratio_pv = f"{r['ours_ms'] / r['pyvispoly_ms']:.2f}" if "pyvispoly_ms" in r else "—"
        ratio_vl = f"{r['ours_ms'] / r['visilibity_ms']:.2f}" if "visilibity_ms" in r else "—"
        print(f"| {r['case']} | {r.get('vertices', r.get('segments', '—'))} | {r.get('holes', '—')} | "
              f"{r['queries']} | {f('ours_ms')} | {f('pyvispoly_ms')} | {f('visilibity_ms')} | {ratio_pv} | "
              f"{ratio_vl} | {f('max_rel_symdiff_vs_cgal', '{:.1e}')} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
