"""The audit hash chain: every write path seals events, and one changed stored byte is named by verify-audit."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from audit.models import AuditEvent
from extensions import db
from inventory.models import Venue
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A


def _tamper(statement: str, **params: object) -> None:
    """Write to audit_event behind the app's back, as someone with database access who lifts the triggers would."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(sa.text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update"))
    else:
        db.session.execute(sa.text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(sa.text("DROP TRIGGER audit_event_no_delete"))
    db.session.execute(sa.text(statement), params)
    if db.session.connection().dialect.name == "postgresql":
        # PostgreSQL's database outlives the test (tables are truncated between tests), so put the trigger back.
        db.session.execute(sa.text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update"))
    db.session.commit()


def _verify(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["verify-audit"])


def test_demo_chain_is_intact(demo_app: Flask) -> None:
    result = _verify(demo_app)
    assert result.exit_code == 0, result.output
    assert "audit:" in result.output and "chain intact" in result.output
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.record_hash.is_(None))) == 0


def test_one_changed_byte_is_named(demo_app: Flask) -> None:
    with demo_app.app_context():
        target = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "venue")
                                    .order_by(AuditEvent.id)).first()
        assert target is not None
        raw = db.session.execute(sa.text("SELECT after FROM audit_event WHERE id = :id"), {"id": target.id}).scalar()
        text = raw if isinstance(raw, str) else __import__("json").dumps(raw)
        position = text.index('"name": "') + len('"name": "')
        tampered = text[:position] + chr(ord(text[position]) ^ 1) + text[position + 1:]
        target_id = target.id
        _tamper("UPDATE audit_event SET after = :after WHERE id = :id", after=tampered, id=target_id)
    result = _verify(demo_app)
    assert result.exit_code == 1
    assert f"first broken link at record {target_id}: content does not match its hash" in result.output


def test_deleted_record_breaks_the_next_link(demo_app: Flask) -> None:
    with demo_app.app_context():
        ids = db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id).limit(3)).all()
        _tamper("DELETE FROM audit_event WHERE id = :id", id=ids[1])
    result = _verify(demo_app)
    assert result.exit_code == 1
    assert f"first broken link at record {ids[2]}: does not link" in result.output


def test_orm_added_and_recorded_events_share_one_chain(demo_app: Flask) -> None:
    with demo_app.app_context():
        venue = db.session.scalars(sa.select(Venue)).first()
        assert venue is not None
        db.session.add(AuditEvent(object_type="plan", object_id=1, action="run", venue_id=venue.id))
        db.session.add(AuditEvent(object_type="plan", object_id=1, action="cancel", venue_id=venue.id))
        venue.address = "1 Chain Road"
        db.session.commit()
        venue.address = "2 Chain Road"
        db.session.add(AuditEvent(object_type="token", object_id=3, action="issue"))
        db.session.commit()
        rows = db.session.execute(sa.select(AuditEvent.prev_hash, AuditEvent.record_hash)
                                  .order_by(AuditEvent.id)).all()
    assert [prev for prev, _h in rows[1:]] == [h for _p, h in rows[:-1]]
    result = _verify(demo_app)
    assert result.exit_code == 0, result.output


def test_chain_page_names_the_break_and_is_not_for_managers(demo_app: Flask) -> None:
    client = demo_app.test_client()
    from tests.conftest import DEMO_PASSWORD

    client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD})
    assert client.get("/audit/chain").status_code == 404
    client.post("/logout")
    client.post("/login", data={"email": INSPECTOR_CITY, "password": DEMO_PASSWORD})
    assert "Intact" in client.get("/audit/chain").get_data(as_text=True)
    with demo_app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)))
        _tamper("UPDATE audit_event SET action = 'updatf' WHERE id = :id", id=first)
    client.post("/logout")
    client.post("/login", data={"email": ADMIN, "password": DEMO_PASSWORD})
    body = client.get("/audit/chain").get_data(as_text=True)
    assert f"First broken link: record {first}" in body
