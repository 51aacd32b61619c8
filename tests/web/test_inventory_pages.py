"""Inventory pages: CRUD, inline editing, filters, counts and bad input."""

from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import INSPECTOR_CITY, MANAGER_A, PLANNER


def _venue(app, name: str) -> Venue:
    with app.app_context():
        return db.session.scalar(sa.select(Venue).where(Venue.name == name))


def test_login_required(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused(client, auth):
    response = auth.login(MANAGER_A, "not-the-password")
    assert response.status_code == 401 and b"Wrong email or password" in response.data


def test_manager_sees_only_own_venues(client, auth):
    auth.login()
    page = client.get("/").get_data(as_text=True)
    assert "Bund View Hotel" in page
    assert "FreshMart" not in page and "Blue Wave" not in page


def test_inspector_sees_jurisdiction_read_only(client, auth, demo_app):
    auth.login(INSPECTOR_CITY)
    page = client.get("/").get_data(as_text=True)
    assert "Bund View Hotel" in page and "FreshMart" in page and "Blue Wave" in page
    assert "New venue" not in page
    hotel = _venue(demo_app, "Bund View Hotel")
    assert client.post(f"/venues/{hotel.id}/edit", data={"name": "Hacked"}).status_code == 403
    assert client.get("/venues/new").status_code == 403


def test_create_venue_floor_and_terminal(client, auth, demo_app):
    auth.login()
    response = client.post("/venues/new", data={"name": "Riverside Inn", "type": "hotel", "district": "Huangpu",
                                                "address": "1 River Rd"})
    assert response.status_code == 302
    venue = _venue(demo_app, "Riverside Inn")
    response = client.post(f"/venues/{venue.id}/floors/new", data={"level": "1", "name": "Lobby"})
    assert response.status_code == 302
    with demo_app.app_context():
        floor = db.session.scalar(sa.select(Floor).where(Floor.venue_id == venue.id))
    response = client.post(f"/floors/{floor.id}/terminals/new", data={
        "code": "C-1", "kind": "camera", "x": "3.5", "y": "4", "heading_deg": "-90", "hfov_deg": "90",
        "hpx": "1920", "serial": "SN-1", "face_recognition": "false", "storage_location": "local_server"})
    assert response.status_code == 302
    page = client.get(f"/floors/{floor.id}").get_data(as_text=True)
    assert "C-1" in page and "SN-1" in page and "270°" in page  # heading normalised to [0, 360)


def test_bad_terminal_input_is_named_and_nothing_saved(client, auth, demo_app):
    auth.login()
    hotel = _venue(demo_app, "Bund View Hotel")
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == hotel.id))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Terminal))
    cases = [
        ({"hfov_deg": "0"}, "field of view must lie between 0.1 and 360 degrees"),
        ({"hfov_deg": "400"}, "field of view must lie between 0.1 and 360 degrees"),
        ({"x": "abc"}, "&#39;abc&#39; is not a number"),
        ({"kind": "drone"}, "&#39;drone&#39; is not one of"),
        ({"code": ""}, "is required"),
        ({"serial": "HK-301"}, "already used in this venue"),
    ]
    for change, message in cases:
        data = {"code": "NEW-1", "kind": "camera", "x": "1", "y": "1", "hfov_deg": "90", **change}
        response = client.post(f"/floors/{floor_id}/terminals/new", data=data)
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True), change
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Terminal)) == before


def test_inline_edit_row_and_validation(client, auth, demo_app):
    auth.login()
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-301"))
    form = client.get(f"/terminals/{terminal.id}/row?edit=1", headers={"HX-Request": "true"})
    assert b'name="heading_deg"' in form.data
    bad = client.post(f"/terminals/{terminal.id}/row", headers={"HX-Request": "true"},
                      data={"code": "C-301", "kind": "camera", "status": "active", "heading_deg": "x",
                            "hfov_deg": "60", "serial": "HK-301"})
    assert bad.status_code == 422 and b"is not a number" in bad.data
    good = client.post(f"/terminals/{terminal.id}/row", headers={"HX-Request": "true"},
                       data={"code": "C-301", "kind": "camera", "status": "planned_removal", "heading_deg": "370",
                             "hfov_deg": "60", "serial": "HK-301"})
    assert good.status_code == 200 and b"Planned removal" in good.data and b"10\xc2\xb0" in good.data
    with demo_app.app_context():
        assert db.session.get(Terminal, terminal.id).heading_deg == 10.0


