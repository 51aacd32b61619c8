"""Locust workload: managers and inspectors using the site as a browser would (bench/load/__main__.py runs it).

Managers sign in through the form (with its CSRF token), then list venues, open venue pages, open the
500-terminal floor page (the HTML plus the editor state, coverage overlays and findings its script fetches),
edit a terminal inline (the htmx row form: GET ?edit=1, then POST with the X-CSRFToken header), export the
floor's CSV and now and then start a plan run on the hotel floor (the queue; the Huey worker runs it).
Inspectors sign in and read the dashboard. The
floor page's JSON is fetched as a browser's fetch() does it: each user keeps what it got with an ETag and asks
again with If-None-Match (the responses say `Cache-Control: no-cache`: revalidate every time), so an unchanged
floor answers 304. Weights (per user class, `@task(n)`): a manager's session is mostly
reading (venue list 6, venue page 4, floor page 6) with some editing (4 inline edits, 2 CSV exports, 1 plan
run in 23 tasks); managers outnumber inspectors 5 to 1. LOAD_TARGETS names the seeded ids
(bench.load.seed.seed); LOAD_THINK is each user's think time in seconds, 0.5–1.5 times it (0: the closed
loop); LOAD_USERS and LOAD_DURATION make the step measure LOAD_DURATION seconds from the last sign-in.

Production marks the session cookie Secure, which a cookie jar keeps off plain http. The users' jar has a
policy that returns Secure cookies to the loopback server (`LoopbackTLSPolicy`): the client acts as if it sat
behind the TLS proxy, and the server runs unchanged production settings.
"""

from __future__ import annotations

import json
import os
import random
import re
from html.parser import HTMLParser
from http.cookiejar import Cookie, DefaultCookiePolicy
from itertools import count
from typing import Any

import gevent
from gevent.event import Event
from locust import between, constant, task
from locust.contrib.fasthttp import FastHttpUser

TARGETS: dict[str, Any] = json.loads(os.environ.get("LOAD_TARGETS", "{}"))
THINK = float(os.environ.get("LOAD_THINK", "1"))
USERS = int(os.environ.get("LOAD_USERS", "0"))  # with LOAD_DURATION: measure from the last sign-in on, that long
DURATION = float(os.environ.get("LOAD_DURATION", "0"))
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_serials = count(1)


SIGNED_IN = 'action="/logout"'  # the sign-out form every signed-in page carries


class LoopbackTLSPolicy(DefaultCookiePolicy):
    """Send Secure cookies to the loopback server, as a browser does behind the TLS-terminating proxy."""

    def return_ok_secure(self, cookie: Cookie, request: Any) -> bool:
        """Secure cookies go over loopback http too (the load test's stand-in for TLS)."""
        return True


class _FormFields(HTMLParser):
    """The named inputs and selects of an HTML fragment with their current values (what a browser submits)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[name] = a.get("value") or "on"
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.values):
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_fields(html: str) -> dict[str, str]:
    """The values a browser would submit from the first form-like fragment in `html`."""
    parser = _FormFields()
    parser.feed(html)
    return parser.values


_signed_in = 0
_everyone_in = Event()


def _signed_in_one(user: FastHttpUser) -> None:
    """Count a finished sign-in; the last one resets the stats and ends the step DURATION seconds later.

    Sign-ins (scrypt, an audit event) are a burst at the start of a step, not the steady workload: the step's
    figures start once every user is in, and users wait for the others before working.
    """
    global _signed_in
    _signed_in += 1
    if USERS and _signed_in == USERS:
        user.environment.runner.stats.reset_all()
        if DURATION:
            gevent.spawn_later(DURATION, user.environment.runner.quit)
        _everyone_in.set()
    if USERS:
        _everyone_in.wait()


def _wait():  # type: ignore[no-untyped-def]
    return constant(0) if THINK <= 0 else between(THINK * 0.5, THINK * 1.5)


class _SignedIn(FastHttpUser):
    """A user who signs in through the form at start and keeps the page's CSRF token."""

    abstract = True
    email = ""
    wait_time = _wait()
    csrf = ""

    def on_start(self) -> None:
        """Sign in as a browser does: load the form, post it with its CSRF token."""
        self.client.cookiejar.set_policy(LoopbackTLSPolicy())
        page = self.client.get("/login", name="sign in (form)")
        token = CSRF_META.search(page.text or "")
        data = {"email": TARGETS[self.email], "password": TARGETS["password"],
                "csrf_token": token.group(1) if token else ""}
        with self.client.post("/login", data=data, name="sign in", catch_response=True) as response:
            match = CSRF_META.search(response.text or "")
            if response.status_code != 200 or SIGNED_IN not in (response.text or "") or not match:
                response.failure(f"sign-in failed: {response.status_code}")
            else:
                self.csrf = match.group(1)
        _signed_in_one(self)

    def page(self, path: str, name: str) -> str:
        """GET a page; a 200 without the sign-out form is a failure (the session was lost)."""
        with self.client.get(path, name=name, catch_response=True) as response:
            text = response.text or ""
            if response.status_code == 200 and SIGNED_IN not in text:
                response.failure("signed out (no sign-out form on the page)")
            return text


