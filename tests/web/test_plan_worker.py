"""Plans through a real queue and real `python -m jobs.worker` processes: progress, re-aim at scale, worker death."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Venue
from plans.models import Plan, PlanState
from tests.conftest import ADMIN, PLANNER, make_app, seed
from tests.workers import alive, children, descendants, start_worker

pytestmark = pytest.mark.slow  # every test here starts real worker processes

# The Redis tests run where REDIS_URL names a test server (CI: db 15); parallel runs give each their own db.
REDIS_TEST_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
FAST_HEARTBEAT = {"PLAN_HEARTBEAT_SECONDS": 0.5, "PLAN_HEARTBEAT_TIMEOUT": 4.0, "JOB_HOUSEKEEPING_SECONDS": 1.0}


def _floor_id(app, venue_name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == venue_name).order_by(Floor.id))


def _plan(app, plan_id: int) -> Plan:
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        db.session.expunge(plan)
        return plan


def _queued_app(template_database, tmp_path, backend: str, **overrides):
    redis_url = None
    if backend == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("REDIS_URL is not set: the Redis queue is tested where a Redis server is configured")
        redis_url = REDIS_TEST_URL
    app = make_app(template_database, tmp_path, HUEY_BACKEND=backend, REDIS_URL=redis_url,
                   HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"), **overrides)
    seed(app)
    from jobs.queue import huey_for_app

    huey_for_app(app).flush()
    return app


@pytest.fixture(params=["sqlite", "redis"])
def queued_app(request, template_database, tmp_path):
    """An app whose jobs go through a real queue (embedded SQLite, or Redis), with a fast heartbeat."""
    app = _queued_app(template_database, tmp_path, request.param, **FAST_HEARTBEAT)
    yield app
    from jobs.queue import huey_for_app

    huey_for_app(app).flush()


def _start_worker(app) -> subprocess.Popen:
    """`python -m jobs.worker` in its own process, on the same database, queue and heartbeat settings as the app."""
    return start_worker(app)


def _stop(worker: subprocess.Popen) -> str:
    if worker.poll() is None:
        worker.terminate()
    return worker.communicate(timeout=30)[0].decode(errors="replace")


def _wait(app, plan_id: int, done, seconds: float, worker: subprocess.Popen | None = None) -> Plan:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        plan = _plan(app, plan_id)
        if done(plan):
            return plan
        if worker is not None:
            assert worker.poll() is None, worker.stdout.read().decode(errors="replace")[-3000:]
        time.sleep(0.3)
    raise AssertionError(f"plan {plan_id} still {plan.state} after {seconds} s: {plan.progress}")


def _login(app):
    client = app.test_client()
    client.post("/login", data={"email": PLANNER, "password": "sightline-demo"})
    return client


def _big_floor(app, terminals: int = 120) -> int:
    """A seeded mall floor with about `terminals` installed terminals, added to the demo supermarket's venue."""
    from accounts.models import User
    from inventory.floorio import import_floor
    from planner.research.floorgen import generate_mall_floor

    collection = generate_mall_floor(3, 440, camera_spacing=6)
    assert sum(1 for f in collection["features"] if f["properties"]["kind"] == "terminal") == terminals
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "FreshMart Jing'an"))
        floor = Floor(venue=venue, level=7, name="Seeded mall level", structure=[])
        db.session.add(floor)
        db.session.flush()
        import_floor(admin, floor, collection)
        db.session.commit()
        return floor.id


def test_real_worker_runs_a_queued_plan_and_reports_progress(queued_app):
    client = _login(queued_app)
    floor_id = _floor_id(queued_app, "Blue Wave Natatorium")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _plan(queued_app, plan_id).state == PlanState.QUEUED
    progress = client.get(f"/plans/{plan_id}/progress")
    assert progress.status_code == 200 and b"waiting for a worker" in progress.data
    worker = _start_worker(queued_app)
    try:
        plan = _wait(queued_app, plan_id, lambda p: p.finished, 120, worker)
    finally:
        output = _stop(worker)
    assert plan.state == PlanState.DONE, (plan.error, output[-2000:])
    # The pool: C-6 looks through the shower entrances and F-L1 sits inside the women's changing room.
    assert {"C-6", "F-L1"} <= set(plan.result["removed"])
    assert plan.uncovered_m2 == 0.0 and plan.attempts == 1
    finished = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    assert finished.headers.get("HX-Refresh") == "true"


def test_reaim_run_on_a_120_terminal_floor_through_a_real_worker(template_database, tmp_path):
    # The solver reports progress from its own threads: this used to fail within seconds with
    # "Working outside of application context".
    app = _queued_app(template_database, tmp_path, "sqlite", **FAST_HEARTBEAT)
    floor_id = _big_floor(app)
    client = _login(app)
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "reaim": "true", "reaim_step": "45",
                                                              "time_limit": "15"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    worker = _start_worker(app)
    try:
        running = _wait(app, plan_id, lambda p: p.progress and p.progress.get("stage") == "solving the cover model",
                        90, worker)
        assert running.state == PlanState.RUNNING and running.heartbeat_at is not None
        plan = _wait(app, plan_id, lambda p: p.finished, 240, worker)
    finally:
        output = _stop(worker)
    assert "outside of application context" not in output
    assert plan.state == PlanState.DONE, (plan.error, output[-3000:])
    assert len(plan.result["kept"]) + len(plan.result["removed"]) == 120


