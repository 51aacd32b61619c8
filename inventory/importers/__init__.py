"""Floor-plan importers (Flask-free): turn an upload into sightline-floor/1 floors.

The web upload and `python -m inventory.convert` both call `import_bytes` / `import_path`.
"""

from __future__ import annotations

import importlib
import posixpath
from pathlib import Path
from typing import Any

from inventory.importers.base import (
    Background,
    Importer,
    ImportFailed,
    ImportOptions,
    ImportResult,
    Level,
    Limits,
    start_clock,
    stop_clock,
)
from inventory.importers.safety import check_size, load_json, read_directory, read_file, read_zip, sniff

FORMATS = ("geojson", "imdf", "wrld", "osm", "dxf", "raster")
VECTOR_FORMATS = ("geojson", "imdf", "wrld", "osm", "dxf")

# Extension -> the content sniff() must find, so a PNG renamed .dxf is refused with a clear reason.
_EXPECTED = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".dxf": "dxf",
    ".zip": "zip", ".imdf": "zip", ".json": "json", ".geojson": "json",
}
_CONTENT_NAMES = {
    "png": "a PNG image", "jpeg": "a JPEG image", "pdf": "a PDF", "dxf": "a DXF drawing", "zip": "a zip archive",
    "json": "JSON text", "dwg": "a DWG drawing", "gif": "a GIF image", "tiff": "a TIFF image",
    "unknown": "not a recognised format",
}

_FORMAT_CONTENT = {"dxf": {"dxf"}, "raster": {"png", "jpeg", "pdf"}, "geojson": {"json"}, "wrld": {"json"},
                   "osm": {"json"}, "imdf": set()}
_FORMAT_NAMES = {"dxf": "a DXF drawing", "raster": "an image or PDF", "geojson": "sightline-floor/1 GeoJSON",
                 "wrld": "a WRLD building", "osm": "OSM indoor GeoJSON", "imdf": "an IMDF archive (zip)"}

__all__ = [
    "FORMATS", "VECTOR_FORMATS", "Background", "ImportFailed", "ImportOptions", "ImportResult", "Importer",
    "Level", "Limits", "detect_format", "import_bytes", "import_files", "import_path", "importer",
]


def importer(fmt: str) -> Importer:
    """The importer module for a format name (imported lazily: DXF and PDF pull in heavy libraries)."""
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return importlib.import_module(f"inventory.importers.{fmt}")  # type: ignore[return-value]


def _kind(data: bytes, filename: str) -> str:
    """Content kind of one file, refusing names whose extension contradicts the content."""
    kind = sniff(data)
    ext = posixpath.splitext(filename.lower())[1]
    expected = _EXPECTED.get(ext)
    if kind == "dwg":
        raise ImportFailed("DWG drawings are not supported; export the plan as DXF or PDF", where=filename)
    if expected and kind != expected:
        if not data.strip():
            raise ImportFailed("file is empty", where=filename)
        raise ImportFailed(f"named {ext} but the content is {_CONTENT_NAMES[kind]}", where=filename)
    if kind in ("gif", "tiff"):
        raise ImportFailed(f"{_CONTENT_NAMES[kind]} is not supported; use PNG, JPEG or PDF", where=filename)
    if kind == "unknown":
        raise ImportFailed(
            "not a recognised plan file (PNG, JPEG, PDF, DXF, GeoJSON, IMDF zip or WRLD building)", where=filename
        )
    return kind


def _json_format(obj: Any, where: str) -> str:
    from inventory.importers import geojson, osm, wrld

    if geojson.is_floor(obj) or geojson.is_levels(obj):
        return "geojson"
    if wrld.is_main(obj) or wrld.is_level_collection(obj):
        return "wrld"
    if osm.is_osm_indoor(obj):
        return "osm"
    features = obj.get("features") if isinstance(obj, dict) else None
    if isinstance(obj, dict) and ("feature_type" in obj or isinstance(features, list) and any(
        isinstance(f, dict) and "feature_type" in f for f in features
    )):
        raise ImportFailed("an IMDF feature file needs its whole archive: upload the IMDF zip", where=where)
    if isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        raise ImportFailed(
            "GeoJSON without \"format\": \"sightline-floor/1\", not WRLD, IMDF or OSM indoor (no indoor= tags); "
            "cannot tell walls from rooms",
            where=where,
        )
    raise ImportFailed("JSON is not a sightline-floor/1, WRLD or IMDF file", where=where)


