"""JSON API /api/v1: CRUD per resource, token and session auth, bad input, role isolation."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from accounts.models import ApiToken, Role, User
from extensions import db
from inventory.models import CameraModel, Floor, Terminal, Venue
from tests.conftest import (
    ADMIN,
    DEMO_PASSWORD,
    INSPECTOR_CITY,
    INSPECTOR_SONGJIANG,
    MANAGER_A,
    MANAGER_B,
    PLANNER,
)

API = "/api/v1"


def _token(app, email: str) -> dict[str, str]:
    """Authorization header with a fresh token of the user."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        token, plain = ApiToken.issue(user, "test")
        db.session.add(token)
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def api(demo_app):
    """A client that is never signed in: every call carries a bearer token."""
    return demo_app.test_client()


@pytest.fixture
def a(demo_app) -> dict[str, str]:
    """Token header of the organisation A manager (Huangpu hotels)."""
    return _token(demo_app, MANAGER_A)


@pytest.fixture
def ids(demo_app) -> dict[str, int]:
    """Ids of the demo objects: hotel (A) and FreshMart (B) venue, floor and a terminal."""
    out = {}
    with demo_app.app_context():
        for key, name in (("a", "Bund View Hotel"), ("b", "FreshMart Jing'an")):
            venue = db.session.scalar(sa.select(Venue).where(Venue.name == name))
            floor = venue.floors[0]
            out[f"{key}_venue"], out[f"{key}_floor"] = venue.id, floor.id
            out[f"{key}_terminal"] = floor.terminals[0].id
            out[f"{key}_org"] = venue.organisation_id
    return out


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# ---------------------------------------------------------------- authentication


def test_calls_without_valid_token_get_401(api, demo_app, a):
    assert api.get(f"{API}/venues").status_code == 401
    response = api.get(f"{API}/venues", headers={"Authorization": "Bearer slt_wrong"})
    assert response.status_code == 401 and response.json == {"error": "authentication required", "field": None}
    with demo_app.app_context():
        for token in db.session.scalars(sa.select(ApiToken)):
            token.revoked = True
        db.session.commit()
    assert api.get(f"{API}/venues", headers=a).status_code == 401


def test_me_describes_user_scope_and_auth(api, a, ids):
    body = api.get(f"{API}/me", headers=a).json
    assert body["email"] == MANAGER_A and body["role"] == "manager" and body["auth"] == "token"
    assert body["organisation"]["id"] == ids["a_org"] and body["editable_organisation_ids"] == [ids["a_org"]]


# ---------------------------------------------------------------- CRUD per resource


def test_venue_crud(api, a, ids, demo_app):
    listed = api.get(f"{API}/venues", headers=a).json
    assert [v["name"] for v in listed["items"]] == ["Bund View Hotel"] and listed["count"] == 1
    created = api.post(f"{API}/venues", headers=a, json={"name": "Riverside Inn", "type": "hotel",
                                                         "district": "Huangpu", "address": "1 River Rd"})
    assert created.status_code == 201
    venue = created.json
    assert created.headers["Location"].endswith(f"{API}/venues/{venue['id']}")
    assert venue["organisation_id"] == ids["a_org"] and venue["type"] == "hotel" and venue["floor_ids"] == []
    assert api.get(f"{API}/venues/{venue['id']}", headers=a).json == venue
    patched = api.patch(f"{API}/venues/{venue['id']}", headers=a, json={"district": "Jing'an"}).json
    assert patched["district"] == "Jing'an" and patched["name"] == "Riverside Inn"
    put = api.put(f"{API}/venues/{venue['id']}", headers=a, json={"name": "Riverside", "type": "office",
                                                                  "district": "Huangpu"})
    assert put.status_code == 200 and put.json["address"] == ""  # PUT resets absent fields to defaults
    incomplete = api.put(f"{API}/venues/{venue['id']}", headers=a, json={"name": "x"})
    assert incomplete.status_code == 422 and incomplete.json["field"] == "type"
    assert api.delete(f"{API}/venues/{venue['id']}", headers=a).status_code == 204
    assert api.get(f"{API}/venues/{venue['id']}", headers=a).status_code == 404


