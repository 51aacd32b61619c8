"""The plan page shows the phase and the proven bound ("at least N cameras are needed") while a run works."""

from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Venue
from plans.execution import _Heartbeat
from plans.models import Plan, PlanState
from tests.conftest import PLANNER


def test_progress_shows_the_phase_and_the_bound_of_a_running_plan(client, auth, demo_app) -> None:
    auth.login(PLANNER)
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # The heartbeat keeps the best bound the solver reported, in cameras, as the run goes on.
    beat = _Heartbeat(demo_app, plan_id, 1, None, 1.0)  # type: ignore[arg-type]
    beat.record({"phase": "solve", "round": 2, "needed_at_least": 7, "seconds": 3.0})
    beat.record({"phase": "solve", "round": 2, "needed_at_least": None, "seconds": 3.5})
    assert beat.at_least == 7
    with demo_app.app_context():
        plan = db.session.get(Plan, plan_id)
        plan.state, plan.attempts = PlanState.RUNNING, 1
        db.session.commit()
    beat.beat()
    page = client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert "at least 7 cameras are needed" in page
    assert "round 2" in page
