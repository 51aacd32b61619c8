"""The floor page's cached parts: terminal table rows (keyed by every column, the language and the edit right), the
findings map and the findings list under it (keyed by the findings generation, the list's items by their rows);
each changes after an edit and is never another reader's."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import render_template_string

from extensions import db
from findings import service
from findings import views as finding_views
from inventory import floor_overlays, services, views
from inventory.choices import TerminalKind, TerminalStatus
from inventory.models import Floor, Terminal
from tests.conftest import MANAGER_A, MANAGER_B, PLANNER
from tests.recording import AttributeRecorder
from tests.web.conftest import page_csrf_token


def _rows(page: str) -> str:
    """The terminal table's body."""
    return re.search(r'<tbody role="rowgroup">(.*?)</tbody>', page, re.S).group(1)


def _squash(html: str) -> str:
    """The markup without the whitespace between tags (the loop indented its includes)."""
    return re.sub(r">\s+<", "><", html.strip())


def _row(page: str, terminal_id: int) -> str:
    return re.search(rf'<tr role="row" id="terminal-{terminal_id}".*?</tr>', page, re.S).group(0)


def _terminal(app, floor_id: int, code: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == floor_id, Terminal.code == code))


@pytest.fixture(autouse=True)
def _empty_caches():
    caches = (views._rows, floor_overlays._memory, finding_views._floor_lists, finding_views._floor_items)
    for cache in caches:
        cache.clear()
    yield
    for cache in caches:
        cache.clear()


