"""Audit events are sealed into the chain at commit: two transactions writing audited rows at once both commit
without waiting for each other's whole transaction, a rollback leaves no gap, tampering is still named, and
events chained before the seq column verify after its migration."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.orm import Session

from app import create_app
from audit import chain
from audit.models import AuditEvent
from extensions import db
from inventory.models import Venue
from tests.conftest import POSTGRES_URL
from tests.inspection.test_audit_chain import _tamper, _verify

MIGRATIONS = str(Path(__file__).parents[2] / "migrations")


def _venue_ids() -> list[int]:
    return list(db.session.scalars(sa.select(Venue.id).order_by(Venue.id)))


def _event_of(address: str) -> AuditEvent | None:
    return next((e for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "venue"))
                 if (e.after or {}).get("address") == address), None)


def _seqs() -> list[int]:
    return list(db.session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)))


def test_a_transaction_waits_for_no_other_audited_transaction_to_end(demo_app: Flask) -> None:
    """A second transaction's audited write commits while the first's is still open (before: it queued behind it
    on the chain lock, taken at the first's first audited flush and held to its commit)."""
    if not POSTGRES_URL:
        pytest.skip("two writers at once need PostgreSQL (SQLite has one write lock)")
    with demo_app.app_context():
        one, two = _venue_ids()[:2]
        first, second = Session(bind=db.engine), Session(bind=db.engine)
        try:
            first.get(Venue, one).address = "first, committed last"  # type: ignore[union-attr]
            first.flush()  # its audit event is written, unsealed, in a transaction still open
            second.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            second.get(Venue, two).address = "second, committed first"  # type: ignore[union-attr]
            second.commit()
            first.commit()
        finally:
            first.close()
            second.close()
        early, late = _event_of("second, committed first"), _event_of("first, committed last")
        assert early is not None and late is not None
        assert late.id < early.id and early.seq < late.seq  # the chain follows the commits, not the ids
        assert late.prev_hash == early.record_hash
    assert _verify(demo_app).exit_code == 0


def test_many_concurrent_audited_commits_make_one_chain(demo_app: Flask) -> None:
    if not POSTGRES_URL:
        pytest.skip("concurrent writers need PostgreSQL")
    with demo_app.app_context():
        ids = _venue_ids()[:2]
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        errors: list[BaseException] = []

        def writer(venue_id: int) -> None:
            try:
                for n in range(15):
                    with demo_app.app_context(), Session(bind=db.engine) as session:
                        session.get(Venue, venue_id).address = f"{venue_id}-{n}"  # type: ignore[union-attr]
                        session.add(AuditEvent(object_type="plan", object_id=n, action="run", venue_id=venue_id))
                        session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(v,)) for v in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before + 2 * 15 * 2
        seqs = _seqs()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    result = _verify(demo_app)
    assert result.exit_code == 0, result.output


def test_a_rolled_back_transaction_leaves_no_gap(demo_app: Flask) -> None:
    with demo_app.app_context():
        venue = db.session.get(Venue, _venue_ids()[0])
        assert venue is not None
        venue.address = "rolled back"
        db.session.flush()
        db.session.rollback()
        assert venue.address != "rolled back"
        venue.address = "kept"
        with db.session.begin_nested():
            db.session.add(AuditEvent(object_type="plan", object_id=1, action="run", venue_id=venue.id))
            db.session.flush()
        savepoint = db.session.begin_nested()
        db.session.add(AuditEvent(object_type="plan", object_id=2, action="cancel", venue_id=venue.id))
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
        assert _event_of("rolled back") is None and _event_of("kept") is not None
        actions = db.session.execute(sa.select(AuditEvent.object_id, AuditEvent.action)
                                     .where(AuditEvent.object_type == "plan")).all()
        assert (1, "run") in actions and (2, "cancel") not in actions
        seqs = _seqs()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.seq.is_(None))) == 0
    result = _verify(demo_app)
    assert result.exit_code == 0, result.output


def test_a_moved_event_is_named(demo_app: Flask) -> None:
    with demo_app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.id, AuditEvent.seq).order_by(AuditEvent.seq).limit(3)).all()
        last = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
        _tamper("UPDATE audit_event SET seq = :s WHERE id = :id", s=last + 1, id=rows[1].id)  # to the chain's end
    result = _verify(demo_app)
    assert result.exit_code == 1
    assert f"first broken link at record {rows[2].id}: does not link" in result.output


