"""The plan upload flow: store and read a file, preview a vector import, apply it (or set a raster background)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory import services
from inventory.errors import Forbidden
from inventory.fields import ValidationError
from inventory.floor_storage import RASTER_EXTENSIONS, VECTOR_EXTENSIONS, Storage
from inventory.floorio import export_floor, import_floor
from inventory.importers import ImportFailed, ImportOptions, ImportResult, Limits, import_bytes
from inventory.importers.base import Background, with_choices
from inventory.models import Floor


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


def _options(storage: Storage, floor: Floor, filename: str, layer_map: Mapping[str, str] | None = None,
             category_map: Mapping[str, str] | None = None, page: int = 0, units: str | None = None,
             repair: bool = False, choices: Mapping[str, str] | None = None) -> ImportOptions:
    if filename.lower().endswith(".dxf"):
        saved = storage.saved_layer_map(floor.venue.organisation_id)
        layer_map = {**saved, **{k.lower(): v for k, v in (layer_map or {}).items()}}
    return with_choices(ImportOptions(layer_map=dict(layer_map) if layer_map else None,
                                      category_map=dict(category_map) if category_map else None, page=page,
                                      units=units or None, repair=repair), choices)


def upload_plan(storage: Storage, limits: Limits, user: User, floor: Floor, filename: str, data: bytes, *,
                page: int = 0, units: str | None = None, repair: bool = False) -> Preview:
    """Store an upload and read it; a raster or PDF becomes the background at once, a vector file is previewed."""
    _require_edit(user, floor)
    lower = filename.lower()
    if not lower.endswith(RASTER_EXTENSIONS + VECTOR_EXTENSIONS):
        raise ValidationError("file", f"{filename}: unsupported file type; upload PNG, JPEG, PDF, DXF, "
                                      "sightline GeoJSON, an IMDF zip or a WRLD zip")
    try:
        options = _options(storage, floor, filename, page=page, units=units, repair=repair)
        result = import_bytes(data, filename, options=options, limits=limits)
    except ImportFailed as exc:
        raise _failed(exc) from exc
    token, stored = storage.store_upload(floor, filename, data)
    raster = result.format == "raster"
    if raster:
        _apply_background(storage, floor, result.levels[0].background, stored, filename)
    return Preview(token, filename, result, raster, stored)


def _apply_background(storage: Storage, floor: Floor, background: Background | None, upload: str,
                      filename: str) -> None:
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
    floor.background_image = storage.save_background(floor, background)
    floor.background_meta = meta
    floor.original_upload = upload
    db.session.flush()


def preview_upload(storage: Storage, limits: Limits, user: User, floor: Floor, token: str, *,
                   layer_map: Mapping[str, str] | None = None, category_map: Mapping[str, str] | None = None,
                   units: str | None = None, repair: bool = False, choices: Mapping[str, str] | None = None) -> Preview:
    """Read a stored vector upload again with another mapping (and the preview's scale/drawing/parts choices)."""
    _require_edit(user, floor)
    filename, data, path = storage.read_upload(floor, token)
    try:
        options = _options(storage, floor, filename, layer_map, category_map, units=units, repair=repair,
                           choices=choices)
        result = import_bytes(data, filename, options=options, limits=limits)
    except ImportFailed as exc:
        raise _failed(exc) from exc
    return Preview(token, filename, result, result.format == "raster", path)


def apply_upload(storage: Storage, limits: Limits, user: User, floor: Floor, token: str, *, level: str = "0",
                 layer_map: Mapping[str, str] | None = None, category_map: Mapping[str, str] | None = None,
                 units: str | None = None, repair: bool = False,
                 choices: Mapping[str, str] | None = None) -> list[Floor]:
    """Update the floor's structure and zones from a stored vector upload (level index, or "all": one floor each).

    Features carrying the id of one already on the floor update it in place. Everything happens in the
    caller's transaction, so any error leaves every floor as it was.
    """
    preview = preview_upload(storage, limits, user, floor, token, layer_map=layer_map, category_map=category_map,
                             units=units, repair=repair, choices=choices)
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
            _apply_background(storage, target, lv.background, preview.stored, preview.filename)
        floors.append(target)
    if result.format == "dxf" and layer_map:
        storage.save_layer_map(floor.venue.organisation_id, layer_map)
    db.session.flush()
    return floors