def _page(client, floor_id: int) -> str:
    response = client.get(f"/floors/{floor_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("email", [MANAGER_A, PLANNER])
def test_cached_rows_are_what_the_row_template_renders(client, auth, hotel, demo_app, email, language):
    auth.login(email)
    client.post("/language", data={"locale": language, "next": "/"})
    first = _rows(_page(client, hotel))
    assert len(views._rows.items) == first.count('<tr role="row"')  # every row stored
    assert _rows(_page(client, hotel)) == first  # served from the cache
    views._rows.clear()
    assert _rows(_page(client, hotel)) == first  # rendered afresh: the same bytes
    # ... and the bytes the table's former loop of includes renders for these terminals and this reader
    can_edit = email == MANAGER_A
    with demo_app.test_request_context(headers={"Accept-Language": language.replace("_", "-")}):
        # The ORM terminals, where the page renders plain rows: the same attributes must give the same bytes.
        terminals = list(db.session.scalars(sa.select(Terminal).where(
            Terminal.floor_id == hotel, Terminal.removed_at.is_(None)).order_by(Terminal.code, Terminal.id)
            .limit(views.TERMINALS_PER_PAGE)))
        loop = render_template_string(
            '{% for t in terminals %}{% with editing=false, error=none %}{% include "inventory/_terminal_row.html" %}'
            '{% endwith %}{% endfor %}', terminals=terminals, can_edit=can_edit, kinds=TerminalKind,
            statuses=TerminalStatus)
    assert _squash(first) == _squash(loop)


def test_an_inline_edit_changes_the_cached_row(manager, hotel, demo_app):
    terminal_id = _terminal(demo_app, hotel, "C-302")
    before = _row(_page(manager, hotel), terminal_id)
    form = {"code": "C-302", "kind": "camera", "status": "active", "heading_deg": "45", "hfov_deg": "90",
            "serial": "CACHED-ROW-302"}
    saved = manager.post(f"/terminals/{terminal_id}/row", data=form, headers={"HX-Request": "true"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    after = _row(_page(manager, hotel), terminal_id)
    assert "CACHED-ROW-302" in after and "CACHED-ROW-302" not in before
    assert "45°" in after


def test_rows_are_not_shared_across_roles_or_languages(client, auth, hotel, demo_app):
    terminal_id = _terminal(demo_app, hotel, "C-302")
    edit = f'/terminals/{terminal_id}/row?edit=1'
    auth.login(MANAGER_A)
    assert edit in _row(_page(client, hotel), terminal_id) and ">Edit<" in _page(client, hotel)
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    chinese = _row(_page(client, hotel), terminal_id)
    assert "编辑" in chinese and ">Edit<" not in chinese
    auth.logout()
    auth.login(PLANNER)  # reads organisation A's floors, may not edit their inventory
    read_only = _row(_page(client, hotel), terminal_id)
    assert edit not in read_only and "row?edit" not in _rows(_page(client, hotel))
    auth.logout()
    auth.login(MANAGER_B)  # another organisation: the floor is not found, nothing of it is shown
    other = client.get(f"/floors/{hotel}")
    assert other.status_code == 404 and "C-302" not in other.get_data(as_text=True)


def test_the_htmx_table_uses_the_same_rows(manager, hotel):
    whole = _rows(_page(manager, hotel))
    table = manager.get(f"/floors/{hotel}", headers={"HX-Request": "true", "HX-Target": "terminal-table"})
    assert table.status_code == 200 and _rows(table.get_data(as_text=True)) == whole


def _findings(client, floor_id: int):
    return client.get(f"/api/v1/floors/{floor_id}/findings")


def test_a_serial_edit_keeps_the_findings_generation_a_rename_does_not(manager, hotel, demo_app, monkeypatch):
    first = _findings(manager, hotel)
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        version, generation = floor.version, floor_overlays.findings_generation(floor)
    terminal_id = _terminal(demo_app, hotel, "C-302")
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": "GEN-302"}).status_code == 200
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        assert floor.version != version and floor_overlays.findings_generation(floor) == generation
    real = service.floor_findings_geojson
    monkeypatch.setattr(service, "floor_findings_geojson", lambda *a: pytest.fail("the map was built again"))
    again = _findings(manager, hotel)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    monkeypatch.setattr(service, "floor_findings_geojson", real)
    # A renamed terminal changes what the map labels: a new generation, the map built afresh.
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"code": "C-302R"}).status_code == 200
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        assert floor_overlays.findings_generation(floor) not in (generation, version)
    renamed = _findings(manager, hotel).get_json()
    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        assert renamed == service.floor_findings_geojson(db.session.get(Floor, hotel))


def test_the_findings_map_reads_only_the_findings_attributes_of_terminals(demo_app, hotel):
    """What the generation compares: a terminal attribute the map starts reading must join FINDINGS_ATTRIBUTES."""
    read: set[str] = set()

    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        floor = db.session.get(Floor, hotel)
        recorded = AttributeRecorder(floor, terminals=[AttributeRecorder(t, read) for t in floor.terminals])
        assert service.floor_findings_geojson(recorded)["features"]
    assert read and read - {"id"} <= floor_overlays.FINDINGS_ATTRIBUTES


def test_a_new_finding_gives_a_new_generation(manager, hotel, demo_app):
    first = _findings(manager, hotel).get_json()
    feature = first["features"][0]
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        generation, venue_id = floor_overlays.findings_generation(floor), floor.venue_id
    manager.environ_base["HTTP_X_CSRFTOKEN"] = page_csrf_token(manager)
    response = manager.post(f"/api/v1/venues/{venue_id}/findings/{feature['properties']['id']}/accept",
                            json={"justification": "Signed off by the venue's privacy officer for the test."})
    assert response.status_code == 200
    with demo_app.app_context():
        assert floor_overlays.findings_generation(db.session.get(Floor, hotel)) != generation
    status = {f["properties"]["id"]: f["properties"]["status"] for f in _findings(manager, hotel).get_json()["features"]}
    assert status[feature["properties"]["id"]] == "accepted"


def test_unread_versions_keep_the_findings_generation_chain(manager, hotel, demo_app):
    """A burst of serial edits (no map read between them) still carries the generation to the last version."""
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        first_version = floor.version
    terminal_id = _terminal(demo_app, hotel, "C-302")
    for serial in ("BURST-1", "BURST-2", "BURST-3"):
        assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": serial}).status_code == 200
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        assert floor.version != first_version and floor_overlays.findings_generation(floor) == first_version


def test_the_venue_page_counts_zones_without_loading_them(manager, demo_app):
    from inventory.models import Venue, Zone

    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        expected = {f.id: len(f.zones) for f in venue.floors}
        assert services.floor_zone_counts(list(expected)) == expected and any(expected.values())
        venue_id = venue.id
        zones = db.session.scalar(sa.select(sa.func.count()).select_from(Zone).where(Zone.floor_id.in_(expected)))
    page = manager.get(f"/venues/{venue_id}").get_data(as_text=True)
    cells = re.findall(r"</a></td>\s*<td>(\d+)</td>", page)
    assert sorted(int(c) for c in cells) == sorted(expected.values()) and sum(expected.values()) == zones


def test_re_evaluating_an_unchanged_venue_rewrites_no_finding(demo_app, hotel):
    """Stored details are JSON (lists); fresh ones hold shapely's tuples: equal findings must compare equal."""
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        service.evaluate_venue(floor.venue)
        db.session.commit()
        floor = db.session.get(Floor, hotel)
        version, generation = floor.version, floor_overlays.findings_generation(floor)
        assert any((f.detail or {}).get("geometry") for f in service.floor_findings(floor))  # intrusion polygons
        counts = service.evaluate_venue(floor.venue)
        db.session.commit()
        floor = db.session.get(Floor, hotel)
        assert counts["updated"] == 0 and counts["opened"] == 0 and counts["fixed"] == 0
        assert floor.version == version and floor_overlays.findings_generation(floor) == generation


def test_the_map_shows_for_walls_zones_or_terminals_and_follows_edits(manager, demo_app, hotel):
    """The page's map-or-upload choice without reading the structure on every view (cached per version)."""
    from inventory.models import Zone

    with demo_app.app_context():
        venue_id = db.session.get(Floor, hotel).venue_id
    manager.post(f"/venues/{venue_id}/floors/new", data={"level": "32", "name": "Plant room"})
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id, Floor.level == 32))

    def shows_map() -> bool:
        page = _page(manager, floor_id)
        assert ('id="empty-floor"' in page) != ('id="floor-map"' in page)
        return 'id="floor-map"' in page

    assert not shows_map() and not shows_map()  # the second view from the cached answer
    wall = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [5, 0]]},
            "properties": {"kind": "wall", "id": "w1"}}
    with demo_app.app_context():
        db.session.get(Floor, floor_id).structure = [wall]
        db.session.commit()
    assert shows_map()  # a new version: the cached "empty" is not this floor's answer any more
    with demo_app.app_context():
        db.session.get(Floor, floor_id).structure = []
        db.session.commit()
    assert not shows_map()
    with demo_app.app_context():
        db.session.add(Zone(floor_id=floor_id, key="z1", name="Plant", kind="general",
                            geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}))
        db.session.commit()
    assert shows_map()


