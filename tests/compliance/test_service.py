"""The findings service on the demo data: planted violations are stored when the demo loads, every inventory
change re-evaluates in its own transaction (fixed with the change that fixed it), findings keep their identity,
acceptance needs a justification and the right role, and the entity rules CN-19 and CN-20 count across venues."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from accounts.models import User, utcnow
from audit.models import AuditEvent
from compliance import filing
from compliance.models import Finding
from compliance.service import note_reason, open_finding_counts
from extensions import db
from findings import service
from inventory import services
from inventory.errors import Forbidden
from inventory.fields import ValidationError
from inventory.models import Terminal, Venue
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A, MANAGER_B


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _venue(name: str) -> Venue:
    return db.session.scalar(sa.select(Venue).where(Venue.name == name))


def _terminal(venue: Venue, code: str) -> Terminal:
    return db.session.scalar(sa.select(Terminal).where(Terminal.venue_id == venue.id, Terminal.code == code))


def _findings(venue: Venue, rule_id: str, subject: str | None = None) -> list[Finding]:
    query = sa.select(Finding).where(Finding.venue_id == venue.id, Finding.rule_id == rule_id)
    if subject:
        query = query.where(Finding.subject == subject)
    return list(db.session.scalars(query.order_by(Finding.id)))


@pytest.mark.parametrize(("venue", "rule_id", "subject", "zone"), [
    ("Bund View Hotel", "CN-03", "C-305", "Public toilet (women)"),
    ("FreshMart Jing'an", "CN-03", "C-22", "Staff toilet"),
    ("Blue Wave Natatorium", "CN-03", "C-6", "Men's showers"),
    ("Blue Wave Natatorium", "CN-03", "C-6", "Women's showers"),
    ("Blue Wave Natatorium", "CN-01", "F-L1", "Women's changing room"),
    ("Blue Wave Natatorium", "CN-02", "F-L1", "Women's changing room"),
])
def test_demo_load_stores_the_planted_violations(demo_app, venue, rule_id, subject, zone):
    with demo_app.app_context():
        v = _venue(venue)
        found = [f for f in _findings(v, rule_id, subject) if f.detail.get("zone") == zone]
        assert len(found) == 1 and found[0].status == "open" and found[0].severity == "prohibited"
        f = found[0]
        assert f.terminal_id == _terminal(v, subject).id and f.zone_id is not None and f.floor_id is not None
        if rule_id == "CN-03":
            assert f.detail["intrusion_m2"] > 1.0 and f.detail["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_turning_the_camera_away_fixes_the_finding_with_the_audit_event(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        before = _findings(hotel, "CN-03", "C-305")
        assert [f.status for f in before] == ["open"]
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "C-305"), {"heading_deg": "90"})
        db.session.commit()
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "terminal")
                                  .order_by(AuditEvent.id.desc()))
        after = _findings(hotel, "CN-03", "C-305")
        assert [(f.id, f.status) for f in after] == [(before[0].id, "fixed")]
        assert after[0].fixed_reason == f"audit event {event.id}" and after[0].fixed_at is not None
        # Turned back, it is a new finding: the fixed one keeps its history.
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "C-305"), {"heading_deg": "290"})
        db.session.commit()
        assert [f.status for f in _findings(hotel, "CN-03", "C-305")] == ["fixed", "open"]


def test_unrelated_change_keeps_the_same_open_finding(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        first = _findings(hotel, "CN-03", "C-305")[0]
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "C-305"), {"serial": "HK-305-B"})
        db.session.commit()
        assert [(f.id, f.status) for f in _findings(hotel, "CN-03", "C-305")] == [(first.id, "open")]


def test_deleting_the_terminal_fixes_its_findings_and_keeps_them(demo_app):
    with demo_app.app_context():
        pool = _venue("Blue Wave Natatorium")
        ids = [f.id for f in _findings(pool, "CN-01", "F-L1")]
        locker = _terminal(pool, "F-L1")
        assert services.delete_object(_user(ADMIN), locker) == "removed"  # an open finding refers to it
        db.session.commit()
        rows = [db.session.get(Finding, i) for i in ids]
        # The record is kept as removed, so the finding still points at it.
        assert [(f.status, f.terminal_id, f.subject) for f in rows] == [("fixed", locker.id, "F-L1")]
        assert locker.removed_at is not None


def test_a_rolled_back_change_leaves_findings_alone(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "C-305"), {"heading_deg": "90"})
        db.session.rollback()
        db.session.commit()
        assert [f.status for f in _findings(hotel, "CN-03", "C-305")] == ["open"]


def test_accept_needs_a_justification_and_a_manager_of_the_venue(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        f = _findings(hotel, "CN-05", "F-306")[0]
        with pytest.raises(ValidationError, match="is required"):
            service.accept(_user(MANAGER_A), hotel, f, "  ")
        for email in (INSPECTOR_CITY, MANAGER_B):
            with pytest.raises(Forbidden):
                service.accept(_user(email), hotel, f, "guests asked for it")
        service.accept(_user(MANAGER_A), hotel, f, "check-in kiosk; ID desk alternative beside it")
        db.session.commit()
        assert (f.status, f.accepted_by_id, f.justification) == (
            "accepted", _user(MANAGER_A).id, "check-in kiosk; ID desk alternative beside it")
        with pytest.raises(ValidationError, match="only an open finding"):
            service.accept(_user(ADMIN), hotel, f, "again")
        # Re-evaluation keeps an accepted finding accepted while it holds ...
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "F-306"), {"serial": "FR-306-B"})
        db.session.commit()
        assert db.session.get(Finding, f.id).status == "accepted"
        # ... and fixes it once it no longer holds.
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "F-306"), {"purpose": "public_security"})
        db.session.commit()
        assert db.session.get(Finding, f.id).status == "fixed"
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "finding",
                                                             AuditEvent.object_id == f.id)).action == "accept"


def test_profile_change_swaps_the_rule_set(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        services.update_venue(_user(MANAGER_A), hotel, {"compliance_profile": "UK"})
        db.session.commit()
        assert [f.status for f in _findings(hotel, "CN-03", "C-305")] == ["fixed"]
        assert [f.status for f in _findings(hotel, "UK-01", "C-305")] == ["open"]
        assert _findings(hotel, "UK-01", "C-305")[0].severity == "should"


def test_cn19_warns_at_80_percent_and_sets_the_deadline_over_the_threshold(demo_app):
    with demo_app.app_context():
        market = _venue("FreshMart Jing'an")
        warning = _findings(market, "CN-19")
        assert [(f.severity, f.status, f.detail["enrolled"]) for f in warning] == [("should", "open", 83_000)]
        services.update_terminal(_user(MANAGER_B), _terminal(market, "F-01"), {"enrolled_count": "70000"})
        db.session.commit()
        rows = _findings(market, "CN-19")
        assert [(f.severity, f.status) for f in rows] == [("should", "fixed"), ("must", "open")]
        over = rows[1]
        assert over.detail["enrolled"] == 108_000
        reached = date.fromisoformat(over.detail["reached_on"])
        assert over.detail["deadline"] == filing.add_working_days(reached, 30).isoformat()
        services.update_venue(_user(MANAGER_B), market, {"filing_status": "filed", "filing_date": "2026-12-01"})
        db.session.commit()
        assert db.session.get(Finding, over.id).status == "fixed"


def test_cn19_sums_across_the_venues_of_one_legal_entity(demo_app):
    with demo_app.app_context():
        market = _venue("FreshMart Jing'an")
        second = services.create_venue(_user(MANAGER_B), {"name": "FreshMart Pudong", "type": "supermarket",
                                                            "district": "Huangpu"})
        floor = services.create_floor(_user(MANAGER_B), second, {"level": "0", "name": "Sales"})
        services.create_terminal(_user(MANAGER_B), floor, {"code": "F-9", "kind": "face_terminal", "x": "1",
                                                          "y": "1", "face_recognition": "true",
                                                          "enrolled_count": "20000"})
        db.session.commit()
        assert [f.severity for f in _findings(second, "CN-19") if f.status == "open"] == ["must"]
        assert [f.severity for f in _findings(market, "CN-19") if f.status == "open"] == ["must"]
        # A different legal entity of the same organisation counts on its own.
        services.update_venue(_user(MANAGER_B), second, {"legal_entity": "FreshMart Pudong Ltd"})
        db.session.commit()
        assert [f.severity for f in _findings(market, "CN-19") if f.status == "open"] == ["should"]
        assert [f for f in _findings(second, "CN-19") if f.status == "open"] == []


def test_cn20_deregistration_task_when_face_recognition_stops(demo_app):
    with demo_app.app_context():
        pool = _venue("Blue Wave Natatorium")
        assert _findings(pool, "CN-20") == []
        for code in ("F-1", "F-2", "F-L1"):
            services.set_planned_removal(_terminal(pool, code), True)
        note_reason("plan 7 approved")
        db.session.commit()
        task = _findings(pool, "CN-20")
        assert [(f.status, f.detail["task"]) for f in task] == [("open", "deregistration")]
        assert f"by {task[0].detail['deadline']}" in task[0].message
        fixed_by_plan = [f for f in _findings(pool, "CN-01") if f.status == "fixed"]
        assert fixed_by_plan == []  # planned for removal is still installed: the camera is still there
        services.update_venue(_user(ADMIN), pool, {"filing_status": "deregistered"})
        db.session.commit()
        assert db.session.get(Finding, task[0].id).status == "fixed"


def test_working_days_skip_weekends():
    assert filing.add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday -> Monday
    assert filing.add_working_days(date(2026, 12, 2), 30) == date(2027, 1, 13)


def test_open_counts_of_the_demo(demo_app):
    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        counts = open_finding_counts([hotel.id])[hotel.id]
        assert counts["prohibited"] == 1 and counts["must"] >= 1


def test_a_terminal_kept_as_a_removed_record_breaks_no_rule(demo_app):
    with demo_app.app_context():
        pool = _venue("Blue Wave Natatorium")
        locker = _terminal(pool, "F-L1")
        locker.removed_at = utcnow()
        db.session.commit()
        assert {f.status for f in _findings(pool, "CN-01", "F-L1")} == {"fixed"}
        assert service.entity_state(pool.organisation_id, service.entity_of(pool)).enrolled == 13_000


def test_the_engine_is_reused_while_the_floor_geometry_is_unchanged(demo_app):
    from inventory import floorio

    with demo_app.app_context():
        hotel = _venue("Bund View Hotel")
        floor = hotel.floors[0]
        first = service._engine(floor, floorio.floor_model(floor))
        services.update_terminal(_user(MANAGER_A), _terminal(hotel, "C-305"), {"heading_deg": "90"})
        db.session.commit()
        assert service._engine(floor, floorio.floor_model(floor)) is first  # a turned camera: same geometry
        floor.zones[0].name = "Renamed room"
        db.session.commit()
        assert service._engine(floor, floorio.floor_model(floor)) is not first
