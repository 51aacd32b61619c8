"""`flask backup` / `flask restore` round trips: SQLite (backup API), PostgreSQL (pg_dump / pg_restore) and the
uploads folder come back exactly; damaged or foreign archives are refused with nothing changed."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from config import normalise_database_url
from extensions import db
from inventory.models import Venue
from tests.conftest import POSTGRES_URL, seed

PG_SERVER = os.environ.get("SIGHTLINE_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")


def _snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, in key order."""
    with app.app_context():
        return {table.name: [tuple(row) for row in db.session.execute(
                    sa.select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


def _uploads(app: Flask) -> dict[str, bytes]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _round_trip(app: Flask, tmp_path: Path) -> None:
    uploads = Path(app.config["UPLOAD_FOLDER"])
    (uploads / "1" / "floor-1").mkdir(parents=True, exist_ok=True)
    (uploads / "1" / "floor-1" / "background.png").write_bytes(b"\x89PNG original")
    before, files = _snapshot(app), _uploads(app)
    runner = app.test_cli_runner()
    archive = tmp_path / "backups" / "sightline.tar.gz"
    done = runner.invoke(args=["backup", str(archive)])
    assert done.exit_code == 0, done.output
    assert "backup written" in done.output and archive.is_file()
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no partial files left beside it
    # Lose things: a venue (with floors, terminals, plans by cascade), an upload changed, one added.
    with app.app_context():
        db.session.execute(sa.delete(Venue).where(Venue.name == "Bund View Hotel"))
        db.session.commit()
    (uploads / "1" / "floor-1" / "background.png").write_bytes(b"overwritten")
    (uploads / "stray.txt").write_bytes(b"added after the backup")
    assert _snapshot(app) != before
    refused = runner.invoke(args=["restore", str(archive)], input="n\n")
    assert refused.exit_code != 0 and _uploads(app) != files  # asked first; saying no changes nothing
    done = runner.invoke(args=["restore", "--yes", str(archive)])
    assert done.exit_code == 0, done.output
    assert _snapshot(app) == before
    assert _uploads(app) == files
    with app.app_context():  # the app's own connections still work after the restore
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Venue)) == 3


def test_sqlite_round_trip(demo_app, tmp_path) -> None:
    if demo_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the SQLite round trip runs on the SQLite pass")
    _round_trip(demo_app, tmp_path)


@pytest.fixture
def postgres_app(template_database, tmp_path):
    """An app on a scratch PostgreSQL database, migrated and seeded (skipped without a server or pg_dump)."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore not installed")
    server = POSTGRES_URL.rsplit("/", 1)[0] if POSTGRES_URL else PG_SERVER
    name = f"sightline_backup_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_database_url(server + "/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {server}: {exc.orig}")
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"{server}/{name}", "SECRET_KEY": "t",
                      "HUEY_BACKEND": "immediate", "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    with app.app_context():
        upgrade(directory=str(Path(__file__).parents[2] / "migrations"))
    seed(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgresql_round_trip(postgres_app, tmp_path) -> None:
    _round_trip(postgres_app, tmp_path)


def _archive(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_damaged_or_foreign_archives_change_nothing(demo_app, tmp_path) -> None:
    if demo_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("checked on the SQLite pass")
    runner = demo_app.test_cli_runner()
    good = tmp_path / "good.tar.gz"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    with tarfile.open(good) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        database = archive.extractfile("database.sqlite").read()
    before = _snapshot(demo_app)
    cases = {
        "not an archive": tmp_path / "junk.tar.gz",
        "no manifest": _archive(tmp_path, {"database.sqlite": database}),
        "other format": _archive(tmp_path, {"manifest.json": json.dumps({**manifest, "format": "x/9"}).encode(),
                                            "database.sqlite": database}),
        "damaged": _archive(tmp_path, {"manifest.json": json.dumps(manifest).encode(),
                                       "database.sqlite": database[:-100] + b"\0" * 100}),
        "escaping path": _archive(tmp_path, {"manifest.json": json.dumps(manifest).encode(),
                                             "database.sqlite": database, "../outside.txt": b"x"}),
    }
    cases["not an archive"].write_bytes(b"this is not gzip")
    for why, path in cases.items():
        result = runner.invoke(args=["restore", "--yes", str(path)])
        assert result.exit_code != 0, why
        assert "Error" in result.output, (why, result.output)
        assert _snapshot(demo_app) == before, why
    assert not (tmp_path / "outside.txt").exists()