def detect_format(files: dict[str, bytes], source: str) -> str:
    """The format of a set of files: one uploaded file, or an archive's/directory's members."""
    names = {posixpath.basename(n).lower() for n in files}
    if "manifest.json" in names and any(n.endswith("level.geojson") for n in names):
        return "imdf"
    if "manifest.json" in names and "main.json" not in names:
        return "imdf"
    if len(files) == 1:
        fname, data = next(iter(files.items()))
        kind = _kind(data, fname)
        if kind in ("png", "jpeg", "pdf"):
            return "raster"
        if kind == "dxf":
            return "dxf"
        if kind == "zip":
            raise ImportFailed("nested zip archives are not supported", where=fname)
        return _json_format(load_json(data, fname), fname)
    if "main.json" in names:
        return "wrld"
    jsons = [n for n in files if n.lower().endswith((".json", ".geojson"))]
    for n in jsons:
        try:
            fmt = _json_format(load_json(files[n], n), n)
        except ImportFailed:
            continue
        if fmt == "wrld":
            return "wrld"
    raise ImportFailed("archive holds neither an IMDF manifest.json nor a WRLD main.json", where=source)


def import_files(
    files: dict[str, bytes],
    source: str,
    *,
    format: str = "auto",
    options: ImportOptions | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Import already-read files (name -> bytes) with the named or detected format."""
    options = options or ImportOptions()
    limits = limits or Limits()
    fmt = detect_format(files, source) if format == "auto" else format
    if format != "auto" and len(files) == 1:
        # Still refuse content that contradicts the file name or the chosen format.
        fname, data = next(iter(files.items()))
        kind = _kind(data, fname)
        if kind not in _FORMAT_CONTENT.get(fmt, {kind}):
            raise ImportFailed(f"is {_CONTENT_NAMES[kind]}, not {_FORMAT_NAMES[fmt]}", where=fname)
    clock = start_clock(limits)
    try:
        return importer(fmt).load(files, source, options, limits)
    except RecursionError as exc:
        raise ImportFailed("input nested too deeply", where=source) from exc
    except MemoryError as exc:
        raise ImportFailed("input too large to process", where=source) from exc
    finally:
        stop_clock(clock)


def import_bytes(
    data: bytes,
    filename: str,
    *,
    format: str = "auto",
    options: ImportOptions | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Import one uploaded file (a zip is opened safely and treated as IMDF or a WRLD building)."""
    limits = limits or Limits()
    name = posixpath.basename(filename.replace("\\", "/")) or "upload"
    check_size(len(data), name, limits)
    if not data:
        raise ImportFailed("file is empty", where=name)
    files = read_zip(data, name, limits) if _kind(data, name) == "zip" else {name: data}
    return import_files(files, name, format=format, options=options, limits=limits)


def import_path(
    path: str | Path,
    *,
    format: str = "auto",
    options: ImportOptions | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Import a file, a zip, a directory (WRLD building or unpacked IMDF), or a WRLD main.json with its levels."""
    from inventory.importers import wrld

    limits = limits or Limits()
    path = Path(path)
    if path.is_dir():
        return import_files(read_directory(path, limits), path.name, format=format, options=options, limits=limits)
    data = read_file(path, limits)
    if path.suffix.lower() == ".json" and sniff(data) == "json" and format in ("auto", "wrld"):
        obj = load_json(data, path.name)
        if wrld.is_main(obj):
            files = {path.name: data}
            folder = path.parent.resolve()
            for lv in obj["levels"]:
                sibling = (path.parent / str(lv["filename"])).resolve()
                # Only files beside main.json: a level "filename" must not reach elsewhere on disk.
                if sibling.is_file() and sibling.is_relative_to(folder):
                    files[posixpath.normpath(str(lv["filename"]))] = read_file(sibling, limits)
            return import_files(files, path.name, format="wrld", options=options, limits=limits)
    return import_bytes(data, path.name, format=format, options=options, limits=limits)
