"""Inspection benchmark: verification time per demo venue, and the cost of the audit hash chain.

Usage: python bench/bench_inspection.py [--events 20000] [--database-url URL]
On a fresh migrated database (a temporary SQLite file unless --database-url names a scratch database, which is
emptied): the demo is seeded, one inspection per demo venue answers every terminal "present" and runs the
verification job inline (verifier + optimizer re-run, INSPECTION_VERIFY_TIME_LIMIT 30 s); then `--events` audit
events are added through the ORM (each sealed into the chain) and `verify-audit`'s walk re-checks the whole chain.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402


def main() -> int:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from accounts.models import User
    from app import create_app
    from audit.chain import verify_events
    from audit.models import AuditEvent
    from extensions import db
    from inspection import service
    from inspection.models import Found, Inspection
    from inspection.verification import request_verification, run_verification
    from inventory.demo import seed_demo
    from inventory.models import Venue

    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "HUEY_BACKEND": "immediate"})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        seed_demo("bench-password")
        db.session.commit()
        inspector = db.session.scalar(sa.select(User).where(User.role == "inspector").order_by(User.id))
        inspector.jurisdiction.districts = sorted(set(db.session.scalars(sa.select(Venue.district))))
        for venue in db.session.scalars(sa.select(Venue).order_by(Venue.id)).all():
            inspection = service.create_inspection(inspector, venue)
            for item in inspection.items:
                item.found = Found.PRESENT
            db.session.commit()
            request_verification(inspector, inspection)
            db.session.commit()
            start = time.perf_counter()
            run_verification(inspection.id)
            seconds = time.perf_counter() - start
            v = db.session.get(Inspection, inspection.id).verification or {}
            print(f"verify {venue.name}: {len(inspection.items)} items, {seconds:.2f} s, state={v.get('state')}, "
                  f"coverage_ok={v.get('coverage_ok')}, privacy_ok={v.get('privacy_ok')}, minimal={v.get('minimal')} "
                  f"({v.get('optimum')} needed, {v.get('found_covering')} found)")
        start = time.perf_counter()
        for i in range(args.events):
            db.session.add(AuditEvent(object_type="bench", object_id=i, action="run", after={"i": i}))
            if i % 1000 == 999:
                db.session.flush()
        db.session.commit()
        sealing = time.perf_counter() - start
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        start = time.perf_counter()
        report = verify_events(db.session.connection())
        walking = time.perf_counter() - start
        print(f"seal {args.events} events: {sealing:.2f} s ({args.events / sealing:.0f}/s); "
              f"verify {total} events: {walking:.2f} s ({total / walking:.0f}/s), intact={report.ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
