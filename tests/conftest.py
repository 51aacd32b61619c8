"""Shared fixtures: an app on a freshly migrated database (SQLite by default, PostgreSQL with DATABASE_URL).

Speed without shortcuts: the schema is migrated once per run and copied (SQLite) or truncated (PostgreSQL)
per test; the demo data is seeded for real once per run and then copied row for row into each test's
database; TESTING apps hash passwords with one PBKDF2 round (config.TESTING_HASH_METHOD).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from config import normalise_database_url
from extensions import db

DEMO_PASSWORD = "sightline-demo"
POSTGRES_URL = os.environ.get("DATABASE_URL")


def _migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"))


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated once per session: a SQLite file to copy, or the PostgreSQL URL itself."""
    if POSTGRES_URL:
        engine = sa.create_engine(normalise_database_url(POSTGRES_URL))
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": POSTGRES_URL}))
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _migrate(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}))
    return str(path)


# Reference tables whose rows the migrations seed: kept by the per-test reset and not copied with the demo.
MIGRATION_SEEDED = {"districts"}


def _truncate_postgres(app: Flask) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables if t.name not in MIGRATION_SEEDED)
        db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


def make_app(template_database: str, tmp_path: Path, **overrides: object) -> Flask:
    """An app on a fresh copy of the migrated database."""
    if POSTGRES_URL:
        url = POSTGRES_URL
    else:
        path = tmp_path / "test.sqlite"
        shutil.copy(template_database, path)
        url = f"sqlite:///{path}"
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
              "SECRET_KEY": "test-secret", "HUEY_BACKEND": "immediate", "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    config.update(overrides)
    app = create_app(config)
    if POSTGRES_URL:
        _truncate_postgres(app)
    return app


@pytest.fixture
def app(template_database: str, tmp_path: Path) -> Iterator[Flask]:
    """An app with an empty, migrated database (CSRF off; see csrf_app)."""
    application = make_app(template_database, tmp_path)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def csrf_app(template_database: str, tmp_path: Path) -> Iterator[Flask]:
    """An app with CSRF protection on, as in production."""
    application = make_app(template_database, tmp_path, WTF_CSRF_ENABLED=True)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


# The demo database as rows, table by table in dependency order; taken after the first real seed of the run.
_demo_rows: list[tuple[sa.Table, list[dict[str, Any]]]] | None = None


def seed(application: Flask) -> None:
    """Load the demo data into the app's (empty) database: seeded once per run, then copied row for row."""
    global _demo_rows
    from inventory.demo import seed_demo

    with application.app_context():
        if _demo_rows is None:
            seed_demo(DEMO_PASSWORD)
            db.session.commit()
            uploads = Path(application.config["UPLOAD_FOLDER"])
            assert not uploads.exists() or not any(uploads.rglob("*")), \
                "seed_demo now writes files: copy them too, not only the rows"
            _demo_rows = [(table, [dict(row._mapping) for row in
                                   db.session.execute(sa.select(table).order_by(*table.primary_key.columns))])
                          for table in db.metadata.sorted_tables if table.name not in MIGRATION_SEEDED]
            return
        with db.engine.begin() as connection:
            for table, rows in _demo_rows:
                if rows:
                    connection.execute(table.insert(), rows)
            if connection.dialect.name == "postgresql":
                _advance_sequences(connection)


def _advance_sequences(connection: sa.Connection) -> None:
    """Move each id sequence past the copied rows, as inserting them one by one would have."""
    for table, rows in _demo_rows or []:
        if rows and "id" in table.c and table.c.id.primary_key:
            connection.execute(sa.text("SELECT setval(pg_get_serial_sequence(:name, 'id'), :top)"),
                               {"name": f'"{table.name}"', "top": max(row["id"] for row in rows)})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/browser/ is a browser test, and every browser test is slow."""
    browser_dir = Path(__file__).parent / "browser"
    for item in items:
        if browser_dir in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def demo_app(app: Flask) -> Flask:
    """The app with the demo organisations, users and venues loaded."""
    seed(app)
    return app


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    """A test client on the demo data."""
    return demo_app.test_client()


class AuthActions:
    """Sign in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str = "manager@huangpu-hotels.example", password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
        """Sign in as a demo user (the Huangpu hotel manager by default)."""
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        """Sign out."""
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    """Sign-in helper bound to the client."""
    return AuthActions(client)


MANAGER_A = "manager@huangpu-hotels.example"
MANAGER_B = "manager@freshmart.example"
MANAGER_C = "manager@bluewave.example"
PLANNER = "planner@sightline.example"
INSPECTOR_CITY = "inspector@shanghai-cac.example"
INSPECTOR_SONGJIANG = "inspector@songjiang.example"
ADMIN = "admin@sightline.example"
