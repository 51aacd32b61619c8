"""Every create, update and delete of venues, floors, zones and terminals is recorded."""

from __future__ import annotations

import sqlalchemy as sa

from accounts.models import User
from audit.models import AuditEvent
from extensions import db
from inventory.models import Terminal
from tests.conftest import MANAGER_A


def _events(app, object_type, object_id):
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                                   AuditEvent.object_id == object_id)
                                       .order_by(AuditEvent.id)))


def test_update_and_delete_are_recorded_with_before_and_after(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-302"))
        manager_id = db.session.scalar(sa.select(User.id).where(User.email == MANAGER_A))
    client.post(f"/terminals/{terminal.id}/edit", data={
        "code": "C-302", "kind": "camera", "x": "43.7", "y": "9", "heading_deg": "170", "hfov_deg": "60",
        "hpx": "1920", "serial": "HK-302"})
    client.post(f"/terminals/{terminal.id}/delete")
    events = _events(demo_app, "terminal", terminal.id)
    assert events[0].action == "create" and events[0].user_id is None  # created by the demo loader
    mine = [e for e in events if e.user_id == manager_id]
    assert [e.action for e in mine] == ["update", "delete"]
    assert mine[0].before["heading_deg"] == 180.0 and mine[0].after["heading_deg"] == 170.0
    assert mine[1].before["code"] == "C-302" and mine[1].after is None
    assert all(e.venue_id == terminal.venue_id for e in events)


def test_audit_page_lists_changes(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-303"))
    client.post(f"/terminals/{terminal.id}/row", data={"code": "C-303", "kind": "camera", "status": "removed",
                                                       "heading_deg": "270", "hfov_deg": "90", "serial": "HK-303"})
    page = client.get(f"/venues/{terminal.venue_id}/audit").get_data(as_text=True)
    assert "manager@huangpu-hotels.example" in page
    assert '<td class="before">active</td>' in page and "<strong>removed</strong>" in page


def test_orm_refuses_to_edit_audit_rows(demo_app):
    import pytest

    with demo_app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).limit(1))
        event.action = "tampered"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
