"""The rules added with the inventory's compliance fields: capture zone (CN-06), notices (CN-07), entrance signs
(CN-08), consent (CN-10, EU-01), alternatives (CN-12) and the EU purpose and retention rows, each failing and
passing on real geometry where the rule is geometric."""

from __future__ import annotations

from typing import Any

import pytest
import shapely.geometry

from compliance import rules
from inventory.demo_plans import PlanBuilder
from planner.floor import Floor, parse_floor

CAM = {"hpx": 1920, "height_m": 2.8, "range_m": 8.0}
FR = {"range_m": 1.0, "height_m": 1.4, "face_recognition": True}


def _floor(*terminals: tuple[str, str, tuple[float, float], float, float, dict[str, Any]]) -> Floor:
    """A 12 m × 3 m corridor (y 0..3, id "corridor") with a 4 m × 4 m toilet north of it behind a doorway at x=2,
    and a 1.3 m × 1.2 m "desk" zone around (8.5, 1)."""
    p = PlanBuilder("Test floor", 12.0, 7.0)
    p.wall((0, 3), (12, 3), doors=(2.0,))
    p.wall((4, 3), (4, 7))
    p.zone("Corridor", "required", (0, 0, 12, 3), use="corridor", tier="observe")
    p.features[-1]["id"] = "corridor"
    p.zone("Toilet", "private", (0, 3, 4, 7), use="toilet")
    p.zone("Desk", "general", (7.9, 0.4, 9.2, 1.6), use="reception")
    p.features[-1]["id"] = "desk"
    p.zone("Till", "general", (8.0, 0.8, 8.5, 1.2), use="cash_register")
    p.features[-1]["id"] = "till"
    for code, kind, at, heading, hfov, extra in terminals:
        p.terminal(code, kind, at, heading, hfov, **extra)
    return parse_floor(p.collection())


FR_DESK = ("F-1", "face_terminal", (8.0, 1.0), 0, 60, FR)  # heading 0 = +x: its 1 m sector lies in the desk zone


def _ids(ev: rules.Evaluation, rule_id: str) -> set[tuple[str | None, str | None]]:
    return {(f.terminal, f.zone) for f in ev.of(rule_id)}


# ------------------------------------------------------------------ CN-06 capture zone
def test_cn06_capture_area_beyond_the_declared_zone_is_flagged_with_its_area() -> None:
    fl = _floor(FR_DESK)
    assert rules.evaluate(fl, {"F-1": {"capture_zone": "desk"}}).of("CN-06") == []
    found = rules.evaluate(fl, {"F-1": {"capture_zone": "till"}}).of("CN-06")
    assert [(f.terminal, f.zone, f.zone_key) for f in found] == [("F-1", "Till", "till")]
    sector = 3.14159 / 6  # a 60° sector of radius 1 m
    assert 0.05 < found[0].area_m2 < sector
    shape = shapely.geometry.shape(found[0].geometry)
    assert shape.area == pytest.approx(found[0].area_m2, abs=0.02)
    assert shapely.geometry.box(8.0, 0.8, 8.5, 1.2).intersection(shape).area < 0.01  # what lies outside the till


def test_cn06_unknown_zone_is_a_finding_and_no_declaration_is_missing_data() -> None:
    fl = _floor(FR_DESK)
    assert _ids(rules.evaluate(fl, {"F-1": {"capture_zone": "nowhere"}}), "CN-06") == {("F-1", None)}
    ev = rules.evaluate(fl, {"F-1": {"capture_zone": ""}})
    assert ev.of("CN-06") == [] and ("CN-06", "F-1", "capture_zone") in ev.missing


# ------------------------------------------------------------------ CN-07 face-recognition notice
NOTICE = {"signage_posted": True, "signage_type": "face_notice"}


@pytest.mark.parametrize(("attrs", "flagged"), [
    ({**NOTICE, "signage_x": 6.5, "signage_y": 1.0}, False),  # 1.5 m before the capture area
    ({**NOTICE, "signage_x": 8.5, "signage_y": 1.0}, True),  # inside the capture area
    ({**NOTICE, "signage_x": 0.5, "signage_y": 1.0}, True),  # 7.5 m away
    ({"signage_posted": False}, True),
    ({"signage_posted": True, "signage_type": "warning_sign", "signage_x": 6.5, "signage_y": 1.0}, True),
])
def test_cn07_notice_must_be_posted_just_before_the_capture_area(attrs: dict[str, Any], flagged: bool) -> None:
    found = rules.evaluate(_floor(FR_DESK), {"F-1": attrs}).of("CN-07")
    assert _ids_of(found) == ({("F-1", None)} if flagged else set())


def _ids_of(found: list[rules.Finding]) -> set[tuple[str | None, str | None]]:
    return {(f.terminal, f.zone) for f in found}


# ------------------------------------------------------------------ CN-08 entrance signs (geometric part)
CORRIDOR_CAM = ("C-1", "camera", (11.0, 1.5), 180, 60, CAM)


def test_cn08_monitored_zone_whose_entrance_has_no_sign_is_flagged() -> None:
    fl = _floor(CORRIDOR_CAM)
    far = rules.evaluate(fl, {"C-1": {"signage_posted": True, "signage_x": 11.0, "signage_y": 2.0}}).of("CN-08")
    assert [(f.terminal, f.zone, f.zone_key) for f in far] == [(None, "Corridor", "corridor")]
    assert far[0].detail["entrances"] == [[2.0, 3.0]]
    near = rules.evaluate(fl, {"C-1": {"signage_posted": True, "signage_x": 2.0, "signage_y": 2.5}})
    assert near.of("CN-08") == []


