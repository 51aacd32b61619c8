"""Browser tests (Playwright, system Chromium): the inventory pages, plan upload and calibration, and the floor editor."""

from __future__ import annotations

import io
import math
import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import login
from tests.browser.site import wait_until

# The documentation's screenshot is refreshed only on request (SIGHTLINE_SCREENSHOTS=1), so a test run leaves the
# checkout clean; otherwise it goes to pytest's temporary folder and is still taken (the page must render).
DOC_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "floor-editor.png"


def _screenshot_path(tmp_path: Path) -> Path:
    """Where the editor screenshot goes: the docs image when asked for, else the test's temporary folder."""
    return DOC_SCREENSHOT if os.environ.get("SIGHTLINE_SCREENSHOTS") == "1" else tmp_path / "floor-editor.png"


def _click_map(page, selector: str, map_var: str, lat: float, lng: float) -> None:  # type: ignore[no-untyped-def]
    """Click the Leaflet map at a LatLng (floor metres are LatLng(y, x); calibration pixels LatLng(-y, x))."""
    box = page.locator(selector).bounding_box()
    point = page.evaluate(f"([a, b]) => {{ const p = window.{map_var}.latLngToContainerPoint([a, b]); return [p.x, p.y]; }}",
                          [lat, lng])
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_timeout(150)


