"""A finished run's analysis (plans.compare.analyse) is reused for equal inputs (the load test's runs on an unchanged
floor give the same result), and the snapshot's engine and "before" drawing for an equal snapshot: the output always
equals an analysis from scratch, and no caller shares a cached value."""

from __future__ import annotations

import copy

from inventory.demo_plans import supermarket_floor
from plans import compare


def _result(snapshot: dict, kept: list[str], removed: list[str], heading: float | None = None) -> dict:
    out: dict = {"kept": kept, "removed": removed,
                 "added": [{"x": 3.0, "y": 4.0, "heading_deg": 45.0, "hfov_deg": 90.0, "hpx": None, "range_m": 12.0}],
                 "reaimed": [], "seconds": 1.2, "status": "FEASIBLE"}
    if heading is not None:
        out["reaimed"] = [{"id": kept[0], "heading_deg": heading}]
    return out


def _fresh(snapshot: dict, result: dict) -> dict:
    compare._ANALYSES.clear()
    compare._BEFORE.clear()
    return compare.analyse(copy.deepcopy(snapshot), copy.deepcopy(result))


def _codes(snapshot: dict) -> list[str]:
    return [f["properties"]["id"] for f in snapshot["features"] if f["properties"]["kind"] == "terminal"]


def test_a_repeated_analysis_renders_nothing_and_equals_one_from_scratch(monkeypatch):
    snapshot = supermarket_floor()
    codes = _codes(snapshot)
    result = _result(snapshot, codes[:3], codes[3:])
    reference = _fresh(snapshot, result)
    drawn: list[int] = []
    original = compare.render_floor
    monkeypatch.setattr(compare, "render_floor", lambda *a, **k: drawn.append(1) or original(*a, **k))
    again = compare.analyse(copy.deepcopy(snapshot), {**result, "seconds": 1.9})  # timings are not read
    assert again == reference
    assert drawn == []  # on main every run drew both pictures again
    again["drawings"]["before"] = "changed"
    again["necessity"].clear()
    assert compare.analyse(snapshot, result) == reference  # the caller's copy was its own


def test_other_results_and_snapshots_are_analysed_afresh():
    snapshot = supermarket_floor()
    codes = _codes(snapshot)
    first = compare.analyse(snapshot, _result(snapshot, codes[:3], codes[3:]))
    fewer = _result(snapshot, codes[:2], codes[2:])
    second = compare.analyse(snapshot, fewer)  # the same snapshot: its engine and "before" drawing reused
    assert second["drawings"]["after"] != first["drawings"]["after"]
    assert second["drawings"]["before"] == first["drawings"]["before"]
    assert second == _fresh(snapshot, fewer)
    turned = _result(snapshot, codes[:2], codes[2:], heading=200.0)
    assert compare.analyse(snapshot, turned) == _fresh(snapshot, turned) != second
    as_tuples = {**fewer, "kept": tuple(fewer["kept"])}  # another value: not the list's entry
    assert compare.analyse(snapshot, as_tuples) == _fresh(snapshot, as_tuples)

    moved = copy.deepcopy(snapshot)
    terminal = next(f for f in moved["features"] if f["properties"]["kind"] == "terminal")
    x, y = terminal["geometry"]["coordinates"][:2]
    terminal["geometry"]["coordinates"] = [x + 1.0, y]
    compare.analyse(snapshot, fewer)  # the old snapshot's entries are warm
    warm = compare.analyse(moved, fewer)
    assert warm["drawings"]["before"] != second["drawings"]["before"]
    assert warm == _fresh(moved, fewer)
