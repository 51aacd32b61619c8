"""The `python -m planner` command line: each sub-command prints one JSON object on stdout."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from planner.errors import InputError

# Sub-command name -> module under planner.commands exposing add_arguments(parser) and run(args) -> dict.
COMMANDS = {
    "coverage": "Per-terminal views and per-zone coverage of a sightline-floor/1 file.",
    "plan": "Smallest set of cameras meeting the floor's required coverage, with a certificate.",
    "scp": "Solve an OR-Library set-cover instance.",
    "agp": "Solve the vertex-guard art-gallery problem for a Unicamp .pol polygon.",
}


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors follow the one-line-on-stderr contract."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with one sub-parser per available command."""
    parser = _Parser(prog="python -m planner", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        module = _load(name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def _load(name: str):
    """Import planner.commands.<name>, or None while that command is not built yet."""
    try:
        return importlib.import_module(f"planner.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"planner.commands.{name}":
            return None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; print its JSON result, or a one-line error and exit non-zero."""
    args = build_parser().parse_args(argv)
    try:
        result = args._module.run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")
    return 0