def start_and_kill_mid_run(app, client) -> int:
    """Start a re-aim run on the 120-terminal floor and SIGKILL its worker once it runs with a heartbeat.

    The floor's preparation alone outlasts the poll, so the kill always lands mid-run (on the demo supermarket the
    run could finish between the first heartbeat and the kill on a quiet machine). Returns the plan id.
    """
    floor_id = _big_floor(app)
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "reaim": "true", "reaim_step": "45",
                                                              "time_limit": "15"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    worker = _start_worker(app)
    try:
        _wait(app, plan_id, lambda p: p.state == PlanState.RUNNING and p.heartbeat_at is not None, 60, worker)
        # The engine is a grandchild (the worker's forkserver forks it): wait for it, then take every process below.
        deadline = time.monotonic() + 30
        while not any(children(pid) for pid in children(worker.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        engines = descendants(worker.pid)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        _stop(worker)
    # The forkserver, the run's engine process and its geometry workers die with the worker: none keeps a core busy.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in engines) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engines and not any(alive(pid) for pid in engines)
    return plan_id


def test_killed_worker_run_is_retried_by_another_worker(queued_app):
    plan_id = start_and_kill_mid_run(queued_app, _login(queued_app))
    assert _plan(queued_app, plan_id).state == PlanState.RUNNING  # nobody knows yet that its worker is gone
    second = _start_worker(queued_app)
    try:
        plan = _wait(queued_app, plan_id, lambda p: p.finished, 240, second)
    finally:
        output = _stop(second)
    assert plan.state == PlanState.DONE, (plan.error, output[-2000:])
    assert plan.attempts == 2
    assert len(plan.result["kept"]) + len(plan.result["removed"]) == 120


def test_killed_worker_run_fails_with_the_reason_after_its_last_attempt(template_database, tmp_path):
    app = _queued_app(template_database, tmp_path, "sqlite", PLAN_MAX_ATTEMPTS=1, **FAST_HEARTBEAT)
    client = _login(app)
    plan_id = start_and_kill_mid_run(app, client)
    time.sleep(app.config["PLAN_HEARTBEAT_TIMEOUT"] + 1)
    # No worker is left; the progress page itself notices the silent run and ends it with the reason.
    response = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    assert response.headers.get("HX-Refresh") == "true"
    plan = _plan(app, plan_id)
    assert plan.state == PlanState.FAILED
    assert "the worker running it stopped (no heartbeat for 4 s); gave up after 1 attempts" in plan.error


def test_cancel_a_queued_plan(template_database, tmp_path):
    app = _queued_app(template_database, tmp_path, "sqlite")
    client = _login(app)
    floor_id = _floor_id(app, "FreshMart Jing'an")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/plans/{plan_id}/cancel")
    assert _plan(app, plan_id).state == PlanState.CANCELLED
    from plans.execution import execute_plan

    with app.app_context():
        execute_plan(plan_id)  # a worker picking it up later leaves it cancelled
    assert _plan(app, plan_id).state == PlanState.CANCELLED


def test_one_worker_runs_several_jobs_at_once(template_database, tmp_path):
    app = _queued_app(template_database, tmp_path, "sqlite", JOB_WORKERS=2, **FAST_HEARTBEAT)
    client = _login(app)
    market = _floor_id(app, "FreshMart Jing'an")
    ids = []
    for floor_id in (market, market):
        response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "reaim": "true", "reaim_step": "5",
                                                                  "time_limit": "15"})
        ids.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    worker = _start_worker(app)
    both_running = False
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            states = [_plan(app, i).state for i in ids]
            if states == [PlanState.RUNNING, PlanState.RUNNING]:
                both_running = True
                break
            if all(s in (PlanState.DONE, PlanState.FAILED, PlanState.CANCELLED) for s in states):
                break
            time.sleep(0.2)
        for plan_id in ids:
            _wait(app, plan_id, lambda p: p.finished, 120, worker)
    finally:
        _stop(worker)
    assert both_running, "the worker ran its two jobs one after the other"
    assert [_plan(app, i).state for i in ids] == [PlanState.DONE, PlanState.DONE]


def test_a_given_up_attempt_that_finishes_late_changes_nothing(template_database, tmp_path):
    app = _queued_app(template_database, tmp_path, "sqlite")
    client = _login(app)
    response = client.post(f"/floors/{_floor_id(app, 'Bund View Hotel')}/plans", data={"mode": "reduce"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    from plans import execution

    with app.app_context():
        assert execution._claim(plan_id)
        # The reaper gave attempt 1 up and a second worker claimed the run as attempt 2.
        db.session.execute(sa.update(Plan).where(Plan.id == plan_id).values(attempts=2))
        db.session.commit()
        execution._finish(plan_id, 1, PlanState.FAILED, error="late result of attempt 1")
    plan = _plan(app, plan_id)
    assert plan.state == PlanState.RUNNING and plan.error is None and plan.attempts == 2
