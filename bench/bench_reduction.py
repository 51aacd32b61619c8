"""Reduction benchmark: installed cameras before and after the optimizer, with the certificate.

Venues: the three demo floors (inventory/demo_plans.py) and the seven levels of Westport House
(tests/data/westport-house, WRLD Ltd, CC BY 4.0), converted with `python -m inventory.convert`.  Westport has
no cameras or requirements, so synthetic ones are added deterministically: every non-private zone becomes
required (k = 1, tier observe) and gets one installed camera in each of its corners (0.3 m inside, aimed at the
zone's centre, 90°, 1920 px): the "a camera in every corner" over-provisioning the product is meant to undo.

Usage: python bench/bench_reduction.py [--time-limit 60] [--reaim] [--out bench/results/reduction.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shapely.geometry import Polygon  # noqa: E402

from inventory.demo_plans import hotel_floor, pool_floor, supermarket_floor  # noqa: E402
from planner.floor import parse_floor  # noqa: E402
from planner.plan import PlanOptions, plan  # noqa: E402
from planner.verify import verify_plan  # noqa: E402

FIELDS = ["venue", "level", "required_zones", "private_zones", "cameras_before", "face_terminals_before",
          "cameras_after", "removed", "reaimed", "bound", "status", "provably_minimal", "uncovered_m2",
          "infeasible_m2", "privacy_overlap_m2", "verified", "seconds"]


def synthetic_westport(floor_obj: dict) -> dict:
    """Required zones from every non-private zone and a camera in each of their corners."""
    feats = []
    cams = 0
    for f in floor_obj["features"]:
        p = f["properties"]
        if p.get("kind") == "terminal":
            continue
        if p.get("kind") == "zone" and p.get("zone") == "general":
            f = {**f, "properties": {**p, "zone": "required", "k": 1, "tier": "observe"}}
        feats.append(f)
        if f["properties"].get("kind") == "zone" and f["properties"].get("zone") == "required":
            poly = Polygon(f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][1:])
            c = poly.centroid
            ring = list(poly.exterior.coords)[:-1]
            for x, y in ring:
                d = math.hypot(c.x - x, c.y - y)
                if d < 1.0:
                    continue
                px, py = x + 0.3 * (c.x - x) / d, y + 0.3 * (c.y - y) / d
                if not poly.contains(Polygon([(px - 1e-3, py - 1e-3), (px + 1e-3, py - 1e-3), (px, py + 1e-3)])):
                    continue
                cams += 1
                feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [px, py]},
                              "properties": {"kind": "terminal", "id": f"S-{cams:03d}", "type": "camera",
                                             "heading_deg": math.degrees(math.atan2(c.y - py, c.x - px)) % 360,
                                             "hfov_deg": 90.0, "hpx": 1920}})
    return {**floor_obj, "features": feats}


def venues() -> list[tuple[str, str, dict]]:
    """(venue, level, sightline-floor/1 dict) for the demo floors and Westport House."""
    out = [("demo hotel", "3", hotel_floor()), ("demo supermarket", "0", supermarket_floor()),
           ("demo pool", "0", pool_floor())]
    proc = subprocess.run([sys.executable, "-m", "inventory.convert", str(ROOT / "tests/data/westport-house")],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    for level in json.loads(proc.stdout)["levels"]:
        out.append(("Westport House", level["name"], synthetic_westport(level["floor"])))
    return out


def main() -> None:
    """Plan every venue level and write before/after counts with the certificate."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--reaim", action="store_true")
    ap.add_argument("--out", default="bench/results/reduction.csv")
    ap.add_argument("--summary", action="store_true", help="only print the markdown table")
    args = ap.parse_args()
    if args.summary:
        print(summarize(args.out))
        return
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        for venue, level, obj in venues():
            floor = parse_floor(obj)
            if not floor.zones_of("required"):
                continue
            p = plan(floor, PlanOptions(time_limit=args.time_limit, reaim_step=15.0 if args.reaim else None,
                                        explain=False))
            report = verify_plan(floor, p.to_dict())
            row = {"venue": venue, "level": level, "required_zones": len(floor.zones_of("required")),
                   "private_zones": len(floor.zones_of("private")),
                   "cameras_before": sum(t.type == "camera" for t in floor.terminals),
                   "face_terminals_before": sum(t.type == "face_terminal" or t.face_recognition
                                                for t in floor.terminals),
                   "cameras_after": p.objective, "removed": len(p.removed), "reaimed": len(p.reaimed),
                   "bound": p.bound, "status": p.status, "provably_minimal": p.provably_minimal,
                   "uncovered_m2": p.uncovered_m2["total"],
                   "infeasible_m2": round(sum(i["area_m2"] for i in p.infeasible), 3),
                   "privacy_overlap_m2": p.privacy_overlap_m2["total"], "verified": report.ok,
                   "seconds": f"{p.seconds:.2f}"}
            w.writerow(row)
            fh.flush()
            print(row, flush=True)


def summarize(path: str = "bench/results/reduction.csv") -> str:
    """Markdown table of the CSV."""
    rows = list(csv.DictReader(open(path)))
    lines = ["| venue | level | required zones | cameras before | face terminals before | cameras after | bound | "
             "status | uncovered m² | infeasible m² | privacy overlap m² | verified | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['venue']} | {r['level']} | {r['required_zones']} | {r['cameras_before']} | "
                     f"{r['face_terminals_before']} | {r['cameras_after']} | {r['bound']} | {r['status']} | "
                     f"{float(r['uncovered_m2']):.2f} | {float(r['infeasible_m2']):.2f} | "
                     f"{float(r['privacy_overlap_m2']):.2f} | {r['verified']} | {r['seconds']} |")
    before = sum(int(r["cameras_before"]) + int(r["face_terminals_before"]) for r in rows)
    after = sum(int(r["cameras_after"] or 0) for r in rows)
    lines.append(f"\nCameras + face terminals before: {before}; cameras after: {after}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
