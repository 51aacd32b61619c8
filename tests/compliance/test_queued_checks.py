"""Compliance re-checks through a real queue and real `python -m jobs.worker` processes: a large change commits
at once and reads "re-checking" until a worker reconciles it; small terminal edits still evaluate in the save;
edits coalesce into one queued check; a check whose worker is killed is reaped and finished by another."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime

import pytest
import sqlalchemy as sa

from accounts.models import User
from bench.bench_reduction import synthetic_westport
from compliance.models import STANDING, ComplianceCheck, Finding
from extensions import db
from findings import jobs as checks
from findings import service
from inventory import floorio
from inventory.models import Floor, Terminal, Venue
from planner.research.floorgen import generate_mall_floor
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_B, AuthActions, make_app, seed
from tests.web import test_plan_worker as plan_worker
from tests.web.test_plan_worker import FAST_HEARTBEAT, _queued_app
from tests.workers import start_worker

pytestmark = pytest.mark.slow  # every test here starts real worker processes

VENUE = "FreshMart Jing'an"
REDIS_TEST_URL = "redis://127.0.0.1:6379/9"


def _close(app) -> None:
    from jobs.queue import huey_for_app

    huey_for_app(app).flush()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def queued_app(template_database, tmp_path):
    """The demo data on an app whose jobs go through the embedded SQLite queue, with a fast heartbeat."""
    app = _queued_app(template_database, tmp_path, "sqlite", **FAST_HEARTBEAT)
    yield app
    _close(app)


@pytest.fixture(params=["sqlite", "redis"])
def any_queue_app(request, template_database, tmp_path, monkeypatch):
    """As queued_app, on the embedded SQLite queue and on Redis (db 9, where REDIS_URL says a server runs)."""
    monkeypatch.setattr(plan_worker, "REDIS_TEST_URL", REDIS_TEST_URL)  # this area's Redis database
    app = _queued_app(template_database, tmp_path, request.param, **FAST_HEARTBEAT)
    yield app
    _close(app)


def _big_floor(app, segments: int) -> int:
    """Add a generated mall floor to the venue (walls, zones, terminals: one import, one commit); its id."""
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == VENUE))
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        floor = Floor(venue=venue, name=f"Mall {segments}", level=9)
        db.session.add(floor)
        db.session.flush()
        mall = generate_mall_floor(1, segments)
        # A camera in every corner of every required zone, as the mall benchmarks over-provision a floor.
        mall = synthetic_westport({**mall, "features": [f for f in mall["features"]
                                                         if f["properties"].get("kind") != "terminal"]})
        floorio.import_floor(admin, floor, mall)
        limit = int(app.config.get("COMPLIANCE_INLINE_LIMIT", service.INLINE_LIMIT))
        assert service.venue_cost(venue, {floor.id}) > limit  # the case under test: too costly for the save
        db.session.commit()
        return floor.id


def _checks(app) -> list[ComplianceCheck]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(ComplianceCheck).order_by(ComplianceCheck.id)))
        db.session.expunge_all()
        return rows


def _floor_findings(app, floor_id: int) -> set[tuple[str, str]]:
    with app.app_context():
        return set(db.session.execute(sa.select(Finding.rule_id, Finding.key).where(
            Finding.floor_id == floor_id, Finding.status.in_(STANDING))).tuples())


def _expected(app, floor_id: int) -> set[tuple[str, str]]:
    """What the inline path finds on the floor now, evaluated directly."""
    with app.app_context():
        floor = db.session.get(Floor, floor_id)
        return {(d.rule_id, d.key) for d in service.evaluate_floor(floor.venue, floor)}


def _wait(done, seconds: float, worker: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = done()
        if value:
            return value
        if worker is not None:
            assert worker.poll() is None, worker.stdout.read().decode(errors="replace")[-3000:]
        time.sleep(0.1)
    raise AssertionError("timed out")


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
    worker.communicate(timeout=30)


def test_a_large_change_commits_at_once_reads_rechecking_and_the_worker_reconciles_it(any_queue_app):
    queued_app = any_queue_app
    client = queued_app.test_client()
    floor_id = _big_floor(queued_app, 50)
    [check] = _checks(queued_app)
    assert check.state == "queued" and check.floor_ids == [floor_id] and check.reason.startswith("audit event")
    assert _floor_findings(queued_app, floor_id) == set()  # not evaluated in the save
    AuthActions(client).login(MANAGER_B)
    with queued_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == VENUE))
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    assert 'data-state="rechecking"' in page and "Re-checking since" in page
    assert 'data-state="rechecking"' in client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert "re-checking since" in client.get("/").get_data(as_text=True)  # the venue list's badge
    body = client.get(f"/api/v1/venues/{venue_id}/findings").get_json()
    assert body["rechecking_since"] is not None and body["recheck_error"] is None
    worker = start_worker(queued_app)
    try:
        _wait(lambda: not _checks(queued_app), 120, worker)
    finally:
        _stop(worker)
    found = _floor_findings(queued_app, floor_id)
    assert found and found == _expected(queued_app, floor_id)  # what the inline path would have stored
    status = client.get(f"/venues/{venue_id}/compliance/status").get_data(as_text=True)
    assert 'data-state="done"' in status and "hx-get" not in status  # polling stops
    assert client.get(f"/api/v1/venues/{venue_id}/findings").get_json()["rechecking_since"] is None


def test_a_terminal_edit_on_a_small_floor_still_evaluates_in_the_save(queued_app):
    with queued_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).join(Venue).where(Venue.name == VENUE,
                                                                           Terminal.signage_posted.is_(True)))
        floor_id, code = terminal.floor_id, terminal.code
        terminal.signage_posted = False
        db.session.commit()
    assert _checks(queued_app) == []  # nothing queued: no worker runs in this test
    assert any(key.startswith(f"floor:{floor_id}:{code}:") for _, key in _floor_findings(queued_app, floor_id))


def test_edits_while_a_check_is_queued_join_it(any_queue_app):
    queued_app = any_queue_app
    from jobs.queue import huey_for_app

    floor_id = _big_floor(queued_app, 50)
    with queued_app.app_context():
        small = db.session.scalar(sa.select(Terminal).join(Venue).where(Venue.name == VENUE,
                                                                        Terminal.floor_id != floor_id))
        for t in db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor_id).limit(3)):
            t.heading_deg = (t.heading_deg + 15) % 360
            db.session.commit()  # three saves of the big floor
        small.heading_deg = (small.heading_deg + 5) % 360
        db.session.commit()  # a small floor: evaluated in its save, the queued check left alone
    [check] = _checks(queued_app)
    assert check.floor_ids == [floor_id] and huey_for_app(queued_app).pending_count() == 1
    worker = start_worker(queued_app)
    try:
        _wait(lambda: not _checks(queued_app), 120, worker)
    finally:
        _stop(worker)
    assert _floor_findings(queued_app, floor_id) == _expected(queued_app, floor_id)


def test_a_check_whose_worker_is_killed_is_reaped_and_finished_by_another(queued_app):
    client = queued_app.test_client()
    floor_id = _big_floor(queued_app, 200)
    worker = start_worker(queued_app)
    try:
        _wait(lambda: [c for c in _checks(queued_app) if c.state == "running"], 60, worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        _stop(worker)
    [check] = _checks(queued_app)
    assert check.state == "running" and _floor_findings(queued_app, floor_id) == set()
    time.sleep(FAST_HEARTBEAT["PLAN_HEARTBEAT_TIMEOUT"] + 1)
    AuthActions(client).login(MANAGER_B)
    # The status view reaps it (so does every worker's housekeeping): queued again, still "re-checking".
    status = client.get(f"/venues/{check.venue_id}/compliance/status?floor={floor_id}").get_data(as_text=True)
    assert 'data-state="rechecking"' in status
    [again] = _checks(queued_app)
    assert again.state == "queued" and again.attempts == 1
    worker = start_worker(queued_app)
    try:
        _wait(lambda: not _checks(queued_app), 180, worker)
    finally:
        _stop(worker)
    assert _floor_findings(queued_app, floor_id) == _expected(queued_app, floor_id) != set()


def test_a_check_that_fails_for_good_shows_it_and_the_next_edit_queues_again(queued_app):
    client = queued_app.test_client()
    floor_id = _big_floor(queued_app, 50)
    with queued_app.app_context():
        db.session.execute(sa.update(ComplianceCheck).values(state="running", attempts=2,
                                                             heartbeat_at=datetime(2000, 1, 1)))
        db.session.commit()
        assert checks.reap_stale_checks() == 1  # PLAN_MAX_ATTEMPTS (2) used up: failed, not queued again
        venue_id = db.session.get(Floor, floor_id).venue_id
    [failed] = _checks(queued_app)
    assert failed.state == "failed" and "gave up after 2 attempts" in failed.error
    AuthActions(client).login(MANAGER_B)
    assert 'data-state="failed"' in client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    with queued_app.app_context():
        # An edit of a small floor, cheap enough for the save, still queues the failed floor's re-check again.
        t = db.session.scalar(sa.select(Terminal).join(Venue).where(Venue.name == VENUE, Terminal.floor_id != floor_id))
        t.heading_deg = (t.heading_deg + 15) % 360
        db.session.commit()
        small_floor = t.floor_id
    [queued] = _checks(queued_app)
    assert queued.state == "queued" and queued.floor_ids == sorted([floor_id, small_floor]) and queued.id != failed.id


def test_with_the_immediate_queue_a_large_change_is_reconciled_by_the_commit(template_database, tmp_path):
    app = make_app(template_database, tmp_path)  # HUEY_BACKEND="immediate": the job runs after the commit
    seed(app)
    floor_id = _big_floor(app, 50)
    assert _checks(app) == []
    assert _floor_findings(app, floor_id) == _expected(app, floor_id) != set()


def test_the_inspection_report_says_its_findings_are_being_rechecked(queued_app):
    from inspection import report
    from inspection.service import create_inspection

    floor_id = _big_floor(queued_app, 50)
    with queued_app.app_context():
        inspector = db.session.scalar(sa.select(User).where(User.email == INSPECTOR_CITY))
        inspection = create_inspection(inspector, db.session.get(Floor, floor_id).venue)
        db.session.commit()
        with queued_app.test_request_context():
            assert 'id="report-rechecking"' in report.report_html(inspection, inline_images=False)
            db.session.execute(sa.delete(ComplianceCheck))  # as when the worker has reconciled the findings
            assert 'id="report-rechecking"' not in report.report_html(inspection, inline_images=False)
        db.session.rollback()
