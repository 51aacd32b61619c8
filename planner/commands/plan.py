"""`python -m planner plan FLOOR.geojson`: the smallest camera set meeting the floor's coverage, with a certificate."""

from __future__ import annotations

import argparse
import json
import math

from planner.errors import InputError
from planner.floor import parse_floor
from planner.plan import MODES, PlanOptions, plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the plan command's arguments."""
    parser.add_argument("floor", help="sightline-floor/1 GeoJSON (or a convert output with 'levels')")
    parser.add_argument("--level", type=int, default=0, help="level index when the file holds several (default 0)")
    parser.add_argument("--mode", choices=MODES, default="reduce", help="reduce (default), design or mixed")
    parser.add_argument("--reaim", nargs="?", type=float, const=15.0, default=None, metavar="STEP",
                        help="let installed cameras turn at their mount in steps of STEP degrees (default 15)")
    parser.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="seconds (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--k", type=int, default=None, help="override every required zone's k")
    parser.add_argument("--allow-face", action="store_true", help="let face-recognition terminals meet coverage")
    parser.add_argument("--spacing", type=float, default=2.0, help="design mode: metres between mounts (default 2)")
    parser.add_argument("--headings", type=int, default=8, help="design mode: headings per mount (default 8)")
    parser.add_argument("--witness-spacing", type=float, default=None, help="witness grid spacing in metres")
    parser.add_argument("--no-explain", action="store_true", help="leave out the per-camera explanations")


def _load(path: str, level: int) -> dict:
    with open(path, encoding="utf-8") as fh:
        try:
            obj = json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", where=path)
    if isinstance(obj, dict) and "levels" in obj and "features" not in obj:
        levels = obj["levels"]
        if not isinstance(levels, list) or not levels:
            raise InputError("'levels' must be a non-empty list", where=path)
        if not 0 <= level < len(levels):
            raise InputError(f"--level {level} is outside 0..{len(levels) - 1}", where=path)
        obj = levels[level].get("floor") if isinstance(levels[level], dict) else None
    return obj


def run(args: argparse.Namespace) -> dict:
    """Plan and report kept, removed, added, objective, bound, status, uncovered_m2, privacy_overlap_m2, seconds."""
    if not (isinstance(args.time_limit, float | int) and math.isfinite(args.time_limit) and args.time_limit > 0):
        raise InputError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.reaim is not None and not 0 < args.reaim <= 180:
        raise InputError(f"--reaim STEP must be in (0, 180] degrees, got {args.reaim:g}")
    floor = parse_floor(_load(args.floor, args.level))
    options = PlanOptions(
        mode=args.mode, reaim_step=args.reaim, time_limit=args.time_limit, workers=args.workers, seed=args.seed,
        k_override=args.k, allow_face=args.allow_face, design_spacing=args.spacing, design_headings=args.headings,
        witness_spacing=args.witness_spacing, explain=not args.no_explain,
    )
    result = plan(floor, options)
    if result.objective is None:
        raise InputError(f"no plan found within {args.time_limit:g} s", where=args.floor)
    return result.to_dict()
