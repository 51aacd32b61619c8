"""Browser tests (Playwright, system Chromium): no console errors on the main pages of every role, a favicon, an empty
floor that says "upload a plan" instead of showing a blank map, and technical details kept out of the way."""

from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.browser.conftest import login
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A, PLANNER


def _ids(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        floor = venue.floors[0]
        empty = Floor(venue=venue, level=9, name="Roof", structure=[])
        db.session.add(empty)
        db.session.commit()
        terminal = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == floor.id))
        return {"venue": venue.id, "floor": floor.id, "empty": empty.id, "terminal": terminal}


def _finished_plan(app, floor_id: int) -> int:  # type: ignore[no-untyped-def]
    """A plan of the floor, run to the end on the app's inline queue."""
    from accounts.models import User
    from plans import service
    from plans.execution import queue_plan

    with app.test_request_context():
        planner = db.session.scalar(sa.select(User).where(User.email == PLANNER))
        plan = service.create_plan(planner, db.session.get(Floor, floor_id), {"mode": "reduce", "time_limit": "5"})
        db.session.commit()
        queue_plan(plan)
        return plan.id


def _visit_all(browser, base_url: str, email: str, urls: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Sign in, visit each page and let it settle; return every script error, console error and failed request."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    current = {"url": "/login"}
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{current['url']}: {msg.text}"))
    # A request the browser itself abandons when the next page starts loading (a favicon, say) is no failure.
    page.on("requestfailed", lambda req: "ERR_ABORTED" not in (req.failure or "")
            and problems.append(f"{current['url']}: failed {req.url} ({req.failure})"))
    page.on("response", lambda res: res.status >= 400 and res.request.resource_type != "document"
            and problems.append(f"{current['url']}: {res.status} {res.url}"))
    login(page, email)
    for url in urls:
        current["url"] = url
        response = page.goto(url)
        assert response is not None and response.status == 200, (email, url)
        page.wait_for_load_state("networkidle")
    context.close()
    return problems


def test_no_console_errors_on_the_main_pages(browser, live_server, live_app):  # type: ignore[no-untyped-def]
    ids = _ids(live_app)
    plan = _finished_plan(live_app, ids["floor"])
    common = ["/", f"/venues/{ids['venue']}", f"/floors/{ids['floor']}", f"/floors/{ids['empty']}",
              f"/terminals/{ids['terminal']}/edit", "/camera-models", f"/floors/{ids['floor']}/plans",
              f"/plans/{plan}", f"/plans/{plan}/report", f"/venues/{ids['venue']}/compliance",
              f"/venues/{ids['venue']}/audit", "/tokens", "/account/password"]
    extra = {
        MANAGER_A: [f"/floors/{ids['floor']}/terminals/new", f"/floors/{ids['floor']}/terminals/import",
                    f"/floors/{ids['floor']}/upload", "/venues/new"],
        PLANNER: [],
        INSPECTOR_CITY: ["/inspections", "/dashboard/"],
        ADMIN: ["/admin/users", "/admin/users/new", "/admin/organisations", "/admin/jurisdictions", "/admin/audit",
                "/venues/new"],
    }
    for email, pages in extra.items():
        problems = _visit_all(browser, live_server.url, email, common + pages)
        assert problems == [], (email, problems)


def test_favicon_is_linked_and_served(page, live_app):  # type: ignore[no-untyped-def]
    page.goto("/login")
    href = page.get_attribute("link[rel=icon]", "href")
    response = page.request.get(href)
    assert response.status == 200 and b"<svg" in response.body()


def test_empty_floor_asks_for_a_plan_instead_of_a_blank_map(page, live_app):  # type: ignore[no-untyped-def]
    ids = _ids(live_app)
    login(page, MANAGER_A)
    page.goto(f"/floors/{ids['empty']}")
    assert page.locator("#floor-map").count() == 0
    page.get_by_role("link", name="Upload a plan").click()
    page.wait_for_url(f"**/floors/{ids['empty']}/upload")
    page.goto(f"/floors/{ids['empty']}")
    page.get_by_role("link", name="Draw it by hand instead").click()
    page.wait_for_selector("#floor-map .leaflet-container, #floor-map.leaflet-container")
    page.context.clear_cookies()
    login(page, INSPECTOR_CITY)
    page.goto(f"/floors/{ids['empty']}")
    assert "has not uploaded a plan" in page.inner_text("#empty-floor")
    assert page.get_by_role("link", name="Upload a plan").count() == 0


def test_audit_page_stays_short_after_edits(page, live_app):  # type: ignore[no-untyped-def]
    """Whole records as raw JSON made this page 15,288 px tall after five edits; changed fields keep it short."""
    with live_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
        rows = db.session.execute(sa.select(Terminal.id, Terminal.code).where(Terminal.venue_id == venue_id)
                                  .order_by(Terminal.id)).all()[:5]
    login(page, MANAGER_A)
    token = page.get_attribute("meta[name=csrf-token]", "content")
    for terminal_id, code in rows:
        page.request.post(f"/terminals/{terminal_id}/row", headers={"X-CSRFToken": token},
                          form={"code": code, "kind": "camera", "status": "active", "heading_deg": "45",
                                "hfov_deg": "70"})
    page.goto(f"/venues/{venue_id}/audit")
    assert page.locator("#audit-events tr.event").count() == 25
    assert page.locator("#audit-events tr.event", has_text="changed").count() >= 5
    assert page.evaluate("document.documentElement.scrollHeight") < 4000
