"""Every door that changes the inventory re-evaluates the findings in its own transaction: the floor editor's and
importers' geometry save, CSV import, venue edits, and a plan's approval and work done (named as the fix)."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from compliance.models import Finding
from extensions import db
from inventory.models import Floor, Venue
from plans.models import Plan
from tests.conftest import MANAGER_A, MANAGER_B, PLANNER


def _floor_id(app, venue_name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == venue_name))


def _statuses(app, rule_id: str, subject: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(f.status, f.fixed_reason) for f in db.session.scalars(
            sa.select(Finding).where(Finding.rule_id == rule_id, Finding.subject == subject).order_by(Finding.id))]


def test_floor_geometry_save_re_evaluates(demo_app, client, auth):
    floor_id = _floor_id(demo_app, "Bund View Hotel")
    auth.login(MANAGER_A)
    fc = client.get(f"/api/v1/floors/{floor_id}/geojson").get_json()
    for f in fc["features"]:
        if f["properties"].get("kind") == "terminal" and f["properties"]["id"] == "C-305":
            f["properties"]["heading_deg"] = 90.0
    assert client.put(f"/api/v1/floors/{floor_id}/geojson", json=fc).status_code == 200
    (status, reason), = _statuses(demo_app, "CN-03", "C-305")
    assert status == "fixed" and reason.startswith("audit event ")


def test_terminal_pose_from_the_map_re_evaluates(demo_app, client, auth):
    floor_id = _floor_id(demo_app, "FreshMart Jing'an")
    auth.login(MANAGER_B)
    assert client.patch(f"/api/v1/floors/{floor_id}/terminals/C-22/pose", json={"heading_deg": 180}).status_code == 200
    assert [s for s, _r in _statuses(demo_app, "CN-03", "C-22")] == ["fixed"]


def test_csv_import_re_evaluates(demo_app, client, auth):
    floor_id = _floor_id(demo_app, "FreshMart Jing'an")
    auth.login(MANAGER_B)
    text = client.get(f"/floors/{floor_id}/terminals.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["code"] == "F-01":
            row["purpose"] = "public_security"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    preview = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": out.getvalue()})
    assert "1 to update" in preview.get_data(as_text=True)
    import html as html_lib

    confirm = html_lib.unescape(re.search(r'<textarea name="csv_text" hidden>(.*?)</textarea>',
                                          preview.get_data(as_text=True), re.S).group(1))
    assert client.post(f"/floors/{floor_id}/terminals/import",
                       data={"csv_text": confirm, "confirm": "1"}).status_code == 302
    assert [s for s, _r in _statuses(demo_app, "CN-05", "F-01")] == ["fixed"]
    assert [s for s, _r in _statuses(demo_app, "CN-05", "F-02")] == ["open"]


def test_plan_approval_and_work_done_name_themselves_as_the_fix(demo_app, client, auth):
    floor_id = _floor_id(demo_app, "Bund View Hotel")
    auth.login(PLANNER)
    run = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    plan_id = int(run.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/plans/{plan_id}/approve").status_code == 302
    # Marked for removal, C-305 is still on the wall: its finding stands until the removal is done.
    assert [s for s, _r in _statuses(demo_app, "CN-03", "C-305")] == ["open"]
    with demo_app.app_context():
        item = next(i.id for i in db.session.get(Plan, plan_id).work_items if i.label == "C-305")
    auth.logout()
    auth.login(MANAGER_A)
    assert client.post(f"/plans/{plan_id}/work-items/{item}/done").status_code == 302
    assert _statuses(demo_app, "CN-03", "C-305") == [("fixed", f"plan {plan_id}: remove C-305 done")]
