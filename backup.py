"""`flask backup` and `flask restore`: the database and the uploads folder in one archive, restored all or nothing.

The archive is a gzipped tar holding `manifest.json` (format, time, database dialect, Alembic revision, the
SHA-256 of the database file, the uploads' file count), the database (`database.sqlite`, a consistent copy
taken with SQLite's online backup API, or `database.pgdump`, `pg_dump --format=custom`) and `uploads/`.
It is written beside its target and renamed into place, so a failed backup never leaves a half archive.

Restore checks the whole archive first (format, checksum, member paths); then it replaces the database
(SQLite: the backup API copies the archived database over the live one in one step; PostgreSQL:
`pg_restore --clean --single-transaction`, so an error leaves the database as it was) and swaps the uploads
folder in by renaming. An archive of an older revision is restored as it is: run `flask db upgrade` after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from extensions import db

FORMAT = "sightline-backup/1"
SQLITE_NAME, PG_NAME = "database.sqlite", "database.pgdump"


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; nothing has been changed."""


def _upload_folder(app: Flask) -> Path:
    return Path(app.config.get("UPLOAD_FOLDER") or os.path.join(app.instance_path, "uploads"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env(url: sa.URL) -> dict[str, str]:
    """libpq settings for the pg_* tools (the password through the environment, not the command line)."""
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools are needed for this database)")
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()[-800:]}")


def _revision() -> str | None:
    try:
        return db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return None


def dump_database(url: sa.URL, target_dir: Path) -> Path:
    """A consistent copy of the database in target_dir (SQLite backup API, or pg_dump); returns its path."""
    if url.get_backend_name() == "sqlite":
        target = target_dir / SQLITE_NAME
        source = sqlite3.connect(url.database or "")
        try:
            copy = sqlite3.connect(target)
            with copy:
                source.backup(copy)
            copy.close()
        finally:
            source.close()
        return target
    if url.get_backend_name() == "postgresql":
        target = target_dir / PG_NAME
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
             _pg_env(url))
        return target
    raise BackupError(f"cannot back up a {url.get_backend_name()} database")


def backup(app: Flask, target: Path) -> dict[str, Any]:
    """Write the archive to target (atomically); returns its manifest."""
    url = db.engine.url
    uploads = _upload_folder(app)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as tmp:
        database = dump_database(url, Path(tmp))
        files = sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.is_dir() else []
        manifest = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "dialect": url.get_backend_name(), "revision": _revision(), "database": database.name,
                    "database_sha256": _sha256(database), "upload_files": len(files)}
        (Path(tmp) / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        partial = Path(tmp) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(Path(tmp) / "manifest.json", arcname="manifest.json")
            archive.add(database, arcname=database.name)
            for path in files:
                archive.add(path, arcname=str(PurePosixPath("uploads", path.relative_to(uploads).as_posix())))
        os.replace(partial, target)
    return manifest


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's members, refusing anything but plain files and folders inside it."""
    members = archive.getmembers()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"the archive holds {member.name!r}, which a Sightline backup never does")
    return members


def _unpack(source: Path, into: Path) -> dict[str, Any]:
    """Unpack and check the archive; returns its manifest."""
    try:
        with tarfile.open(source, "r:gz") as archive:
            archive.extractall(into, members=_safe_members(archive), filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{source}: not a readable Sightline backup ({exc})") from exc
    try:
        manifest = json.loads((into / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source}: no manifest.json, so not a Sightline backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: format {manifest.get('format')!r}, expected {FORMAT}")
    database = into / str(manifest.get("database"))
    if manifest.get("database") not in (SQLITE_NAME, PG_NAME) or not database.is_file():
        raise BackupError(f"{source}: the database file is missing")
    if _sha256(database) != manifest.get("database_sha256"):
        raise BackupError(f"{source}: the database file does not match its checksum (damaged archive)")
    return manifest


def load_database(url: sa.URL, dump: Path) -> None:
    """Replace the database's content with the dump's, in one step."""
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        if dump.name != SQLITE_NAME:
            raise BackupError("this backup is of a PostgreSQL database; the app is configured for SQLite")
        source = sqlite3.connect(dump)
        try:
            live = sqlite3.connect(url.database or "", timeout=30)
            with live:
                source.backup(live)
            live.close()
        finally:
            source.close()
        return
    if dump.name != PG_NAME:
        raise BackupError("this backup is of a SQLite database; the app is configured for PostgreSQL")
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          f"--dbname={url.database}", str(dump)], _pg_env(url))


def _swap_uploads(folder: Path, restored: Path) -> None:
    """Put the restored uploads where the folder was, by renames; the old folder is removed last."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    old = folder.with_name(f".{folder.name}-before-restore-{os.getpid()}")
    if folder.exists():
        os.replace(folder, old)
    os.replace(restored, folder)
    shutil.rmtree(old, ignore_errors=True)


def restore(app: Flask, source: Path) -> dict[str, Any]:
    """Replace the database and uploads with the archive's; returns its manifest."""
    uploads = _upload_folder(app)
    uploads.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads.parent, prefix=".restore-") as tmp:
        manifest = _unpack(source, Path(tmp))
        restored = Path(tmp) / "uploads"
        restored.mkdir(exist_ok=True)
        load_database(db.engine.url, Path(tmp) / manifest["database"])
        _swap_uploads(uploads, restored)
    return manifest


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(target: Path) -> None:
    """Write the database and the uploads folder to TARGET (a .tar.gz)."""
    manifest = backup(current_app._get_current_object(), target)  # type: ignore[attr-defined]
    click.echo(f"backup written to {target}: {manifest['dialect']} database at revision {manifest['revision']}, "
               f"{manifest['upload_files']} uploaded files")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database and uploads without asking.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database and the uploads folder with those in SOURCE (from `flask backup`)."""
    if not yes:
        click.confirm("This replaces the whole database and every uploaded file. Go on?", abort=True)
    manifest = restore(current_app._get_current_object(), source)  # type: ignore[attr-defined]
    click.echo(f"restored {source} (taken {manifest['created_at']}, revision {manifest['revision']}); "
               "run `flask db upgrade` if the code is newer than that revision")