def test_floor_crud(api, a, ids):
    venue_id = ids["a_venue"]
    created = api.post(f"{API}/venues/{venue_id}/floors", headers=a, json={"level": 4, "name": "Level 4"})
    assert created.status_code == 201
    floor = created.json
    assert floor["venue_id"] == venue_id and floor["counts"]["in_service"] == 0
    assert created.headers["Location"].endswith(f"{API}/floors/{floor['id']}")
    levels = [f["level"] for f in api.get(f"{API}/venues/{venue_id}/floors", headers=a).json["items"]]
    assert levels == sorted(levels) and 4 in levels
    clash = api.post(f"{API}/venues/{venue_id}/floors", headers=a, json={"level": 4, "name": "Again"})
    assert clash.status_code == 422 and clash.json == {"error": "level 4 already exists in this venue",
                                                       "field": "level"}
    assert api.patch(f"{API}/floors/{floor['id']}", headers=a, json={"name": "Spa"}).json["name"] == "Spa"
    assert api.get(f"{API}/floors/{floor['id']}", headers=a).json["name"] == "Spa"
    assert api.delete(f"{API}/floors/{floor['id']}", headers=a).status_code == 204
    assert api.get(f"{API}/floors/{floor['id']}", headers=a).status_code == 404


def test_terminal_crud(api, a, ids, demo_app):
    floor_id = ids["a_floor"]
    created = api.post(f"{API}/floors/{floor_id}/terminals", headers=a, json={
        "code": "C-1", "kind": "camera", "x": 3.5, "y": 4, "heading_deg": -90, "hfov_deg": 90, "hpx": 1920,
        "serial": "SN-1", "installed_on": "2024-05-01", "face_recognition": False})
    assert created.status_code == 201
    terminal = created.json
    assert terminal["heading_deg"] == 270.0 and terminal["x"] == 3.5 and terminal["installed_on"] == "2024-05-01"
    assert terminal["floor_id"] == floor_id and terminal["venue_id"] == ids["a_venue"]
    assert terminal["status"] == "active" and terminal["storage_location"] == "local_server"
    url = f"{API}/terminals/{terminal['id']}"
    assert created.headers["Location"].endswith(url)
    assert api.get(url, headers=a).json == terminal
    patched = api.patch(url, headers=a, json={"heading_deg": 370, "status": "planned_removal", "range_m": 12.5})
    assert patched.status_code == 200
    assert (patched.json["heading_deg"], patched.json["status"], patched.json["serial"]) == (10.0, "planned_removal",
                                                                                             "SN-1")
    put = api.put(url, headers=a, json={"code": "C-1", "kind": "face_terminal", "x": 1, "y": 2})
    assert put.json["serial"] is None and put.json["kind"] == "face_terminal" and put.json["heading_deg"] == 0.0
    faces = api.get(f"{API}/floors/{floor_id}/terminals?kind=face_terminal&sort=code&dir=desc", headers=a).json
    assert "C-1" in [t["code"] for t in faces["items"]] and {t["kind"] for t in faces["items"]} == {"face_terminal"}
    searched = api.get(f"{API}/floors/{floor_id}/terminals?q=HK-30", headers=a).json["items"]
    assert searched and all("HK-30" in t["serial"] for t in searched)
    bad_filter = api.get(f"{API}/floors/{floor_id}/terminals?status=gone", headers=a)
    assert bad_filter.status_code == 422 and bad_filter.json["field"] == "status"
    assert api.delete(url, headers=a).status_code == 204
    assert api.get(url, headers=a).status_code == 404


def test_camera_model_crud(api, a, demo_app):
    shared = api.get(f"{API}/camera-models", headers=a).json["items"]
    assert shared and all(m["organisation_id"] is None for m in shared)
    body = {"manufacturer": "Acme", "model": "V1", "hpx": 2560, "hfov_min_deg": 30, "hfov_max_deg": 100}
    created = api.post(f"{API}/camera-models", headers=a, json=body)
    assert created.status_code == 201 and created.json["varifocal"] is True
    model = created.json
    url = f"{API}/camera-models/{model['id']}"
    assert api.get(url, headers=a).json == model
    assert api.post(f"{API}/camera-models", headers=a, json=body).status_code == 409  # same model twice
    narrow = api.patch(url, headers=a, json={"hfov_min_deg": 120})
    assert narrow.status_code == 422 and narrow.json["field"] == "hfov_min_deg"
    assert api.patch(url, headers=a, json={"ir_range_m": 40}).json["ir_range_m"] == 40.0
    # The shared library is read-only for managers.
    assert api.patch(f"{API}/camera-models/{shared[0]['id']}", headers=a, json={"hpx": 1000}).status_code == 403
    # A model in use cannot be deleted. (No rule evaluation: a finding on M-1 would keep it as a removed record.)
    demo_app.config["COMPLIANCE_AUTO_EVALUATE"] = False
    floor_id = api.get(f"{API}/venues", headers=a).json["items"][0]["floor_ids"][0]
    terminal = api.post(f"{API}/floors/{floor_id}/terminals", headers=a, json={
        "code": "M-1", "kind": "camera", "x": 0, "y": 0, "camera_model_id": model["id"]}).json
    in_use = api.delete(url, headers=a)
    assert in_use.status_code == 422 and in_use.json["error"] == "1 terminal(s) still use this model"
    api.delete(f"{API}/terminals/{terminal['id']}", headers=a)
    assert api.delete(url, headers=a).status_code == 204
    assert api.get(url, headers=a).status_code == 404