def _finding_list(page: str) -> str:
    """The findings list under the floor's map."""
    return re.search(r'<section class="card" id="floor-findings">.*?</section>', page, re.S).group(0)


def _list_from_scratch(app, floor_id: int, language: str) -> str:
    """The list's items rendered from the floor's ORM findings now, with the template globals the venue page uses."""
    with app.test_request_context(headers={"Accept-Language": language.replace("_", "-")}):
        findings = service.floor_findings(db.session.get(Floor, floor_id), finding_views.FLOOR_PAGE_FINDINGS)
        return "".join(render_template_string(
            '{% include "compliance/_floor_finding.html" %}', f=f, link=finding_views.finding_link(f),
            message=finding_views.finding_message(f)) for f in findings)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_cached_findings_list_is_what_the_findings_render_and_follows_an_accept(client, auth, hotel, demo_app,
                                                                                    monkeypatch, language):
    auth.login(MANAGER_A)
    client.post("/language", data={"locale": language, "next": "/"})
    first = _finding_list(_page(client, hotel))
    expected = _list_from_scratch(demo_app, hotel, language)
    assert expected.count("<li") >= 2 and _squash(expected) in _squash(first)
    # Served again without reading a finding: the list is kept for the findings generation.
    real = service.floor_finding_rows
    monkeypatch.setattr(service, "floor_finding_rows", lambda *a: pytest.fail("the findings were read again"))
    assert _finding_list(_page(client, hotel)) == first
    # A serial edit keeps the generation, and the list.
    terminal_id = _terminal(demo_app, hotel, "C-302")
    assert client.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": "LIST-302"},
                        headers={"X-CSRFToken": page_csrf_token(client)}).status_code == 200
    assert _finding_list(_page(client, hotel)) == first
    monkeypatch.setattr(service, "floor_finding_rows", real)
    # Accepting a finding is a new generation: the next view shows it accepted, as rendered from scratch.
    with demo_app.app_context():
        finding = service.floor_findings(db.session.get(Floor, hotel))[0]
        finding_id, venue_id = finding.id, finding.venue_id
    response = client.post(f"/api/v1/venues/{venue_id}/findings/{finding_id}/accept",
                           json={"justification": "Signed off by the venue's privacy officer for the test."},
                           headers={"X-CSRFToken": page_csrf_token(client)})
    assert response.status_code == 200
    after = _finding_list(_page(client, hotel))
    assert after != first and _squash(_list_from_scratch(demo_app, hotel, language)) in _squash(after)
    assert after.count("muted\">(") == first.count("muted\">(") + 1  # one more "(accepted)"


def test_findings_list_items_are_not_shared_across_languages(client, auth, hotel):
    auth.login(MANAGER_A)
    english = _finding_list(_page(client, hotel))
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    chinese = _finding_list(_page(client, hotel))
    assert "Compliance findings on this floor" in english and "Compliance findings on this floor" not in chinese
    assert english.count("<li") == chinese.count("<li") >= 2 and english != chinese