def test_terminal_table_filters_and_sorts(client, auth, demo_app):
    auth.login()
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Terminal.floor_id).where(Terminal.code == "C-301"))
    partial = client.get(f"/floors/{floor_id}?kind=face_terminal", headers={"HX-Request": "true",
                                                                          "HX-Target": "terminal-table"})
    text = partial.get_data(as_text=True)
    assert text.lstrip().startswith("<table") and "F-306" in text and "C-301" not in text
    ordered = client.get(f"/floors/{floor_id}?sort=code&dir=desc", headers={"HX-Request": "true",
                                                                         "HX-Target": "terminal-table"})
    body = ordered.get_data(as_text=True)
    assert body.index("R-307") < body.index("C-301")


def test_venue_page_counts_by_kind(client, auth, demo_app):
    auth.login()
    hotel = _venue(demo_app, "Bund View Hotel")
    page = client.get(f"/venues/{hotel.id}").get_data(as_text=True)
    # The demo hotel floor has 5 cameras, 1 face terminal and 1 access reader.
    assert "7 in service" in page and "5 camera" in page and "1 face terminal" in page


def test_camera_model_library(client, auth):
    auth.login()
    response = client.post("/camera-models/new", data={"manufacturer": "Acme", "model": "V1", "hpx": "2560",
                                                       "hfov_min_deg": "30", "hfov_max_deg": "100"})
    assert response.status_code == 302
    page = client.get("/camera-models").get_data(as_text=True)
    assert "Acme" in page and "30–100° (varifocal)" in page
    bad = client.post("/camera-models/new", data={"manufacturer": "Acme", "model": "V2", "hpx": "2560",
                                                  "hfov_min_deg": "100", "hfov_max_deg": "30"})
    assert bad.status_code == 422 and b"must not exceed" in bad.data


def test_planner_sees_lock_read_only_with_the_way_to_lock(client, auth, demo_app):
    auth.login(PLANNER)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-301"))
        floor_id, terminal_id = terminal.floor_id, terminal.id
    page = client.get(f"/terminals/{terminal_id}/edit")
    assert page.status_code == 200
    assert b'id="terminal-lock"' in page.data and f"/floors/{floor_id}/plans".encode() in page.data
    assert b'name="locked"' not in page.data and b"reject its decision" in page.data
    refused = client.post(f"/terminals/{terminal_id}/edit", data={"code": "C-301", "locked": "keep"})
    assert refused.status_code == 403
    assert b"Not saved" in refused.data and f"/floors/{floor_id}/plans".encode() in refused.data
    row = client.post(f"/terminals/{terminal_id}/row", headers={"HX-Request": "true"},
                      data={"code": "C-301", "kind": "camera", "status": "active", "heading_deg": "0",
                            "hfov_deg": "60", "serial": "HK-301"})
    assert row.status_code == 403 and f"/floors/{floor_id}/plans".encode() in row.data
    with demo_app.app_context():
        assert db.session.get(Terminal, terminal_id).locked is None


def test_manager_still_edits_the_lock(client, auth, demo_app):
    auth.login()
    with demo_app.app_context():
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.code == "C-301"))
    page = client.get(f"/terminals/{terminal_id}/edit")
    assert page.status_code == 200 and b'name="locked"' in page.data
    saved = client.post(f"/terminals/{terminal_id}/edit", data={"code": "C-301", "locked": "keep"})
    assert saved.status_code == 302
    with demo_app.app_context():
        assert db.session.get(Terminal, terminal_id).locked.value == "keep"
