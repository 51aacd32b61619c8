"""`python -m planner coverage FLOOR.geojson`: per-terminal views and per-zone coverage as JSON."""

from __future__ import annotations

import argparse

import shapely

from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
from planner.errors import InputError
from planner.floor import Floor, load_floor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the coverage command's arguments."""
    parser.add_argument("floor", help="a sightline-floor/1 GeoJSON file")
    parser.add_argument("--tolerance", type=float, default=PRIVACY_TOLERANCE_M2,
                        help="private-zone overlap tolerance in m2 (default 0.01)")
    parser.add_argument("--geojson", metavar="OUT", help="also write the coverage overlays to this GeoJSON file")
    parser.add_argument("--png", metavar="OUT", help="also render the overlays to this PNG file")


def run(args: argparse.Namespace) -> dict:
    """Compute the coverage report for the floor file."""
    if not args.tolerance >= 0:
        raise InputError(f"--tolerance must be >= 0 m2, got {args.tolerance}")
    floor = load_floor(args.floor)
    try:
        return _run(floor, args)
    except shapely.errors.GEOSException as exc:
        raise InputError(f"geometry could not be processed: {exc}", where=args.floor)


def _run(floor: Floor, args: argparse.Namespace) -> dict:
    engine = Engine(floor)
    report = engine.report(args.tolerance)
    if args.geojson or args.png:
        from planner.overlays import coverage_overlays, render_png, write_geojson

        overlays = coverage_overlays(engine, tolerance=args.tolerance)
        if args.geojson:
            write_geojson(overlays, args.geojson)
        if args.png:
            render_png(engine, args.png, overlays=overlays)
    return report
