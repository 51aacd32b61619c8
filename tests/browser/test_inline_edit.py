"""Browser tests (Playwright, system Chromium) of the terminal table: an inline edit the server refuses shows its
error in the row, saves and deletes update the count badges without a reload, inspectors get a read-only view."""

from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.browser.conftest import login
from tests.conftest import INSPECTOR_CITY


def _hotel_floor(app) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        floor = db.session.scalar(sa.select(Floor).join(Venue).where(Venue.name == "Bund View Hotel"))
        ids = dict(db.session.execute(sa.select(Terminal.code, Terminal.id).where(Terminal.floor_id == floor.id))
                   .tuples().all())
        return floor.id, ids


def _settled(page, terminal_id: int, state: str):  # type: ignore[no-untyped-def]
    """The terminal's row once htmx has settled its swap: until then the new row carries the old row's classes and
    its form has no htmx handler yet, so a click that quick (only a script's) would submit the form natively."""
    page.locator(f"#terminal-{terminal_id}{state}").wait_for()
    return page.locator(f"#terminal-{terminal_id}")


def test_refused_inline_edit_shows_the_error_in_the_row(page, live_app):  # type: ignore[no-untyped-def]
    floor_id, ids = _hotel_floor(live_app)
    login(page)
    page.goto(f"/floors/{floor_id}")
    row = page.locator(f"#terminal-{ids['C-301']}")
    row.get_by_role("button", name="Edit").click()
    row = _settled(page, ids["C-301"], ".editing")
    row.locator("input[name=heading_deg]").fill("abc")
    row.get_by_role("button", name="Save").click()

    row = _settled(page, ids["C-301"], ".has-error")
    alert = page.locator(f"#row-error-{ids['C-301']}")
    assert "abc" in alert.inner_text() and "Heading" in alert.inner_text()
    heading = row.locator("input[name=heading_deg]")
    assert heading.get_attribute("aria-invalid") == "true" and heading.input_value() == "abc"
    assert page.evaluate("document.activeElement.name") == "heading_deg"

    heading.fill("95")
    row.get_by_role("button", name="Save").click()
    page.wait_for_selector(f"#terminal-{ids['C-301']}:not(.editing)")
    assert "95°" in row.inner_text()
    assert "C-301" in page.inner_text("#table-status")
    with live_app.app_context():
        assert db.session.get(Terminal, ids["C-301"]).heading_deg == 95
    assert page.errors == []  # type: ignore[attr-defined]


def test_count_badges_follow_saves_and_deletes_without_reload(page, live_app):  # type: ignore[no-untyped-def]
    floor_id, ids = _hotel_floor(live_app)
    login(page)
    page.goto(f"/floors/{floor_id}")
    badges = page.locator("#floor-counts")
    before = int(badges.inner_text().split(" in service")[0].split()[-1])
    page.evaluate("window.__not_reloaded = true")

    row = page.locator(f"#terminal-{ids['C-302']}")
    row.get_by_role("button", name="Edit").click()
    row = _settled(page, ids["C-302"], ".editing")
    row.locator("select[name=status]").select_option("removed")
    row.get_by_role("button", name="Save").click()
    page.wait_for_function("n => document.querySelector('#floor-counts').innerText.includes((n) + ' in service')",
                           arg=before - 1)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#terminal-{ids['C-303']}").get_by_role("button", name="Delete").click()
    page.wait_for_selector(f"#terminal-{ids['C-303']}", state="detached")
    page.wait_for_function("n => document.querySelector('#floor-counts').innerText.includes((n) + ' in service')",
                           arg=before - 2)
    assert "C-303" in page.inner_text("#table-status")

    # A table refresh (a filter here, the floor editor's saves too) brings the badges along out of band.
    with page.expect_response(lambda r: f"/floors/{floor_id}?" in r.url):
        page.select_option("form.filters select[name=kind]", "camera")
    page.wait_for_function("n => document.querySelector('#floor-counts').innerText.includes((n) + ' in service')",
                           arg=before - 2)
    assert page.locator("#terminal-table tbody tr").count() >= 1
    assert page.evaluate("window.__not_reloaded") is True
    assert page.errors == []  # type: ignore[attr-defined]


def test_inspector_opens_a_read_only_terminal_without_save_buttons(page, live_app):  # type: ignore[no-untyped-def]
    floor_id, ids = _hotel_floor(live_app)
    login(page, INSPECTOR_CITY)
    page.goto(f"/floors/{floor_id}")
    assert page.get_by_role("button", name="Save").count() == 0
    assert page.get_by_role("button", name="Edit").count() == 0
    page.get_by_role("link", name="C-301", exact=True).click()
    page.wait_for_url(f"**/terminals/{ids['C-301']}/**")
    assert page.locator("dl.read-only").is_visible()
    assert page.get_by_role("button", name="Save").count() == 0 and page.locator("form.form-grid").count() == 0
    assert page.errors == []  # type: ignore[attr-defined]