class Manager(_SignedIn):
    """A venue manager working on the inventory."""

    weight = 5
    email = "manager"

    def on_start(self) -> None:
        """Sign in with an empty browser cache (the ETags of the JSON it fetched, by path)."""
        self.etags: dict[str, str] = {}
        super().on_start()

    @task(6)
    def venue_list(self) -> None:
        """The venue list (home page)."""
        self.page("/", "venue list")

    @task(4)
    def venue_page(self) -> None:
        """A venue page: the mall or the hotel."""
        venue = random.choice((TARGETS["mall_venue"], TARGETS["hotel_venue"]))
        self.page(f"/venues/{venue}", "venue page")

    @task(6)
    def floor_page(self) -> None:
        """The 500-terminal floor page and what its script fetches (editor state, overlays, findings)."""
        floor = TARGETS["mall_floor"]
        self.page(f"/floors/{floor}", "floor page (500 terminals)")
        self.revalidated(f"/api/v1/floors/{floor}/editor", "floor editor state")
        self.revalidated(f"/api/v1/floors/{floor}/overlays", "floor overlays")
        self.revalidated(f"/api/v1/floors/{floor}/findings", "floor findings")

    def revalidated(self, path: str, name: str) -> None:
        """GET JSON as the page's fetch() does: the browser cache sends If-None-Match for what it holds."""
        headers = {"Accept": "application/json"}
        if path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        response = self.client.get(path, name=name, headers=headers)
        if response.status_code == 200 and response.headers.get("ETag"):
            self.etags[path] = response.headers["ETag"]

    @task(4)
    def terminal_edit(self) -> None:
        """Inline edit of one terminal's serial number: open the row form, save it (htmx, CSRF header)."""
        terminal = random.choice(TARGETS["mall_terminals"])
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf}
        response = self.client.get(f"/terminals/{terminal}/row?edit=1", name="terminal row form", headers=headers)
        data = form_fields(response.text or "")
        data["serial"] = f"LD-{os.getpid()}-{next(_serials)}"
        self.client.post(f"/terminals/{terminal}/row", data=data, name="terminal row save", headers=headers)

    @task(2)
    def csv_export(self) -> None:
        """The 500-terminal floor's CSV export."""
        with self.client.get(f"/floors/{TARGETS['mall_floor']}/terminals.csv", name="CSV export",
                             catch_response=True) as response:
            if response.status_code == 200 and (response.text or "").count("\n") < 500:
                response.failure("the CSV has fewer than 500 rows")

    @task(1)
    def start_run(self) -> None:
        """Start a short plan run on the hotel floor (queued; the worker runs it), then see its page."""
        self.client.post(f"/floors/{TARGETS['hotel_floor']}/plans", name="start plan run",
                         data={"csrf_token": self.csrf, "mode": "reduce", "time_limit": "2"})


class Inspector(_SignedIn):
    """A city inspector reading the dashboard."""

    weight = 1
    email = "inspector"

    @task(3)
    def dashboard(self) -> None:
        """The dashboard overview."""
        self.page("/dashboard/", "dashboard")

    @task(1)
    def venue_list(self) -> None:
        """The venue list."""
        self.page("/", "venue list")