def test_admin_chooses_the_organisation(api, demo_app, ids, a):
    admin = _token(demo_app, ADMIN)
    body = {"name": "Admin Venue", "type": "bank", "district": "Huangpu"}
    missing = api.post(f"{API}/venues", headers=admin, json=body)
    assert missing.status_code == 422 and missing.json["field"] == "organisation_id"
    assert api.post(f"{API}/venues", headers=admin, json={**body, "organisation_id": 99999}).status_code == 422
    created = api.post(f"{API}/venues", headers=admin, json={**body, "organisation_id": ids["b_org"]})
    assert created.status_code == 201 and created.json["organisation_id"] == ids["b_org"]
    # A manager cannot place a venue in another organisation.
    other = api.post(f"{API}/venues", headers=a, json={**body, "organisation_id": ids["b_org"]})
    assert other.status_code == 422 and other.json["field"] == "organisation_id"
    own = api.post(f"{API}/venues", headers=a, json={**body, "organisation_id": ids["a_org"]})
    assert own.status_code == 201 and own.json["organisation_id"] == ids["a_org"]


# ---------------------------------------------------------------- bad input


GOOD = {"code": "N-1", "kind": "camera", "x": 1.0, "y": 2.0}


@pytest.mark.parametrize("change, field, message", [
    ({"x": "abc"}, "x", "must be a number, not a string"),
    ({"x": "3.5"}, "x", "must be a number, not a string"),
    ({"x": True}, "x", "must be a number, not a boolean"),
    ({"y": [1]}, "y", "must be a number, not an array"),
    ({"hfov_deg": 0}, "hfov_deg", "field of view must lie between 0.1 and 360 degrees"),
    ({"hfov_deg": 360.5}, "hfov_deg", "field of view must lie between 0.1 and 360 degrees"),
    ({"hfov_deg": 5e-324}, "hfov_deg", "field of view must lie between 0.1 and 360 degrees"),
    ({"tilt_deg": 95}, "tilt_deg", "must be at most 90"),
    ({"hpx": 1920.5}, "hpx", "must be a whole number"),
    ({"kind": "drone"}, "kind", "'drone' is not one of: camera, face_terminal, access_reader, other"),
    ({"status": "lost"}, "status", "'lost' is not one of: active, planned_removal, removed, verified_removed"),
    ({"kind": 3}, "kind", "must be a string, not a number"),
    ({"face_recognition": "yes"}, "face_recognition", "must be true or false, not a string"),
    ({"installed_on": "01/05/2024"}, "installed_on", "'01/05/2024' is not a date (YYYY-MM-DD)"),
    ({"code": None}, "code", "is required"),
    ({"code": "x" * 51}, "code", "must be at most 50 characters"),
    ({"colour": "red"}, "colour", "is not a known field"),
    ({"id": 5}, "id", "is not a known field"),
    ({"serial": "HK-301"}, "serial", "serial 'HK-301' is already used in this venue"),
    ({"code": "C-301"}, "code", "ID 'C-301' is already used on this floor"),
    ({"camera_model_id": 99999}, "camera_model_id", "no such camera model"),
])
def test_bad_terminal_input_is_named_and_nothing_saved(api, a, ids, demo_app, change, field, message):
    before = _count(demo_app, Terminal)
    body = {k: v for k, v in {**GOOD, **change}.items()}
    response = api.post(f"{API}/floors/{ids['a_floor']}/terminals", headers=a, json=body)
    assert response.status_code == 422
    assert response.json == {"error": message, "field": field}
    assert _count(demo_app, Terminal) == before


def test_missing_required_fields(api, a, ids):
    response = api.post(f"{API}/floors/{ids['a_floor']}/terminals", headers=a, json={"code": "N-1"})
    assert response.status_code == 422 and response.json == {"error": "is required", "field": "kind"}


@pytest.mark.parametrize("kwargs, status, error", [
    ({"data": "code=N-1", "content_type": "application/x-www-form-urlencoded"}, 415,
     "send a JSON object with Content-Type: application/json"),
    ({"data": "{not json", "content_type": "application/json"}, 400, "the body is not valid JSON"),
    ({"json": [GOOD]}, 422, "the body must be a JSON object"),
    ({"json": "N-1"}, 422, "the body must be a JSON object"),
])
def test_non_json_bodies_are_refused(api, a, ids, demo_app, kwargs, status, error):
    before = _count(demo_app, Terminal)
    response = api.post(f"{API}/floors/{ids['a_floor']}/terminals", headers=a, **kwargs)
    assert response.status_code == status and response.json == {"error": error, "field": None}
    assert _count(demo_app, Terminal) == before


