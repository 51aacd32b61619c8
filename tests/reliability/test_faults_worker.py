"""A worker SIGKILLed in the middle of a plan run, seen from the user's side: the run is never stuck "running",
nothing half-written is stored, and it is retried to completion by the next worker (or failed with the reason
after its last attempt: tests/web/test_plan_worker.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

from extensions import db
from plans.models import PlanDecision, PlanState
from tests.web.test_plan_worker import FAST_HEARTBEAT, _big_floor, _login, _plan, _queued_app, _stop, _wait
from tests.workers import start_worker

pytestmark = pytest.mark.slow  # real worker processes and a 120-terminal re-aim run


def _decisions(app, plan_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(PlanDecision.terminal_code).where(PlanDecision.plan_id == plan_id)))


def test_a_run_whose_worker_is_killed_is_requeued_on_the_progress_page_and_finished_by_the_next(
        template_database, tmp_path) -> None:
    app = _queued_app(template_database, tmp_path, "sqlite", **FAST_HEARTBEAT)
    floor_id = _big_floor(app)
    client = _login(app)
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "reaim": "true", "reaim_step": "45",
                                                              "time_limit": "15"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    first = start_worker(app)
    try:
        _wait(app, plan_id, lambda p: p.state == PlanState.RUNNING and p.heartbeat_at is not None, 60, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _stop(first)
    killed = _plan(app, plan_id)
    # Nothing of the killed attempt is stored: the result and its decision rows are written in one final commit.
    assert killed.state == PlanState.RUNNING and killed.attempts == 1
    assert killed.result is None and killed.drawings is None and killed.finished_at is None
    assert _decisions(app, plan_id) == []
    time.sleep(app.config["PLAN_HEARTBEAT_TIMEOUT"] + 1)
    # No worker runs now: the progress page the user is watching notices the silent run and queues it again.
    page = client.get(f"/plans/{plan_id}/progress", headers={"HX-Request": "true"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "queued again: the worker running it stopped (no heartbeat for 4 s)" in text
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
