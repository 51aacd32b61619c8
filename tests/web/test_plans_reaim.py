"""Re-aim decisions on a small floor where turning is needed: a rejected turn, a rejected addition, a ticked turn."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from accounts.models import User
from audit.models import AuditEvent
from extensions import db
from inventory.floorio import import_floor
from inventory.models import Floor, Terminal, Venue
from plans.models import Plan, PlanState
from tests.conftest import ADMIN, MANAGER_A, PLANNER


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def _camera(code: str, x: float, heading: float) -> dict:
    return {"type": "Feature", "properties": {"kind": "terminal", "id": code, "type": "camera", "heading_deg": heading,
                                              "hfov_deg": 180, "range_m": 30},
            "geometry": {"type": "Point", "coordinates": [x, 2.0]}}


# An 8 m x 4 m room, all of it required, with a camera on each end wall facing the wall behind it: neither sees the
# room as installed, either one turned to face the room sees all of it, so the minimal plan turns one and removes
# the other.
ROOM = {"type": "FeatureCollection", "format": "sightline-floor/1", "name": "Turn-around room", "features": [
    {"type": "Feature", "properties": {"kind": "outline"},
     "geometry": {"type": "Polygon", "coordinates": _square(0, 0, 8, 4)}},
    {"type": "Feature", "properties": {"kind": "zone", "zone": "required", "name": "Room", "tier": "observe"},
     "geometry": {"type": "Polygon", "coordinates": _square(0, 0, 8, 4)}},
    _camera("W-1", 0.0, 180.0),
    _camera("E-1", 8.0, 0.0),
]}
INSTALLED = {"W-1": 180.0, "E-1": 0.0}


@pytest.fixture
def room(client, auth, demo_app):
    """The turn-around room on the demo hotel's venue, planned once with turning allowed."""
    with demo_app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        floor = Floor(venue=venue, level=9, name="Turn-around room", structure=[])
        db.session.add(floor)
        db.session.flush()
        import_floor(admin, floor, ROOM)
        db.session.commit()
        floor_id = floor.id
    auth.login(PLANNER)
    response = client.post(f"/floors/{floor_id}/plans",
                           data={"mode": "reduce", "reaim": "true", "reaim_step": "45", "time_limit": "30"})
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    return floor_id, int(response.headers["Location"].rsplit("/", 1)[1])


def _decisions(app, plan_id: int) -> dict[str, tuple[str, dict | None, int]]:
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        assert plan.state == PlanState.DONE, plan.error
        return {d.terminal_code: (d.decision.value, d.pose, d.id) for d in plan.decisions}


def _turned(decisions: dict) -> tuple[str, str]:
    turned = [code for code, (decision, _pose, _id) in decisions.items() if decision == "reaim"]
    assert len(turned) == 1, decisions
    other = next(code for code in INSTALLED if code != turned[0])
    assert decisions[other][0] == "remove", decisions
    return turned[0], other


def test_a_rejected_turn_keeps_that_camera_at_its_installed_heading(client, demo_app, room):
    floor_id, plan_id = room
    first = _decisions(demo_app, plan_id)
    turned, other = _turned(first)
    assert first[turned][1]["heading_deg"] % 360 != INSTALLED[turned]
    assert client.post(f"/plans/{plan_id}/decisions/{first[turned][2]}/review",
                       data={"review": "rejected", "comment": "that mount can't turn"}).status_code == 302
    response = client.post(f"/plans/{plan_id}/rerun")
    assert response.status_code == 302
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with demo_app.app_context():
        assert db.session.get(Plan, new_id).locks == {turned: "keep"}
    second = _decisions(demo_app, new_id)
    # The rejected turn: kept where it points now (not turned, not removed); the other camera is turned instead.
    assert second[turned][0] == "keep", second
    assert second[other][0] == "reaim", second
    page = client.get(f"/plans/{new_id}").get_data(as_text=True)
    assert f"{turned} (keep, at its installed heading)" in page


def test_a_ticked_turn_sets_the_heading_and_is_audited(client, auth, demo_app, room):
    floor_id, plan_id = room
    turned, _other = _turned(_decisions(demo_app, plan_id))
    assert client.post(f"/plans/{plan_id}/approve").status_code == 302
    with demo_app.app_context():
        item = next(i for i in db.session.get(Plan, plan_id).work_items if i.kind.value == "reaim")
        heading, item_id = item.heading_deg, item.id
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == floor_id,
                                                                     Terminal.code == turned))
    assert item.label == turned and heading is not None and heading % 360 != INSTALLED[turned]
    auth.logout()
    auth.login(MANAGER_A)
    assert client.post(f"/plans/{plan_id}/work-items/{item_id}/done").status_code == 302
    with demo_app.app_context():
        assert db.session.get(Terminal, terminal_id).heading_deg == pytest.approx(heading % 360)
        changes = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "terminal", AuditEvent.object_id == terminal_id,
            AuditEvent.action == "update")).all()
        assert any(e.before.get("heading_deg") == INSTALLED[turned]
                   and e.after.get("heading_deg") == pytest.approx(heading % 360) for e in changes), \
            [(e.before, e.after) for e in changes]
        ticked = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "plan",
                                                                AuditEvent.object_id == plan_id,
                                                                AuditEvent.action == "work_done")).all()
        assert [e.after["terminal"] for e in ticked] == [turned]
    page = client.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "1 of 2 done" in page


def test_a_rejected_new_camera_is_never_proposed_again(client, demo_app, room):
    floor_id, _plan_id = room
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "design", "time_limit": "30"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    decisions = _decisions(demo_app, plan_id)
    assert decisions["N1"][0] == "add", decisions
    pose = decisions["N1"][1]
    assert client.post(f"/plans/{plan_id}/decisions/{decisions['N1'][2]}/review",
                       data={"review": "rejected"}).status_code == 302
    new_id = int(client.post(f"/plans/{plan_id}/rerun").headers["Location"].rsplit("/", 1)[1])
    with demo_app.app_context():
        new = db.session.get(Plan, new_id)
        assert new.locks is None
        assert new.parameters["rejected_additions"] == [
            {"name": "N1", "version": 2, "x": pose["x"], "y": pose["y"], "heading_deg": pose["heading_deg"]}]
    page = client.get(f"/plans/{new_id}").get_data(as_text=True)
    assert 'id="rejected-additions"' in page and f"N1 of v2 at ({pose['x']:.1f}, {pose['y']:.1f})" in page
    assert "did not consider that position and heading again" in page
    with demo_app.app_context():
        new = db.session.get(Plan, new_id)
        assert new.result is not None, new.error
    again = [d for d in _decisions(demo_app, new_id).values() if d[0] == "add"]
    assert again, "the design re-run still installs cameras"
    assert all((d[1]["x"], d[1]["y"], d[1]["heading_deg"]) != (pose["x"], pose["y"], pose["heading_deg"])
               for d in again), again
