"""Compliance pages and API: the venue list badge, the venue findings page (filters, links to the offender on the
map), accepting with a justification (roles, CSRF, bad input), the findings API, and the floor map's findings."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from compliance.models import Finding
from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import (
    ADMIN,
    DEMO_PASSWORD,
    INSPECTOR_CITY,
    INSPECTOR_SONGJIANG,
    MANAGER_A,
    MANAGER_B,
    PLANNER,
    seed,
)


def _ids(app, venue_name: str) -> tuple[int, int]:
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == venue_name))
        return venue.id, venue.floors[0].id


def _finding(app, venue_name: str, rule_id: str, subject: str) -> Finding:
    with app.app_context():
        venue_id, _floor = _ids(app, venue_name)
        f = db.session.scalar(sa.select(Finding).where(Finding.venue_id == venue_id, Finding.rule_id == rule_id,
                                                       Finding.subject == subject).order_by(Finding.id.desc()))
        db.session.expunge(f)
        return f


def test_venue_list_shows_a_compliance_badge_per_venue(client, auth):
    auth.login(ADMIN)
    page = client.get("/").get_data(as_text=True)
    badges = re.findall(r'class="badge (\w+) compliance-badge" href="/venues/(\d+)/compliance[^"]*">([^<]+)<', page)
    assert len(badges) == 3
    by_text = {text for _cls, _vid, text in badges}
    assert "1 prohibited" in by_text  # the hotel: C-305 into the women's toilet
    assert "5 prohibited" in by_text  # the pool: C-6 into both showers; F-L1 inside the changing room (CN-01, 02, 03)


def test_compliance_page_lists_findings_with_a_link_to_the_offender_on_the_map(demo_app, client, auth):
    venue_id, floor_id = _ids(demo_app, "Bund View Hotel")
    auth.login(MANAGER_A)
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    row = re.search(r'<tr id="finding-\d+" class="finding finding-open" data-rule="CN-03" data-subject="C-305".*?</tr>',
                    page, re.S).group(0)
    assert f'href="/floors/{floor_id}?select=C-305#floor-editor"' in row
    assert "Public toilet (women)" in row and "6.42 m² intruding" in row and "Decree No. 799" in row
    assert 'name="justification"' in row  # the manager may accept
    assert "CN-09" in page  # the rules left out are listed with their reason


def test_filters_narrow_the_list_and_bad_values_are_refused(demo_app, client, auth):
    venue_id, _ = _ids(demo_app, "Blue Wave Natatorium")
    auth.login(ADMIN)
    page = client.get(f"/venues/{venue_id}/compliance?severity=prohibited").get_data(as_text=True)
    rules_shown = set(re.findall(r'data-rule="([\w-]+)"', page))
    assert rules_shown == {"CN-01", "CN-02", "CN-03"}
    page = client.get(f"/venues/{venue_id}/compliance?rule=CN-12").get_data(as_text=True)
    assert set(re.findall(r'data-subject="([\w-]+)"', page)) == {"F-1"}
    assert "No findings match" in client.get(f"/venues/{venue_id}/compliance?status=fixed").get_data(as_text=True)
    bad = client.get(f"/venues/{venue_id}/compliance?status=closed")
    assert bad.status_code == 400 and "filter status" in bad.get_data(as_text=True)
    assert client.get(f"/venues/{venue_id}/compliance?rule=XX-99").status_code == 400


def test_other_organisations_get_404_and_inspectors_read_but_cannot_accept(demo_app, client, auth):
    venue_id, _ = _ids(demo_app, "Bund View Hotel")
    f = _finding(demo_app, "Bund View Hotel", "CN-03", "C-305")
    accept = f"/venues/{venue_id}/findings/{f.id}/accept"
    auth.login(MANAGER_B)
    assert client.get(f"/venues/{venue_id}/compliance").status_code == 404
    assert client.post(accept, data={"justification": "x"}).status_code == 404
    assert client.get(f"/api/v1/venues/{venue_id}/findings").status_code == 404
    auth.logout()
    auth.login(INSPECTOR_SONGJIANG)  # Huangpu is not the Songjiang inspector's district
    assert client.get(f"/venues/{venue_id}/compliance").status_code == 404
    auth.logout()
    auth.login(INSPECTOR_CITY)
    page = client.get(f"/venues/{venue_id}/compliance")
    assert page.status_code == 200 and "C-305" in page.get_data(as_text=True)
    assert 'name="justification"' not in page.get_data(as_text=True)
    assert client.post(accept, data={"justification": "looks fine to me"}).status_code == 403
    auth.logout()
    auth.login(PLANNER)
    assert client.post(accept, data={"justification": "planner says so"}).status_code == 403
    assert _finding(demo_app, "Bund View Hotel", "CN-03", "C-305").status == "open"
    # A finding of another venue is not reachable through this venue's URL.
    other = _finding(demo_app, "FreshMart Jing'an", "CN-03", "C-22")
    auth.logout()
    auth.login(MANAGER_A)
    assert client.post(f"/venues/{venue_id}/findings/{other.id}/accept", data={"justification": "x"}).status_code == 404


def test_manager_accepts_with_a_justification(demo_app, client, auth):
    venue_id, _ = _ids(demo_app, "Bund View Hotel")
    f = _finding(demo_app, "Bund View Hotel", "CN-05", "F-306")
    auth.login(MANAGER_A)
    empty = client.post(f"/venues/{venue_id}/findings/{f.id}/accept", data={"justification": "   "})
    assert empty.status_code == 422 and "Justification: is required" in empty.get_data(as_text=True)
    # In Chinese the error names the field by the form's Chinese label, never by its English form name.
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    chinese = client.post(f"/venues/{venue_id}/findings/{f.id}/accept", data={"justification": "   "})
    with demo_app.test_request_context(), force_locale("zh_CN"):
        label, message = gettext("Justification"), gettext("is required: say why the finding is accepted")
    page = chinese.get_data(as_text=True)
    assert label != "Justification" and f"{label}: {message}" in page and "justification:" not in page
    client.post("/language", data={"locale": "en", "next": "/"})
    assert _finding(demo_app, "Bund View Hotel", "CN-05", "F-306").status == "open"
    done = client.post(f"/venues/{venue_id}/findings/{f.id}/accept",
                       data={"justification": "check-in kiosk with an ID desk beside it"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#finding-{f.id}")
    stored = _finding(demo_app, "Bund View Hotel", "CN-05", "F-306")
    assert stored.status == "accepted" and stored.justification == "check-in kiosk with an ID desk beside it"
    page = client.get(f"/venues/{venue_id}/compliance?status=accepted").get_data(as_text=True)
    assert "accepted by Mei Manager" in page and "ID desk beside it" in page


def test_accept_needs_the_csrf_token(csrf_app):
    seed(csrf_app)
    client = csrf_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD, "csrf_token": token})
    venue_id, _ = _ids(csrf_app, "Bund View Hotel")
    f = _finding(csrf_app, "Bund View Hotel", "CN-05", "F-306")
    url = f"/venues/{venue_id}/findings/{f.id}/accept"
    assert client.post(url, data={"justification": "no token"}).status_code == 400
    assert _finding(csrf_app, "Bund View Hotel", "CN-05", "F-306").status == "open"
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(url, data={"justification": "with token", "csrf_token": token}).status_code == 302
    assert _finding(csrf_app, "Bund View Hotel", "CN-05", "F-306").status == "accepted"


def test_findings_api_lists_filters_and_accepts(demo_app, client, auth):
    venue_id, floor_id = _ids(demo_app, "Blue Wave Natatorium")
    auth.login(ADMIN)
    body = client.get(f"/api/v1/venues/{venue_id}/findings?severity=prohibited").get_json()
    got = {(i["rule_id"], i["subject"], i["detail"].get("zone")) for i in body["items"]}
    assert got == {("CN-01", "F-L1", "Women's changing room"), ("CN-02", "F-L1", "Women's changing room"),
                   ("CN-03", "C-6", "Men's showers"), ("CN-03", "C-6", "Women's showers"),
                   ("CN-03", "F-L1", "Women's changing room")}
    assert body["count"] == 5 and all(i["status"] == "open" and i["floor_id"] == floor_id for i in body["items"])
    bad = client.get(f"/api/v1/venues/{venue_id}/findings?status=gone")
    assert bad.status_code == 422 and bad.get_json()["field"] == "status"
    target = next(i for i in body["items"] if i["rule_id"] == "CN-01")
    url = f"/api/v1/venues/{venue_id}/findings/{target['id']}/accept"
    refused = client.post(url, json={"justification": ""})
    assert refused.status_code == 422 and refused.get_json()["field"] == "justification"
    accepted = client.post(url, json={"justification": "locker replaced next week"}).get_json()
    assert accepted["status"] == "accepted" and accepted["justification"] == "locker replaced next week"


def test_floor_map_gets_findings_with_labels_and_the_intruding_area(demo_app, client, auth):
    _venue_id, floor_id = _ids(demo_app, "Bund View Hotel")
    auth.login(MANAGER_A)
    page = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert f'data-findings-url="/api/v1/floors/{floor_id}/findings"' in page
    assert 'id="floor-findings"' in page and f'href="/floors/{floor_id}?select=C-305#floor-editor"' in page
    fc = client.get(f"/api/v1/floors/{floor_id}/findings").get_json()
    intrusion = next(f for f in fc["features"] if f["properties"]["rule_id"] == "CN-03")
    assert intrusion["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert intrusion["properties"]["label"] == "CN-03 C-305 · 6.42 m²"
    point = next(f for f in fc["features"] if f["properties"]["rule_id"] == "CN-05")
    assert point["geometry"]["type"] == "Point" and point["properties"]["terminal"] == "F-306"


def test_editing_a_terminal_in_the_form_fixes_its_finding(demo_app, client, auth):
    venue_id, _ = _ids(demo_app, "Bund View Hotel")
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.venue_id == venue_id, Terminal.code == "C-305"))
        terminal_id = terminal.id
        values = {k: ("" if v is None else v) for k, v in
                  {"code": "C-305", "kind": "camera", "x": terminal.x, "y": terminal.y, "height_m": terminal.height_m,
                   "heading_deg": 90, "hfov_deg": terminal.hfov_deg, "hpx": terminal.hpx,
                   "purpose": terminal.purpose, "serial": terminal.serial, "status": "active"}.items()}
    auth.login(MANAGER_A)
    assert client.post(f"/terminals/{terminal_id}/edit", data=values).status_code == 302
    f = _finding(demo_app, "Bund View Hotel", "CN-03", "C-305")
    assert f.status == "fixed" and f.fixed_reason.startswith("audit event ")
    page = client.get(f"/venues/{venue_id}/compliance?status=fixed").get_data(as_text=True)
    assert "C-305" in page and f.fixed_reason in page


def test_floor_without_findings_says_so(demo_app, client, auth):
    venue_id, _ = _ids(demo_app, "Bund View Hotel")
    auth.login(MANAGER_A)
    with demo_app.app_context():
        floor = Floor(venue_id=venue_id, level=9, name="Roof", structure=[])
        db.session.add(floor)
        db.session.commit()
        floor_id = floor.id
    assert "No open findings on this floor" in client.get(f"/floors/{floor_id}").get_data(as_text=True)
