"""Floor plan services: uploads, backgrounds, calibration, vector imports, editor data and coverage overlays.

Flask-free apart from reading the upload folder and limits from the app config; they never read the request.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from accounts.access import can_edit_inventory, can_edit_zones
from accounts.models import User
from compliance import vocabulary
from extensions import db
from inventory import services
from inventory.choices import VenueType
from inventory.fields import ValidationError
from inventory.floorio import export_floor, import_floor, replace_zones, validate_collection
from inventory.importers import ImportFailed, ImportOptions, ImportResult, Limits, import_bytes
from inventory.importers.base import Background, with_choices
from inventory.models import Floor
from inventory.services import Forbidden

RASTER_EXTENSIONS = (".png", ".jpg", ".jpeg", ".pdf")
VECTOR_EXTENSIONS = (".json", ".geojson", ".zip", ".imdf", ".dxf")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def zone_templates(venue_type: VenueType | str) -> dict[str, Any]:
    """Zone templates of a venue type for the editor: uses with their kind, k and tier, and the private uses."""
    templates = vocabulary.zone_templates(VenueType(venue_type).value)
    uses = [{"use": use, "kind": kind, "k": k, "tier": tier} for use, (kind, k, tier) in sorted(templates.items())]
    return {"uses": uses, "always_private": list(vocabulary.always_private_uses())}


# ---------------------------------------------------------------- storage


def upload_root() -> Path:
    """Folder for original uploads and rendered backgrounds (config UPLOAD_FOLDER, else instance/uploads)."""
    root = current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")
    return Path(root)


def limits() -> Limits:
    """Importer limits with the configured upload size."""
    return Limits(max_upload_bytes=int(current_app.config["UPLOAD_MAX_BYTES"]))


def _floor_dir(floor: Floor) -> Path:
    return upload_root() / str(floor.venue.organisation_id) / f"floor-{floor.id}"


def _relative(path: Path) -> str:
    return path.relative_to(upload_root()).as_posix()


def _resolve(floor: Floor, relative: str) -> Path:
    """A stored file of this floor; anything outside the floor's folder is refused as not found."""
    base = _floor_dir(floor).resolve()
    path = (upload_root() / relative).resolve()
    if base not in path.parents or not path.is_file():
        raise services.NotFound(f"file {relative}")
    return path


def store_upload(floor: Floor, filename: str, data: bytes) -> tuple[str, str]:
    """Keep the original upload under <org>/floor-<id>/uploads/; returns its token and relative path."""
    token = uuid.uuid4().hex
    folder = _floor_dir(floor) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    name = _SAFE_NAME.sub("_", os.path.basename(filename.replace("\\", "/")))[-100:] or "upload"
    path = folder / f"{token}-{name}"
    path.write_bytes(data)
    return token, _relative(path)


def read_upload(floor: Floor, token: str) -> tuple[str, bytes, str]:
    """(original file name, bytes, relative path) of a stored upload of this floor."""
    if not _TOKEN.match(token or ""):
        raise services.NotFound("upload")
    folder = _floor_dir(floor) / "uploads"
    matches = sorted(folder.glob(f"{token}-*")) if folder.is_dir() else []
    original = floor.original_upload or ""
    if not matches and original.rsplit("/", 1)[-1].startswith(token + "-"):
        # A floor created from one level of a multi-level file shares the first floor's stored upload.
        path = (upload_root() / original).resolve()
        org_dir = (upload_root() / str(floor.venue.organisation_id)).resolve()
        if org_dir in path.parents and path.is_file():
            matches = [path]
    if not matches:
        raise services.NotFound("upload")
    path = matches[0]
    return path.name[len(token) + 1:], path.read_bytes(), _relative(path)


def stored_upload(floor: Floor) -> dict[str, str] | None:
    """The floor's original vector upload (token and name) when it can be imported again with another mapping."""
    name = (floor.original_upload or "").rsplit("/", 1)[-1]
    if len(name) < 34 or not _TOKEN.match(name[:32]) or not name.lower().endswith(VECTOR_EXTENSIONS):
        return None
    return {"token": name[:32], "name": name[33:]}


