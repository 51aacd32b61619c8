"""Optimizer runs from the web: queue, real worker, progress, certificate, decisions, before/after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Venue
from plans.models import Plan, PlanState
from tests.conftest import INSPECTOR_CITY, MANAGER_B, PLANNER, make_app, seed


def _floor_id(app, venue_name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == venue_name))


def _plan(app, plan_id: int) -> Plan:
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        db.session.expunge(plan)
        return plan


def test_planner_runs_hotel_plan_with_certificate(client, auth, demo_app):
    auth.login(PLANNER)
    floor_id = _floor_id(demo_app, "Bund View Hotel")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    assert response.status_code == 302
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    plan = _plan(demo_app, plan_id)
    assert plan.state == PlanState.DONE, plan.error
    # Hand check of the demo hotel: C-301 + C-302 cover the corridor, C-304 the lobby; C-303 is redundant,
    # C-305 sees into the women's toilet and F-306 is a face terminal; the access reader is out of scope.
    assert sorted(plan.result["kept"]) == ["C-301", "C-302", "C-304", "R-307"]
    assert sorted(plan.result["removed"]) == ["C-303", "C-305", "F-306"]
    assert plan.solver_status == "OPTIMAL" and plan.objective == plan.bound == 3
    assert plan.uncovered_m2 == 0.0 and plan.privacy_overlap_m2 == 0.0
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "provably minimal" in page and 'class="intrusion"' in page and "C-305" in page
    assert "sees into Public toilet (women)" in page
    with demo_app.app_context():
        from plans.service import totals

        counts = totals(db.session.get(Plan, plan_id))
    assert counts == {"before_total": 7, "after_total": 4, "before_face": 1, "after_face": 0,
                      "before_cameras": 5, "after_cameras": 3}
    with demo_app.app_context():
        reasons = {d.terminal_code: d.reason for d in db.session.get(Plan, plan_id).decisions}
    assert "Public toilet (women)" in reasons["C-305"]
    assert "now seen by" in reasons["C-303"]


def test_bad_parameters_are_named(client, auth, demo_app):
    auth.login(PLANNER)
    floor_id = _floor_id(demo_app, "Bund View Hotel")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "0"})
    assert response.status_code == 422 and b"must be at least 1" in response.data
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "teleport"})
    assert response.status_code == 422 and b"is not one of" in response.data
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0


def test_roles_and_organisations(client, auth, demo_app):
    floor_id = _floor_id(demo_app, "Bund View Hotel")
    auth.login(INSPECTOR_CITY)
    assert client.get(f"/floors/{floor_id}/plans").status_code == 200
    assert client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce"}).status_code == 403
    auth.logout()
    auth.login(MANAGER_B)
    assert client.get(f"/floors/{floor_id}/plans").status_code == 404
    assert client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce"}).status_code == 404


@pytest.fixture
def queued_app(template_database, tmp_path):
    """An app whose jobs go through a real queue: Redis when REDIS_URL is set, else SQLite storage."""
    backend = "redis" if os.environ.get("REDIS_URL") else "sqlite"
    app = make_app(template_database, tmp_path, HUEY_BACKEND=backend, REDIS_URL=os.environ.get("REDIS_URL"),
                   HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    seed(app)
    from jobs.queue import huey_for_app

    huey = huey_for_app(app)
    huey.flush()
    yield app
    huey.flush()


def _start_worker(app) -> subprocess.Popen:
    """`python -m jobs.worker` in its own process, on the same database and queue as the app."""
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], HUEY_BACKEND=app.config["HUEY_BACKEND"],
               HUEY_SQLITE_PATH=app.config["HUEY_SQLITE_PATH"], SOLVER_WORKERS="2")
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return subprocess.Popen([sys.executable, "-m", "jobs.worker"], cwd=Path(__file__).resolve().parents[2], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_real_worker_runs_a_queued_plan_and_reports_progress(queued_app):
    client = queued_app.test_client()
    client.post("/login", data={"email": PLANNER, "password": "sightline-demo"})
    floor_id = _floor_id(queued_app, "Blue Wave Natatorium")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _plan(queued_app, plan_id).state == PlanState.QUEUED
    progress = client.get(f"/plans/{plan_id}/progress")
    assert progress.status_code == 200 and b'role="progressbar"' in progress.data

    worker = _start_worker(queued_app)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _plan(queued_app, plan_id).finished:
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.3)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    plan = _plan(queued_app, plan_id)
    assert plan.state == PlanState.DONE, (plan.error, output[-2000:])
    # The pool: C-6 looks through the shower entrances and F-L1 sits inside the women's changing room.
    assert {"C-6", "F-L1"} <= set(plan.result["removed"])
    assert plan.uncovered_m2 == 0.0
    assert plan.progress and plan.progress.get("stage")
    finished = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    assert finished.headers.get("HX-Refresh") == "true"


def test_cancel_a_queued_plan(queued_app):
    client = queued_app.test_client()
    client.post("/login", data={"email": PLANNER, "password": "sightline-demo"})
    floor_id = _floor_id(queued_app, "FreshMart Jing'an")
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/plans/{plan_id}/cancel")
    assert _plan(queued_app, plan_id).state == PlanState.CANCELLED
    from plans.service import execute_plan

    with queued_app.app_context():
        execute_plan(plan_id)  # a worker picking it up later leaves it cancelled
    assert _plan(queued_app, plan_id).state == PlanState.CANCELLED
