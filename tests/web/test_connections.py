"""PostgreSQL connections (connections.py): a request that only reads sends no BEGIN/ROLLBACK, everything that
writes or locks still runs in one transaction to its end, and a pooled connection the server closed is replaced
at checkout without the pre-ping's round trip (no error reaches the user)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from accounts.models import User
from connections import reads_only
from extensions import db
from inventory.models import Floor, Venue
from tests.conftest import POSTGRES_URL

postgresql = pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL's connections: SQLite keeps the pool pre-ping")


@pytest.mark.parametrize(("statement", "expected"), [
    ("SELECT venue.id FROM venue WHERE venue.id = %(id)s", True),
    ("\n(SELECT 1) UNION (SELECT 2)", True),
    ("SELECT count(*) FROM floor JOIN venue ON floor.venue_id = venue.id", True),
    ("SELECT floor.version FROM floor WHERE floor.id = %(id_1)s FOR UPDATE", False),
    ("SELECT * FROM compliance_checks FOR UPDATE SKIP LOCKED", False),
    ("SELECT id FROM floor FOR NO KEY UPDATE", False),
    ("SELECT id FROM floor FOR KEY SHARE", False),
    ("SELECT pg_advisory_xact_lock(%(key)s)", False),
    ("SELECT pg_try_advisory_lock(1)", False),
    ("SELECT setval(pg_get_serial_sequence('venue', 'id'), 5)", False),
    ("SELECT nextval('venue_id_seq')", False),
    ("SELECT set_config('statement_timeout', '1s', true)", False),
    ("SELECT * INTO copy_of_venue FROM venue", False),
    ("INSERT INTO venue (name) VALUES (%(name)s)", False),
    ("UPDATE floor SET version=%(version)s WHERE floor.id = %(id_1)s", False),
    ("WITH moved AS (DELETE FROM zone RETURNING *) SELECT count(*) FROM moved", False),
    ("SAVEPOINT sa_savepoint_1", False),
    ("SET TIME ZONE 'UTC'", False),
])
def test_only_plain_selects_run_outside_a_transaction(statement: str, expected: bool) -> None:
    assert reads_only(statement) is expected


def _status() -> str:
    return db.session.connection().connection.dbapi_connection.info.transaction_status.name


@postgresql
def test_reads_leave_no_transaction_open(demo_app) -> None:
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0
        assert _status() == "IDLE"  # no BEGIN was sent, so nothing needs a ROLLBACK
        db.session.rollback()


@postgresql
def test_the_first_write_begins_one_transaction_that_rolls_back_whole(demo_app) -> None:
    with demo_app.app_context():
        like = db.session.scalars(sa.select(Venue).limit(1)).one()
        fields = {"organisation_id": like.organisation_id, "type": like.type, "district": like.district}
        db.session.add(Venue(name="Written then rolled back", **fields))
        db.session.flush()
        assert _status() == "INTRANS"
        assert db.session.scalar(sa.select(sa.func.count()).where(Venue.name == "Written then rolled back")) == 1
        with db.session.begin_nested():  # a SAVEPOINT inside the same transaction
            db.session.add(Venue(name="Written in a savepoint", **fields))
        db.session.rollback()
        names = db.session.scalars(sa.select(Venue.name)).all()
        assert "Written then rolled back" not in names and "Written in a savepoint" not in names


@postgresql
def test_row_and_advisory_locks_are_held_until_commit(demo_app) -> None:
    with demo_app.app_context():
        other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
        floor_id = db.session.scalar(sa.select(Floor.id).limit(1))
        db.session.scalar(sa.select(Floor.version).where(Floor.id == floor_id).with_for_update())
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 424242})
        assert _status() == "INTRANS"
        with other.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_try_advisory_xact_lock(424242)")) is False
            with pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
                connection.execute(sa.select(Floor.id).where(Floor.id == floor_id).with_for_update(nowait=True))
        db.session.commit()
        with other.connect() as connection:
            assert connection.scalar(sa.text("SELECT pg_try_advisory_xact_lock(424242)")) is True
            assert connection.scalar(sa.select(Floor.id).where(Floor.id == floor_id)
                                     .with_for_update(nowait=True)) == floor_id
    other.dispose()


@postgresql
def test_a_streamed_read_runs_in_a_transaction(demo_app) -> None:
    with demo_app.app_context():
        ids = db.session.scalars(sa.select(Venue.id).order_by(Venue.id).execution_options(yield_per=2)).all()
        assert ids == sorted(db.session.scalars(sa.select(Venue.id))) and len(ids) > 2
        db.session.rollback()


@postgresql
def test_an_explicit_autocommit_connection_stays_autocommit(demo_app) -> None:
    with demo_app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("CREATE TEMPORARY TABLE scratch (x integer)"))
        connection.execute(sa.text("INSERT INTO scratch VALUES (1)"))
        connection.rollback()
        assert connection.scalar(sa.text("SELECT count(*) FROM scratch")) == 1


@postgresql
def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error(demo_app, manager) -> None:
    assert manager.get("/").status_code == 200  # the pool now holds the connection that served it
    with demo_app.app_context():
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        db.session.rollback()
        other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as connection:
        # With a timeout, pg_terminate_backend returns once the backend has exited (closed its socket).
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}) is True
    other.dispose()
    page = manager.get("/")
    assert page.status_code == 200 and "Bund View Hotel" in page.get_data(as_text=True)
    with demo_app.app_context():
        assert db.session.scalar(sa.text("SELECT pg_backend_pid()")) != pid
        db.session.rollback()
