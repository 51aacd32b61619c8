"""The main pages of the demo site as the browser checks (phone width, axe-core, guide screenshots) visit them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from accounts.models import User
from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.browser.conftest import LiveServer, login
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A, PLANNER, make_app, seed

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
# Screenshots land here (instance/ is gitignored) so a failing page can be looked at after the run.
SCREENSHOTS = Path(os.environ.get("SIGHTLINE_SCREENSHOT_DIR") or
                   Path(__file__).resolve().parents[2] / "instance" / "screenshots")


def wait_until(page, expression: str, timeout_s: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Poll a JavaScript expression until it is true. Playwright's wait_for_function evaluates its predicate with
    eval inside the page, which the site's CSP (script-src 'self') refuses; page.evaluate is not subject to it."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s:g} s: {expression}")
        page.wait_for_timeout(100)


@dataclass(frozen=True)
class SitePage:
    """One page to check: who looks at it and where it is, given the demo ids."""

    name: str
    user: str | None
    path: Callable[[dict[str, int]], str]


def _ids(app: Flask) -> dict[str, int]:
    """Ids of the demo objects the pages are about; the hotel floor gets one finished optimizer run."""
    from plans.execution import queue_plan
    from plans.service import create_plan

    with app.app_context():
        hotel = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        floor = db.session.scalar(sa.select(Floor).where(Floor.venue_id == hotel.id).order_by(Floor.level))
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == floor.id).order_by(Terminal.code))
        planner = db.session.scalar(sa.select(User).where(User.email == PLANNER))
        plan = create_plan(planner, floor, {"mode": "reduce", "time_limit": "20"})
        db.session.commit()
        queue_plan(plan)  # the test app's queue is immediate: the run is finished on return
        from inspection.service import create_inspection

        inspector = db.session.scalar(sa.select(User).where(User.email == INSPECTOR_CITY))
        inspection = create_inspection(inspector, hotel)
        db.session.commit()
        venues = dict(db.session.execute(sa.select(Venue.name, Venue.id)).tuples().all())
        return {"venue": hotel.id, "floor": floor.id, "terminal": terminal.id, "plan": plan.id,
                "inspection": inspection.id, "user": planner.id,
                "supermarket": venues["FreshMart Jing'an"], "pool": venues["Blue Wave Natatorium"]}


# The main pages, each as the role that uses it. New pages join this list as they land.
PAGES = [
    SitePage("login", None, lambda ids: "/login"),
    SitePage("venues", MANAGER_A, lambda ids: "/"),
    SitePage("venue", MANAGER_A, lambda ids: f"/venues/{ids['venue']}"),
    SitePage("venue-form", MANAGER_A, lambda ids: "/venues/new"),
    SitePage("floor", MANAGER_A, lambda ids: f"/floors/{ids['floor']}"),
    SitePage("terminal-form", MANAGER_A, lambda ids: f"/terminals/{ids['terminal']}/edit"),
    SitePage("csv-import", MANAGER_A, lambda ids: f"/floors/{ids['floor']}/terminals/import"),
    SitePage("floor-upload", MANAGER_A, lambda ids: f"/floors/{ids['floor']}/upload"),
    SitePage("compliance", MANAGER_A, lambda ids: f"/venues/{ids['venue']}/compliance"),
    SitePage("audit", MANAGER_A, lambda ids: f"/venues/{ids['venue']}/audit"),
    SitePage("camera-models", MANAGER_A, lambda ids: "/camera-models"),
    SitePage("tokens", MANAGER_A, lambda ids: "/tokens"),
    SitePage("floor-plans", PLANNER, lambda ids: f"/floors/{ids['floor']}/plans"),
    SitePage("plan", PLANNER, lambda ids: f"/plans/{ids['plan']}"),
    SitePage("plan-inspector", INSPECTOR_CITY, lambda ids: f"/plans/{ids['plan']}"),
    SitePage("venues-admin", ADMIN, lambda ids: "/"),
    SitePage("dashboard", INSPECTOR_CITY, lambda ids: "/dashboard/"),
    SitePage("dashboard-moves", INSPECTOR_CITY, lambda ids: "/dashboard/moves"),
    SitePage("inspections", INSPECTOR_CITY, lambda ids: "/inspections"),
    SitePage("inspection", INSPECTOR_CITY, lambda ids: f"/inspections/{ids['inspection']}"),
    SitePage("venue-inspections", INSPECTOR_CITY, lambda ids: f"/venues/{ids['venue']}/inspections"),
    SitePage("audit-chain", INSPECTOR_CITY, lambda ids: "/audit/chain"),
    SitePage("password", MANAGER_A, lambda ids: "/account/password"),
    SitePage("admin", ADMIN, lambda ids: "/admin/"),
    SitePage("admin-users", ADMIN, lambda ids: "/admin/users"),
    SitePage("admin-user-new", ADMIN, lambda ids: "/admin/users/new"),
    SitePage("admin-user", ADMIN, lambda ids: f"/admin/users/{ids['user']}"),
    SitePage("admin-organisations", ADMIN, lambda ids: "/admin/organisations"),
    SitePage("admin-jurisdictions", ADMIN, lambda ids: "/admin/jurisdictions"),
    SitePage("admin-audit", ADMIN, lambda ids: "/admin/audit"),
    SitePage("admin-organisation", ADMIN, lambda ids: "/admin/organisations/1"),
    SitePage("admin-jurisdiction", ADMIN, lambda ids: "/admin/jurisdictions/1"),
    SitePage("help", None, lambda ids: "/help/README"),
    SitePage("help-manager", MANAGER_A, lambda ids: "/help/manager"),
]


class Site:
    """A live demo server shared by a module's checks, with the demo ids and per-user browser contexts."""

    def __init__(self, browser, server: LiveServer, ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
        self.browser, self.server, self.ids = browser, server, ids
        self.app = server.app
        self._signed_in: dict[tuple[str, str], dict] = {}  # (user, locale) -> cookies after a real sign-in
        self._language: dict[str, str] = {}  # user -> the language last chosen with the switch

    def open(self, user: str | None, viewport: dict[str, int], locale: str = "en"):  # type: ignore[no-untyped-def]
        """A new page signed in as the user (or anonymous), in the locale's Accept-Language; console errors on .errors."""
        context = self.browser.new_context(viewport=viewport, base_url=self.server.url,
                                           locale=locale.replace("_", "-"), device_scale_factor=1,
                                           storage_state=self._signed_in.get((user or "", locale)))
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
        page.set_default_timeout(15_000)
        if user and (user, locale) not in self._signed_in:
            login(page, user)
            self._signed_in[(user, locale)] = context.storage_state()
        if user and self._language.get(user, "en") != locale:
            # A signed-in user's language is their own setting: choose it with the top bar's switch (POST /language).
            page.goto("/")
            token = page.get_attribute("meta[name=csrf-token]", "content")
            response = page.request.post("/language", form={"locale": locale, "csrf_token": token or "", "next": "/"})
            assert response.ok, response.status
            self._language[user] = locale
        return page

    def approved_plan(self) -> int:
        """The id of the demo hotel's plan, approved by the planner (once) so it has a work list."""
        from plans.models import Plan
        from plans.service import approve

        with self.app.app_context():
            plan = db.session.get(Plan, self.ids["plan"])
            if plan.approved_at is None:
                approve(db.session.scalar(sa.select(User).where(User.email == PLANNER)), plan)
                db.session.commit()
            return plan.id


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory: pytest.TempPathFactory, template_database: str) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """The demo site (CSRF on) with one finished hotel plan, served for a whole test module."""
    app = make_app(template_database, tmp_path_factory.mktemp("site"), WTF_CSRF_ENABLED=True)
    seed(app)
    ids = _ids(app)
    server = LiveServer(app)
    server.start()
    yield Site(browser, server, ids)
    server.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