def test_an_event_written_around_the_app_is_named(demo_app: Flask) -> None:
    with demo_app.app_context():
        db.session.execute(sa.text("INSERT INTO audit_event (at, object_type, action) "
                                   "VALUES (CURRENT_TIMESTAMP, 'venue', 'update')"))
        db.session.commit()  # the app seals only the events it wrote itself
        stray = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        assert db.session.get(AuditEvent, stray).seq is None  # type: ignore[union-attr]
    result = _verify(demo_app)
    assert result.exit_code == 1
    assert f"first broken link at record {stray}: has no chain hash" in result.output


def test_the_database_allows_sealing_and_nothing_else(demo_app: Flask) -> None:
    with demo_app.app_context():
        sealed = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        for statement in ("UPDATE audit_event SET seq = seq + 100000 WHERE id = :id",
                          "UPDATE audit_event SET record_hash = NULL, prev_hash = NULL, seq = NULL WHERE id = :id"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                db.session.execute(sa.text(statement), {"id": sealed})
            db.session.rollback()
        db.session.execute(sa.text("INSERT INTO audit_event (at, object_type, action) "
                                   "VALUES (CURRENT_TIMESTAMP, 'venue', 'update')"))
        fresh = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        seal = {"id": fresh, "seq": 10**9, "prev": "p" * 64, "hash": "h" * 64}
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # sealing must not change the content
            db.session.execute(sa.text("UPDATE audit_event SET action = 'delete', seq = :seq, prev_hash = :prev, "
                                       "record_hash = :hash WHERE id = :id"), seal)
        db.session.rollback()
        db.session.execute(sa.text("INSERT INTO audit_event (at, object_type, action) "
                                   "VALUES (CURRENT_TIMESTAMP, 'venue', 'update')"))
        fresh = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        db.session.execute(sa.text("UPDATE audit_event SET seq = :seq, prev_hash = :prev, record_hash = :hash "
                                   "WHERE id = :id"), {**seal, "id": fresh})
        db.session.rollback()


def test_events_chained_in_id_order_verify_after_the_seq_migration(tmp_path: Path) -> None:
    if POSTGRES_URL:
        pytest.skip("run on the SQLite pass (a scratch file migrated step by step)")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}",
                      "SECRET_KEY": "t", "HUEY_BACKEND": "immediate", "UPLOAD_FOLDER": str(tmp_path / "up")})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0008")  # before the chain: 0009 chains these in id order
        def table(*chained: str) -> sa.TableClause:
            return sa.table("audit_event", sa.column("at", sa.DateTime), sa.column("object_type"),
                            sa.column("object_id"), sa.column("action"), sa.column("after", sa.JSON),
                            *(sa.column(name) for name in chained))

        with db.engine.begin() as connection:
            for n in range(5):
                connection.execute(table().insert().values(at=sa.func.current_timestamp(), object_type="venue",
                                                         object_id=n, action="update", after={"n": n}))
        upgrade(directory=MIGRATIONS, revision="0015")
        # One more as the app sealed before seq: at insert, linked to the newest event by id.
        old = table("prev_hash", "record_hash")
        values = {"at": datetime(2026, 12, 1, 9, 30, 15, 123456), "object_type": "plan", "object_id": 9,
                  "action": "run", "after": None}
        with db.engine.begin() as connection:
            head = connection.execute(sa.text("SELECT record_hash FROM audit_event ORDER BY id DESC LIMIT 1")).scalar()
            connection.execute(old.insert().values(**values, prev_hash=head,
                                                   record_hash=chain.record_hash(chain.event_content(values), head)))
        upgrade(directory=MIGRATIONS)
        assert chain.verify_events(db.session.connection()).ok
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.seq.is_(None))) == 0
        db.session.add(AuditEvent(object_type="plan", object_id=10, action="cancel"))
        db.session.commit()
        report = chain.verify_events(db.session.connection())
        assert report.ok and report.checked == 7
        newest = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert newest is not None and newest.seq == 7
