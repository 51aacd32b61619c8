"""Edits are differences (stable ids, one audit event per change) and every door applies the same floor rules."""

from __future__ import annotations

import io
import json
import math
import re

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from extensions import db
from inventory.models import Terminal, Zone
from tests.conftest import PLANNER
from tests.planner.test_floor import HEADING_EDGES
from tests.web.conftest import page_csrf_token


def _last_event(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def _events_since(app, event_id: int) -> list[tuple[str, str, int | None]]:
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.object_type, AuditEvent.action, AuditEvent.object_id)
                                  .where(AuditEvent.id > event_id).order_by(AuditEvent.id))
        return [tuple(r) for r in rows]


def _zone_rows(app, floor_id: int) -> dict[str, tuple[int, str]]:
    """Zone feature id -> (row id, name)."""
    with app.app_context():
        return {z.key: (z.id, z.name) for z in db.session.scalars(sa.select(Zone).where(Zone.floor_id == floor_id))}


def _features(fc: dict, kind: str) -> list[dict]:
    return [f for f in fc["features"] if f["properties"]["kind"] == kind]


# ---------------------------------------------------------------- edits are differences


def test_turning_one_camera_writes_one_event_and_keeps_every_zone(manager, hotel, demo_app):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zones_before = _zone_rows(demo_app, hotel)
    assert len(zones_before) == 16
    assert sorted(f["id"] for f in _features(fc, "zone")) == sorted(zones_before)
    assert all("id" in f for f in fc["features"] if f["properties"]["kind"] != "terminal")
    camera = next(f for f in _features(fc, "terminal") if f["properties"]["id"] == "C-301")
    camera["properties"]["heading_deg"] = (camera["properties"]["heading_deg"] + 45) % 360
    mark = _last_event(demo_app)
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc)
    assert response.status_code == 200, response.get_json()
    with demo_app.app_context():
        c301 = db.session.scalar(sa.select(Terminal.id).where(Terminal.code == "C-301"))
    assert _events_since(demo_app, mark) == [("terminal", "update", c301)]
    assert _zone_rows(demo_app, hotel) == zones_before


def test_a_zone_keeps_its_id_across_shape_name_and_requirement_edits(manager, hotel, demo_app):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zone = next(f for f in _features(fc, "zone") if f["properties"]["zone"] == "required")
    row_id, _name = _zone_rows(demo_app, hotel)[zone["id"]]
    ring = zone["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    shrunk = [[min(xs) + 0.5, min(ys) + 0.5], [max(xs) - 0.5, min(ys) + 0.5], [max(xs) - 0.5, max(ys) - 0.5],
              [min(xs) + 0.5, max(ys) - 0.5], [min(xs) + 0.5, min(ys) + 0.5]]
    zone["geometry"]["coordinates"] = [shrunk]
    zone["properties"].update(name="Renamed zone", k=2, tier="identify")
    mark = _last_event(demo_app)
    assert manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc).status_code == 200
    assert _events_since(demo_app, mark) == [("zone", "update", row_id)]
    assert _zone_rows(demo_app, hotel)[zone["id"]] == (row_id, "Renamed zone")
    with demo_app.app_context():
        row = db.session.get(Zone, row_id)
        assert (row.k, row.tier.value, row.geometry["coordinates"][0][0]) == (2, "identify", shrunk[0])


def test_planner_zone_save_updates_in_place_and_new_zones_get_ids(client, auth, demo_app, hotel):
    auth.login(PLANNER)
    token = page_csrf_token(client)
    fc = client.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zones = _features(fc, "zone")
    before = _zone_rows(demo_app, hotel)
    zones[0]["properties"]["k"] = 3
    zones.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]]}, "properties": {"kind": "zone", "zone": "general", "name": "New"}})
    mark = _last_event(demo_app)
    response = client.put(f"/api/v1/floors/{hotel}/zones", json={"features": zones}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    assert [(t, a) for t, a, _ in _events_since(demo_app, mark)] == [("zone", "update"), ("zone", "create")]
    after = _zone_rows(demo_app, hotel)
    assert {k: v for k, v in after.items() if k in before} == before
    new_key = next(k for k, (_i, name) in after.items() if name == "New")
    assert new_key and new_key not in before
    assert any(f.get("id") == new_key for f in response.get_json()["floor"]["features"])


def test_walls_keep_their_ids_and_export_round_trips(manager, hotel):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    walls = _features(fc, "wall")
    ids = [w["id"] for w in walls]
    assert len(set(ids)) == len(ids)
    walls[0]["properties"]["see_through"] = True
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc)
    assert response.status_code == 200, response.get_json()
    again = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    assert again == fc
    assert [w["id"] for w in _features(again, "wall")] == ids