def test_failed_update_changes_nothing(api, a, ids, demo_app):
    url = f"{API}/terminals/{ids['a_terminal']}"
    before = api.get(url, headers=a).json
    response = api.patch(url, headers=a, json={"heading_deg": 45, "hfov_deg": -1})
    assert response.status_code == 422 and response.json["field"] == "hfov_deg"
    assert api.get(url, headers=a).json == before
    with demo_app.app_context():
        assert db.session.get(Terminal, ids["a_terminal"]).heading_deg == before["heading_deg"]


def test_bad_venue_and_floor_input(api, a, ids):
    bad_type = api.post(f"{API}/venues", headers=a, json={"name": "X", "type": "casino", "district": "Huangpu"})
    assert bad_type.status_code == 422 and bad_type.json["field"] == "type"
    bad_level = api.post(f"{API}/venues/{ids['a_venue']}/floors", headers=a, json={"level": "2", "name": "x"})
    assert bad_level.status_code == 422 and bad_level.json == {"error": "must be a number, not a string",
                                                               "field": "level"}
    too_high = api.patch(f"{API}/floors/{ids['a_floor']}", headers=a, json={"level": 301})
    assert too_high.status_code == 422 and too_high.json == {"error": "must be at most 300", "field": "level"}


def test_unknown_route_and_method_answer_json(api, a, ids):
    missing = api.get(f"{API}/nothing-here", headers=a)
    assert missing.status_code == 404 and missing.json["field"] is None
    wrong = api.post(f"{API}/terminals/{ids['a_terminal']}", headers=a, json={})
    assert wrong.status_code == 405 and "error" in wrong.json


# ---------------------------------------------------------------- role isolation


def _every_call(ids: dict[str, int], key: str) -> list[tuple[str, str, dict | None]]:
    venue, floor, terminal = ids[f"{key}_venue"], ids[f"{key}_floor"], ids[f"{key}_terminal"]
    return [
        ("get", f"{API}/venues/{venue}", None), ("patch", f"{API}/venues/{venue}", {"name": "x"}),
        ("put", f"{API}/venues/{venue}", {"name": "x", "type": "hotel", "district": "Huangpu"}),
        ("delete", f"{API}/venues/{venue}", None),
        ("get", f"{API}/venues/{venue}/floors", None),
        ("post", f"{API}/venues/{venue}/floors", {"level": 50, "name": "x"}),
        ("get", f"{API}/floors/{floor}", None), ("patch", f"{API}/floors/{floor}", {"name": "x"}),
        ("delete", f"{API}/floors/{floor}", None),
        ("get", f"{API}/floors/{floor}/terminals", None),
        ("post", f"{API}/floors/{floor}/terminals", GOOD),
        ("get", f"{API}/terminals/{terminal}", None), ("patch", f"{API}/terminals/{terminal}", {"x": 1}),
        ("put", f"{API}/terminals/{terminal}", GOOD), ("delete", f"{API}/terminals/{terminal}", None),
    ]


def test_manager_a_gets_404_on_organisation_b(api, a, ids, demo_app):
    names = [v["name"] for v in api.get(f"{API}/venues", headers=a).json["items"]]
    assert "FreshMart Jing'an" not in names
    before = {m: _count(demo_app, m) for m in (Venue, Floor, Terminal)}
    for method, url, body in _every_call(ids, "b"):
        response = getattr(api, method)(url, headers=a, json=body)
        assert response.status_code == 404, (method, url)
        assert response.json["field"] is None and "FreshMart" not in response.get_data(as_text=True)
    assert {m: _count(demo_app, m) for m in (Venue, Floor, Terminal)} == before


def test_camera_models_of_another_organisation_are_invisible(api, a, demo_app, ids):
    with demo_app.app_context():
        model = CameraModel(organisation_id=ids["b_org"], manufacturer="FreshCam", model="F1", hpx=1920,
                            hfov_min_deg=90, hfov_max_deg=90)
        db.session.add(model)
        db.session.commit()
        model_id = model.id
    assert model_id not in [m["id"] for m in api.get(f"{API}/camera-models", headers=a).json["items"]]
    for method in ("get", "patch", "delete"):
        assert getattr(api, method)(f"{API}/camera-models/{model_id}", headers=a, json={"hpx": 2000}).status_code == 404
    used = api.post(f"{API}/floors/{ids['a_floor']}/terminals", headers=a, json={**GOOD, "camera_model_id": model_id})
    assert used.status_code == 422 and used.json["field"] == "camera_model_id"
    assert api.get(f"{API}/camera-models/{model_id}", headers=_token(demo_app, MANAGER_B)).status_code == 200


