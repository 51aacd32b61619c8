"""Inline cost of a first compliance evaluation (cold engine, as after a wall or zone edit) against its estimate.

For each floor: terminals, private zones, the estimate ``findings.service.floor_cost`` (terminals × (private
zones + 1)), and the wall time of ``compliance.rules.evaluate`` with a fresh engine (cold: every view computed)
and again with that engine reused after one camera turned (warm: what a terminal edit cost in the process that
evaluated the floor last, re-evaluating the whole floor), and the same edit evaluated incrementally
(``compliance.rules.evaluate_changed``: that terminal's findings plus the rules that read the whole floor, what the
commit hook now does for a terminal-only change; the camera turned again so its view is new for both). Floors: the demo venues, and generated malls (``planner.research.floorgen``, the
generated terminals replaced by corner cameras, as ``bench.bench_mall`` does). The inline limit
(COMPLIANCE_INLINE_LIMIT) is chosen from these figures: docs/compliance.md.

    .venv/bin/python -m bench.bench_compliance                      # demo floors + malls of 50, 100, 200, 500
    .venv/bin/python -m bench.bench_compliance --sizes 50,1000 --signed 1000 --out bench/results/compliance.csv
    .venv/bin/python -m bench.bench_compliance --sizes "" --signed "" --load   # the load test's save only
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIELDS = ["floor", "terminals", "private_zones", "estimate", "cold_s", "warm_s", "incremental_s", "speedup",
          "findings"]


def _measure(name: str, model, attributes: dict, profile: str) -> dict:
    from compliance import rules
    from findings.service import floor_cost
    from planner.coverage import Engine

    private = sum(1 for z in model.zones if z.zone == "private")
    t0 = time.perf_counter()
    engine = Engine(model)
    found = rules.evaluate(model, attributes, profile=profile, engine=engine)
    cold = time.perf_counter() - t0
    warm = incremental = None
    if model.terminals:
        first = model.terminals[0]

        def turned(degrees: float):
            return replace(model, terminals=(replace(first, heading_deg=(first.heading_deg + degrees) % 360),
                                             *model.terminals[1:]))

        t0 = time.perf_counter()
        rules.evaluate(turned(10), attributes, profile=profile, engine=engine)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        rules.evaluate_changed(turned(20), {first.id}, attributes, profile=profile, engine=engine)
        incremental = time.perf_counter() - t0
    return {"floor": name, "terminals": len(model.terminals), "private_zones": private,
            "estimate": floor_cost(len(model.terminals), private), "cold_s": round(cold, 3),
            "warm_s": None if warm is None else round(warm, 3),
            "incremental_s": None if incremental is None else round(incremental, 4),
            "speedup": None if not incremental else round(warm / incremental, 1), "findings": len(found.findings)}


def demo_rows() -> list[dict]:
    """The demo venues' floors, read through the app as the commit hook reads them."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from findings.service import terminal_attributes
    from inventory import floorio
    from inventory.demo import seed_demo
    from inventory.models import Floor
    from planner import floor as pf

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                          "HUEY_BACKEND": "immediate", "COMPLIANCE_AUTO_EVALUATE": False})
        rows = []
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_demo("bench-password")
            db.session.commit()
            for floor in db.session.scalars(db.select(Floor).order_by(Floor.id)):
                if not floorio.has_outline(floor):
                    continue
                model, _ = pf.without_bad_terminals(floorio.floor_model(floor))
                attributes = {t.code: terminal_attributes(t) for t in floor.terminals}
                rows.append(_measure(f"{floor.venue.name} / {floor.name}", model, attributes,
                                     floor.venue.compliance_profile.value))
            db.session.remove()
            db.engine.dispose()
        return rows


def mall_row(segments: int, signed: bool = False) -> dict:
    """One generated mall floor of ``segments`` shop segments; ``signed``: a warning sign at every camera, so the
    entrance-sign rule (which reads every view and every sign) has signs to judge."""
    from bench.bench_reduction import synthetic_westport
    from planner.floor import parse_floor
    from planner.research.floorgen import generate_mall_floor

    obj = generate_mall_floor(1, segments)
    obj = {**obj, "features": [f for f in obj["features"] if f["properties"].get("kind") != "terminal"]}
    model = parse_floor(synthetic_westport(obj))
    attributes = {t.id: {"signage_posted": True, "signage_x": t.x, "signage_y": t.y} for t in model.terminals} \
        if signed else {}
    return _measure(f"mall {segments} segments" + (", signed" if signed else ""), model, attributes, "CN")


def load_save(edits: int = 15) -> dict:
    """The load test's terminal save (bench/load: a 500-terminal mall floor, warm engine): CPU of the findings
    re-evaluation of one turned camera, the whole floor (``evaluate_venue``, before) against ``evaluate_terminals``
    (after), median over ``edits`` edits each, in one process."""
    from flask_migrate import upgrade

    from app import create_app
    from bench.load.seed import seed
    from extensions import db
    from findings import service
    from inventory.models import Terminal, Venue

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                          "HUEY_BACKEND": "immediate", "COMPLIANCE_AUTO_EVALUATE": False})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            targets = seed("bench-password")
            venue = db.session.get(Venue, targets["mall_venue"])
            service.evaluate_venue(venue, service.ALL_FLOORS, "bench")
            db.session.commit()
            times: dict[str, list[float]] = {"whole": [], "incremental": []}
            for i, terminal_id in enumerate(targets["mall_terminals"][:2 * edits]):
                way = "whole" if i % 2 == 0 else "incremental"
                terminal = db.session.get(Terminal, terminal_id)
                terminal.heading_deg = (terminal.heading_deg + 7) % 360
                db.session.flush()
                t0 = time.process_time()
                if way == "whole":
                    service.evaluate_venue(venue, {terminal.floor_id}, "bench")
                else:
                    service.evaluate_terminals(venue, {terminal.floor_id: {terminal.code}}, "bench")
                times[way].append(time.process_time() - t0)
                db.session.commit()
            db.session.remove()
            db.engine.dispose()
    whole, incremental = (sorted(v)[len(v) // 2] * 1000 for v in (times["whole"], times["incremental"]))
    return {"terminals": len(targets["mall_terminals"]), "whole_cpu_ms": round(whole, 1),
            "incremental_cpu_ms": round(incremental, 1), "speedup": round(whole / incremental, 1)}


def main(argv: list[str] | None = None) -> int:
    """Measure the demo floors and the generated malls; print a markdown table, optionally write a CSV."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,100,200,500")
    ap.add_argument("--signed", default="500", help="sizes measured again with a sign at every camera")
    ap.add_argument("--out")
    ap.add_argument("--load", action="store_true", help="also the load test's terminal save, whole vs incremental")
    args = ap.parse_args(argv)
    rows = demo_rows() + [mall_row(int(s)) for s in args.sizes.split(",") if s] \
        + [mall_row(int(s), signed=True) for s in args.signed.split(",") if s]
    print("| " + " | ".join(FIELDS) + " |")
    print("|" + "---|" * len(FIELDS))
    for row in rows:
        print("| " + " | ".join("—" if row[k] is None else str(row[k]) for k in FIELDS) + " |", flush=True)
    if args.load:
        row = load_save()
        print("\n| load floor terminals | whole_cpu_ms | incremental_cpu_ms | speedup |\n|---|---|---|---|")
        print(f"| {row['terminals']} | {row['whole_cpu_ms']} | {row['incremental_cpu_ms']} | {row['speedup']} |")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
