"""Compliance rules: the data file loads and validates, and each implemented rule flags a violating floor and
passes a compliant one, on real geometry (walls, door openings, the coverage engine's views)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from compliance import rules
from inventory import demo_plans
from inventory.demo_plans import PlanBuilder
from planner.floor import Floor, parse_floor

CAM = {"hpx": 1920, "height_m": 2.8, "range_m": 8.0}


def _floor(*terminals: tuple[str, str, tuple[float, float], float, float, dict[str, Any]],
           toilet_door: bool = True, room_use: str = "toilet") -> Floor:
    """A 12 m × 3 m corridor (y 0..3) with a 4 m × 4 m room north of it (x 0..4, y 3..7) and a doorway at x=2."""
    p = PlanBuilder("Test floor", 12.0, 7.0)
    p.wall((0, 3), (12, 3), doors=(2.0,) if toilet_door else ())
    p.wall((4, 3), (4, 7))
    p.zone("Corridor", "required", (0, 0, 12, 3), use="corridor", tier="observe")
    p.zone("Room", "private", (0, 3, 4, 7), use=room_use)
    for code, kind, at, heading, hfov, extra in terminals:
        p.terminal(code, kind, at, heading, hfov, **extra)
    return parse_floor(p.collection())


def _ids(ev: rules.Evaluation, rule_id: str) -> set[tuple[str | None, str | None]]:
    return {(f.terminal, f.zone) for f in ev.of(rule_id)}


# ------------------------------------------------------------------ the data file
def test_rules_file_holds_every_cn_rule_with_a_reason_for_each_left_out() -> None:
    by_id = {r.id: r for r in rules.load_rules()}
    assert {f"CN-{i:02d}" for i in range(1, 26)} <= set(by_id)
    for r in by_id.values():
        assert r.implemented or (r.why_not and r.why_not.strip())
        assert all(s["zh"] and s["en"] and s["article"] for s in r.sources)
    for rid in ("CN-01", "CN-02", "CN-03", "CN-04"):
        assert by_id[rid].implemented and by_id[rid].kind == "geometric" and by_id[rid].severity == "prohibited"


def test_sources_name_the_instruments_of_regulation_md() -> None:
    # The Chinese titles must be the ones the research file cites (read from it, not restated here).
    reference = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "regulation.md"
    if not reference.exists():
        pytest.skip("shared reference not available next to this checkout")
    text = reference.read_text(encoding="utf-8")
    by_id = {r.id: r for r in rules.load_rules()}
    assert by_id["CN-01"].sources[0]["zh"] in text
    assert by_id["CN-02"].sources[0]["zh"] in text


def test_profiles_split_the_rows() -> None:
    assert {r.id[:2] for r in rules.rules_for("CN")} == {"CN"}
    assert {r.id for r in rules.rules_for("UK")} == {"UK-01"}
    assert all(r.id.startswith("EU") for r in rules.rules_for("EU"))
    with pytest.raises(rules.RuleError, match="unknown profile 'US'"):
        rules.rules_for("US")


# ------------------------------------------------------------------ loader errors
def _doc() -> dict[str, Any]:
    return copy.deepcopy(json.loads(rules.RULES_FILE.read_text(encoding="utf-8")))


def _broken(change: str, value: Any, rid: str = "CN-03") -> dict[str, Any]:
    doc = _doc()
    rule = next(r for r in doc["rules"] if r["id"] == rid)
    if value is None:
        del rule[change]
    else:
        rule[change] = value
    return doc


@pytest.mark.parametrize(("change", "value", "message"), [
    ("severity", "forbidden", "rule CN-03: unknown severity 'forbidden'"),
    ("kind", "visual", "rule CN-03: unknown kind 'visual'"),
    ("fields", None, "rule CN-03: missing field 'fields'"),
    ("statement", None, "rule CN-03: missing field 'statement'"),
    ("fields", [], "rule CN-03: field 'fields' must list"),
    ("profiles", ["FR"], "rule CN-03: unknown profile 'FR'"),
    ("source", [{"en": "x", "article": "Art 1"}], "rule CN-03: each source needs"),
    ("check", "look_around", "rule CN-03: implemented rule has unknown check 'look_around'"),
])
def test_loader_names_the_rule_and_field(change: str, value: Any, message: str) -> None:
    with pytest.raises(rules.RuleError, match=re.escape(message)):
        rules.parse_rules(_broken(change, value))


def test_loader_wants_a_reason_for_unimplemented_rules() -> None:
    with pytest.raises(rules.RuleError, match=re.escape("rule CN-09: a rule not implemented must say why")):
        rules.parse_rules(_broken("why_not", None, "CN-09"))


def test_loader_rejects_duplicate_ids_and_bad_files(tmp_path: Path) -> None:
    doc = _doc()
    doc["rules"].append(copy.deepcopy(doc["rules"][0]))
    with pytest.raises(rules.RuleError, match="rule CN-01: duplicate id"):
        rules.parse_rules(doc)
    bad = tmp_path / "rules.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(rules.RuleError, match="rules.json: not JSON"):
        rules.load_rules(bad)
    good = tmp_path / "ok.json"
    good.write_text(json.dumps(_doc()), encoding="utf-8")
    assert [r.id for r in rules.load_rules(good)] == [r.id for r in rules.load_rules()]


# ------------------------------------------------------------------ CN-03: views into private zones
def test_cn03_camera_seeing_through_an_open_toilet_door_is_flagged_with_its_area() -> None:
    fl = _floor(("C-1", "camera", (2.0, 0.5), 90, 60, CAM))
    found = rules.evaluate(fl).of("CN-03")
    assert [(f.terminal, f.zone, f.severity) for f in found] == [("C-1", "Room", "prohibited")]
    # Through a 1 m doorway from 2.5 m away the view reaches a wedge of the room: some, but not all, of its 16 m².
    assert 0.5 < found[0].area_m2 < 16.0
    assert "Decree No. 799" in found[0].source


def test_cn03_same_camera_turned_away_passes() -> None:
    assert rules.evaluate(_floor(("C-1", "camera", (2.0, 0.5), 0, 60, CAM))).of("CN-03") == []


def test_cn03_closed_door_blocks_the_view() -> None:
    assert rules.evaluate(_floor(("C-1", "camera", (2.0, 0.5), 90, 60, CAM), toilet_door=False)).of("CN-03") == []


# ------------------------------------------------------------------ CN-01 / CN-02: devices inside private zones
def test_cn01_face_terminal_inside_a_toilet_is_flagged_and_in_the_corridor_passes() -> None:
    fr = {"range_m": 1.0, "height_m": 1.4, "face_recognition": True}
    inside = rules.evaluate(_floor(("F-1", "face_terminal", (1.0, 6.0), 270, 60, fr)))
    assert _ids(inside, "CN-01") == {("F-1", "Room")}
    assert _ids(inside, "CN-02") == {("F-1", "Room")}
    outside = rules.evaluate(_floor(("F-1", "face_terminal", (8.0, 1.0), 90, 60, fr)))
    assert outside.of("CN-01") == [] and outside.of("CN-02") == []


def test_cn02_covers_the_wider_decree_799_set_that_cn01_does_not() -> None:
    # A nursing room is PRIVATE_EXT (Decree 799) but not PRIVATE (FR Measures Art 13).
    fr = {"range_m": 1.0, "height_m": 1.4, "face_recognition": True}
    ev = rules.evaluate(_floor(("F-1", "face_terminal", (1.0, 6.0), 270, 60, fr),
                               ("C-2", "camera", (3.0, 6.0), 180, 60, CAM), room_use="nursing_room"))
    assert ev.of("CN-01") == []
    assert _ids(ev, "CN-02") == {("F-1", "Room"), ("C-2", "Room")}


def test_cn02_ignores_devices_that_collect_no_images() -> None:
    ev = rules.evaluate(_floor(("R-1", "access_reader", (1.0, 6.0), 270, 90, {"range_m": 0.3})))
    assert ev.of("CN-02") == []


@pytest.mark.parametrize(("use", "private"), [("nursing_room", True), ("toilet", True), ("staff_rest_room", False)])
def test_a_general_zone_is_private_when_its_use_is_always_private(use: str, private: bool) -> None:
    p = PlanBuilder("Staff", 10.0, 10.0)
    p.zone("Room", "general", (0, 0, 10, 10), use=use)
    p.terminal("C-1", "camera", (5.0, 5.0), 0, 60, **CAM)
    found = _ids(rules.evaluate(parse_floor(p.collection())), "CN-02")
    assert found == ({("C-1", "Room")} if private else set())


# ------------------------------------------------------------------ CN-04: audio near private zones
def test_cn04_audio_near_a_toilet_is_flagged_and_far_away_passes() -> None:
    near = rules.evaluate(_floor(("C-1", "camera", (6.0, 1.0), 0, 60, {**CAM, "audio": True})))
    assert _ids(near, "CN-04") == {("C-1", "Room")}
    far = rules.evaluate(_floor(("C-1", "camera", (11.5, 1.0), 0, 60, {**CAM, "audio": True})))
    assert far.of("CN-04") == []
    silent = rules.evaluate(_floor(("C-1", "camera", (6.0, 1.0), 0, 60, CAM)))
    assert silent.of("CN-04") == []


# ------------------------------------------------------------------ attribute rules
FR_CORRIDOR = ("F-1", "face_terminal", (8.0, 1.0), 0, 60, {"range_m": 1.0, "height_m": 1.4, "face_recognition": True})


@pytest.mark.parametrize(("rule_id", "failing", "passing"), [
    ("CN-05", {"purpose": "marketing"}, {"purpose": "public_security"}),
    ("CN-08", {"signage_posted": False}, {"signage_posted": True}),
    ("CN-15", {"storage_location": "cloud"}, {"storage_location": "on_device"}),
    ("CN-15", {"storage_location": "vendor"}, {"storage_location": "vendor", "transfer_consent": "separate"}),
    ("CN-16", {"retention_days": None}, {"retention_days": 30}),
    ("CN-25", {"necessity_note": ""}, {"necessity_note": "entry control required by the venue's security plan"}),
])
def test_attribute_rules(rule_id: str, failing: dict[str, Any], passing: dict[str, Any]) -> None:
    fl = _floor(FR_CORRIDOR)
    assert _ids(rules.evaluate(fl, {"F-1": failing}), rule_id) == {("F-1", None)}
    assert rules.evaluate(fl, {"F-1": passing}).of(rule_id) == []


def test_unknown_attributes_are_reported_as_missing_not_as_findings() -> None:
    ev = rules.evaluate(_floor(FR_CORRIDOR))
    assert ev.of("CN-08") == [] and ev.of("CN-16") == []
    assert {("CN-08", "F-1", "signage_posted"), ("CN-16", "F-1", "retention_days")} <= set(ev.missing)


def test_uk_profile_runs_the_view_check_with_its_own_rule() -> None:
    ev = rules.evaluate(_floor(("C-1", "camera", (2.0, 0.5), 90, 60, CAM)), profile="UK")
    assert {f.rule for f in ev.findings} == {"UK-01"}
    assert ev.findings[0].severity == "should" and ev.findings[0].zone == "Room"


# ------------------------------------------------------------------ the demo venues' planted violations
@pytest.mark.parametrize(("plan", "viewers"), [
    (demo_plans.hotel_floor, {("C-305", "Public toilet (women)")}),
    (demo_plans.supermarket_floor, {("C-22", "Staff toilet")}),
    (demo_plans.pool_floor, {("C-6", "Men's showers"), ("C-6", "Women's showers"),
                             ("F-L1", "Women's changing room")}),
])
def test_demo_venues_give_their_planted_view_intrusions(plan: Any, viewers: set[tuple[str, str]]) -> None:
    ev = rules.evaluate(parse_floor(plan()))
    assert _ids(ev, "CN-03") == viewers
    assert all(f.area_m2 and f.area_m2 > 0.01 for f in ev.of("CN-03"))


def test_pool_face_locker_in_the_changing_room_breaks_cn01_and_cn02() -> None:
    ev = rules.evaluate(parse_floor(demo_plans.pool_floor()))
    assert _ids(ev, "CN-01") == {("F-L1", "Women's changing room")}
    assert _ids(ev, "CN-02") == {("F-L1", "Women's changing room")}


def test_demo_face_terminals_with_commercial_purposes_break_cn05() -> None:
    ev = rules.evaluate(parse_floor(demo_plans.supermarket_floor()))
    assert _ids(ev, "CN-05") == {("F-01", None), ("F-02", None)}


def test_cn03_counts_a_general_zone_whose_use_is_always_private() -> None:
    p = PlanBuilder("Staff", 12.0, 7.0)
    p.wall((0, 3), (12, 3), doors=(2.0,))
    p.wall((4, 3), (4, 7))
    p.zone("Corridor", "general", (0, 0, 12, 3), use="corridor")
    p.zone("Fitting", "general", (0, 3, 4, 7), use="fitting_room")
    p.terminal("C-1", "camera", (2.0, 0.5), 90, 60, **CAM)
    p.terminal("C-2", "camera", (2.0, 0.5), 0, 60, **CAM)
    assert _ids(rules.evaluate(parse_floor(p.collection())), "CN-03") == {("C-1", "Fitting")}
