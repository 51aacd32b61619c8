"""Small things that hurt: read-only roles meet no Save button, success messages after create and delete,
inline-edit errors name the field, count badges come back out of band."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import CameraModel, Floor, Terminal, Venue
from tests.conftest import INSPECTOR_CITY, MANAGER_A, PLANNER

SAVE_BUTTON = re.compile(r"<button[^>]*>\s*Save\b", re.I)


def _hotel(app) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        floor = venue.floors[0]
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == floor.id, Terminal.code == "C-301"))
        model = db.session.scalar(sa.select(CameraModel).limit(1))
        return venue.id, floor.id, terminal.id, model.id


@pytest.mark.parametrize("email", [INSPECTOR_CITY, PLANNER])
def test_read_only_roles_see_no_save_button_anywhere(client, auth, demo_app, email):
    venue_id, floor_id, terminal_id, model_id = _hotel(demo_app)
    auth.login(email)
    for url in ("/", f"/venues/{venue_id}", f"/floors/{floor_id}", f"/terminals/{terminal_id}/edit",
                f"/terminals/{terminal_id}/row", f"/terminals/{terminal_id}/row?edit=1", "/camera-models",
                f"/venues/{venue_id}/audit", "/tokens", "/account/password"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not SAVE_BUTTON.search(response.get_data(as_text=True)), url
    for url in (f"/venues/{venue_id}/edit", f"/floors/{floor_id}/edit", f"/camera-models/{model_id}/edit",
                f"/floors/{floor_id}/terminals/new", "/venues/new", "/camera-models/new"):
        assert client.get(url).status_code == 403, url


def test_terminal_page_is_read_only_for_an_inspector(client, auth, demo_app):
    _venue, _floor, terminal_id, _model = _hotel(demo_app)
    auth.login(INSPECTOR_CITY)
    page = client.get(f"/terminals/{terminal_id}/edit").get_data(as_text=True)
    assert 'class="form-grid read-only"' in page and "<form method=\"post\" class=\"form-grid\">" not in page


def test_success_messages_after_create_and_delete(client, auth, demo_app):
    venue_id, floor_id, terminal_id, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    page = client.post("/venues/new", data={"name": "Riverside Inn", "type": "hotel", "district": "Huangpu"},
                       follow_redirects=True).get_data(as_text=True)
    assert 'class="flash success">Venue Riverside Inn created.' in page
    page = client.post(f"/floors/{floor_id}/terminals/new", data={
        "code": "C-900", "kind": "camera", "x": "3", "y": "4", "heading_deg": "0", "hfov_deg": "90"},
        follow_redirects=True).get_data(as_text=True)
    assert "Terminal C-900 added." in page
    page = client.post("/camera-models/new", data={"manufacturer": "Acme", "model": "Eye-2", "hpx": "1920",
                                                   "hfov_min_deg": "60", "hfov_max_deg": "90"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Camera model Acme Eye-2 added." in page
    page = client.post(f"/terminals/{terminal_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Terminal C-301 deleted." in page
    with demo_app.app_context():
        riverside = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Riverside Inn"))
    page = client.post(f"/venues/{riverside}/floors/new", data={"level": "1", "name": "Lobby"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Floor Lobby added." in page
    with demo_app.app_context():
        lobby = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == riverside))
    assert "Floor Lobby deleted." in client.post(f"/floors/{lobby}/delete", follow_redirects=True).get_data(as_text=True)
    page = client.post(f"/venues/{riverside}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Venue Riverside Inn deleted." in page


def test_csv_import_says_what_it_did(client, auth, demo_app):
    _venue, floor_id, _terminal, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    csv_text = "code,kind,x,y,heading_deg,hfov_deg\nC-950,camera,2,2,0,90\n"
    preview = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": csv_text})
    token = re.search(r'name="token" value="([^"]+)"', preview.get_data(as_text=True))
    data = {"csv_text": csv_text, "confirm": "1"} | ({"token": token.group(1)} if token else {})
    page = client.post(f"/floors/{floor_id}/terminals/import", data=data, follow_redirects=True).get_data(as_text=True)
    assert 'class="flash success">Imported 1 rows' in page or 'class="flash success">Imported 1 row' in page


def test_inline_edit_error_names_the_field_and_keeps_what_was_typed(client, auth, demo_app):
    _venue, _floor, terminal_id, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    response = client.post(f"/terminals/{terminal_id}/row", data={
        "code": "C-301-X", "kind": "camera", "status": "active", "heading_deg": "abc", "hfov_deg": "90"},
        headers={"HX-Request": "true"})
    assert response.status_code == 422
    row = response.get_data(as_text=True)
    assert re.search(r'name="heading_deg" value="abc"[^>]*aria-invalid="true"', row)
    assert re.search(r'id="row-error-\d+">Heading[^:]*: .*abc', row)
    assert 'value="C-301-X"' in row  # what was typed stays, nothing is saved
    with demo_app.app_context():
        assert db.session.get(Terminal, terminal_id).code == "C-301"


def test_inline_save_and_delete_send_fresh_count_badges_out_of_band(client, auth, demo_app):
    _venue, floor_id, terminal_id, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    page = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    in_service = int(re.search(r'(\d+) in service', page).group(1))
    saved = client.post(f"/terminals/{terminal_id}/row", data={
        "code": "C-301", "kind": "camera", "status": "removed", "heading_deg": "0", "hfov_deg": "90"},
        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="floor-counts" hx-swap-oob="innerHTML"><span class="badges">\n    <span class="badge">' \
           f'{in_service - 1} in service' in saved
    assert "Terminal C-301 saved." in saved
    with demo_app.app_context():
        other = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == floor_id,
                                                               Terminal.status == "active"))
    deleted = client.post(f"/terminals/{other}/delete", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"{in_service - 2} in service" in deleted and "deleted." in deleted and "<tr" not in deleted


def test_upload_preview_says_scale_checked_not_a_float(client, auth, demo_app):
    from pathlib import Path

    imdf = Path(__file__).resolve().parents[1] / "data" / "imdf" / "pool-venue.zip"
    venue_id, _floor, _terminal, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    client.post(f"/venues/{venue_id}/floors/new", data={"level": "30", "name": "Pool annex"})
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id, Floor.level == 30))
    page = client.post(f"/floors/{floor_id}/upload", data={"file": (imdf.open("rb"), "pool-venue.zip")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="georef-scale"' in page and "scale checked" in page
    assert "scale error" not in page and not re.search(r"\d\.\d+e-\d+", page)


def test_empty_floor_offers_an_upload_instead_of_a_blank_map(client, auth, demo_app):
    venue_id, _floor, _terminal, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    client.post(f"/venues/{venue_id}/floors/new", data={"level": "31", "name": "Roof"})
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id, Floor.level == 31))
    page = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert 'id="empty-floor"' in page and 'id="floor-map"' not in page
    assert f'href="/floors/{floor_id}/upload"' in page
    assert 'id="floor-map"' in client.get(f"/floors/{floor_id}?draw=1").get_data(as_text=True)
    _venue, hotel_floor, _t, _m = _hotel(demo_app)
    assert 'id="empty-floor"' not in client.get(f"/floors/{hotel_floor}").get_data(as_text=True)


def test_plan_page_keeps_the_inputs_hash_behind_a_toggle(client, auth, demo_app):
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "FreshMart Jing'an"))
    auth.login(PLANNER)
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "5"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    details = page.split('id="inputs-hash"')[1].split("</details>")[0]
    with demo_app.app_context():
        from plans.models import Plan

        plan_hash = db.session.scalar(sa.select(Plan.inputs_hash).order_by(Plan.id.desc()))
    assert "<summary>" in details and plan_hash in details
    assert page.count(plan_hash[:16]) == 1  # nowhere else on the page


def test_favicon_is_linked_and_answers_at_the_classic_address(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" type="image/svg\+xml" href="/static/favicon.svg">', page)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_table_refresh_brings_the_count_badges_along(client, auth, demo_app):
    _venue, floor_id, terminal_id, _model = _hotel(demo_app)
    auth.login(MANAGER_A)
    full = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert 'hx-swap-oob' not in full  # the page itself carries the badges in place
    with demo_app.app_context():
        db.session.get(Terminal, terminal_id).status = "removed"  # as the floor editor's save would
        db.session.commit()
    partial = client.get(f"/floors/{floor_id}", headers={"HX-Request": "true", "HX-Target": "terminal-table"})
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith("<table") and 'id="floor-counts" hx-swap-oob="innerHTML"' in body
    before = int(re.search(r"(\d+) in service", full).group(1))
    assert f"{before - 1} in service" in body.split("hx-swap-oob")[1]
