"""A worker SIGKILLed in the middle of a job, seen from the user's side. A plan run is never stuck "running",
nothing half-written is stored, and it is retried to completion by the next worker (or failed with the reason
after its last attempt: tests/web/test_plan_worker.py). An inspection verification is failed with the reason
by the next worker's housekeeping, and can be run again."""

from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

from extensions import db
from plans.models import PlanDecision, PlanState
from tests.web.test_plan_worker import (
    FAST_HEARTBEAT,
    _big_floor,
    _login,
    _plan,
    _queued_app,
    _stop,
    _wait,
    start_and_kill_mid_run,
)
from tests.workers import start_worker

pytestmark = pytest.mark.slow  # real worker processes and a 120-terminal re-aim run


def _decisions(app, plan_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(PlanDecision.terminal_code).where(PlanDecision.plan_id == plan_id)))


def test_a_run_whose_worker_is_killed_is_requeued_on_the_progress_page_and_finished_by_the_next(
        template_database, tmp_path) -> None:
    app = _queued_app(template_database, tmp_path, "sqlite", **FAST_HEARTBEAT)
    client = _login(app)
    plan_id = start_and_kill_mid_run(app, client)
    killed = _plan(app, plan_id)
    # Nothing of the killed attempt is stored: the result and its decision rows are written in one final commit.
    assert killed.state == PlanState.RUNNING and killed.attempts == 1
    assert killed.result is None and killed.drawings is None and killed.finished_at is None
    assert _decisions(app, plan_id) == []
    time.sleep(app.config["PLAN_HEARTBEAT_TIMEOUT"] + 1)
    # No worker runs now: the progress page the user is watching notices the silent run and queues it again.
    page = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "queued again: the worker running it stopped" in text
    requeued = _plan(app, plan_id)
    assert requeued.state == PlanState.QUEUED and requeued.error is None and requeued.result is None
    second = start_worker(app)
    try:
        plan = _wait(app, plan_id, lambda p: p.finished, 240, second)
    finally:
        output = _stop(second)
    assert plan.state == PlanState.DONE and plan.error is None, (plan.error, output[-2000:])
    assert plan.attempts == 2
    assert len(plan.result["kept"]) + len(plan.result["removed"]) == 120
    codes = _decisions(app, plan_id)
    # One decision row per decision of the finished attempt: none left over from the killed one, none doubled.
    assert len(codes) == len(set(codes)) == len(plan.result["decisions"])
    finished = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    assert finished.headers.get("HX-Refresh") == "true"  # the watching page reloads onto the result


def test_a_verification_whose_worker_is_killed_is_failed_with_the_reason_and_can_be_run_again(
        demo_app, client, tmp_path) -> None:
    from datetime import timedelta

    from accounts.models import utcnow
    from app import create_app
    from inspection import verification
    from inspection.models import Inspection
    from inventory.models import Venue
    from tests.conftest import INSPECTOR_CITY
    from tests.inspection.conftest import login, start
    from tests.inspection.test_inspections import _answer_all

    _big_floor(demo_app)  # 120 terminals: the verification's optimizer runs for seconds, long enough to kill
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "FreshMart Jing'an"))
    inspection_id = start(client, venue_id)
    _answer_all(client, demo_app, inspection_id, set())
    # The same database, with jobs through a real queue that worker processes consume.
    queued = create_app({**{k: demo_app.config[k] for k in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY",
                                                            "WTF_CSRF_ENABLED", "UPLOAD_FOLDER")},
                         "HUEY_BACKEND": "sqlite", "HUEY_SQLITE_PATH": str(tmp_path / "jobs.sqlite"),
                         "JOB_HOUSEKEEPING_SECONDS": 1.0, "INSPECTION_VERIFY_TIME_LIMIT": 10.0})
    inspector = queued.test_client()
    login(inspector, INSPECTOR_CITY)

    def state() -> dict:
        with queued.app_context():
            return dict(db.session.get(Inspection, inspection_id).verification or {})

    def wait_for(done, seconds: float, worker) -> dict:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            current = state()
            if done(current):
                return current
            assert worker.poll() is None, "the worker died"
            time.sleep(0.1)
        raise AssertionError(f"verification still {state()} after {seconds} s")

    assert inspector.post(f"/inspections/{inspection_id}/verify").status_code == 302
    # The worker must use the app's time limit: the reaper's margin is computed from it.
    limit = {"INSPECTION_VERIFY_TIME_LIMIT": str(queued.config["INSPECTION_VERIFY_TIME_LIMIT"])}
    first = start_worker(queued, **limit)
    try:
        wait_for(lambda v: v.get("state") == "running", 90, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _stop(first)
    killed = state()
    assert killed["state"] == "running" and "floors" not in killed and "finished_at" not in killed  # nothing half-set
    # Its worker is gone for good. Rather than wait out the reaper's margin (4 x the time limit + 300 s), the test
    # moves the start back by that much; the next worker's housekeeping then gives the verification up.
    lost = utcnow() - timedelta(seconds=4 * 10.0 + verification.STALE_AFTER_S + 1)
    with queued.app_context():
        record = db.session.get(Inspection, inspection_id)
        record.verification = {**killed, "started_at": lost.isoformat()}
        db.session.commit()
    second = start_worker(queued, **limit)
    try:
        failed = wait_for(lambda v: v.get("state") == "failed", 60, second)
        assert failed["error"] == "the verification stopped without a result; run it again"
        page = inspector.get(f"/inspections/{inspection_id}/verification").get_data(as_text=True)
        assert "The verification failed: the verification stopped without a result; run it again" in page
        assert inspector.post(f"/inspections/{inspection_id}/verify").status_code == 302  # the user runs it again
        done = wait_for(lambda v: v.get("state") in ("done", "failed"), 240, second)
    finally:
        output = _stop(second)
    assert done["state"] == "done", (done, output[-2000:])
    assert [floor["floor"] for floor in done["floors"]] and done["found_covering"] > 0