def test_duplicate_feature_ids_are_refused(manager, hotel):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    walls = _features(fc, "wall")
    walls[1]["id"] = walls[0]["id"]
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc)
    assert response.status_code == 422 and "duplicate feature id" in response.get_json()["error"]


# ---------------------------------------------------------------- one set of rules for every door


def _terminal(fc: dict, code: str) -> dict:
    return next(f for f in _features(fc, "terminal") if f["properties"]["id"] == code)


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.update(id="X" * 100_000), "id"),
    (lambda p: p.update(hpx=10**6), "hpx"),
    (lambda p: p.update(height_m=10**6), "height_m"),
    (lambda p: p.update(serial={"a": 1}), "serial"),
    (lambda p: p.update(range_m=1e6), "range_m"),
])
def test_geojson_put_applies_the_form_limits(manager, hotel, demo_app, change, field):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    change(_terminal(fc, "C-302")["properties"])
    mark = _last_event(demo_app)
    response = manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"].endswith(field), response.get_json()
    assert len(response.get_json()["field"]) < 200
    assert _events_since(demo_app, mark) == []


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.update(name="N" * 10_000), "name"),
    (lambda p: p.update(k=10**6), "k"),
    (lambda p: p.update(use="u" * 500), "use"),
])
def test_zone_put_applies_the_form_limits(manager, hotel, demo_app, change, field):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zones = _features(fc, "zone")
    change(zones[0]["properties"])
    mark = _last_event(demo_app)
    response = manager.put(f"/api/v1/floors/{hotel}/zones", json={"features": zones})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"].endswith(field), response.get_json()
    assert _events_since(demo_app, mark) == []


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.update(id="X" * 100_000), "id"),
    (lambda p: p.update(hpx=10**6), "hpx"),
    (lambda p: p.update(height_m=10**6), "height_m"),
    (lambda p: p.update(serial={"a": 1}), "serial"),
])
def test_upload_apply_applies_the_form_limits(manager, hotel, demo_app, change, field):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    change(_terminal(fc, "C-302")["properties"])
    data = json.dumps(fc).encode()
    preview = manager.post(f"/floors/{hotel}/upload", data={"file": (io.BytesIO(data), "floor.geojson")},
                           content_type="multipart/form-data")
    token = re.search(r'name="token" value="([0-9a-f]{32})"', preview.get_data(as_text=True)).group(1)
    mark = _last_event(demo_app)
    response = manager.post(f"/floors/{hotel}/upload/apply", data={"token": token, "level": "0"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"{field}: " in page and "floor.geojson" in page
    assert "X" * 100 not in page  # a huge id is shortened in the message
    assert _events_since(demo_app, mark) == []


def test_terminal_outside_the_outline_is_refused_by_the_form(manager, hotel, demo_app):
    data = {"code": "OUT-1", "kind": "camera", "x": "500", "y": "500", "hfov_deg": "90"}
    response = manager.post(f"/floors/{hotel}/terminals/new", data=data)
    assert response.status_code == 422
    assert "outside the floor outline" in response.get_data(as_text=True)
    api = manager.post(f"/api/v1/floors/{hotel}/terminals", json={**data, "x": 500.0, "y": 500.0, "hfov_deg": 90})
    assert api.status_code == 422 and api.get_json()["field"] == "x"
    with demo_app.app_context():
        c301 = db.session.scalar(sa.select(Terminal.id).where(Terminal.code == "C-301"))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Terminal).where(Terminal.code == "OUT-1")) == 0
    moved = manager.patch(f"/api/v1/terminals/{c301}", json={"x": 500.0})
    assert moved.status_code == 422 and "outside the floor outline" in moved.get_json()["error"]


