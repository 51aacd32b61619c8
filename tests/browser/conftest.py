"""Browser test fixtures: a live Sightline server (CSRF on, demo data) and a headless system Chromium."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from extensions import db
from tests.conftest import DEMO_PASSWORD, make_app, seed
from tests.workers import start_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A werkzeug server running the app in a thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = _free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve in the background."""
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_app(template_database: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with CSRF on and the demo data loaded."""
    application = make_app(template_database, tmp_path, WTF_CSRF_ENABLED=True)
    seed(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    """A live server on 127.0.0.1 and a free port."""
    server = LiveServer(live_app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """A headless system Chromium (never downloaded): skipped when missing, failed under SIGHTLINE_REQUIRE_BROWSER."""
    missing = None if os.path.exists(CHROMIUM) else f"browser tests need {CHROMIUM}; `make browser` installs it"
    try:
        from playwright import sync_api
    except ImportError:
        missing = missing or "the playwright package is not installed (requirements-dev.txt)"
    if missing:
        if os.environ.get("SIGHTLINE_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server: LiveServer):  # type: ignore[no-untyped-def]
    """A fresh browser page with a desktop viewport; console errors are collected on page.errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url)
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))  # type: ignore[attr-defined]
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def login(page, email: str = "manager@huangpu-hotels.example", password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def queued_live(template_database: str, tmp_path: Path) -> Iterator[tuple[Flask, LiveServer]]:
    """A live server (CSRF on) on the demo data whose jobs go through the embedded SQLite queue to a real worker."""
    app = make_app(template_database, tmp_path, WTF_CSRF_ENABLED=True, HUEY_BACKEND="sqlite",
                   HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    seed(app)
    worker = start_worker(app, quiet=True, IMPORT_MAX_SECONDS="60")
    server = LiveServer(app)
    server.start()
    yield app, server
    server.stop()
    worker.terminate()
    worker.wait(timeout=30)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
