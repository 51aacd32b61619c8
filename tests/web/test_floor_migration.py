"""Migration 0006 upgrades existing floors: every zone gets a key, every stored outline, wall and opening an id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from tests.conftest import POSTGRES_URL

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")


@pytest.mark.skipif(bool(POSTGRES_URL), reason="migrates its own SQLite file; PostgreSQL runs use the shared database")
def test_upgrade_gives_existing_features_ids(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}"})
    from extensions import db

    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0005")
        structure = [{"type": "Feature", "properties": {"kind": "outline"}, "geometry": {
            "type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 5], [0, 5], [0, 0]]]}},
            {"type": "Feature", "properties": {"kind": "wall"}, "geometry": {
                "type": "LineString", "coordinates": [[5, 0], [5, 5]]}},
            {"type": "Feature", "id": "keep-me", "properties": {"kind": "opening"}, "geometry": {
                "type": "LineString", "coordinates": [[5, 2], [5, 3]]}}]
        zone = {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]]]}
        with db.engine.begin() as c:
            c.execute(sa.text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Org', '2026-01-01')"))
            c.execute(sa.text("INSERT INTO venue (id, organisation_id, name, type, district, address, created_at, "
                              "updated_at) VALUES (1, 1, 'V', 'hotel', 'D', '', '2026-01-01', '2026-01-01')"))
            c.execute(sa.text("INSERT INTO floor (id, venue_id, level, name, structure, created_at, updated_at) "
                              "VALUES (7, 1, 0, 'F', :s, '2026-01-01', '2026-01-01')"), {"s": json.dumps(structure)})
            for zone_id, name in ((3, "Lobby"), (4, "Toilet")):
                c.execute(sa.text("INSERT INTO zone (id, floor_id, name, kind, k, tier, geometry) "
                                  "VALUES (:i, 7, :n, 'general', 1, 'observe', :g)"),
                          {"i": zone_id, "n": name, "g": json.dumps(zone)})
        upgrade(directory=MIGRATIONS, revision="0006")
        with db.engine.connect() as c:
            keys = dict(c.execute(sa.text("SELECT name, key FROM zone ORDER BY id")).all())
            stored = json.loads(c.execute(sa.text("SELECT structure FROM floor WHERE id = 7")).scalar())
        assert keys == {"Lobby": "zone-3", "Toilet": "zone-4"}
        assert [f["id"] for f in stored] == ["outline-7-1", "wall-7-2", "keep-me"]
        assert [f["geometry"] for f in stored] == [f["geometry"] for f in structure]
        with db.engine.begin() as c, pytest.raises(sa.exc.IntegrityError):
            c.execute(sa.text("INSERT INTO zone (floor_id, key, name, kind, k, tier, geometry) "
                              "VALUES (7, 'zone-3', 'Twin', 'general', 1, 'observe', '{}')"))
        downgrade(directory=MIGRATIONS, revision="0005")
        with db.engine.connect() as c:
            assert "key" not in {col["name"] for col in sa.inspect(c).get_columns("zone")}
        db.engine.dispose()