def _click_floor(page, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    _click_map(page, "#floor-map", "sightlineFloorMap", y, x)


def _screen(page, x: float, y: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Page coordinates of a floor position on the editor map."""
    box = page.locator("#floor-map").bounding_box()
    point = page.evaluate("([a, b]) => { const p = window.sightlineFloorMap.latLngToContainerPoint([a, b]); "
                          "return [p.x, p.y]; }", [y, x])
    return box["x"] + point[0], box["y"] + point[1]


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:  # type: ignore[no-untyped-def]
    """Press, move in steps (so Leaflet sees a drag) and release."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()
    page.wait_for_timeout(150)


def _wait_saved(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the autosave indicator says everything is saved."""
    wait_until(page, "document.querySelector('#floor-editor').dataset.saveState === 'saved'", timeout_s=20)


def _export(page, floor_id: int) -> dict:  # type: ignore[no-untyped-def]
    response = page.request.get(f"/api/v1/floors/{floor_id}/geojson")
    assert response.ok
    return response.json()


def _plan_png(tmp_path: Path) -> Path:
    """An 800 x 500 px plan drawing: a room outline and a partition."""
    im = Image.new("RGB", (800, 500), "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle((100, 100, 700, 400), outline="black", width=4)
    draw.line((400, 100, 400, 400), fill="black", width=3)
    draw.line((100, 450, 500, 450), fill="blue", width=2)  # a 400 px dimension line
    path = tmp_path / "plan.png"
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def test_foundation_create_venue_floor_terminal(page):  # type: ignore[no-untyped-def]
    login(page)
    page.click("text=New venue")
    page.fill("#f-name", "Riverside Inn")
    page.select_option("#f-type", "hotel")
    page.select_option("#f-district", "Huangpu")
    page.fill("#f-address", "1 River Rd")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/venues/\d+$"))
    page.click("text=New floor")
    page.fill("#f-level", "1")
    page.fill("#f-name", "Lobby")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/floors/\d+$"))
    page.click("text=New terminal")
    page.fill("#f-code", "C-100")
    page.select_option("#f-kind", "camera")
    page.fill("#f-x", "3.5")
    page.fill("#f-y", "4")
    page.fill("#f-heading_deg", "90")
    page.fill("#f-serial", "SN-100")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/floors/\d+$"))
    row = page.locator("#terminal-table tr", has_text="C-100")
    assert row.count() == 1
    assert "SN-100" in row.inner_text()
    assert not page.errors  # type: ignore[attr-defined]


def test_upload_calibrate_draw_and_reload(page, tmp_path):  # type: ignore[no-untyped-def]
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=New floor")
    page.fill("#f-level", "7")
    page.fill("#f-name", "Roof bar")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/floors/\d+$"))
    floor_id = int(page.url.rsplit("/", 1)[1])

    # Upload an image: it becomes the background and the calibration page opens.
    page.click("text=Upload plan")
    page.set_input_files("#plan-file", str(_plan_png(tmp_path)))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/floors/{floor_id}/calibrate$"))
    wait_until(page, "window.sightlineCalibrateMap !== undefined")
    # Two clicks on the ends of the 400 px dimension line, then its real length: 20 m.
    _click_map(page, "#calibrate-map", "sightlineCalibrateMap", -450, 100)
    _click_map(page, "#calibrate-map", "sightlineCalibrateMap", -450, 500)
    assert abs(float(page.input_value("#cal-x1")) - 100) < 1.5
    assert abs(float(page.input_value("#cal-x2")) - 500) < 1.5
    page.fill("#cal-distance", "20")
    page.click("#cal-save")
    page.wait_for_url(re.compile(rf"/floors/{floor_id}$"))
    page.wait_for_selector("#floor-editor[data-ready='1']")
    editor = page.request.get(f"/api/v1/floors/{floor_id}/editor").json()
    meta = editor["background"]["meta"]
    assert meta["metres_per_px"] == pytest.approx(0.05, rel=0.01)

    # Draw a wall (a line: click the last point again to finish).
    page.click("[data-tool=wall]")
    _click_floor(page, 15.0, 2.0)
    _click_floor(page, 15.0, 12.0)
    _click_floor(page, 15.0, 12.0)
    page.keyboard.press("Escape")
    _wait_saved(page)
    # A second wall started a few pixels off the first one's end snaps onto that end.
    page.click("[data-tool=wall]")
    _click_floor(page, 15.12, 12.1)
    _click_floor(page, 25.0, 12.0)
    _click_floor(page, 25.0, 12.0)
    page.keyboard.press("Escape")
    _wait_saved(page)
    walls = [f["geometry"]["coordinates"] for f in _export(page, floor_id)["features"]
             if f["properties"]["kind"] == "wall"]
    assert len(walls) == 2 and walls[1][0] == walls[0][1]
    # Undo removes the second wall again (and the undo is saved).
    page.click("[data-action=undo]")
    _wait_saved(page)
    assert len([f for f in _export(page, floor_id)["features"] if f["properties"]["kind"] == "wall"]) == 1

    # Draw a zone (a polygon: click the first point again to close it), then make it a private toilet.
    page.click("[data-tool=zone]")
    for x, y in ((3.0, 3.0), (9.0, 3.0), (9.0, 9.0), (3.0, 9.0), (3.0, 3.0)):
        _click_floor(page, x, y)
    page.wait_for_selector(".fe-panel form[data-form=zone]")
    panel = page.locator(".fe-panel form[data-form=zone]")
    panel.locator("input[name=name]").fill("Staff toilet")
    panel.locator("select[name=zone]").select_option("private")
    panel.locator("input[name=use]").fill("toilet")
    panel.locator("button[data-action=apply]").click()
    _wait_saved(page)

    # Place a camera and turn it with the heading input.
    page.click("[data-tool=camera]")
    _click_floor(page, 20.0, 6.0)
    page.wait_for_selector(".fe-panel form[data-form=terminal]")
    _wait_saved(page)
    # Drag the camera 2 m east, then drag its rotate handle due north (heading 90°, y up).
    _drag(page, _screen(page, 20.0, 6.0), _screen(page, 22.0, 6.0))
    _wait_saved(page)
    handle = page.locator(".fe-rot").bounding_box()
    start = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    camera = _screen(page, 22.0, 6.0)
    _drag(page, start, (camera[0], camera[1] - 60))
    form = page.locator(".fe-panel form[data-form=terminal]")
    assert float(form.locator("input[name=heading_deg]").input_value()) == pytest.approx(90, abs=2)
    _wait_saved(page)
    placed = next(f for f in _export(page, floor_id)["features"] if f["properties"]["kind"] == "terminal")
    assert math.dist(placed["geometry"]["coordinates"], (22.0, 6.0)) < 0.3
    assert placed["properties"]["heading_deg"] == pytest.approx(90, abs=2)
    form.locator("input[name=heading_deg]").fill("180")
    form.locator("button[data-action=apply]").click()
    _wait_saved(page)
    assert not page.errors  # type: ignore[attr-defined]
    # The terminal table below the map is refreshed with the camera placed on the map.
    page.wait_for_selector("#terminal-table tr:has-text('C-1')")

    before = _export(page, floor_id)
    kinds = sorted(f["properties"]["kind"] for f in before["features"])
    assert kinds == ["outline", "terminal", "wall", "zone"]
    wall = next(f for f in before["features"] if f["properties"]["kind"] == "wall")
    (x0, y0), (x1, y1) = wall["geometry"]["coordinates"]
    assert math.dist((x0, y0), (15.0, 2.0)) < 0.3 and math.dist((x1, y1), (15.0, 12.0)) < 0.3
    zone = next(f for f in before["features"] if f["properties"]["kind"] == "zone")
    assert zone["properties"]["zone"] == "private" and zone["properties"]["name"] == "Staff toilet"
    assert zone["properties"]["use"] == "toilet"
    camera = next(f for f in before["features"] if f["properties"]["kind"] == "terminal")
    assert math.dist(camera["geometry"]["coordinates"], (22.0, 6.0)) < 0.3
    assert camera["properties"]["heading_deg"] == 180

    # Reload: the editor shows the same geometry, and the server still holds it.
    page.reload()
    page.wait_for_selector("#floor-editor[data-ready='1']")
    assert page.locator("path.fe-zone-private").count() == 1
    assert page.locator(".fe-cam").count() == 1
    assert _export(page, floor_id)["features"] == before["features"]
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.views) >= 1")


def test_failed_save_is_shown_and_edit_kept(page):  # type: ignore[no-untyped-def]
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    # A camera outside the floor outline: the server refuses the whole save and names the terminal.
    page.evaluate("window.sightlineFloorMap.setZoom(window.sightlineFloorMap.getZoom() - 1)")
    page.click("[data-tool=camera]")
    _click_floor(page, 50.0, 9.0)
    wait_until(page, "document.querySelector('#floor-editor').dataset.saveState === 'failed'", timeout_s=20)
    error = page.locator("[data-role=error]").inner_text()
    assert "outside the floor outline" in error and "C-1" in error
    assert page.locator(".fe-cam", has_text="C-1").count() == 1  # the edit is kept in the editor
    floor_id = int(page.url.rsplit("/", 1)[1])
    assert all(f["properties"].get("id") != "C-1" for f in _export(page, floor_id)["features"])
    page.click("[data-action=undo]")
    _wait_saved(page)
    assert page.locator(".fe-cam", has_text="C-1").count() == 0


def test_demo_floor_shows_clipped_views_and_red_intrusion(page, tmp_path):  # type: ignore[no-untyped-def]
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.views) >= 5", timeout_s=30)
    floor_id = int(page.url.rsplit("/", 1)[1])
    overlays = page.request.get(f"/api/v1/floors/{floor_id}/overlays").json()
    intrusions = [f for f in overlays["features"] if f["properties"]["layer"] == "private_intrusion"]
    # C-305 is aimed at the women's toilet's doorless entrance (inventory/demo_plans.py).
    assert any(f["properties"]["terminal"] == "C-305" and "toilet" in f["properties"]["zone"] for f in intrusions)
    assert int(page.get_attribute("#floor-editor", "data-intrusions")) >= 1
    red = page.locator(".leaflet-fe-intrusions-pane path.fe-ov-intrusion")
    assert red.count() >= 1
    assert red.first.get_attribute("fill") == "#e53935"
    # Cross-hatched as well as red, so the intrusion does not rely on colour alone.
    assert "fe-intrusion-hatch" in red.first.evaluate("p => getComputedStyle(p).fill")
    # The views drawn are the server's wall-clipped polygons: C-303 in the corridor sees no guest room.
    views = [f for f in overlays["features"] if f["properties"]["layer"] == "view"]
    assert {f["properties"]["terminal"] for f in views} >= {"C-301", "C-302", "C-303", "C-305"}
    assert page.locator(".fe-cam.forbidden", has_text="C-305").count() == 1
    assert page.locator(".fe-cam.forbidden", has_text="C-303").count() == 0
    assert "private intrusion" in page.inner_text("[data-role=summary]")
    page.locator(".fe-cam", has_text="C-305").click()
    page.wait_for_selector(".fe-panel form[data-form=terminal]")
    assert "of private zone Public toilet (women)" in page.inner_text(".fe-panel")
    time.sleep(0.3)
    screenshot = _screenshot_path(tmp_path)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#floor-editor").screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 10_000
    assert not page.errors  # type: ignore[attr-defined]


def test_planner_edits_zones_only(page):  # type: ignore[no-untyped-def]
    login(page, "planner@sightline.example")
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    assert page.locator("[data-tool=zone]").is_visible() and not page.locator("[data-tool=wall]").is_visible()
    assert not page.locator("[data-tool=camera]").is_visible()
    page.click("[data-tool=zone]")
    for x, y in ((20.0, 8.0), (24.0, 8.0), (24.0, 10.0), (20.0, 10.0), (20.0, 8.0)):
        _click_floor(page, x, y)
    form = page.locator(".fe-panel form[data-form=zone]")
    form.locator("input[name=name]").fill("Lift car")
    form.locator("input[name=use]").fill("lift_car")
    form.locator("input[name=use]").dispatch_event("change")
    assert form.locator("select[name=zone]").input_value() == "required"  # from the hotel's zone templates
    form.locator("button[data-action=apply]").click()
    _wait_saved(page)
    floor_id = int(page.url.rsplit("/", 1)[1])
    zones = [f["properties"] for f in _export(page, floor_id)["features"] if f["properties"]["kind"] == "zone"]
    assert {"kind": "zone", "zone": "required", "name": "Lift car", "k": 1, "tier": "observe", "use": "lift_car"} in zones
    assert not page.errors  # type: ignore[attr-defined]


def test_table_edit_moves_the_map(page):  # type: ignore[no-untyped-def]
    """Turning a camera in the inline-edited terminal table turns it on the map too."""
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    row = page.locator("#terminal-table tr", has_text="C-301")
    row.locator("button", has_text="Edit").click()
    page.locator("#terminal-table tr.editing input[name=heading_deg]").fill("45")
    page.locator("#terminal-table tr.editing button", has_text="Save").click()
    page.wait_for_selector("#terminal-table tr:has-text('C-301'):has-text('45°')")
    wait_until(page, """[...document.querySelectorAll('.fe-cam')].some(
        m => m.textContent.includes('C-301') && m.querySelector('svg').style.transform.includes('-45deg'))""")
    assert not page.errors  # type: ignore[attr-defined]


def test_imdf_import_through_the_preview(page):  # type: ignore[no-untyped-def]
    """Upload an IMDF archive, change a category mapping, re-read, import every level, see the zones on the map."""
    imdf = Path(__file__).resolve().parents[1] / "data" / "imdf" / "pool-venue.zip"
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=New floor")
    page.fill("#f-level", "30")
    page.fill("#f-name", "Spa")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/floors/\d+$"))
    floor_id = int(page.url.rsplit("/", 1)[1])
    page.click("text=Upload plan")
    page.set_input_files("#plan-file", str(imdf))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#import-preview")
    assert "Ground Floor" in page.inner_text("#import-preview") and "Level 1" in page.inner_text("#import-preview")
    page.select_option("select[name='category:lobby']", "required")
    page.click("button:has-text('Re-read with this mapping')")
    wait_until(page, "document.querySelector('#import-preview tbody td:nth-child(7)').textContent.trim() === '1'")
    page.select_option("select[name=level]", "all")
    page.click("#import-confirm")
    page.wait_for_url(re.compile(rf"/floors/{floor_id}$"))
    page.wait_for_selector("#floor-editor[data-ready='1']")
    assert page.locator("path.fe-zone-private").count() == 4
    assert page.locator("path.fe-zone-required").count() == 1
    page.goto("/")
    page.click("text=Bund View Hotel")
    # The second level became a new floor (wait for the venue page: count() does not wait for the navigation).
    page.locator("text=Level 1").first.wait_for()
    assert not page.errors  # type: ignore[attr-defined]


def test_inspector_sees_the_map_read_only(page):  # type: ignore[no-untyped-def]
    login(page, "inspector@shanghai-cac.example")
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.views) >= 5", timeout_s=30)
    assert page.locator("[data-tool]:visible").count() == 0
    assert page.locator(".leaflet-pm-toolbar").count() == 0
    assert page.locator(".leaflet-marker-draggable").count() == 0
    page.locator(".fe-cam", has_text="C-303").click()
    assert page.locator(".fe-panel input[name=heading_deg]").is_disabled()
    assert page.locator(".fe-panel button[data-action=apply]").count() == 0
    assert not page.errors  # type: ignore[attr-defined]


def test_turning_a_camera_in_the_editor_is_one_audit_event(page, live_app):  # type: ignore[no-untyped-def]
    """The editor saves the whole floor, but the server writes only the turned camera; no zone changes id."""
    import sqlalchemy as sa

    from audit.models import AuditEvent
    from extensions import db
    from inventory.models import Zone

    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=Hotel level 3")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.views) >= 5", timeout_s=30)
    floor_id = int(page.url.rsplit("/", 1)[1])
    with live_app.app_context():
        mark = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        zones = dict(db.session.execute(sa.select(Zone.id, Zone.key).where(Zone.floor_id == floor_id)).all())
        db.session.remove()
    page.locator(".fe-cam", has_text="C-301").click()
    form = page.locator(".fe-panel form[data-form=terminal]")
    form.locator("input[name=heading_deg]").fill("135")
    form.locator("button[data-action=apply]").click()
    _wait_saved(page)
    with live_app.app_context():
        events = db.session.execute(sa.select(AuditEvent.object_type, AuditEvent.action, AuditEvent.after)
                                    .where(AuditEvent.id > mark)).all()
        assert [(t, a) for t, a, _ in events] == [("terminal", "update")]
        assert events[0][2]["code"] == "C-301" and events[0][2]["heading_deg"] == 135
        assert dict(db.session.execute(sa.select(Zone.id, Zone.key).where(Zone.floor_id == floor_id)).all()) == zones
        db.session.remove()
    assert not page.errors  # type: ignore[attr-defined]