def test_terminal_outside_the_outline_is_refused_by_csv(manager, hotel, demo_app):
    text = "code,kind,x,y\nOUT-2,camera,500,500\n"
    response = manager.post(f"/floors/{hotel}/terminals/import", data={"csv_text": text, "confirm": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "outside the floor outline" in page and ">2<" in page
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Terminal).where(Terminal.code == "OUT-2")) == 0


def test_zone_crossing_the_outline_is_refused(manager, hotel):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    zones = _features(fc, "zone")
    zones.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[-5, -5], [3, -5], [3, 3], [-5, 3], [-5, -5]]]}, "properties": {"kind": "zone", "zone": "general",
                                                                         "name": "Spill"}})
    response = manager.put(f"/api/v1/floors/{hotel}/zones", json={"features": zones})
    assert response.status_code == 422
    assert "zone 'Spill'" in response.get_json()["field"] and "outline" in response.get_json()["error"]


def test_a_bad_terminal_already_stored_does_not_stop_coverage(manager, hotel, demo_app):
    with demo_app.app_context():
        bad = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-304"))
        bad.x, bad.y = 500.0, 500.0  # as an old import left it
        db.session.commit()
    overlays = manager.get(f"/api/v1/floors/{hotel}/overlays")
    assert overlays.status_code == 200, overlays.get_json()
    body = overlays.get_json()
    assert [p["terminal"] for p in body["problems"]] == ["C-304"]
    assert "outside the floor outline" in body["problems"][0]["error"]
    views = {f["properties"]["terminal"] for f in body["features"] if f["properties"]["layer"] == "view"}
    assert "C-301" in views and "C-304" not in views


@pytest.mark.parametrize("field", ["ox", "oy", "x1", "distance_m", "rotation_deg"])
def test_calibration_refuses_nan(manager, demo_app, field):
    from tests.web.test_floor_upload import _new_floor, _png, _upload

    spare = _new_floor(demo_app, manager)
    assert _upload(manager, spare, "plan.png", _png(400, 300)).status_code == 303
    form = {"x1": "0", "y1": "0", "x2": "100", "y2": "0", "distance_m": "5", "ox": "0", "oy": "300",
            "rotation_deg": "0", field: "nan"}
    response = manager.post(f"/floors/{spare}/calibrate", data=form)
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    state = manager.get(f"/api/v1/floors/{spare}/editor")
    json.loads(state.get_data(as_text=True))  # strict JSON: no NaN


def test_editor_state_carries_tier_ranges(manager, hotel):
    from planner.coverage import tier_range

    state = manager.get(f"/api/v1/floors/{hotel}/editor").get_json()
    c301 = _terminal(state["floor"], "C-301")["properties"]
    ranges = state["ranges"]["C-301"]
    assert ranges["detect"] == pytest.approx(tier_range(c301["hfov_deg"], c301["hpx"], "detect"))
    assert ranges["identify"] < ranges["recognise"] < ranges["observe"] < ranges["detect"]


# ---------------------------------------------------------------- one heading rule


@pytest.mark.parametrize("given, stored", HEADING_EDGES)
def test_every_door_uses_the_same_heading_rule(given, stored):
    """The form/API/CSV field cleaner uses the parser's rule (planner.floor.normalise_heading)."""
    from inventory.fields import TERMINAL_FIELDS, clean_value
    from planner.floor import normalise_heading

    heading = next(f for f in TERMINAL_FIELDS if f.name == "heading_deg")
    assert normalise_heading(given) == stored
    for value in (clean_value(heading, given), clean_value(heading, repr(float(given)))):  # JSON, form or CSV cell
        assert value == stored and math.copysign(1.0, value) == 1.0


def test_geojson_put_stores_a_tiny_negative_heading_as_zero(manager, hotel, demo_app):
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    _terminal(fc, "C-301")["properties"]["heading_deg"] = -1e-20
    assert manager.put(f"/api/v1/floors/{hotel}/geojson", json=fc).status_code == 200
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Terminal.heading_deg).where(Terminal.code == "C-301")) == 0.0
    pose = manager.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"heading_deg": -1e-20})
    assert pose.status_code == 200 and pose.get_json()["heading_deg"] == 0.0
