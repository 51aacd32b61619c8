"""`python -m inventory.convert FILE [--format auto|geojson|imdf|wrld|dxf]`: vector plan -> sightline-floor/1.

Prints {"levels": [{"name": ..., "floor": <FeatureCollection>}]} as one JSON object on stdout; bad input
exits non-zero with a one-line error on stderr. Uses the same importers as the web upload.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from inventory.importers import VECTOR_FORMATS, ImportFailed, ImportOptions, import_path


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors follow the one-line-on-stderr contract."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = _Parser(prog="python -m inventory.convert", description=__doc__.splitlines()[0])
    p.add_argument("file", help="DXF, sightline-floor/1 GeoJSON, IMDF zip or directory, WRLD main.json/level/dir/zip")
    p.add_argument("--format", default="auto", choices=("auto", *VECTOR_FORMATS))
    p.add_argument("--repair", action="store_true", help="repair self-intersecting polygons instead of failing")
    p.add_argument("--units", help="DXF drawing units when $INSUNITS is unset (mm, cm, m, in, ft)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conversion; print the JSON result, or a one-line error and return non-zero."""
    args = build_parser().parse_args(argv)
    options = ImportOptions(repair=args.repair, units=args.units, render_background=False)
    try:
        result = import_path(args.file, format=args.format, options=options)
        if result.format not in VECTOR_FORMATS:
            raise ImportFailed(
                "is an image or PDF: it has no vector geometry; upload it in the web app to trace it",
                where=result.source,
            )
    except ImportFailed as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for w in result.warnings:
        print(f"warning: {' '.join(w.split())}", file=sys.stderr)
    json.dump(result.to_json(), sys.stdout, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
