"""Browser test (Playwright, system Chromium): a DXF upload read by a real `jobs.worker`, polled until the preview."""

from __future__ import annotations

import re

from extensions import db
from tests.browser.conftest import login
from tests.web.test_floor_import_jobs import _dxf


def test_dxf_upload_polls_the_worker_then_imports(browser, queued_live, tmp_path):  # type: ignore[no-untyped-def]
    app, server = queued_live
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(30_000)
    login(page)
    page.goto("/")
    page.click("text=Bund View Hotel")
    page.click("text=New floor")
    page.fill("#f-level", "9")
    page.fill("#f-name", "Hackerspace")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/floors/\d+$"))
    floor_id = int(page.url.rsplit("/", 1)[1])
    page.click("text=Upload plan")
    plan = tmp_path / "hackerspace.dxf"
    plan.write_bytes(_dxf())
    page.set_input_files("#plan-file", str(plan))
    page.click("#upload-form button[type=submit]")
    # The upload answers at once with the job's status, then the page polls until the worker's preview arrives.
    page.wait_for_selector("#import-status")
    page.wait_for_selector("#import-preview")
    rooms = page.inner_text("#rooms-0")
    assert "WC" in rooms and "toilet" in rooms
    page.click("#import-confirm")
    page.wait_for_url(re.compile(rf"/floors/{floor_id}$"))
    with app.app_context():
        from inventory.models import Floor

        assert {z.name for z in db.session.get(Floor, floor_id).zones} == {"WC", "Office"}
    assert errors == []
    context.close()
