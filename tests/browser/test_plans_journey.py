"""Browser test (Playwright, system Chromium) of a plan's whole journey on the demo supermarket, with a real worker:
run and watch progress, reject a removal and re-run, approve and download the PDF, tick the work done."""

from __future__ import annotations

import sqlalchemy as sa

from audit.models import AuditEvent
from extensions import db
from inventory.choices import TerminalStatus
from inventory.models import Floor, Terminal, Venue
from plans.models import Plan
from tests.browser.conftest import login
from tests.conftest import MANAGER_B, PLANNER


def test_plan_journey_on_the_demo_supermarket(browser, queued_live, tmp_path):  # type: ignore[no-untyped-def]
    app, server = queued_live
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, PLANNER)
    with app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "FreshMart Jing'an"))
        floor_id = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id))

    # 1. From the venue page, plan the floor and watch the progress finish.
    page.goto(f"/venues/{venue_id}")
    page.get_by_role("link", name="Plan this floor").first.click()
    page.fill("#f-time_limit", "20")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#plan-progress")
    page.wait_for_selector("#headline", timeout=120_000)
    assert "instead of" in page.inner_text("#headline")
    first_url = page.url

    # 2. Reject one removal (one that other cameras make redundant) and re-run with that decision.
    row = page.locator("#decisions tr.decision-remove", has_text="everything it sees").first
    code = row.locator("td").first.inner_text().strip()
    row.locator("input[name=comment]").fill("keep this one at the entrance")
    row.get_by_role("button", name="Reject").click()
    page.wait_for_selector(f"#decision-{code} .badge:has-text('Rejected')")
    page.click("#rerun-form button")
    page.wait_for_url(lambda url: url != first_url)
    page.wait_for_selector("#headline", timeout=120_000)
    assert code in page.inner_text("#locks-used")
    assert page.locator(f"#decision-{code} td").nth(1).inner_text().strip() == "Keep"

    # 3. Approve the new version and download its PDF report.
    page.click("#approve")
    page.wait_for_selector("#approval:has-text('Approved by Pan Planner')")
    with page.expect_download() as download_info:
        page.click("#pdf-link")
    pdf_path = tmp_path / "report.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    plan_url = page.url
    removals = page.locator("#work tr", has_text="Remove").count()
    assert removals > 0

    # 4. As the facility manager, tick every removal done.
    page.locator("form[action='/logout'] button").click()
    login(page, MANAGER_B)
    page.goto(plan_url)
    total = page.locator("#work tbody tr").count()
    for done in range(1, removals + 1):
        page.locator("#work tr", has_text="Remove").get_by_role("button", name="Mark done").first.click()
        page.wait_for_selector(f"#work-progress:has-text('{done} of {total} done')")

    # Then the terminals are removed, the kept one is in service, and the audit trail holds every step.
    with app.app_context():
        plan = db.session.get(Plan, int(plan_url.rsplit("/", 1)[1]))
        removed = {d.terminal_code for d in plan.decisions if d.decision.value == "remove"}
        statuses = {t.code: t.status for t in db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor_id))}
        actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.object_type == "plan", AuditEvent.object_id == plan.id).order_by(AuditEvent.id))]
        terminal_changes = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.object_type == "terminal", AuditEvent.action == "update"))
    assert removed and all(statuses[c] == TerminalStatus.REMOVED for c in removed)
    assert statuses[code] == TerminalStatus.ACTIVE
    assert actions == ["run", "approve"] + ["work_done"] * removals  # the run itself is audited too
    assert terminal_changes >= 2 * removals  # planned removal, then removed
    assert "work done" in page.inner_text("#audit")
    context.close()
