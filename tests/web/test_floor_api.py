"""Floor geometry API: sightline-floor/1 export and all-or-nothing import, editor state, poses, overlays, isolation."""

from __future__ import annotations

import copy
import re

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import DEMO_PASSWORD, INSPECTOR_CITY, MANAGER_A, MANAGER_B, PLANNER, seed


def _floor_id(app, venue_name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == venue_name))


def _token(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)




def test_export_is_sightline_floor(manager, hotel):
    response = manager.get(f"/api/v1/floors/{hotel}/geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    fc = response.get_json()
    assert fc["format"] == "sightline-floor/1" and fc["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert kinds == {"outline", "wall", "opening", "zone", "terminal"}
    download = manager.get(f"/api/v1/floors/{hotel}/geojson?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_json() == fc


def test_put_round_trips_exactly(manager, hotel):
    before = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=before)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["counts"]["terminals_updated"] == 7
    assert manager.get(f"/api/v1/floors/{hotel}/geojson").get_json() == before


def test_put_replaces_structure_and_zones(manager, hotel):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    fc["features"] = [f for f in fc["features"] if f["properties"]["kind"] != "wall"]
    fc["features"].append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[20, 1], [20, 6]]},
                           "properties": {"kind": "wall", "see_through": True}})
    assert manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc).status_code == 200
    walls = [f for f in manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()["features"]
             if f["properties"]["kind"] == "wall"]
    assert [{k: v for k, v in w.items() if k != "id"} for w in walls] == [fc["features"][-1]]
    assert walls[0]["id"].startswith("wall-")  # a feature sent without an id gets a new one


@pytest.mark.parametrize(("breakage", "field", "message"), [
    (lambda fc: fc["features"].append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1, 1]]},
                                       "properties": {"kind": "wall"}}), "wall", "at least two positions"),
    (lambda fc: fc["features"].append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [99, 99]},
                                       "properties": {"kind": "terminal", "id": "C-999", "type": "camera",
                                                      "heading_deg": 0, "hfov_deg": 90, "range_m": 5}}),
     "terminal 'C-999'", "outside the floor outline"),
    (lambda fc: fc["features"].append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[1, 1], [3, 3], [3, 1], [1, 3], [1, 1]]]}, "properties": {"kind": "zone", "zone": "private", "name": "Bow"}}),
     "zone 'Bow'", "self-intersect"),
    (lambda fc: fc.update(format="geojson"), "floor", "format"),
])
def test_put_is_all_or_nothing(manager, hotel, demo_app, breakage, field, message):
    before = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    fc = copy.deepcopy(before)
    fc["features"] = [f for f in fc["features"] if f["properties"]["kind"] != "zone"]  # would delete every zone
    breakage(fc)
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc)
    assert response.status_code == 422
    body = response.get_json()
    assert field in body["field"], body
    assert message in body["error"].lower(), body
    assert manager.get(f"/api/v1/floors/{hotel}/geojson").get_json() == before
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Terminal).where(Terminal.code == "C-999")) == 0


def test_put_needs_json_and_csrf(csrf_app):
    seed(csrf_app)
    hotel = _floor_id(csrf_app, "Bund View Hotel")
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    login_token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD, "csrf_token": login_token})
    fc = client.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    assert client.put(f"/api/v1/floors/{hotel}/geojson", json=fc).status_code == 400  # no CSRF header
    token = _token(client)
    response = client.put(f"/api/v1/floors/{hotel}/geojson", data="not json", headers={"X-CSRFToken": token})
    assert response.status_code == 422 and response.get_json()["field"] == "body"


def test_other_organisation_gets_404(client, auth, demo_app, hotel):
    auth.login(MANAGER_B)
    client.environ_base["HTTP_X_CSRFTOKEN"] = _token(client)
    assert client.get(f"/api/v1/floors/{hotel}/geojson").status_code == 404
    assert client.get(f"/api/v1/floors/{hotel}/editor").status_code == 404
    assert client.get(f"/api/v1/floors/{hotel}/overlays").status_code == 404
    own = client.get(f"/api/v1/floors/{_floor_id(demo_app, 'FreshMart Jing' + chr(39) + 'an')}/geojson").get_json()
    assert client.put(f"/api/v1/floors/{hotel}/geojson", json=own).status_code == 404
    assert client.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"x": 9}).status_code == 404
    assert client.delete(f"/api/v1/floors/{hotel}/terminals/C-301").status_code == 404
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Terminal.x).where(Terminal.code == "C-301")) == 8.3


def test_read_only_roles_cannot_write(client, auth, hotel):
    for user in (INSPECTOR_CITY, PLANNER):
        auth.login(user)
        token = _token(client)
        fc = client.get(f"/api/v1/floors/{hotel}/geojson").get_json()
        assert client.put(f"/api/v1/floors/{hotel}/geojson", json=fc, headers={"X-CSRFToken": token}).status_code == 403
        state = client.get(f"/api/v1/floors/{hotel}/editor").get_json()
        assert state["can_edit"] is False
        auth.logout()


def test_editor_state_has_templates(manager, hotel):
    state = manager.get(f"/api/v1/floors/{hotel}/editor").get_json()
    assert state["can_edit"] is True and state["background"] is None
    uses = {u["use"]: u for u in state["templates"]["uses"]}
    assert uses["guest_room"]["kind"] == "private" and uses["reception"]["tier"] == "recognise"
    assert set(state["templates"]["always_private"]) >= {"toilet", "shower", "changing_room", "guest_room",
                                                        "nursing_room", "fitting_room"}