def background_path(floor: Floor) -> Path:
    """The floor's background image file, or NotFound."""
    if not floor.background_image:
        raise services.NotFound("background")
    return _resolve(floor, floor.background_image)


def _save_background(floor: Floor, background: Background) -> str:
    folder = _floor_dir(floor)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"background-{uuid.uuid4().hex}.png"
    path.write_bytes(background.png)
    return _relative(path)


# ---------------------------------------------------------------- layer mappings per organisation


def saved_layer_map(organisation_id: int) -> dict[str, str]:
    """The DXF layer -> role mapping an organisation last confirmed."""
    path = upload_root() / str(organisation_id) / "dxf-layer-map.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_layer_map(organisation_id: int, mapping: Mapping[str, str]) -> None:
    merged = {**saved_layer_map(organisation_id), **{k.lower(): v for k, v in mapping.items()}}
    folder = upload_root() / str(organisation_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dxf-layer-map.json").write_text(json.dumps(merged, sort_keys=True, indent=1), encoding="utf-8")


# ---------------------------------------------------------------- uploads


@dataclass
class Preview:
    """What an upload would do: the importer's result, the stored upload's token and whether it is a raster."""

    token: str
    filename: str
    result: ImportResult
    raster: bool
    stored: str


def _require_edit(user: User, floor: Floor) -> None:
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden("your role may not change floor plans")


def _failed(exc: ImportFailed) -> ValidationError:
    return ValidationError("file", str(exc))


def _options(floor: Floor, filename: str, layer_map: Mapping[str, str] | None = None,
             category_map: Mapping[str, str] | None = None, page: int = 0, units: str | None = None,
             repair: bool = False, choices: Mapping[str, str] | None = None) -> ImportOptions:
    if filename.lower().endswith(".dxf"):
        saved = saved_layer_map(floor.venue.organisation_id)
        layer_map = {**saved, **{k.lower(): v for k, v in (layer_map or {}).items()}}
    return with_choices(ImportOptions(layer_map=dict(layer_map) if layer_map else None,
                                      category_map=dict(category_map) if category_map else None, page=page,
                                      units=units or None, repair=repair), choices)


def upload_plan(user: User, floor: Floor, filename: str, data: bytes, *, page: int = 0, units: str | None = None,
                repair: bool = False) -> Preview:
    """Store an upload and read it; a raster or PDF becomes the background at once, a vector file is previewed."""
    _require_edit(user, floor)
    lower = filename.lower()
    if not lower.endswith(RASTER_EXTENSIONS + VECTOR_EXTENSIONS):
        raise ValidationError("file", f"{filename}: unsupported file type; upload PNG, JPEG, PDF, DXF, "
                                      "sightline GeoJSON, an IMDF zip or a WRLD zip")
    try:
        result = import_bytes(data, filename, options=_options(floor, filename, page=page, units=units, repair=repair),
                              limits=limits())
    except ImportFailed as exc:
        raise _failed(exc) from exc
    token, stored = store_upload(floor, filename, data)
    raster = result.format == "raster"
    if raster:
        _apply_background(floor, result.levels[0].background, stored, filename)
    return Preview(token, filename, result, raster, stored)


def _apply_background(floor: Floor, background: Background | None, upload: str, filename: str) -> None:
    if background is None:
        return
    meta: dict[str, Any] = {"width_px": background.width_px, "height_px": background.height_px,
                            "source": filename}
    if background.page is not None:
        meta.update(page=background.page, page_count=background.page_count)
    if background.extent_m is not None:
        x0, y0, x1, y1 = background.extent_m
        mpp = (x1 - x0) / background.width_px
        meta.update(metres_per_px=mpp, origin_px=[-x0 / mpp, background.height_px + y0 / mpp], rotation_deg=0.0)
    floor.background_image = _save_background(floor, background)
    floor.background_meta = meta
    floor.original_upload = upload
    db.session.flush()


def preview_upload(user: User, floor: Floor, token: str, *, layer_map: Mapping[str, str] | None = None,
                   category_map: Mapping[str, str] | None = None, units: str | None = None,
                   repair: bool = False, choices: Mapping[str, str] | None = None) -> Preview:
    """Read a stored vector upload again with another mapping (and the preview's scale/drawing/parts choices)."""
    _require_edit(user, floor)
    filename, data, path = read_upload(floor, token)
    try:
        options = _options(floor, filename, layer_map, category_map, units=units, repair=repair, choices=choices)
        result = import_bytes(data, filename, options=options, limits=limits())
    except ImportFailed as exc:
        raise _failed(exc) from exc
    return Preview(token, filename, result, result.format == "raster", path)


def apply_upload(user: User, floor: Floor, token: str, *, level: str = "0",
                 layer_map: Mapping[str, str] | None = None, category_map: Mapping[str, str] | None = None,
                 units: str | None = None, repair: bool = False,
                 choices: Mapping[str, str] | None = None) -> list[Floor]:
    """Replace the floor's structure and zones from a stored vector upload (level index, or "all": one floor each).

    Everything happens in the caller's transaction, so any error leaves every floor as it was.
    """
    preview = preview_upload(user, floor, token, layer_map=layer_map, category_map=category_map, units=units,
                             repair=repair, choices=choices)
    result = preview.result
    if preview.raster:
        raise ValidationError("file", f"{preview.filename}: an image or PDF has no vector geometry to import")
    levels = result.levels
    if level == "all":
        chosen = list(levels)
    else:
        try:
            chosen = [levels[int(level)]]
        except (ValueError, IndexError):
            raise ValidationError("level", f"no level {level!r} in {preview.filename}")
    floors: list[Floor] = []
    used_levels = {f.level for f in floor.venue.floors}
    next_level = max(used_levels, default=floor.level) + 1
    for n, lv in enumerate(chosen):
        if n == 0:
            target = floor
        else:
            target = services.create_floor(user, floor.venue, {"level": next_level, "name": lv.name[:100] or
                                                                f"Level {next_level}"})
            next_level += 1
        collection = dict(lv.floor)
        uploaded = {f["properties"].get("id") for f in lv.floor["features"] if f["properties"]["kind"] == "terminal"}
        # Terminals already on the floor stay (and must fit the new outline); the file's own terminals win.
        collection["features"] = list(lv.floor["features"]) + [
            f for f in export_floor(target)["features"]
            if f["properties"]["kind"] == "terminal" and f["properties"]["id"] not in uploaded]
        try:
            import_floor(user, target, collection)
        except ValidationError as exc:
            where = f", {exc.field}" if exc.field else ""
            raise ValidationError(exc.field, f"{preview.filename}, level {lv.name!r}{where}: {exc.message}") from exc
        target.original_upload = preview.stored
        if lv.background is not None:
            _apply_background(target, lv.background, preview.stored, preview.filename)
        floors.append(target)
    if result.format == "dxf" and layer_map:
        _save_layer_map(floor.venue.organisation_id, layer_map)
    db.session.flush()
    return floors


def calibrate(user: User, floor: Floor, p1: tuple[float, float], p2: tuple[float, float], distance_m: float,
              origin: tuple[float, float] | None = None, rotation_deg: float = 0.0) -> dict[str, Any]:
    """Set the background's scale from two pixel points a known distance apart, plus origin and rotation."""
    from inventory.importers.raster import calibrate as two_point

    _require_edit(user, floor)
    if not floor.background_image or not floor.background_meta:
        raise ValidationError("file", "upload a plan image before setting its scale")
    checks = {"distance_m": distance_m, "rotation_deg": rotation_deg, "x1": p1[0], "y1": p1[1], "x2": p2[0],
              "y2": p2[1]}
    for name, value in checks.items():
        if not math.isfinite(value):
            raise ValidationError(name, "must be a finite number")
    try:
        cal = two_point(p1, p2, distance_m, origin_px=origin, rotation_deg=rotation_deg % 360.0)
    except ImportFailed as exc:
        raise ValidationError("distance_m", exc.message) from exc
    meta = dict(floor.background_meta)
    meta.update(metres_per_px=cal.metres_per_px, origin_px=list(cal.origin_px), rotation_deg=cal.rotation_deg,
                calibration={"p1": list(p1), "p2": list(p2), "distance_m": distance_m})
    floor.background_meta = meta
    db.session.flush()
    return meta


def background_corners(floor: Floor) -> list[list[float]] | None:
    """The background image's corners in floor metres (top-left, top-right, bottom-right, bottom-left)."""
    from inventory.importers.raster import Calibration

    meta = floor.background_meta or {}
    if not floor.background_image or "metres_per_px" not in meta:
        return None
    cal = Calibration(float(meta["metres_per_px"]), tuple(meta["origin_px"]), float(meta.get("rotation_deg", 0.0)))
    return [[round(x, 4), round(y, 4)] for x, y in cal.corners_m(int(meta["width_px"]), int(meta["height_px"]))]


# ---------------------------------------------------------------- editor and geometry API


def editor_state(user: User, floor: Floor, background_url: str | None) -> dict[str, Any]:
    """Everything the floor editor loads: the floor, its background, zone templates and permissions."""
    return {
        "floor": export_floor(floor),
        "background": {"url": background_url, "meta": floor.background_meta, "corners": background_corners(floor)}
        if floor.background_image else None,
        "templates": zone_templates(floor.venue.type),
        "can_edit": can_edit_inventory(user, floor.venue.organisation_id),
        "can_edit_zones": can_edit_zones(user, floor.venue.organisation_id),
    }


def save_geometry(user: User, floor: Floor, collection: Any, *, replace_terminals: bool = False) -> dict[str, int]:
    """Replace the floor from a whole sightline-floor/1 collection (all or nothing)."""
    if not isinstance(collection, dict):
        raise ValidationError("floor", "body must be a sightline-floor/1 FeatureCollection")
    return import_floor(user, floor, collection, replace_terminals=replace_terminals)


def save_zones(user: User, floor: Floor, features: Any) -> dict[str, int]:
    """Replace only the floor's zones (what planners may change), checked with the rest of the floor."""

    if not can_edit_zones(user, floor.venue.organisation_id):
        raise Forbidden("your role may not change zones")
    if not isinstance(features, list) or any(
            not isinstance(f, dict) or not isinstance(f.get("properties"), dict)
            or f["properties"].get("kind") != "zone" for f in features):
        raise ValidationError("features", "must be a list of zone features")
    current = export_floor(floor)
    collection = {**current, "features": [f for f in current["features"] if f["properties"]["kind"] != "zone"]
                  + features}
    validate_collection(collection)
    replace_zones(floor, features)
    return {"zones": len(features)}


def set_pose(user: User, floor: Floor, code: str, data: Mapping[str, Any]) -> Any:
    """Move or turn one terminal (x, y, heading_deg, hfov_deg), checked against the floor outline."""
    terminal = next((t for t in floor.terminals if t.code == code), None)
    if terminal is None:
        raise services.NotFound(f"terminal {code}")
    pose = {k: data[k] for k in ("x", "y", "heading_deg", "hfov_deg", "range_m", "hpx") if k in data}
    services.update_terminal(user, terminal, pose)
    if floor.structure:
        validate_collection(export_floor(floor))
    return terminal


def delete_terminal(user: User, floor: Floor, code: str) -> None:
    """Delete one terminal record of the floor by its ID."""
    terminal = next((t for t in floor.terminals if t.code == code), None)
    if terminal is None:
        raise services.NotFound(f"terminal {code}")
    services.delete_object(user, terminal)


def overlays(floor: Floor, tolerance: float | None = None) -> dict[str, Any]:
    """Coverage overlays (planner.overlays) as GeoJSON: wall-clipped views, uncovered pieces, private intrusions."""
    from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
    from planner.overlays import coverage_overlays

    collection = export_floor(floor)
    if not any(f["properties"]["kind"] == "outline" for f in collection["features"]):
        return {"type": "FeatureCollection", "features": [], "note": "the floor has no outline yet"}
    engine = Engine(validate_collection(collection))
    return coverage_overlays(engine, tolerance=PRIVACY_TOLERANCE_M2 if tolerance is None else tolerance)
