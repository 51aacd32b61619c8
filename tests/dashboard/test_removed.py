"""Deleting a venue, floor or terminal that a finding, an approved plan or an inspection refers to keeps it, removed."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from accounts.models import User
from compliance.models import Finding
from extensions import db
from inspection.models import Inspection, InspectionItem
from inventory import services
from inventory.models import Floor, Terminal, Venue
from plans.models import Decision, Plan, PlanDecision, PlanState
from tests.conftest import ADMIN, MANAGER_A


@pytest.fixture
def hotel(demo_app):
    """The demo hotel with rule evaluation off, so only the references each test plants exist."""
    demo_app.config["COMPLIANCE_AUTO_EVALUATE"] = False
    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        db.session.execute(sa.delete(Finding).where(Finding.venue_id == venue.id))
        db.session.commit()
        return venue.id


def _admin() -> User:
    return db.session.scalar(sa.select(User).where(User.email == ADMIN))


def _approve(floor: Floor, codes: list[str]) -> Plan:
    plan = Plan(floor=floor, mode="reduce", parameters={}, floor_snapshot={"features": []}, inputs_hash="x",
                state=PlanState.DONE, approved_at=datetime(2026, 12, 1), in_force_floor_id=floor.id)
    db.session.add(plan)
    db.session.flush()
    for code in codes:
        db.session.add(PlanDecision(plan_id=plan.id, terminal_code=code, decision=Decision.REMOVE))
    return plan


def _login(client, email=MANAGER_A):
    client.post("/login", data={"email": email, "password": "sightline-demo"})
    return client


def test_a_terminal_an_approved_plan_decides_on_is_kept_removed(demo_app, hotel):
    with demo_app.app_context():
        floor = db.session.get(Venue, hotel).floors[0]
        terminal = floor.terminals[0]
        terminal_id, code, floor_id = terminal.id, terminal.code, floor.id
        _approve(floor, [code])
        db.session.commit()
    client = _login(demo_app.test_client())
    assert client.post(f"/terminals/{terminal_id}/delete").status_code == 302
    with demo_app.app_context():
        kept = db.session.get(Terminal, terminal_id)
        assert kept is not None and kept.removed_at is not None
        assert terminal_id not in [t.id for t in db.session.get(Floor, floor_id).terminals]
    page = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert f"/terminals/{terminal_id}/edit" not in page
    assert client.get(f"/terminals/{terminal_id}/edit").status_code == 404
    assert client.get(f"/api/v1/terminals/{terminal_id}").status_code == 404


def test_an_unreferenced_terminal_is_deleted(demo_app, hotel):
    with demo_app.app_context():
        terminal = db.session.get(Venue, hotel).floors[0].terminals[0]
        assert not services.is_referenced(terminal)
        assert services.delete_object(_admin(), terminal) == "deleted"
        db.session.commit()
        assert db.session.get(Terminal, terminal.id) is None


@pytest.mark.parametrize("status, kept", [("open", True), ("accepted", True), ("fixed", False)])
def test_a_terminal_with_a_standing_finding_is_kept(demo_app, hotel, status, kept):
    with demo_app.app_context():
        terminal = db.session.get(Venue, hotel).floors[0].terminals[0]
        finding = Finding(venue_id=hotel, floor_id=terminal.floor_id, terminal_id=terminal.id, rule_id="CN-01",
                          key="k", severity="prohibited", status=status, subject=terminal.code, message="m", detail={})
        db.session.add(finding)
        db.session.commit()
        outcome = services.delete_object(_admin(), terminal)
        db.session.commit()
        assert outcome == ("removed" if kept else "deleted")
        if kept:
            stored = db.session.get(Finding, finding.id)  # the reference still resolves to the kept record
            assert db.session.get(Terminal, stored.terminal_id).removed_at is not None


def test_a_terminal_an_inspection_checked_is_kept(demo_app, hotel):
    with demo_app.app_context():
        terminal = db.session.get(Venue, hotel).floors[0].terminals[0]
        inspection = Inspection(venue_id=hotel, inspector_id=_admin().id)
        db.session.add(inspection)
        db.session.flush()
        db.session.add(InspectionItem(inspection_id=inspection.id, terminal_id=terminal.id, floor_id=terminal.floor_id,
                                      code=terminal.code, kind="camera"))
        db.session.commit()
        assert services.delete_object(_admin(), terminal) == "removed"
        db.session.commit()
        item = db.session.scalar(sa.select(InspectionItem).where(InspectionItem.inspection_id == inspection.id))
        assert item.terminal.code == terminal.code and item.terminal.removed_at is not None


def test_a_floor_with_an_approved_plan_is_kept_and_leaves_the_venue(demo_app, hotel):
    with demo_app.app_context():
        floor = db.session.get(Venue, hotel).floors[0]
        plan = _approve(floor, [])
        db.session.commit()
        floor_id, plan_id = floor.id, plan.id
    client = _login(demo_app.test_client())
    assert client.post(f"/floors/{floor_id}/delete").status_code == 302
    with demo_app.app_context():
        assert db.session.get(Floor, floor_id).removed_at is not None
        assert db.session.get(Plan, plan_id).floor.id == floor_id
        assert floor_id not in [f.id for f in db.session.get(Venue, hotel).floors]
    assert client.get(f"/floors/{floor_id}").status_code == 404
    assert floor_id not in client.get(f"/api/v1/venues/{hotel}").json["floor_ids"]


def test_a_venue_with_an_inspection_is_kept_and_leaves_the_lists(demo_app, hotel):
    with demo_app.app_context():
        inspection = Inspection(venue_id=hotel, inspector_id=_admin().id)
        db.session.add(inspection)
        db.session.commit()
        inspection_id = inspection.id
    client = _login(demo_app.test_client())
    assert client.post(f"/venues/{hotel}/delete").status_code == 302
    with demo_app.app_context():
        venue = db.session.get(Venue, hotel)
        assert venue.removed_at is not None and db.session.get(Inspection, inspection_id).venue.id == hotel
        assert venue.floors and venue.floors[0].terminals  # its records stay whole
    assert f'href="/venues/{hotel}"' not in client.get("/").get_data(as_text=True)
    assert client.get(f"/venues/{hotel}").status_code == 404
    assert hotel not in [v["id"] for v in client.get("/api/v1/venues").json["items"]]


def test_a_venue_nothing_refers_to_is_deleted(demo_app, hotel):
    with demo_app.app_context():
        db.session.execute(sa.delete(Plan))
        db.session.commit()
        venue = db.session.get(Venue, hotel)
        assert services.delete_object(_admin(), venue) == "deleted"
        db.session.commit()
        assert db.session.get(Venue, hotel) is None


def test_a_removed_terminals_id_is_not_silently_reused(demo_app, hotel):
    with demo_app.app_context():
        floor = db.session.get(Venue, hotel).floors[0]
        terminal = floor.terminals[0]
        _approve(floor, [terminal.code])
        db.session.commit()
        services.delete_object(_admin(), terminal)
        db.session.commit()
        with pytest.raises(services.ValidationError, match="removed terminal"):
            services.create_terminal(_admin(), floor, {"code": terminal.code, "kind": "camera", "x": terminal.x,
                                                       "y": terminal.y})


def test_a_removed_floors_level_can_be_taken_by_a_new_floor(demo_app, hotel):
    with demo_app.app_context():
        floor = db.session.get(Venue, hotel).floors[0]
        _approve(floor, [])
        db.session.commit()
        floor_id, level = floor.id, floor.level
    client = _login(demo_app.test_client())
    taken = client.post(f"/api/v1/venues/{hotel}/floors", json={"level": level, "name": "Still here"})
    assert taken.status_code == 422 and "already exists" in str(taken.json)
    assert client.post(f"/floors/{floor_id}/delete").status_code == 302
    created = client.post(f"/api/v1/venues/{hotel}/floors", json={"level": level, "name": "Rebuilt"})
    assert created.status_code == 201, created.json
    with demo_app.app_context():
        assert db.session.get(Floor, floor_id).level == level  # the removed floor keeps its level for its records
        assert [f.name for f in db.session.get(Venue, hotel).floors if f.level == level] == ["Rebuilt"]
