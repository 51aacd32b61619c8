"""The compliance fields through the form, the API and CSV: validated in one place, errors naming the field
(and row), nothing half-saved; a capture zone given by name is stored by the zone's stable id."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from extensions import db
from inventory.models import Terminal, Venue, Zone
from tests.conftest import MANAGER_C


def _pool(app) -> tuple[int, int, int]:
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Blue Wave Natatorium"))
        floor = venue.floors[0]
        f2 = next(t for t in floor.terminals if t.code == "F-2")
        return venue.id, floor.id, f2.id


def test_api_patches_compliance_fields_and_names_the_bad_one(demo_app, client, auth):
    venue_id, floor_id, f2 = _pool(demo_app)
    auth.login(MANAGER_C)
    ok = client.patch(f"/api/v1/terminals/{f2}", json={
        "capture_zone": "Reception and turnstiles", "signage_type": "face_notice", "signage_x": 7.5,
        "signage_y": 2.0, "enrolled_count": 7000, "consent_mechanism": "written", "alternative_verification": "pin"})
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    with demo_app.app_context():
        key = db.session.scalar(sa.select(Zone.key).where(Zone.floor_id == floor_id,
                                                          Zone.name == "Reception and turnstiles"))
    assert body["capture_zone"] == key and body["signage_type"] == "face_notice" and body["enrolled_count"] == 7000
    for patch, field in (({"capture_zone": "Sauna"}, "capture_zone"), ({"signage_x": 3.0, "signage_y": None},
                                                                       "signage_y"),
                         ({"enrolled_count": -1}, "enrolled_count"), ({"consent_mechanism": "maybe"},
                                                                      "consent_mechanism"),
                         ({"signage_x": 500.0, "signage_y": 1.0}, "signage_x")):
        bad = client.patch(f"/api/v1/terminals/{f2}", json=patch)
        assert bad.status_code == 422 and bad.get_json()["field"] == field, (patch, bad.get_json())
    with demo_app.app_context():
        assert db.session.get(Terminal, f2).enrolled_count == 7000  # nothing of a refused patch was saved
    venue = client.patch(f"/api/v1/venues/{venue_id}", json={"compliance_profile": "XX"})
    assert venue.status_code == 422 and venue.get_json()["field"] == "compliance_profile"
    done = client.patch(f"/api/v1/venues/{venue_id}", json={"compliance_profile": "EU", "legal_entity": "BW Ltd"})
    assert done.get_json()["compliance_profile"] == "EU" and done.get_json()["legal_entity"] == "BW Ltd"


def test_terminal_form_shows_and_saves_the_compliance_fields(demo_app, client, auth):
    _venue, _floor, f2 = _pool(demo_app)
    auth.login(MANAGER_C)
    page = client.get(f"/terminals/{f2}/edit").get_data(as_text=True)
    for name in ("signage_type", "signage_x", "necessity_note", "alternative_verification", "consent_mechanism",
                 "enrolled_count", "capture_zone"):
        assert f'name="{name}"' in page, name
    assert '<textarea id="f-necessity_note"' in page


def test_csv_round_trips_the_fields_and_names_the_row_of_a_bad_zone(demo_app, client, auth):
    _venue, floor_id, _f2 = _pool(demo_app)
    auth.login(MANAGER_C)
    text = client.get(f"/floors/{floor_id}/terminals.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"necessity_note", "enrolled_count", "capture_zone", "signage_x"} <= set(rows[0])
    assert next(r for r in rows if r["code"] == "F-1")["enrolled_count"] == "6500"
    for row in rows:
        if row["code"] == "F-2":
            row["capture_zone"] = "Sauna"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    preview = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": out.getvalue()})
    html = preview.get_data(as_text=True)
    number = 2 + [r["code"] for r in rows].index("F-2")
    assert (f'<tr class="error"><td>{number}</td><td>capture_zone</td><td>no zone with id or name &#39;Sauna&#39; '
            'on this floor</td></tr>') in html
