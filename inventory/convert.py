"""`python -m inventory.convert FILE [--format auto|geojson|imdf|wrld|osm|dxf]`: vector plan -> sightline-floor/1.

Prints {"levels": [{"name": ..., "floor": <FeatureCollection>}]} as one JSON object on stdout; bad input
exits non-zero with a one-line error on stderr. Uses the same importers as the web upload.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from inventory.importers import VECTOR_FORMATS, ImportFailed, ImportOptions, import_path
from inventory.importers.dxf import ROLES


class _Parser(argparse.ArgumentParser):
    """Argument parser whose usage errors follow the one-line-on-stderr contract."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    p = _Parser(prog="python -m inventory.convert", description=__doc__.splitlines()[0])
    p.add_argument("file", help="DXF, sightline-floor/1 GeoJSON, OSM indoor GeoJSON, IMDF zip or directory, WRLD main.json/level/dir/zip")
    p.add_argument("--format", default="auto", choices=("auto", *VECTOR_FORMATS))
    p.add_argument("--repair", action="store_true", help="repair self-intersecting polygons instead of failing")
    p.add_argument("--units", help="DXF drawing units, overriding $INSUNITS (mm, cm, m, in, ft)")
    p.add_argument("--scale", type=float, help="DXF metres per drawing unit, overriding the units")
    p.add_argument("--layer-map", type=_layer_map, metavar="ROLE=LAYER,...",
                   help="DXF layer roles, e.g. wall=A-WALL,door=A-DOOR,private=TOILET (roles: "
                        f"{', '.join(ROLES)}); other layers are guessed")
    p.add_argument("--drawing", type=int, metavar="N", help="DXF: which of several drawings in model space (1 = largest)")
    p.add_argument("--split-parts", action="store_true", help="IMDF: one floor per part of a level in several parts")
    return p


def _layer_map(text: str) -> dict[str, str]:
    """`wall=A-WALL,door=A-DOOR` -> {"A-WALL": "wall", "A-DOOR": "door"} (a role may name several layers)."""
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        role, sep, layer = item.partition("=")
        role, layer = role.strip().lower(), layer.strip()
        if not sep or not layer:
            raise argparse.ArgumentTypeError(f"{item.strip()!r} is not ROLE=LAYER")
        if role not in ROLES:
            raise argparse.ArgumentTypeError(f"role {role!r} is not one of {', '.join(ROLES)}")
        out[layer] = role
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conversion; print the JSON result, or a one-line error and return non-zero."""
    args = build_parser().parse_args(argv)
    options = ImportOptions(repair=args.repair, units=args.units, scale=args.scale, layer_map=args.layer_map,
                            cluster=args.drawing, level_parts="split" if args.split_parts else "merge",
                            render_background=False)
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
