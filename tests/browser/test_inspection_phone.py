"""Browser test (Playwright, system Chromium) of an inspection on a phone (390×844, touch), with a real worker:
from the dashboard and the inspector's list to the checklist, one terminal removed, one not declared placed on
the map, a photo, an answer given offline and sent when back online, verification, sign-off and the PDF."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from accounts.models import User
from extensions import db
from inspection.models import Evidence, Inspection, InspectionStatus
from inventory.models import Floor, Venue
from plans import service as plan_service
from plans.execution import execute_plan
from plans.models import Plan
from tests.browser.conftest import login
from tests.conftest import INSPECTOR_CITY, MANAGER_A, PLANNER
from tests.inspection.conftest import photo

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def _approved_hotel_plan(app) -> int:  # type: ignore[no-untyped-def]
    """The hotel planned and approved (it removes C-303, C-305, F-306); the manager ticked C-303 and C-305 done."""
    with app.app_context():
        planner = db.session.scalar(sa.select(User).where(User.email == PLANNER))
        manager = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        floor = db.session.scalar(sa.select(Floor).join(Venue).where(Venue.name == "Bund View Hotel"))
        plan = plan_service.create_plan(planner, floor, {"mode": "reduce", "time_limit": "30"})
        db.session.commit()
        plan_id = plan.id
        execute_plan(plan_id)
        plan = db.session.get(Plan, plan_id)
        plan_service.approve(planner, plan)
        db.session.commit()
        for item in plan.work_items:
            if item.label in ("C-303", "C-305"):
                plan_service.complete_work_item(manager, plan, item.id)
        db.session.commit()
        return floor.venue_id


def _card(page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f"article.item[data-code='{code}']")


def test_inspection_end_to_end_on_a_phone(browser, queued_live, tmp_path):  # type: ignore[no-untyped-def]
    app, server = queued_live
    venue_id = _approved_hotel_plan(app)
    context = browser.new_context(base_url=server.url, accept_downloads=True, **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20_000)
    login(page, INSPECTOR_CITY)

    # 1. From the city dashboard, through the phone menu, to the risk list; start the hotel's inspection.
    page.goto("/dashboard/")
    page.get_by_role("button", name="Menu").tap()
    page.get_by_role("link", name="Inspections").tap()
    page.wait_for_selector("#risk-list")
    card = page.locator(f"li.risk-card[data-venue='{venue_id}']")
    assert card.locator("[data-count=before]").inner_text() != card.locator("[data-count=after]").inner_text()
    card.get_by_role("button", name="Start inspection").click()
    page.wait_for_selector("#checklist")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the checklist scrolls sideways"
    codes = [c for c in page.locator("article.item").evaluate_all("els => els.map(e => e.dataset.code)")]
    assert {"C-301", "C-303", "C-305", "F-306"} <= set(codes)
    assert "Removed" in _card(page, "C-303").locator(".expect").inner_text()
    button = _card(page, "C-301").get_by_role("button", name="Present")
    assert button.bounding_box()["height"] >= 44  # a thumb-sized target

    # 2. Answer each terminal with one tap; each answer is saved as it is given. C-303 was removed.
    for code in codes:
        found = "Removed" if code in ("C-303", "C-305") else "Present"
        if code == "C-302":
            continue  # answered offline below
        _card(page, code).get_by_role("button", name=found, exact=True).tap()
        page.wait_for_selector(f"article.item[data-code='{code}'].answered")
    assert "Removed" in _card(page, "C-303").locator(".answer-line").inner_text()

    # 3. The connection drops: the answer stays on the phone and goes out when the connection is back.
    context.set_offline(True)
    _card(page, "C-302").get_by_role("button", name="Present", exact=True).tap()
    page.wait_for_selector("article.item[data-code='C-302'].pending")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("article.item[data-code='C-302'].answered:not(.pending)", timeout=15_000)

    # 4. A photo of the removed camera's mount: stored without EXIF, shown as a thumbnail.
    upload = tmp_path / "IMG_2041.jpg"
    upload.write_bytes(photo(size=(800, 600)))
    _card(page, "C-303").locator("input[type=file]").set_input_files(str(upload))
    page.wait_for_selector("article.item[data-code='C-303'] .thumbs img")

    # 5. A camera nobody declared: placed by tapping the map.
    form = page.locator("#undeclared form")
    form.locator("input[name=code]").fill("X-1")
    form.locator("select[name=kind]").select_option("camera")
    slot_map = form.locator(".map-slot svg")
    box = slot_map.bounding_box()
    slot_map.tap(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
    assert form.locator("input[name=x]").input_value() != ""
    form.locator("input[name=heading_deg]").fill("180")
    page.click("#add-undeclared")
    page.wait_for_selector("article.item[data-code='X-1'].found-not_declared")
    assert "X-1 (not declared)" in page.inner_html("#maps")

    # 6. Independent verification on the worker: declared against found, coverage, privacy, minimality.
    page.click("#verify-button")
    page.wait_for_selector("#verification[data-state=done]", timeout=120_000)
    assert page.inner_text("#verification [data-count=found]") == str(
        int(page.inner_text("#verification [data-count=declared]")) + 2)  # F-306 still there, and X-1
    assert page.locator("#verification [data-check=coverage]").count() == 1
    assert page.locator("#verification [data-check=minimal]").count() == 1

    # 7. Sign off, then the report and its PDF.
    page.click("#sign-off-button")
    page.wait_for_selector("#report-counts")
    assert "Bund View Hotel" in page.inner_text("#report-venue")
    assert "Inspector" in page.inner_text("#report-inspector") and "signed off" in page.inner_text("#report-inspector")
    assert "X-1" in page.inner_text("#report-differences") and "F-306" in page.inner_text("#report-differences")
    assert page.locator("#report-evidence img").count() == 1
    with page.expect_download() as download_info:
        page.click("#report-pdf")
    pdf = tmp_path / "inspection.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    with app.app_context():
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.venue_id == venue_id))
        assert inspection.status == InspectionStatus.SIGNED_OFF and inspection.record_hash
        stored = db.session.scalar(sa.select(Evidence)).path
    from inspection.evidence import _storage

    with app.test_request_context():
        data = (_storage().root / stored).read_bytes()
    assert len(Image.open(io.BytesIO(data)).getexif()) == 0
    assert app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0
    assert not errors, errors
    context.close()
