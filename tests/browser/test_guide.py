"""The user guide's journeys (docs/guide/), one per role, run on the demo data in English and Simplified Chinese.

Each journey does the real tasks the guide describes and photographs the steps. `make guide-screenshots` sets
SIGHTLINE_GUIDE_DIR=docs/guide/img and so refreshes the guide's pictures; otherwise they go to pytest's temporary
folder, and the journeys still have to work. Selectors use ids, names and URLs, never English words, so the same
journey runs in both languages.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.site import DESKTOP, PHONE, site  # noqa: F401
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A, PLANNER

LOCALES = ["en", "zh_CN"]


class Shots:
    """Writes a journey's screenshots as small palette PNGs named <role>-<step>.png in the locale's folder."""

    def __init__(self, root: Path, locale: str) -> None:
        self.folder = root / locale
        self.locale = locale
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str, selector: str | None = None, full: bool = False) -> Path:  # type: ignore[no-untyped-def]
        """Photograph the page (or one element of it), in the journey's language."""
        page.wait_for_load_state("networkidle")
        path = self.folder / f"{name}.png"
        if selector:
            page.locator(selector).first.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=full)
        # A 256-colour palette keeps each picture small in the repository; UI screenshots lose nothing visible.
        with Image.open(path) as image:
            image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        lang = page.evaluate("document.documentElement.lang")
        assert lang == self.locale.replace("_", "-"), f"{name} ({page.url}) is in {lang!r}"
        return path


@pytest.fixture(params=LOCALES)
def shots(request, tmp_path: Path) -> Shots:  # type: ignore[no-untyped-def]
    """Where this locale's screenshots go (docs/guide/img under `make guide-screenshots`)."""
    root = Path(os.environ["SIGHTLINE_GUIDE_DIR"]) if os.environ.get("SIGHTLINE_GUIDE_DIR") else tmp_path
    return Shots(root, request.param)


def test_facility_manager_guide(site, shots: Shots) -> None:  # noqa: F811
    page = site.open(MANAGER_A, DESKTOP, shots.locale)
    ids = site.ids
    page.goto("/")
    shots(page, "manager-venues")
    page.click(f"main a[href='/venues/{ids['venue']}']")
    page.wait_for_url(f"**/venues/{ids['venue']}")
    shots(page, "manager-venue")
    page.goto(f"/floors/{ids['floor']}")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    shots(page, "manager-floor")
    row = page.locator("#terminal-table tbody tr").first
    row.locator("button[hx-get]").click()
    page.wait_for_selector("#terminal-table tr.editing")
    shots(page, "manager-terminal-edit", "#terminal-table")
    page.locator("#terminal-table tr.editing button[hx-get]").click()  # cancel
    page.goto(f"/floors/{ids['floor']}/terminals/import")
    shots(page, "manager-csv-import")
    page.goto(f"/venues/{ids['venue']}/compliance")
    shots(page, "manager-compliance")
    page.goto(f"/plans/{site.approved_plan()}")
    shots(page, "manager-plan", "#work")
    page.locator("#work tbody form button").first.click()  # mark the first change done
    page.wait_for_selector("#work-progress")
    shots(page, "manager-work-done", "#work")
    page.context.close()
    phone = site.open(MANAGER_A, PHONE, shots.locale)
    phone.goto(f"/floors/{ids['floor']}")
    phone.wait_for_selector("#floor-editor[data-ready='1']")
    shots(phone, "manager-floor-phone")
    phone.click(".menu-toggle")
    shots(phone, "manager-menu-phone")
    phone.context.close()


def test_planner_guide(site, shots: Shots) -> None:  # noqa: F811
    page = site.open(PLANNER, DESKTOP, shots.locale)
    floor = site.ids["floor"]
    page.goto(f"/floors/{floor}/plans")
    shots(page, "planner-run-form")
    page.fill("#f-time_limit", "20")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#headline", timeout=120_000)
    shots(page, "planner-result")
    shots(page, "planner-before-after", "#before-after")
    row = page.locator("#decisions tr.decision-remove").first
    row.locator("input[name=comment]").fill("入口处保留" if shots.locale == "zh_CN" else "keep the one at the entrance")
    row.locator("button[value=rejected]").click()
    page.wait_for_selector("#decisions .badge.bad")
    shots(page, "planner-review", "#decisions")
    first = page.url
    page.click("#rerun-form button[type=submit]")
    page.wait_for_url(lambda url: url != first)
    page.wait_for_selector("#headline", timeout=120_000)
    page.click("#approve")
    page.wait_for_selector("#approval strong")
    shots(page, "planner-approved", "#approval")
    page.context.close()


def test_inspector_guide(site, shots: Shots) -> None:  # noqa: F811
    page = site.open(INSPECTOR_CITY, DESKTOP, shots.locale)
    page.goto("/dashboard/")
    shots(page, "inspector-dashboard")
    page.context.close()
    phone = site.open(INSPECTOR_CITY, PHONE, shots.locale)
    phone.goto("/inspections")
    shots(phone, "inspector-risk-list-phone")
    # Start a fresh inspection from the risk list (each language at its own venue, so each starts unanswered).
    venue = site.ids["supermarket" if shots.locale == "en" else "pool"]
    phone.click(f"form[action='/venues/{venue}/inspections'] button")
    phone.wait_for_url("**/inspections/*")
    shots(phone, "inspector-inspection-phone")
    item = phone.locator("#checklist article.item").first.get_attribute("id")
    with phone.expect_response(lambda r: "/items/" in r.url and r.request.method == "POST"):
        phone.locator(f"#{item} button[value=present]").click()
    phone.wait_for_selector(f"#{item}.answered")
    shots(phone, "inspector-answered-phone", f"#{item}")
    # Answer the rest as found present, then run the independent verification.
    for other in phone.locator("#checklist article.item:not(.answered)").evaluate_all("els => els.map(e => e.id)"):
        phone.locator(f"#{other} button[value=present]").click()
        phone.wait_for_selector(f"#{other}.answered")
    phone.click("#verify-button")
    phone.wait_for_selector("#verification[data-state=done]", timeout=120_000)
    shots(phone, "inspector-verification-phone", "#verification")
    phone.click("#sign-off-button")
    phone.wait_for_url("**/report")
    shots(phone, "inspector-report-phone")
    phone.context.close()


def test_administrator_guide(site, shots: Shots) -> None:  # noqa: F811
    page = site.open(ADMIN, DESKTOP, shots.locale)
    page.goto("/admin/")  # the user list, with the other administration pages linked above it
    shots(page, "admin-home")
    page.goto("/admin/users/new")
    page.fill("#u-email", f"new.manager.{shots.locale.lower()}@huangpu-hotels.example")
    page.fill("#u-name", "新经理" if shots.locale == "zh_CN" else "Nina Newcomer")
    page.select_option("#u-role", "manager")
    page.select_option("#u-org", label="Huangpu Hospitality Group")
    page.fill("#u-password", "a-long-first-password")
    shots(page, "admin-user-new")
    page.click("#user-form button[type=submit]")
    page.wait_for_url(lambda url: "/new" not in url)
    shots(page, "admin-user-created")
    page.goto("/admin/organisations")
    shots(page, "admin-organisations")
    page.goto("/admin/jurisdictions")
    shots(page, "admin-jurisdictions")
    page.goto("/admin/audit")
    shots(page, "admin-audit")
    page.context.close()
