"""A terminal write that changes nothing an evaluation reads (its serial, its installation date) changes no finding:
it is not evaluated and queues no re-check; every other write still is (findings.service.EVALUATED_ATTRIBUTES)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from compliance.models import ComplianceCheck, Finding
from extensions import db
from findings import service
from inventory.models import Terminal, Venue

VENUE = "Bund View Hotel"


def _findings() -> set[tuple]:
    """Every finding's identity, state and wording, as a from-scratch evaluation leaves them."""
    return set(db.session.execute(sa.select(Finding.venue_id, Finding.rule_id, Finding.key, Finding.status,
                                            Finding.severity, Finding.subject, Finding.message)))


def _other_value(column: sa.Column, value: object) -> object:
    """A value of the column's type unlike `value`."""
    python_type = column.type.python_type
    if python_type is str:
        return f"{value or ''}-changed"
    if python_type is datetime:
        return datetime(2001, 2, 3, 4, 5, 6)
    if python_type is date:
        return date(2001, 2, 3)
    raise AssertionError(f"no other value for {column.key} ({python_type}): extend the test")


def test_no_evaluation_reads_a_column_outside_the_evaluated_ones(demo_app):
    """Change every column outside EVALUATED_ATTRIBUTES on every terminal (around the ORM, so nothing is triggered),
    then evaluate every venue from scratch: the findings are the same. A rule that starts reading such a column
    fails this, and the column must join EVALUATED_ATTRIBUTES."""
    with demo_app.app_context():
        service.evaluate_all()
        db.session.commit()
        before = _findings()
        assert len(before) >= 10
        table = Terminal.__table__
        outside = [c for c in table.columns if c.key not in service.EVALUATED_ATTRIBUTES]
        assert {c.key for c in outside} >= {"serial", "installed_on"}
        for terminal_id, *values in db.session.execute(sa.select(table.c.id, *outside)).all():
            db.session.execute(table.update().where(table.c.id == terminal_id).values(
                {c.key: _other_value(c, v) for c, v in zip(outside, values, strict=True)}))
        db.session.commit()
        service.evaluate_all()
        db.session.commit()
        assert _findings() == before


@pytest.fixture
def terminal_id(demo_app) -> int:
    with demo_app.app_context():
        return db.session.scalar(sa.select(Terminal.id).join(Venue, Venue.id == Terminal.venue_id)
                                 .where(Venue.name == VENUE, Terminal.code == "C-305"))


def test_a_serial_edit_is_not_evaluated_a_turn_is(demo_app, terminal_id, monkeypatch):
    with demo_app.app_context():
        checks = db.session.scalar(sa.select(sa.func.count()).select_from(ComplianceCheck))
        real = service.evaluate_terminals
        monkeypatch.setattr(service, "evaluate_terminals", lambda *a, **k: pytest.fail("evaluated"))
        monkeypatch.setattr(service, "evaluate_venue", lambda *a, **k: pytest.fail("evaluated"))
        monkeypatch.setattr(service, "queue_check", lambda *a, **k: pytest.fail("queued a check"))
        terminal = db.session.get(Terminal, terminal_id)
        terminal.serial, terminal.installed_on = "NOT-EVALUATED-305", date(2025, 6, 1)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplianceCheck)) == checks
        evaluated: list[object] = []
        monkeypatch.setattr(service, "evaluate_terminals", lambda *a, **k: evaluated.append(a) or real(*a, **k))
        terminal = db.session.get(Terminal, terminal_id)
        terminal.heading_deg = (terminal.heading_deg + 90) % 360  # what the intrusion rule reads
        db.session.commit()
        assert evaluated, "a turned camera must be evaluated"