def test_inspector_reads_but_gets_403_on_writes(api, ids, demo_app):
    inspector = _token(demo_app, INSPECTOR_CITY)
    before = {m: _count(demo_app, m) for m in (Venue, Floor, Terminal)}
    for method, url, body in _every_call(ids, "b"):
        response = getattr(api, method)(url, headers=inspector, json=body)
        assert response.status_code == (200 if method == "get" else 403), (method, url)
    assert api.post(f"{API}/venues", headers=inspector, json={"name": "x", "type": "hotel",
                                                              "district": "Huangpu"}).status_code == 403
    assert api.post(f"{API}/camera-models", headers=inspector, json={
        "manufacturer": "A", "model": "B", "hpx": 1920, "hfov_min_deg": 90, "hfov_max_deg": 90}).status_code == 403
    assert {m: _count(demo_app, m) for m in (Venue, Floor, Terminal)} == before


def test_district_inspector_gets_404_outside_the_district(api, ids, demo_app):
    songjiang = _token(demo_app, INSPECTOR_SONGJIANG)
    names = [v["name"] for v in api.get(f"{API}/venues", headers=songjiang).json["items"]]
    assert names == ["Blue Wave Natatorium"]
    for method, url, body in _every_call(ids, "b"):
        assert getattr(api, method)(url, headers=songjiang, json=body).status_code == 404, (method, url)


def test_planner_is_limited_to_assigned_organisations(api, ids, demo_app):
    from accounts.cli import create_user

    with demo_app.app_context():
        create_user("planner-a@sightline.example", "Hotel Planner", DEMO_PASSWORD, Role.PLANNER,
                    planned=["Huangpu Hospitality Group"])
        db.session.commit()
    planner = _token(demo_app, "planner-a@sightline.example")
    names = [v["name"] for v in api.get(f"{API}/venues", headers=planner).json["items"]]
    assert names == ["Bund View Hotel"]
    assert api.get(f"{API}/terminals/{ids['a_terminal']}", headers=planner).status_code == 200
    for method, url, body in _every_call(ids, "b"):
        assert getattr(api, method)(url, headers=planner, json=body).status_code == 404, (method, url)
    # Planners change zones, not the inventory: visible inventory is read-only for them.
    assert api.patch(f"{API}/terminals/{ids['a_terminal']}", headers=planner, json={"x": 1}).status_code == 403
    everyone = _token(demo_app, PLANNER)
    assert len(api.get(f"{API}/venues", headers=everyone).json["items"]) == 3


# ---------------------------------------------------------------- session auth and CSRF


def _csrf(text: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', text) or re.search(
        r'name="csrf_token" value="([^"]+)"', text)
    assert match
    return match.group(1)


def test_session_writes_need_the_csrf_token(csrf_app):
    from tests.conftest import seed

    seed(csrf_app)
    client = csrf_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    me = client.get(f"{API}/me")
    assert me.status_code == 200 and me.json["auth"] == "session"
    venue_id = client.get(f"{API}/venues").json["items"][0]["id"]
    body = {"level": 7, "name": "Level 7"}
    refused = client.post(f"{API}/venues/{venue_id}/floors", json=body)
    assert refused.status_code == 400 and refused.json["field"] == "csrf_token"
    assert client.patch(f"{API}/venues/{venue_id}", json={"name": "x"}).status_code == 400
    assert client.delete(f"{API}/venues/{venue_id}").status_code == 400
    assert client.get(f"{API}/venues/{venue_id}").json["name"] == "Bund View Hotel"
    page_token = _csrf(client.get("/").get_data(as_text=True))
    accepted = client.post(f"{API}/venues/{venue_id}/floors", json=body, headers={"X-CSRFToken": page_token})
    assert accepted.status_code == 201 and accepted.json["level"] == 7


def test_token_writes_need_no_csrf_token(csrf_app):
    from tests.conftest import seed

    seed(csrf_app)
    headers = _token(csrf_app, MANAGER_A)
    client = csrf_app.test_client()
    venue_id = client.get(f"{API}/venues", headers=headers).json["items"][0]["id"]
    response = client.post(f"{API}/venues/{venue_id}/floors", headers=headers, json={"level": 8, "name": "Level 8"})
    assert response.status_code == 201
