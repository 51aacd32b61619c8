"""The solver-free verifier catches tampered plans (coverage, privacy, locks, moved mounts)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from shapely.geometry import Polygon, box

from planner.coverage import k_covered, uncovered
from planner.errors import InputError
from planner.floor import floor_to_geojson, load_floor, parse_floor
from planner.plan import PlanOptions, plan
from planner.verify import verify_plan

DATA = Path(__file__).resolve().parents[1] / "data" / "plan-floors"


def _floor(name: str):
    return load_floor(DATA / f"{name}.geojson")


def test_k_covered_by_area_on_overlapping_squares() -> None:
    region = box(0, 0, 10, 10)
    views = [box(0, 0, 6, 10), box(4, 0, 10, 10), box(0, 0, 10, 5)]
    # Seen twice: x in [4, 6] (both halves) plus the bottom half outside that band (the bottom box + a half).
    assert k_covered(region, views, 1).area == pytest.approx(100.0)
    assert k_covered(region, views, 2).area == pytest.approx(20 + 40)
    assert k_covered(region, views, 3).area == pytest.approx(10.0)
    assert uncovered(region, views, 3).area == pytest.approx(90.0)
    assert uncovered(region, [], 1).area == pytest.approx(100.0)


def test_k_covered_with_a_hole() -> None:
    ring = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (3, 1), (3, 3), (1, 3)]])
    assert k_covered(ring, [box(0, 0, 4, 4), box(0, 0, 2, 4)], 2).area == pytest.approx(8 - 2)


def test_verifier_accepts_the_optimizer_plan_and_rejects_tampering() -> None:
    floor = _floor("sliver")
    good = plan(floor, PlanOptions(time_limit=10, witness_spacing=3.0)).to_dict()
    assert verify_plan(floor, good).ok

    # Dropping a camera leaves its corner uncovered.
    bad = copy.deepcopy(good)
    bad["cameras"] = [c for c in bad["cameras"] if c["id"] != "L"]
    report = verify_plan(floor, bad)
    assert not report.ok and report.uncovered_m2["total"] > 0.5

    # Moving a kept camera off its mount is caught.
    bad = copy.deepcopy(good)
    bad["cameras"][0]["x"] += 1.0
    assert any("moved off its mount" in i for i in verify_plan(floor, bad).issues)

    # Claiming W is kept at a different heading without declaring a re-aim is caught.
    bad = copy.deepcopy(good)
    bad["cameras"][0]["heading_deg"] += 10.0
    assert any("pose differs" in i for i in verify_plan(floor, bad).issues)


def test_verifier_flags_privacy_and_locks() -> None:
    floor = _floor("privacy")
    good = plan(floor, PlanOptions(time_limit=10)).to_dict()
    assert verify_plan(floor, good).ok
    a = floor.terminal("A")
    bad = copy.deepcopy(good)
    bad["cameras"].append({"id": "A", "change": "keep", "x": a.x, "y": a.y, "heading_deg": a.heading_deg,
                           "hfov_deg": a.hfov_deg, "range_m": a.range_m})
    report = verify_plan(floor, bad)
    assert any("Changing room" in i for i in report.issues) and report.privacy_overlap_m2["total"] > 0.01

    obj = floor_to_geojson(floor)
    for f in obj["features"]:
        if f["properties"].get("id") == "A":
            f["properties"]["locked"] = "keep"
    assert any("locked keep" in i for i in verify_plan(parse_floor(obj), good).issues)


def test_verifier_needs_the_final_cameras() -> None:
    with pytest.raises(InputError, match="cameras"):
        verify_plan(_floor("corners"), {"kept": ["C1"]})
