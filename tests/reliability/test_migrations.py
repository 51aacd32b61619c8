"""Migrations upgrade from every revision to the newest with data present, and an interrupted migration leaves
the database usable at the revision before it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from extensions import db
from tests.conftest import POSTGRES_URL

MIGRATIONS = str(Path(__file__).parents[2] / "migrations")

# Realistic values for the columns whose values later migrations read (districts, roles, kinds); every other
# NOT NULL column without a default gets a value of its type.
KNOWN = {
    "organisation": {"name": "Huangpu Hospitality Group"},
    "jurisdiction": {"name": "Shanghai city inspection", "districts": ["Huangpu"]},
    "user": {"email": "manager@example.com", "name": "Mei", "role": "manager", "active": True, "locale": "en",
             "password_hash": "pbkdf2:sha256:1$salt$0", "session_token": "t" * 32},
    "venue": {"name": "Bund View Hotel", "type": "hotel", "district": "Huangpu", "address": "88 Zhongshan Rd"},
    "floor": {"level": 3, "name": "Level 3", "structure": []},
    "camera_model": {"manufacturer": "Axis", "model": "P3268-LV", "hpx": 3840, "hfov_min_deg": 35.0,
                     "hfov_max_deg": 103.0, "face_recognition": False},
    "terminal": {"code": "C-1", "kind": "camera", "status": "active", "x": 1.0, "y": 2.0, "heading_deg": 90.0,
                 "hfov_deg": 60.0, "face_recognition": False, "audio": False, "signage_posted": True,
                 },
}
TABLES = list(KNOWN)


def _revisions(app: Flask) -> list[str]:
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config(MIGRATIONS))
        return [r.revision for r in reversed(list(script.walk_revisions()))]


def _value(column: sa.Column) -> object:
    modelled = db.metadata.tables.get(column.table.name)
    if modelled is not None and column.name in modelled.c and isinstance(modelled.c[column.name].type, sa.Enum):
        return modelled.c[column.name].type.enums[0]  # the model's values (the schema holds a plain VARCHAR)
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return 0.0
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1)
    if isinstance(kind, sa.Date):
        return datetime(2026, 1, 1).date()
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert_core_rows(connection: sa.Connection) -> None:
    """One row in each core table as the schema at this revision has it."""
    meta = sa.MetaData()
    meta.reflect(connection)
    ids: dict[str, int] = {}
    for name in TABLES:
        table = meta.tables.get(name)
        if table is None:
            continue
        row = {}
        for column in table.columns:
            if column.primary_key:
                continue
            if column.name in KNOWN[name]:
                row[column.name] = KNOWN[name][column.name]
            elif column.foreign_keys:
                target = next(iter(column.foreign_keys)).column.table.name
                row[column.name] = ids.get(target)
            elif not column.nullable and column.server_default is None or isinstance(_value(column), str) \
                    and _value(column) != "x":
                row[column.name] = _value(column)
        if isinstance(table.c.get("districts"), sa.Column) and not isinstance(table.c.districts.type, sa.JSON):
            row["districts"] = '["Huangpu"]'
        ids[name] = connection.execute(table.insert().values(**row)).inserted_primary_key[0]


@pytest.fixture
def fresh_app(tmp_path):
    """An app on an empty SQLite file (the PostgreSQL pass checks the same on SQLite: the upgrade path is shared)."""
    def make(name: str = "db.sqlite") -> Flask:
        return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}",
                           "SECRET_KEY": "t", "HUEY_BACKEND": "immediate", "UPLOAD_FOLDER": str(tmp_path / "up")})
    return make


def test_upgrade_from_every_revision_with_data(fresh_app) -> None:
    if POSTGRES_URL:
        pytest.skip("run on the SQLite pass (one scratch file per revision)")
    revisions = _revisions(fresh_app())
    assert len(revisions) >= 12
    for start in revisions[:-1]:
        app = fresh_app(f"from-{start}.sqlite")
        with app.app_context():
            upgrade(directory=MIGRATIONS, revision=start)
            with db.engine.begin() as connection:
                _insert_core_rows(connection)
            upgrade(directory=MIGRATIONS)
            assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == revisions[-1], start
            for name in TABLES:
                assert db.session.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) == 1, (start, name)
            assert db.session.scalar(sa.text("SELECT district FROM venue")) == "Huangpu", start
            assert db.session.scalar(sa.text("SELECT code FROM terminal")) == "C-1", start
        with app.test_request_context():
            from inventory.models import Venue

            assert db.session.scalar(sa.select(Venue)).floors[0].terminals[0].code == "C-1", start
        with app.app_context():
            db.engine.dispose()


def test_an_interrupted_migration_leaves_the_database_usable(fresh_app, monkeypatch) -> None:
    if POSTGRES_URL:
        pytest.skip("SQLite pass")
    app = fresh_app()
    revisions = _revisions(app)
    before, last = revisions[-2], revisions[-1]
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=before)
        with db.engine.begin() as connection:
            _insert_core_rows(connection)
        tables = sa.inspect(db.engine).get_table_names()
        columns = {t: [c["name"] for c in sa.inspect(db.engine).get_columns(t)] for t in tables}
        db.engine.dispose()
    from alembic.ddl.impl import DefaultImpl

    calls = {"n": 0}
    execute = DefaultImpl._exec

    def failing_exec(self, construct, *args, **kwargs):  # type: ignore[no-untyped-def]  # dies at the 2nd statement
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("interrupted during the migration")
        return execute(self, construct, *args, **kwargs)

    monkeypatch.setattr(DefaultImpl, "_exec", failing_exec)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        upgrade(directory=MIGRATIONS)
    monkeypatch.setattr(DefaultImpl, "_exec", execute)
    with app.app_context():
        db.engine.dispose()
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == before
        inspector = sa.inspect(db.engine)
        assert {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()} == columns
        assert db.session.scalar(sa.text('SELECT count(*) FROM "user"')) == 1
        db.session.remove()
        upgrade(directory=MIGRATIONS)  # and the upgrade simply runs again
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == last