def test_pose_patch_and_delete(manager, hotel, demo_app):
    response = manager.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"x": 10, "heading_deg": -30})
    assert response.status_code == 200 and response.get_json()["heading_deg"] == 330
    outside = manager.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"x": 300})
    assert outside.status_code == 422 and "C-301" in outside.get_json()["field"]
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Terminal.x).where(Terminal.code == "C-301")) == 10
    assert manager.patch(f"/api/v1/floors/{hotel}/terminals/NOPE/pose", json={"x": 1}).status_code == 404
    assert manager.delete(f"/api/v1/floors/{hotel}/terminals/R-307").status_code == 204
    assert manager.delete(f"/api/v1/floors/{hotel}/terminals/R-307").status_code == 404


def test_overlays_show_clipped_views_and_intrusion(manager, hotel):
    overlays = manager.get(f"/api/v1/floors/{hotel}/overlays").get_json()
    layers = {f["properties"]["layer"] for f in overlays["features"]}
    assert {"view", "private_intrusion", "heat"} <= layers
    # The installed cameras see every required zone (round-off slivers under 1 µm wide are not gaps).
    assert "uncovered" not in layers
    intrusion = [f for f in overlays["features"] if f["properties"]["layer"] == "private_intrusion"]
    assert [(f["properties"]["terminal"], f["properties"]["zone"]) for f in intrusion] == [
        ("C-305", "Public toilet (women)")]
    # C-303 hangs in the corridor facing a guest-room wall: its view is clipped to the corridor.
    view = next(f for f in overlays["features"] if f["properties"]["layer"] == "view"
                and f["properties"]["terminal"] == "C-303")
    ys = [pt[1] for ring in view["geometry"]["coordinates"] for pt in ring]
    assert min(ys) >= 7.5 - 1e-6


def test_overlays_of_an_empty_floor(manager, hotel, demo_app):
    with demo_app.app_context():
        venue_id = db.session.get(Floor, hotel).venue_id
    manager.post(f"/venues/{venue_id}/floors/new", data={"level": "9", "name": "Empty"})
    empty = _floor_id_by_name(demo_app, "Empty")
    assert manager.get(f"/api/v1/floors/{empty}/overlays").get_json()["features"] == []


def _floor_id_by_name(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).where(Floor.name == name))


def test_floor_page_has_editor_and_download(manager, hotel):
    page = manager.get(f"/floors/{hotel}").get_data(as_text=True)
    assert 'id="floor-editor"' in page and "js/floorplan.js" in page
    assert f"/api/v1/floors/{hotel}/geojson?download=1" in page
    assert "Upload plan" in page
    assert 'id="terminal-table"' in page  # the terminal table still renders below the map


def _zone(name: str, kind: str, box: tuple[float, float, float, float], **extra) -> dict:
    x0, y0, x1, y1 = box
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1],
                                                                                 [x0, y1], [x0, y0]]]},
            "properties": {"kind": "zone", "zone": kind, "name": name, **extra}}


def test_planner_replaces_zones_only(client, auth, demo_app, hotel):
    auth.login(PLANNER)
    token = _token(client)
    before = client.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zones = [_zone("Corridor", "required", (8, 7.5, 44, 10.5), k=2, tier="observe", use="corridor"),
             _zone("Toilets", "private", (0, 0, 8, 5), use="toilet")]
    response = client.put(f"/api/v1/floors/{hotel}/zones", json={"features": zones}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    after = response.get_json()["floor"]["features"]
    assert [f["properties"]["name"] for f in after if f["properties"]["kind"] == "zone"] == ["Corridor", "Toilets"]
    assert [f for f in after if f["properties"]["kind"] != "zone"] == [
        f for f in before["features"] if f["properties"]["kind"] != "zone"]
    # Structure and terminals sent along are refused: this endpoint takes zones only.
    wall = next(f for f in before["features"] if f["properties"]["kind"] == "wall")
    response = client.put(f"/api/v1/floors/{hotel}/zones", json={"features": [wall]}, headers={"X-CSRFToken": token})
    assert response.status_code == 422
    bad = [_zone("Twin", "general", (1, 1, 2, 2)), _zone("Twin", "general", (3, 3, 4, 4))]
    response = client.put(f"/api/v1/floors/{hotel}/zones", json={"features": bad}, headers={"X-CSRFToken": token})
    assert response.status_code == 422 and "duplicate zone name" in response.get_json()["error"]
    assert len([f for f in client.get(f"/api/v1/floors/{hotel}/geojson").get_json()["features"]
                if f["properties"]["kind"] == "zone"]) == 2


def test_zones_endpoint_isolation(client, auth, hotel):
    auth.login(MANAGER_B)
    token = _token(client)
    body = {"features": [_zone("Mine", "general", (1, 1, 2, 2))]}
    assert client.put(f"/api/v1/floors/{hotel}/zones", json=body, headers={"X-CSRFToken": token}).status_code == 404
    auth.logout()
    auth.login(INSPECTOR_CITY)
    token = _token(client)
    assert client.put(f"/api/v1/floors/{hotel}/zones", json=body, headers={"X-CSRFToken": token}).status_code == 403
