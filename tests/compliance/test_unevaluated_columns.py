"""What findings.service.EVALUATED leaves out of a terminal (its serial, its installation date) no evaluation reads:
an edit of only those queues no re-check (tests/compliance/test_worker_caches.py), which is exact only if so."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from compliance.models import Finding
from extensions import db
from findings import service
from inventory.models import Terminal


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
    """Change every column outside EVALUATED on every terminal (around the ORM, so nothing is triggered),
    then evaluate every venue from scratch: the findings are the same. A rule that starts reading such a column
    fails this, and the column must join EVALUATED."""
    with demo_app.app_context():
        service.evaluate_all()
        db.session.commit()
        before = _findings()
        assert len(before) >= 10
        table = Terminal.__table__
        outside = [c for c in table.columns if c.key not in service.EVALUATED]
        assert {c.key for c in outside} >= {"serial", "installed_on"}
        for terminal_id, *values in db.session.execute(sa.select(table.c.id, *outside)).all():
            db.session.execute(table.update().where(table.c.id == terminal_id).values(
                {c.key: _other_value(c, v) for c, v in zip(outside, values, strict=True)}))
        db.session.commit()
        service.evaluate_all()
        db.session.commit()
        assert _findings() == before
