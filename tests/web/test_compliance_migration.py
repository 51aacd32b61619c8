"""Migration 0008 adds the findings table and the compliance fields, with defaults for existing rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from tests.conftest import POSTGRES_URL

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


@pytest.mark.skipif(bool(POSTGRES_URL), reason="migrates its own SQLite file; PostgreSQL runs use the shared database")
def test_upgrade_defaults_and_downgrade(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}"})
    from extensions import db

    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0007")
        with db.engine.begin() as c:
            c.execute(sa.text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Org', '2026-01-01')"))
            c.execute(sa.text("INSERT INTO venue (id, organisation_id, name, type, district, address, created_at, "
                              "updated_at) VALUES (1, 1, 'V', 'hotel', 'D', '', '2026-01-01', '2026-01-01')"))
            c.execute(sa.text("INSERT INTO floor (id, venue_id, level, name, structure, created_at, updated_at) "
                              "VALUES (7, 1, 0, 'F', '[]', '2026-01-01', '2026-01-01')"))
            c.execute(sa.text(
                "INSERT INTO terminal (id, venue_id, floor_id, code, kind, x, y, height_m, heading_deg, tilt_deg, "
                "hfov_deg, face_recognition, audio, storage_location, purpose, signage_posted, status, created_at, "
                "updated_at) VALUES (5, 1, 7, 'C-1', 'camera', 1, 1, 2.5, 0, 0, 90, 0, 0, 'local_server', '', 0, "
                "'active', '2026-01-01', '2026-01-01')"))
        upgrade(directory=MIGRATIONS, revision="0008")
        with db.engine.begin() as c:
            venue = c.execute(sa.text("SELECT compliance_profile, filing_status, legal_entity FROM venue")).one()
            terminal = c.execute(sa.text("SELECT necessity_note, enrolled_count, signage_type FROM terminal")).one()
            assert tuple(venue) == ("CN", "not_filed", None)
            assert tuple(terminal) == ("", None, None)
            c.execute(sa.text("INSERT INTO findings (venue_id, floor_id, rule_id, key, severity, status, terminal_id, "
                              "subject, message, detail, opened_at) VALUES (1, 7, 'CN-03', '7:C-1', 'prohibited', "
                              "'open', 5, 'C-1', 'sees a toilet', '{}', '2026-01-01')"))
        with db.engine.begin() as c:  # deleting the terminal keeps the finding, without its terminal link
            c.execute(sa.text("DELETE FROM terminal WHERE id = 5"))
            assert c.execute(sa.text("SELECT terminal_id, subject FROM findings")).one() == (None, "C-1")
        downgrade(directory=MIGRATIONS, revision="0007")
        with db.engine.connect() as c:
            inspector = sa.inspect(c)
            assert "findings" not in inspector.get_table_names()
            assert "compliance_profile" not in {col["name"] for col in inspector.get_columns("venue")}
            assert "necessity_note" not in {col["name"] for col in inspector.get_columns("terminal")}
        db.engine.dispose()
