"""Audit trail size: bytes stored per save of a big floor, and the size of its audit page.

Usage: python bench/bench_audit_size.py [--mb 5] [--saves 5] [--root CHECKOUT]
On a fresh migrated SQLite file with the demo seeded (findings re-evaluation off: this measures the audit trail),
the Bund View Hotel's first floor gets about --mb MB of extra walls (40-point polylines, each with an id), then
--saves saves each move one wall. Prints the structure's JSON size, the before+after JSON stored per one-wall save
(and what two full snapshots of the row would be), and the bytes of the venue's floor audit page as its manager.
--root imports the app from another checkout (e.g. main, for the figure before a change).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path


def _size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def main() -> int:
    """Run the measurement and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--saves", type=int, default=5)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    sys.path.insert(0, args.root)

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from app import create_app
    from audit.models import AuditEvent
    from audit.recorder import snapshot
    from extensions import db
    from inventory.demo import seed_demo
    from inventory.models import Venue

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "HUEY_BACKEND": "immediate",
                      "WTF_CSRF_ENABLED": False, "COMPLIANCE_AUTO_EVALUATE": False})
    with app.app_context():
        upgrade(directory=str(Path(args.root) / "migrations"))
        seed_demo("bench-password")
        db.session.commit()
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        floor = venue.floors[0]
        wall = {"type": "Feature", "properties": {"kind": "wall"},
                "geometry": {"type": "LineString", "coordinates": [[j * 0.5, j * 0.25] for j in range(40)]}}
        count = int(args.mb * 1_000_000 // _size(wall)) + 1
        floor.structure = [*floor.structure, *({**copy.deepcopy(wall), "id": f"big-{i}"} for i in range(count))]
        db.session.commit()
        mark = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        for save in range(args.saves):
            structure = copy.deepcopy(floor.structure)
            moved = next(f for f in structure if f.get("id") == f"big-{save}")
            moved["geometry"]["coordinates"] = [[x + 0.5, y] for x, y in moved["geometry"]["coordinates"]]
            floor.structure = structure
            db.session.commit()
        full = 2 * _size(snapshot(floor))
        stored = [_size(e.before) + _size(e.after) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > mark, AuditEvent.object_type == "floor"))]
        print(f"structure JSON: {_size(floor.structure):,} bytes ({len(floor.structure):,} features)")
        print(f"stored per one-wall save (before+after JSON): {max(stored):,} bytes "
              f"(two full snapshots: {full:,} bytes)")
        venue_id = venue.id
    client = app.test_client()
    client.post("/login", data={"email": "manager@huangpu-hotels.example", "password": "bench-password"})
    page = client.get(f"/venues/{venue_id}/audit?type=floor")
    print(f"floor audit page after the growth and {args.saves} saves: {len(page.data):,} bytes "
          f"(status {page.status_code})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