def test_cn08_entrance_part_waits_for_sign_positions() -> None:
    ev = rules.evaluate(_floor(CORRIDOR_CAM), {"C-1": {"signage_posted": True}})
    assert ev.of("CN-08") == [] and ("CN-08", "", "signage.position") in ev.missing


# ------------------------------------------------------------------ CN-10 / EU-01 consent, CN-12 alternative
@pytest.mark.parametrize(("attrs", "flagged"), [
    ({"consent_mechanism": "bundled", "purpose": "membership"}, True),
    ({"consent_mechanism": "implied", "purpose": "membership"}, True),
    ({"consent_mechanism": "none", "purpose": "marketing"}, True),
    ({"consent_mechanism": "separate_opt_in", "purpose": "membership"}, False),
    ({"consent_mechanism": "none", "purpose": "public_security"}, False),
    ({"consent_mechanism": "legal_basis", "purpose": "public_security"}, False),
])
def test_cn10_consent_must_be_an_explicit_opt_in(attrs: dict[str, Any], flagged: bool) -> None:
    found = rules.evaluate(_floor(FR_DESK), {"F-1": attrs}).of("CN-10")
    assert _ids_of(found) == ({("F-1", None)} if flagged else set())


def test_eu01_needs_explicit_consent_even_for_security() -> None:
    fl = _floor(FR_DESK)
    assert _ids(rules.evaluate(fl, {"F-1": {"consent_mechanism": "none", "purpose": "public_security"}},
                               profile="EU"), "EU-01") == {("F-1", None)}
    assert rules.evaluate(fl, {"F-1": {"consent_mechanism": "written"}}, profile="EU").of("EU-01") == []


def test_cn12_face_verification_needs_a_non_biometric_alternative() -> None:
    fl = _floor(FR_DESK)
    assert _ids(rules.evaluate(fl, {"F-1": {"alternative_verification": "none"}}), "CN-12") == {("F-1", None)}
    assert rules.evaluate(fl, {"F-1": {"alternative_verification": "card"}}).of("CN-12") == []
    camera = _floor(("C-9", "camera", (8.0, 1.0), 0, 60, {**CAM, "face_recognition": True}))
    assert rules.evaluate(camera, {"C-9": {"alternative_verification": "none"}}).of("CN-12") == []


# ------------------------------------------------------------------ EU-02 purpose, EU-04 retention
@pytest.mark.parametrize(("attrs", "flagged"), [
    ({"purpose": "For your safety"}, True),
    ({"purpose": ""}, True),
    ({"purpose": "loss prevention at the tills"}, False),
])
def test_eu02_purpose_must_be_specific(attrs: dict[str, Any], flagged: bool) -> None:
    found = rules.evaluate(_floor(CORRIDOR_CAM), {"C-1": attrs}, profile="EU").of("EU-02")
    assert _ids_of(found) == ({("C-1", None)} if flagged else set())


@pytest.mark.parametrize(("attrs", "flagged"), [
    ({"retention_days": 60}, True),
    ({"retention_days": 10}, True),
    ({"retention_days": None}, True),
    ({"retention_days": 10, "necessity_note": "incident review needs a week"}, False),
    ({"retention_days": 2}, False),
])
def test_eu04_retention(attrs: dict[str, Any], flagged: bool) -> None:
    found = rules.evaluate(_floor(CORRIDOR_CAM), {"C-1": attrs}, profile="EU").of("EU-04")
    assert _ids_of(found) == ({("C-1", None)} if flagged else set())


def test_cn03_findings_carry_the_intruding_geometry() -> None:
    p = PlanBuilder("Test floor", 12.0, 7.0)
    p.wall((0, 3), (12, 3), doors=(2.0,))
    p.zone("Toilet", "private", (0, 3, 4, 7), use="toilet")
    p.features[-1]["id"] = "wc"
    p.terminal("C-1", "camera", (2.0, 0.5), 90, 60, **CAM)
    found = rules.evaluate(parse_floor(p.collection())).of("CN-03")
    assert [(f.zone, f.zone_key) for f in found] == [("Toilet", "wc")]
    shape = shapely.geometry.shape(found[0].geometry)
    assert shape.area == pytest.approx(found[0].area_m2, abs=0.02)
    assert shapely.geometry.box(0, 3, 4, 7).buffer(0.02).contains(shape)


def test_entity_rules_are_not_run_per_floor_and_their_scope_is_checked() -> None:
    by_id = {r.id: r for r in rules.load_rules()}
    assert by_id["CN-19"].scope == "entity" and by_id["CN-20"].scope == "entity"
    assert {f.rule for f in rules.evaluate(_floor(FR_DESK)).findings}.isdisjoint({"CN-19", "CN-20"})
    doc = {"rules": [{**_raw("CN-19"), "scope": "floor"}]}
    with pytest.raises(rules.RuleError, match="rule CN-19: check 'filing_threshold' does not run with scope"):
        rules.parse_rules(doc)


def _raw(rid: str) -> dict[str, Any]:
    import json

    return next(r for r in json.loads(rules.RULES_FILE.read_text(encoding="utf-8"))["rules"] if r["id"] == rid)


def test_required_rules_are_implemented() -> None:
    by_id = {r.id: r for r in rules.load_rules()}
    wanted = [f"CN-{i:02d}" for i in (*range(1, 9), 12, 15, 16, 19, 20, 25)]
    assert [rid for rid in wanted if not by_id[rid].implemented] == []


def test_docs_table_matches_the_rules_file() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "compliance.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line.split("|")[5].strip() for line in text.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip()[:3] in ("CN-", "EU-", "UK-")}
    assert rows == {r.id: "yes" if r.implemented else "no" for r in rules.load_rules()}
