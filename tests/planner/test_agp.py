"""Exact vertex-guard AGP against the Unicamp reference counts (tests/data/agp-opt, see SOURCE.md)."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Polygon

from planner.cli import main
from planner.errors import InputError
from planner.research.agp import ExactPolygon, solve_agp
from planner.research.polfile import parse_pol, read_pol

DATA = Path(__file__).resolve().parents[1] / "data" / "agp-opt"
REFERENCE = list(csv.DictReader(open(DATA / "vertex-guards.csv")))


@pytest.mark.parametrize("row", REFERENCE, ids=[r["file"].split("/")[-1] for r in REFERENCE])
def test_optimal_vertex_guard_count_matches_reference(row: dict) -> None:
    pol = read_pol(DATA / row["file"].split("/")[-1])
    assert pol.n_vertices == int(row["vertices"]) and len(pol.holes) == int(row["holes"])
    res = solve_agp(pol, time_limit=30)
    assert res.status == "OPTIMAL"
    assert len(res.guards) == int(row["vertex_guards"]) == res.bound
    assert res.uncovered_m2 == 0.0
    # Independent float check: the chosen guards' visibility polygons leave (almost) nothing of the polygon.
    from planner.visibility import Occluders, visibility_polygon

    occ = Occluders.from_polygon(pol.polygon)
    union = shapely.union_all([visibility_polygon(occ, x, y) for x, y in res.guard_points])
    assert pol.polygon.difference(union).area <= 1e-9 * pol.polygon.area


def test_square_needs_one_guard_and_comb_needs_one_per_tooth() -> None:
    square = parse_pol("4 0/1 0/1 4/1 0/1 4/1 4/1 0/1 4/1")
    assert len(solve_agp(square, time_limit=10).guards) == 1
    # A comb with 3 deep narrow teeth: no vertex sees into two teeth, so 3 guards are needed (and enough).
    pts = [(0, 0), (7, 0), (7, 10), (6, 10), (6, 1), (4, 1), (4, 10), (3, 10), (3, 1), (1, 1), (1, 10), (0, 10)]
    text = f"{len(pts)} " + " ".join(f"{x}/1 {y}/1" for x, y in pts)
    res = solve_agp(parse_pol(text), time_limit=10)
    assert res.status == "OPTIMAL" and len(res.guards) == 3 and res.bound == 3


def test_exact_sight_test_handles_grazing_and_holes() -> None:
    # Square with a square hole: a corner cannot see the opposite corner (the hole blocks the diagonal).
    poly = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(4, 4), (6, 4), (6, 6), (4, 6)]])
    ex = ExactPolygon(poly)
    assert not ex.sees(0, 0, 10, 10)
    assert ex.sees(0, 0, 10, 0)  # along the boundary
    assert ex.sees(0, 0, 6, 4)  # grazing the hole's corner, ending on it
    assert ex.sees(0, 4, 10, 4)  # along the hole's bottom edge
    assert ex.locate(Fraction(5), Fraction(5)) == -1 and ex.locate(Fraction(4), Fraction(5)) == 0


def test_parse_errors_name_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r":2:5: expected y of vertex 3"):
        parse_pol("4 0/1 0/1 4/1 0/1\n4/1 x 0/1 4/1", where="f.pol")
    with pytest.raises(InputError, match="unexpected end of file"):
        parse_pol("4 0/1 0/1 4/1 0/1 4/1 4/1", where="f.pol")
    with pytest.raises(InputError, match="zero denominator"):
        parse_pol("3 0/1 0/1 1/0 0/1 1/1 1/1", where="f.pol")
    with pytest.raises(InputError, match="trailing"):
        parse_pol("3 0/1 0/1 1/1 0/1 1/1 1/1 0 junk", where="f.pol")
    with pytest.raises(InputError, match="invalid"):
        parse_pol("4 0/1 0/1 1/1 1/1 1/1 0/1 0/1 1/1", where="f.pol")  # a bow tie
    with pytest.raises(InputError, match="at least 3"):
        parse_pol("2 0/1 0/1 1/1 1/1", where="f.pol")


def test_cli_prints_the_contract_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "randvon-40-9.pol"
    assert main(["agp", str(path), "--time-limit", "20"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"guards", "bound", "status", "uncovered_m2", "seconds"} <= set(out)
    assert out["guards"] == 3 and out["status"] == "OPTIMAL" and out["uncovered_m2"] == 0.0


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_cli_rejects_non_positive_time_limit(limit: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agp", str(DATA / "random-20-17.pol"), "--time-limit", limit]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "time-limit" in err and "\n" not in err


def test_cli_reports_malformed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pol"
    bad.write_text("4 0/1 0/1\n4/1 0/1 4/1 zz 0/1 4/1\n")
    assert main(["agp", str(bad)]) != 0
    err = capsys.readouterr().err
    assert "bad.pol:2:" in err and err.count("\n") == 1
