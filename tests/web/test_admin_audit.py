"""The audit trail: sign-ins, tokens and plan runs are recorded; pages show changed fields only, paginated;
admins see the events no venue page shows (camera models, deleted venues, sign-ins)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from accounts.models import User
from audit.models import AuditEvent
from audit.views import PAGE_SIZE
from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import ADMIN, DEMO_PASSWORD, MANAGER_A, PLANNER


def _events(app, object_type: str, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                                   AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def test_sign_ins_are_recorded_and_failed_ones_keep_the_email_not_the_password(client, auth, demo_app):
    assert auth.login(MANAGER_A, "guessed-wrong-1").status_code == 401
    assert auth.login("nobody@nowhere.example", "guessed-wrong-2").status_code == 401
    assert auth.login(MANAGER_A).status_code == 302
    auth.logout()
    failed = _events(demo_app, "user", "sign_in_failed")
    assert [e.after for e in failed] == [{"email": MANAGER_A}, {"email": "nobody@nowhere.example"}]
    assert all(e.user_id is None and "guessed-wrong" not in str(e.before) + str(e.after) for e in failed)
    (ok,) = _events(demo_app, "user", "sign_in")
    manager = _user_id(demo_app, MANAGER_A)
    assert ok.user_id == ok.object_id == manager and ok.venue_id is None
    assert [e.user_id for e in _events(demo_app, "user", "sign_out")] == [manager]


def test_token_issue_and_revoke_are_recorded(client, auth, demo_app):
    auth.login(PLANNER)
    page = client.post("/tokens", data={"name": "ci", "scope": "read", "days": "30"}).get_data(as_text=True)
    assert re.search(r'id="new-token">slt_', page)
    (issued,) = _events(demo_app, "api_token", "token_issue")
    assert issued.after["name"] == "ci" and issued.after["scope"] == "read" and issued.after["expires_at"]
    assert issued.user_id == _user_id(demo_app, PLANNER) and "slt_" not in str(issued.after)
    assert client.post(f"/tokens/{issued.object_id}/revoke").status_code == 302
    client.post(f"/tokens/{issued.object_id}/revoke")  # revoking twice records once
    (revoked,) = _events(demo_app, "api_token", "token_revoke")
    assert revoked.object_id == issued.object_id and "slt_" not in str(revoked.before)


def test_plan_runs_and_cancels_are_recorded(tmp_path, template_database):
    from tests.conftest import make_app, seed

    # A queue that is not run inline, so the plan stays queued and can be cancelled.
    app = make_app(template_database, tmp_path, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    seed(app)
    client = app.test_client()
    client.post("/login", data={"email": PLANNER, "password": DEMO_PASSWORD})
    with app.app_context():
        floor = db.session.scalar(sa.select(Floor).join(Venue).where(Venue.name == "Bund View Hotel"))
        floor_id, venue_id = floor.id, floor.venue_id
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "5"})
    plan_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/plans/{plan_id}/cancel").status_code == 302
    (run,) = _events(app, "plan", "run")
    (cancel,) = _events(app, "plan", "cancel")
    assert run.object_id == cancel.object_id == plan_id and run.venue_id == venue_id
    assert run.after["mode"] == "reduce" and cancel.after["state"] == "cancelled"
    assert run.user_id == _user_id(app, PLANNER)


def test_venue_audit_shows_changed_fields_only(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-303"))
    client.post(f"/terminals/{terminal.id}/row", data={"code": "C-303", "kind": "camera", "status": "removed",
                                                       "heading_deg": "270", "hfov_deg": "90", "serial": "HK-303"})
    page = client.get(f"/venues/{terminal.venue_id}/audit").get_data(as_text=True)
    latest = page.split('<table class="diff">')[1].split("</table>")[0]
    assert re.search(r"<code>status</code></th>\s*<td class=\"before\">active</td>.*<strong>removed</strong>",
                     latest, re.S)
    assert "<code>x</code>" not in latest and "<code>serial</code>" not in latest  # unchanged fields stay out
    assert '<pre class="json">' not in page


def test_audit_pages_are_paginated(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-302"))
        venue_id = terminal.venue_id
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.venue_id == venue_id))
    for heading in range(PAGE_SIZE + 1 - total % PAGE_SIZE):
        client.post(f"/terminals/{terminal.id}/row", data={"code": "C-302", "kind": "camera", "status": "active",
                                                           "heading_deg": str(heading), "hfov_deg": "60"})
    first = client.get(f"/venues/{venue_id}/audit").get_data(as_text=True)
    rows = first.count('<tr class="event">')
    assert rows == PAGE_SIZE and 'rel="next"' in first and 'rel="prev"' not in first
    pages = -(-(total + PAGE_SIZE + 1 - total % PAGE_SIZE) // PAGE_SIZE)
    last = client.get(f"/venues/{venue_id}/audit?page={pages}&type=").get_data(as_text=True)
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert client.get(f"/venues/{venue_id}/audit?page=99999999999").status_code == 404


def test_admin_audit_page_shows_events_without_a_venue(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        venue_id = venue.id
    assert client.post(f"/venues/{venue_id}/delete").status_code == 302  # referenced: kept as removed
    client.post("/venues/new", data={"name": "Gone Inn", "type": "hotel", "district": "Huangpu"})
    with demo_app.app_context():
        gone_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Gone Inn"))
    assert client.post(f"/venues/{gone_id}/delete").status_code == 302  # unreferenced: deleted outright
    with demo_app.app_context():
        assert db.session.get(Venue, gone_id) is None
    client.post("/camera-models/new", data={"manufacturer": "Acme", "model": "Eye-1", "hpx": "1920",
                                            "hfov_min_deg": "60", "hfov_max_deg": "90"})
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login(ADMIN)
    page = client.get("/admin/audit?scope=no-venue").get_data(as_text=True)
    assert "camera model" in page and "Eye-1" in page
    assert f"venue #{venue_id} (deleted or removed)" in page and f"venue #{gone_id} (deleted or removed)" in page
    assert "signed in" in page and MANAGER_A in page
    assert "FreshMart Jing&#39;an</a>" not in page  # events of live venues stay on their venue pages
    everything = client.get("/admin/audit?type=camera_model").get_data(as_text=True)
    assert "Eye-1" in everything and "signed in" not in everything


def test_creates_show_the_naming_fields_and_fold_the_rest(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id))
    client.post(f"/floors/{floor_id}/terminals/new", data={
        "code": "C-777", "kind": "camera", "x": "3", "y": "4", "heading_deg": "0", "hfov_deg": "90",
        "serial": "SN-777"})
    page = client.get(f"/venues/{venue_id}/audit?type=terminal").get_data(as_text=True)
    latest = page.split('<tr class="event">')[1].split('<tr class="event">')[0]
    shown, folded = latest.split('<details class="more-fields">')
    assert "<strong>C-777</strong>" in shown and "SN-777" not in shown
    assert "more fields</summary>" in folded and "SN-777" in folded
