"""`python -m planner agp FILE.pol`: minimum vertex guards of a Unicamp polygon, exact (optimal count, 0 uncovered)."""

from __future__ import annotations

import argparse
import math

from planner.errors import InputError
from planner.research.agp import solve_agp
from planner.research.polfile import read_pol


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the agp command's arguments."""
    parser.add_argument("file", help="polygon in the Unicamp .pol format (holes allowed)")
    parser.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="seconds (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args: argparse.Namespace) -> dict:
    """Solve and report guards, bound, status, uncovered_m2 and seconds (plus the guard vertices)."""
    if not (isinstance(args.time_limit, float | int) and math.isfinite(args.time_limit) and args.time_limit > 0):
        raise InputError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    pol = read_pol(args.file)
    result = solve_agp(pol, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    if not result.guards:
        raise InputError(f"no guard set found within {args.time_limit:g} s", where=args.file)
    out = result.to_dict()
    out["file"] = args.file
    return out
