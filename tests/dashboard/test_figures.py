"""The stored per-venue figures follow every change made through the app, in the same transaction."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from compliance.models import Finding
from dashboard import figures, queries
from dashboard.models import VenueFigures
from extensions import db
from inspection.models import Inspection, InspectionStatus
from inventory.choices import TerminalStatus
from inventory.models import Floor, Terminal, Venue
from plans.models import Decision, Plan, PlanDecision, PlanState
from tests.dashboard.city import INSPECTOR_HUANGPU, PASSWORD, build_city


@pytest.fixture
def city(app):
    # The findings are planted: keep the rules from re-evaluating (and fixing) them at each commit.
    app.config["COMPLIANCE_AUTO_EVALUATE"] = False
    with app.app_context():
        ids = build_city()
        db.session.commit()
    return ids


def _stored() -> dict[int, tuple]:
    return {f.venue_id: (f.terminals_before, f.terminals_after, f.face_before, f.face_after, f.open_prohibited,
                         f.inspected, f.enrolled) for f in db.session.scalars(sa.select(VenueFigures))}


def _huangpu() -> dict[str, int]:
    from accounts.models import User
    from tests.dashboard.city import INSPECTOR_HUANGPU as email

    user = db.session.scalar(sa.select(User).where(User.email == email))
    return queries.overview(user).total.as_dict()


def test_commits_keep_the_figures_current_without_a_full_refresh(app, city):
    with app.app_context():
        stored = _stored()
        assert stored[city["Alpha Bund"]] == (8, 7, 3, 2, 2, True, 85_000)  # written by the commit itself
        bund = db.session.get(Venue, city["Alpha Bund"])
        floor2 = next(f for f in bund.floors if f.level == 2)
        c4 = next(t for t in floor2.terminals if t.code == "C4")
        c4.status = TerminalStatus.REMOVED  # carried out: out of service
        db.session.commit()
        assert _stored()[bund.id][:2] == (7, 6)
        finding = db.session.scalar(sa.select(Finding).where(Finding.venue_id == bund.id, Finding.status == "open",
                                                             Finding.severity == "prohibited"))
        finding.status = "fixed"
        market = city["Beta Market"]
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.venue_id == market))
        inspection.status, inspection.signed_off_at = InspectionStatus.SIGNED_OFF, datetime(2026, 12, 1)
        db.session.commit()
        assert _stored()[bund.id][4] == 1 and _stored()[market][5] is True
        # A plan put in force on floor 2 switches it from "in service" to the plan's decisions.
        plan = Plan(floor=floor2, mode="reduce", parameters={}, floor_snapshot={"features": []}, inputs_hash="p2",
                    state=PlanState.DONE, approved_at=datetime(2026, 12, 1), in_force_floor_id=floor2.id)
        db.session.add(plan)
        db.session.flush()
        for code, decision in (("C5", Decision.REMOVE), ("FR3", Decision.REMOVE), ("N-9", Decision.ADD)):
            db.session.add(PlanDecision(plan_id=plan.id, terminal_code=code, decision=decision))
        db.session.commit()
        # Floor 1: 5 -> 4 (face 2 -> 1); floor 2 now: C5, FR3 before; N-9 after.
        assert _stored()[bund.id][:4] == (7, 5, 3, 1)
        assert _huangpu()["terminals_before"] == 9 and _huangpu()["open_prohibited"] == 1
        assert _huangpu()["inspected"] == 2


def test_deleting_and_removing_follow_too(app, city):
    with app.app_context():
        market = db.session.get(Venue, city["Beta Market"])
        db.session.delete(market.floors[0].terminals[0])
        db.session.commit()
        assert _stored()[market.id][:2] == (1, 1)
        market.removed_at = datetime(2026, 12, 1)
        db.session.commit()
        assert _huangpu()["venues"] == 1


def test_stored_figures_equal_a_full_recomputation(app, city):
    with app.app_context():
        db.session.execute(sa.update(Terminal).values(status=TerminalStatus.ACTIVE))  # around the ORM: stale
        db.session.commit()
        before = _stored()
        figures.refresh(None)
        db.session.commit()
        after = _stored()
        assert before != after  # the bulk statement bypassed the listener; the full refresh caught it
        figures.refresh([city["Alpha Bund"]])
        db.session.commit()
        assert _stored() == after


def test_venues_without_figures_are_filled_on_read(app, city):
    with app.app_context():
        db.session.execute(sa.delete(VenueFigures))
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": INSPECTOR_HUANGPU, "password": PASSWORD})
    assert "10 → <strong>9</strong>" in client.get("/dashboard/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VenueFigures)) == 5


def test_refresh_command(app, city):
    result = app.test_cli_runner().invoke(args=["dashboard-refresh"])
    assert result.exit_code == 0 and "5 venues" in result.output


def test_a_floor_is_counted_through_its_venue(app, city):
    with app.app_context():
        bund = db.session.get(Venue, city["Alpha Bund"])
        floor = Floor(venue=bund, level=7, name="L7", structure=[])
        db.session.add(floor)
        db.session.flush()
        db.session.add(Terminal(venue_id=bund.id, floor=floor, code="Z1", kind="camera", x=0, y=0))
        db.session.commit()
        assert _stored()[bund.id][:2] == (9, 8)


def test_two_transactions_refreshing_one_venue_at_once_both_commit(app, city):
    """Two saves of one venue at once (two gunicorn workers) each refresh its row; the second waits and replaces it.

    On PostgreSQL the refresh used to DELETE then INSERT: the second transaction's DELETE waited for the first,
    then found no row (the first had inserted a new one) and its INSERT failed on the key, a 500 under load.
    """
    import threading

    from sqlalchemy.orm import Session

    with app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).order_by(Venue.id))
        engine = db.engine
        first = Session(bind=engine)
        figures.refresh([venue_id], first)  # holds the row's lock until it commits
        errors: list[BaseException] = []

        def second_save() -> None:
            with Session(bind=engine) as second:
                try:
                    figures.refresh([venue_id], second)
                    second.commit()
                except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

        thread = threading.Thread(target=second_save)
        thread.start()
        thread.join(timeout=1.0)  # let it reach the lock (on SQLite it waits for the write lock instead)
        first.commit()
        first.close()
        thread.join(timeout=30)
        assert not thread.is_alive() and errors == []
        db.session.expire_all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VenueFigures)
                                 .where(VenueFigures.venue_id == venue_id)) == 1


def test_refreshing_some_venues_updates_their_rows_and_fills_missing_ones(app, city):
    """A save's refresh replaces the venue's row (the cacheable UPDATE), and a venue without a row gets one."""
    with app.app_context():
        db.session.execute(sa.update(Terminal).values(status=TerminalStatus.ACTIVE))  # around the ORM: stale
        db.session.commit()
        stale = _stored()
        figures.refresh(None)
        db.session.commit()
        truth = _stored()
        changed = [venue for venue in truth if truth[venue] != stale[venue]]
        assert changed  # the bulk statement made at least one venue's row stale
        db.session.execute(sa.update(Terminal).values(status=TerminalStatus.REMOVED))
        db.session.commit()
        figures.refresh(None)
        db.session.commit()
        db.session.execute(sa.update(Terminal).values(status=TerminalStatus.ACTIVE))
        db.session.execute(sa.delete(VenueFigures).where(VenueFigures.venue_id == changed[0]))
        db.session.commit()
        assert figures.refresh(list(truth)) == len(truth)  # one venue without a row, the others stale
        db.session.commit()
        assert _stored() == truth


def test_a_saves_refresh_statement_is_compiled_once(app, city):
    """The per-save statement has a cache key, so SQLAlchemy compiles it once (the upserts have none)."""
    assert figures._UPDATE._generate_cache_key() is not None


def test_the_figures_read_only_the_terminal_attributes_a_write_is_compared_on():
    """What lets a serial edit skip the recompute: a terminal column the figures start reading must join
    figures.TERMINAL_ATTRIBUTES, or a write of it would leave the figures stale."""
    from sqlalchemy.sql import visitors

    statement = queries.figures_select(None, datetime(2026, 12, 1))
    read = {c.key for c in visitors.iterate(statement) if isinstance(c, sa.Column) and c.table is Terminal.__table__}
    assert {"venue_id", "status", "kind"} <= read <= figures.TERMINAL_ATTRIBUTES


def test_a_serial_edit_recomputes_no_figures_a_status_change_does(app, city, monkeypatch):
    with app.app_context():
        bund = db.session.get(Venue, city["Alpha Bund"])
        c4 = next(t for f in bund.floors for t in f.terminals if t.code == "C4")
        before = _stored()
        real = figures.refresh
        monkeypatch.setattr(figures, "refresh", lambda *a, **k: pytest.fail("the figures were recomputed"))
        c4.serial, c4.purpose = "FIG-SERIAL-4", "a note that no figure reads"
        db.session.commit()
        assert _stored() == before
        monkeypatch.setattr(figures, "refresh", real)
        c4.status = TerminalStatus.REMOVED
        db.session.commit()
        assert _stored()[bund.id][:2] == (before[bund.id][0] - 1, before[bund.id][1] - 1)
        stored = _stored()
        figures.refresh(None)  # from scratch: the kept rows were current
        db.session.commit()
        assert _stored() == stored
