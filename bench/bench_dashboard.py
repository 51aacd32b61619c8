"""City-scale dashboard benchmark: seed 10,000 venues and 500,000 terminals into PostgreSQL, then time every
dashboard page through the real app (Flask test client, signed in through the login form).

Usage:
  .venv/bin/python -m bench.bench_dashboard [--url postgresql+psycopg://postgres@127.0.0.1:5432/sightline_dashboard_bench]
      [--venues 10000] [--terminals 500000] [--requests 30] [--reuse] [--explain]

The database named in --url is created when missing and its public schema is dropped and migrated afresh
(unless --reuse finds it already seeded at the same size). The generator (`seed`) writes with COPY, table by
table, deterministic for a seed: organisations, venues over the 16 districts and 9 types, 1–3 floors each,
terminals (8 % face recognition, a status mix, 1 % removed from the register), approved plans in force on
30 % of the floors with a decision per terminal, findings, inspections and district moves.
Each page is requested twice to warm up, then --requests times; p50/p95/max are wall-clock milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/sightline_dashboard_bench"
PASSWORD = "bench-password"
ADMIN, CITY, DISTRICT = "admin@bench.example", "city@bench.example", "huangpu@bench.example"
TYPES = ("hotel", "supermarket", "mall", "pool_fitness", "public_restroom", "museum", "bank", "office", "other")
NOW = datetime(2026, 12, 1)


def _reset(url: str) -> None:
    """Create the database if needed and give it an empty public schema."""
    base, _, name = url.rpartition("/")
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE"))
        c.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> int:  # type: ignore[no-untyped-def]
    """COPY rows into a table; return how many."""
    n = 0
    with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def seed(connection, venues: int, terminals: int, rnd: random.Random) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Write the city with COPY on a raw psycopg connection; return the row counts."""
    cur = connection.cursor()
    districts = [r[0] for r in cur.execute("SELECT name FROM districts ORDER BY position").fetchall()]
    organisations = max(1, venues // 25)
    counts = {"organisation": _copy(cur, "organisation", ("id", "name", "legal_entity", "created_at"),
                                    ((o, f"Operator {o}", f"Entity {o // 2} Ltd" if o % 3 else None, NOW)
                                     for o in range(1, organisations + 1)))}
    venue_rows, floor_rows = [], []
    floor_id = 0
    floors_of: dict[int, list[int]] = {}
    for v in range(1, venues + 1):
        removed = NOW if rnd.random() < 0.01 else None
        venue_rows.append((v, rnd.randint(1, organisations), f"Venue {v}", rnd.choice(TYPES), rnd.choice(districts),
                           "", NOW, NOW, removed))
        floors_of[v] = []
        for level in range(rnd.choice((1, 1, 2, 2, 3))):
            floor_id += 1
            floors_of[v].append(floor_id)
            floor_rows.append((floor_id, v, level, f"L{level}", "[]", NOW, NOW, None))
    counts["venue"] = _copy(cur, "venue", ("id", "organisation_id", "name", "type", "district", "address",
                                           "created_at", "updated_at", "removed_at"), venue_rows)
    counts["floor"] = _copy(cur, "floor", ("id", "venue_id", "level", "name", "structure", "created_at",
                                           "updated_at", "removed_at"), floor_rows)
    planned_floors = {f[0] for f in floor_rows if rnd.random() < 0.3}
    # Terminals: spread over venues (at least one each), then over the venue's floors.
    per_venue = [1] * venues
    for _ in range(terminals - venues):
        per_venue[rnd.randrange(venues)] += 1
    terminal_rows, decisions, plans = [], [], []
    statuses = ["active"] * 80 + ["planned_removal"] * 8 + ["removed"] * 10 + ["verified_removed"] * 2
    tid = 0
    codes_on: dict[int, list[str]] = {}
    for v, n in enumerate(per_venue, start=1):
        for i in range(n):
            f = floors_of[v][i % len(floors_of[v])]
            tid += 1
            face = rnd.random() < 0.08
            code = f"T{i}"
            codes_on.setdefault(f, []).append(code)
            terminal_rows.append((tid, v, f, code, "face_terminal" if face and rnd.random() < 0.7 else "camera",
                                  float(i % 50), float(i // 50), 2.5, 0.0, 0.0, 90.0, face, False, "local_server",
                                  "", False, rnd.choice(statuses), NOW, NOW, "",
                                  rnd.randint(0, 1200) if face else None, NOW if rnd.random() < 0.01 else None))
    counts["terminal"] = _copy(cur, "terminal", (
        "id", "venue_id", "floor_id", "code", "kind", "x", "y", "height_m", "heading_deg", "tilt_deg", "hfov_deg",
        "face_recognition", "audio", "storage_location", "purpose", "signage_posted", "status", "created_at",
        "updated_at", "necessity_note", "enrolled_count", "removed_at"), terminal_rows)
    del terminal_rows
    pid = did = 0
    for f in sorted(planned_floors):
        pid += 1
        plans.append((pid, f, NOW, "reduce", "{}", '{"features": []}', f"h{pid}", "done", False, 1, 0,
                      NOW, f))
        for code in codes_on.get(f, []):
            did += 1
            decisions.append((did, pid, code, rnd.choice(("keep",) * 6 + ("remove",) * 3 + ("reaim",)), "", ""))
        for a in range(rnd.randint(0, 2)):
            did += 1
            decisions.append((did, pid, f"N-{a + 1}", "add", "", ""))
    counts["plan"] = _copy(cur, "plan", ("id", "floor_id", "created_at", "mode", "parameters", "floor_snapshot",
                                         "inputs_hash", "state", "cancel_requested", "version", "attempts",
                                         "approved_at", "in_force_floor_id"), plans)
    counts["plan_decision"] = _copy(cur, "plan_decision", ("id", "plan_id", "terminal_code", "decision", "reason",
                                                           "review_comment"), decisions)
    severities = ("prohibited",) * 2 + ("must",) * 3 + ("should",) * 5
    counts["findings"] = _copy(cur, "findings", (
        "venue_id", "rule_id", "key", "severity", "status", "subject", "message", "detail", "opened_at"),
        ((rnd.randint(1, venues), "CN-01", f"k{n}", rnd.choice(severities), rnd.choice(("open", "open", "fixed",
                                                                                         "accepted")),
          "x", "x", "{}", NOW) for n in range(venues * 3)))
    inspector = cur.execute('SELECT id FROM "user" WHERE email = %s', (CITY,)).fetchone()[0]
    counts["inspections"] = _copy(cur, "inspections", ("venue_id", "inspector_id", "status", "created_at",
                                                       "signed_off_at", "note"),
                                  ((v, inspector, "signed_off" if rnd.random() < 0.8 else "in_progress", NOW,
                                    NOW - timedelta(days=rnd.randint(1, 300)), "")
                                   for v in rnd.sample(range(1, venues + 1), venues * 3 // 10)))
    counts["district_move"] = _copy(cur, "district_move", ("venue_id", "organisation_id", "venue_name",
                                                           "from_district", "to_district", "at"),
                                    ((v, 1, f"Venue {v}", rnd.choice(districts), rnd.choice(districts),
                                      NOW - timedelta(hours=v)) for v in range(1, venues // 5 + 1)))
    for table in ("organisation", "venue", "floor", "terminal", "plan", "plan_decision", "findings",
                  "inspections", "district_move"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
    connection.commit()
    cur.execute("ANALYZE")
    connection.commit()
    return counts


def _users(app) -> None:  # type: ignore[no-untyped-def]
    from accounts.cli import create_user
    from accounts.districts import all_districts
    from accounts.models import Role
    from extensions import db

    with app.app_context():
        create_user(ADMIN, "Bench Admin", PASSWORD, Role.ADMIN)
        create_user(CITY, "City Inspector", PASSWORD, Role.INSPECTOR, jurisdiction="Shanghai city",
                    districts=[d.name for d in all_districts()])
        create_user(DISTRICT, "Huangpu Inspector", PASSWORD, Role.INSPECTOR, jurisdiction="Huangpu bureau",
                    districts=["Huangpu"])
        db.session.commit()


def _seeded(url: str, venues: int) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(sa.text("SELECT count(*) FROM venue")).scalar() == venues
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


PAGES = [
    ("overview, admin (all 16 districts)", ADMIN, "/dashboard/"),
    ("overview, city inspector (16 districts)", CITY, "/dashboard/"),
    ("overview, district inspector (Huangpu)", DISTRICT, "/dashboard/"),
    ("overview, admin, Pudong × hotel", ADMIN, "/dashboard/?district=Pudong&type=hotel"),
    ("CSV export, admin", ADMIN, "/dashboard/export.csv"),
    ("district moves, city inspector", CITY, "/dashboard/moves"),
]


def measure(app, requests: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Time each page through the app, signed in as its user."""
    clients = {}
    for email in {p[1] for p in PAGES}:
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        clients[email] = client
    results = []
    for label, email, url in PAGES:
        client = clients[email]
        for _ in range(2):
            assert client.get(url).status_code == 200, url
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        results.append({"page": label, "url": url, "n": requests, "p50": statistics.median(times), "p95": p95,
                        "max": times[-1]})
    return results


def main() -> None:
    """Seed (unless reused) and measure; print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--venues", type=int, default=10_000)
    ap.add_argument("--terminals", type=int, default=500_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="keep a database already seeded at this size")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the admin's cell query")
    args = ap.parse_args()

    from flask_migrate import upgrade

    from app import create_app
    from extensions import db

    config = {"SQLALCHEMY_DATABASE_URI": args.url, "TESTING": True, "WTF_CSRF_ENABLED": False,
              "SECRET_KEY": "bench", "HUEY_BACKEND": "immediate"}
    if not (args.reuse and _seeded(args.url, args.venues)):
        started = time.perf_counter()
        _reset(args.url)
        app = create_app(config)
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        _users(app)
        with app.app_context():
            raw = db.engine.raw_connection()
            try:
                counts = seed(raw.driver_connection, args.venues, args.terminals, random.Random(args.seed))
            finally:
                raw.close()
        print(f"seeded in {time.perf_counter() - started:.1f} s: {counts}", flush=True)
        started = time.perf_counter()
        with app.app_context():
            from dashboard.figures import refresh

            refresh(None)
            db.session.commit()
        print(f"all venue figures computed in {time.perf_counter() - started:.1f} s", flush=True)
    app = create_app(config)
    if args.explain:
        _explain(app)
    results = measure(app, args.requests)
    print("| page | requests | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['page']} | {r['n']} | {r['p50']:.0f} | {r['p95']:.0f} | {r['max']:.0f} |")


def _explain(app) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from accounts.models import User
    from dashboard import queries
    from extensions import db

    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        statement = queries.cell_statement(admin)
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        for (line,) in db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")):
            print(line)


if __name__ == "__main__":
    main()
