"""The plan upload flow: store a file, read it once in a queue job with a time limit, preview, apply the stored parse.

The upload is stored first; the `floor_import` job parses it (time-limited, in a worker) and keeps the status
and the whole parse as JSON beside the upload, so the page polls that status and "apply" reuses the parse
instead of reading the file again. A failed or timed-out read changes no floor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory import services
from inventory.errors import Forbidden, NotFound
from inventory.fields import ValidationError
from inventory.floor_storage import RASTER_EXTENSIONS, VECTOR_EXTENSIONS, Storage
from inventory.floorio import export_floor, import_floor
from inventory.importers import ImportFailed, ImportOptions, ImportResult, Limits, import_bytes
from inventory.importers.base import Background, Level, reset_steps, watch_steps, with_choices
from inventory.importers.safety import check_size
from inventory.models import Floor
from jobs.queue import enqueue, job

IMPORT_JOB = "floor_import"


@dataclass
class Preview:
    """What an upload would do: the importer's result, the stored upload's token and whether it is a raster."""

    token: str
    filename: str
    result: ImportResult
    raster: bool
    stored: str
    # The form values the parse was made with (units, repair, choice:*), to show them selected again.
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportStatus:
    """Where an upload's background read stands: queued, reading, done (with its preview) or failed (why)."""

    token: str
    filename: str
    state: str
    error: str | None = None
    seconds: float | None = None
    preview: Preview | None = None
    step: str | None = None


def import_limits(config: Mapping[str, Any]) -> Limits:
    """Importer limits from the app config: the upload size and the wall-clock limit of one read."""
    seconds = config.get("IMPORT_MAX_SECONDS")
    return Limits(max_upload_bytes=int(config["UPLOAD_MAX_BYTES"]),
                  max_seconds=float(seconds) if seconds is not None else None)


def _require_edit(user: User, floor: Floor) -> None:
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not change floor plans"))


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
                page: int = 0, units: str | None = None, repair: bool = False) -> str:
    """Store an upload and mark it queued for reading; returns its token (the caller commits, then queue_import)."""
    _require_edit(user, floor)
    lower = filename.lower()
    if not lower.endswith(RASTER_EXTENSIONS + VECTOR_EXTENSIONS):
        raise ValidationError("file", _("%(file)s: unsupported file type; upload PNG, JPEG, PDF, DXF, sightline GeoJSON, an IMDF zip "
                                        "or a WRLD zip", file=filename))
    try:
        check_size(len(data), filename, limits)
    except ImportFailed as exc:
        raise _failed(exc) from exc
    token = None
    try:
        token, stored = storage.store_upload(floor, filename, data)
        args = {"page": page, "units": units or None, "repair": repair, "initial": True}
        storage.write_import(floor, token, _queued(filename, stored, args))
    except OSError as exc:  # disk full, folder read-only: nothing may stay behind
        if token is not None:
            storage.discard_upload(floor, token)
        raise StorageUnavailable(filename, exc) from exc
    return token


class StorageUnavailable(ValidationError):
    """The upload folder cannot take the file (full, read-only); answered 507 with nothing kept."""

    status = 507

    def __init__(self, filename: str, exc: OSError) -> None:
        super().__init__("file", _("%(file)s could not be stored (%(why)s); nothing was saved: try again later or "
                                   "tell the administrator", file=filename, why=exc.strerror or type(exc).__name__))


def request_preview(storage: Storage, user: User, floor: Floor, token: str, *,
                    layer_map: Mapping[str, str] | None = None, category_map: Mapping[str, str] | None = None,
                    units: str | None = None, repair: bool = False, choices: Mapping[str, str] | None = None) -> str:
    """Mark a stored upload to be read again with another mapping (then queue_import); returns the token."""
    _require_edit(user, floor)
    filename, _, stored = storage.read_upload(floor, token)
    args = {"layer_map": dict(layer_map or {}), "category_map": dict(category_map or {}), "units": units or None,
            "repair": repair, "choices": dict(choices or {})}
    storage.write_import(floor, token, _queued(filename, stored, args))
    return token


def _queued(filename: str, stored: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"state": "queued", "filename": filename, "stored": stored, "args": args, "queued_at": time.time()}


def queue_import(floor: Floor, token: str) -> None:
    """Put the read of a stored upload on the job queue (runs at once with the immediate backend)."""
    enqueue(IMPORT_JOB, floor.id, token)


@job(IMPORT_JOB)
def run_import(floor_id: int, token: str) -> None:
    """Read a stored upload once, within the configured time limit, and store the parse (the worker's job)."""
    floor = db.session.get(Floor, floor_id)
    if floor is None:
        return
    storage = Storage.from_config(current_app.config, current_app.instance_path)
    status = storage.read_import(floor, token)
    if status is None or status.get("state") != "queued":
        return
    started = time.monotonic()
    status = {**status, "state": "reading", "started_at": time.time(), "step": "opening the file"}
    storage.write_import(floor, token, status)
    written = [started]

    def step(name: str) -> None:
        """Show the step being worked on (at most twice a second, so a loop of checks costs nothing)."""
        status["step"] = name
        if time.monotonic() - written[0] > 0.5:
            written[0] = time.monotonic()
            if _still_reading(storage, floor, token, status):
                storage.write_import(floor, token, status)

    args = status["args"]
    watching = watch_steps(step)
    try:
        filename, data, stored = storage.read_upload(floor, token)
        options = _options(storage, floor, filename, args.get("layer_map"), args.get("category_map"),
                           page=int(args.get("page") or 0), units=args.get("units"), repair=bool(args.get("repair")),
                           choices=args.get("choices"))
        result = import_bytes(data, filename, options=options, limits=import_limits(current_app.config))
    except (ImportFailed, NotFound) as exc:
        error = str(exc) if isinstance(exc, ImportFailed) else f"{status['filename']}: the stored upload is gone"
        if not _still_reading(storage, floor, token, status):
            return
        if args.get("initial"):
            storage.discard_upload(floor, token)
        storage.write_import(floor, token, {**status, "state": "failed", "error": error,
                                            "seconds": round(time.monotonic() - started, 2)})
        return
    except Exception as exc:  # a bug must still end the read visibly rather than leave the page polling
        storage.write_import(floor, token, {**status, "state": "failed",
                                            "error": f"{status['filename']}: internal error: {type(exc).__name__}"})
        raise
    finally:
        reset_steps(watching)
    if not _still_reading(storage, floor, token, status):
        return  # the page gave this read up (it ran past its hard limit) or a newer read replaced it
    raster = result.format == "raster"
    if raster:
        _apply_background(storage, floor, result.levels[0].background, stored, filename)
        db.session.commit()
    storage.write_import(floor, token, {**status, "state": "done", "raster": raster,
                                        "seconds": round(time.monotonic() - started, 2),
                                        "result": _dump(storage, floor, token, result)})


def _still_reading(storage: Storage, floor: Floor, token: str, status: Mapping[str, Any]) -> bool:
    """Whether the stored status is still this job's read (not given up, not replaced by a newer request)."""
    now = storage.read_import(floor, token) or {}
    return now.get("state") == "reading" and now.get("started_at") == status["started_at"]


def _overdue(status: Mapping[str, Any], config: Mapping[str, Any]) -> str | None:
    """Why a read that is still "reading" is given up: a step that never reaches the next check (a C-level
    render, say) gets past the importer's own limit, so the page ends it once the grace after the limit passes."""
    limit = config.get("IMPORT_MAX_SECONDS")
    if limit is None or status.get("state") != "reading" or not status.get("started_at"):
        return None
    if time.time() - float(status["started_at"]) <= float(limit) + max(10.0, float(limit) / 4):
        return None
    return (f"{status['filename']}: import took longer than {float(limit):g} s ({status.get('step', 'reading')}); "
            "nothing was imported")


def _dump(storage: Storage, floor: Floor, token: str, result: ImportResult) -> dict[str, Any]:
    """The parse as JSON; level backgrounds are kept as PNG files beside it."""
    levels = []
    for n, lv in enumerate(result.levels):
        background = None
        if lv.background is not None and result.format != "raster":  # a plan image is the background already
            b = lv.background
            background = {"png": storage.save_import_image(floor, token, n, b.png), "width_px": b.width_px,
                          "height_px": b.height_px, "extent_m": list(b.extent_m) if b.extent_m else None,
                          "page": b.page, "page_count": b.page_count, "vector_lines_px": b.vector_lines_px}
        levels.append({"name": lv.name, "floor": lv.floor, "ordinal": lv.ordinal, "background": background})
    return {"format": result.format, "source": result.source, "levels": levels, "warnings": result.warnings,
            "mapping": result.mapping, "georef": result.georef, "dropped": result.dropped, "clusters": result.clusters}


def _load(storage: Storage, floor: Floor, data: Mapping[str, Any]) -> ImportResult:
    """An ImportResult from its stored JSON."""
    levels = []
    for lv in data["levels"]:
        b = lv.get("background")
        background = None
        if b is not None:
            background = Background(png=storage.read_import_image(floor, b["png"]), width_px=b["width_px"],
                                    height_px=b["height_px"], extent_m=tuple(b["extent_m"]) if b["extent_m"] else None,
                                    page=b["page"], page_count=b["page_count"], vector_lines_px=b["vector_lines_px"])
        levels.append(Level(name=lv["name"], floor=lv["floor"], ordinal=lv["ordinal"], background=background))
    return ImportResult(format=data["format"], source=data["source"], levels=levels, warnings=data["warnings"],
                        mapping=data["mapping"], georef=data["georef"], dropped=data["dropped"],
                        clusters=data["clusters"])


def _form(args: Mapping[str, Any]) -> dict[str, str]:
    """The preview form values a parse was made with."""
    form = {f"choice:{k}": str(v) for k, v in (args.get("choices") or {}).items()}
    if args.get("units"):
        form["units"] = str(args["units"])
    if args.get("repair"):
        form["repair"] = "1"
    return form


def import_status(storage: Storage, user: User, floor: Floor, token: str) -> ImportStatus:
    """The state of an upload's background read, with the preview once it is done (NotFound for unknown tokens)."""
    _require_edit(user, floor)
    status = storage.read_import(floor, token)
    if status is None:
        raise NotFound("upload")
    overdue = _overdue(status, current_app.config)
    if overdue:
        status = {**status, "state": "failed", "error": overdue}
        storage.write_import(floor, token, status)
        if status["args"].get("initial"):
            storage.discard_upload(floor, token)
    state = str(status["state"])
    seconds = status.get("seconds")
    if state == "reading" and status.get("started_at"):
        seconds = round(time.time() - float(status["started_at"]), 1)
    preview = None
    if state == "done":
        preview = Preview(token, status["filename"], _load(storage, floor, status["result"]), bool(status["raster"]),
                          status["stored"], _form(status["args"]))
    return ImportStatus(token, status["filename"], state, status.get("error"), seconds, preview, status.get("step"))


def _matches(status: Mapping[str, Any], layer_map: Mapping[str, str] | None, category_map: Mapping[str, str] | None,
             units: str | None, repair: bool, choices: Mapping[str, str] | None) -> bool:
    """Whether applying with these form values gives the stored parse: each value is the one it was read with,
    or the guess the preview showed (the preview form sends every guess back)."""
    old, result = status["args"], status["result"]
    if (old.get("units") or None) != (units or None) or bool(old.get("repair")) != bool(repair):
        return False
    before = {k: v for k, v in (old.get("choices") or {}).items() if v}
    after = {k: v for k, v in (choices or {}).items() if v}
    if result["clusters"]:  # the preview selects drawing 1, the largest, which is also the default
        before.setdefault("drawing", "1")
        after.setdefault("drawing", "1")
    if before != after:
        return False
    shown_layers = {m["source"][6:]: m["to"] for m in result["mapping"] if result["format"] == "dxf"
                    and m["source"].startswith("layer ")}
    shown_categories = {m["source"][5:].replace(" (by name)", ""): m["to"] for m in result["mapping"]
                        if result["format"] == "imdf" and m["source"].startswith("unit ")}
    if result["format"] == "dxf":
        shown_categories.update({f"room:{f['properties'].get('name')}": f["properties"].get("zone")
                                 for lv in result["levels"] for f in lv["floor"]["features"]
                                 if f["properties"]["kind"] == "zone"})
    for new, was, shown in ((layer_map or {}, old.get("layer_map") or {}, shown_layers),
                            (category_map or {}, old.get("category_map") or {}, shown_categories)):
        if any(new.get(k) != v for k, v in was.items()):
            return False
        if any(was.get(k) != v and shown.get(k) != v for k, v in new.items()):
            return False
    return True


def stored_preview(storage: Storage, floor: Floor, token: str) -> Preview | None:
    """The finished parse of an upload, if its background read is done."""
    try:
        status = storage.read_import(floor, token)
    except NotFound:
        return None
    if status is None or status.get("state") != "done":
        return None
    return Preview(token, status["filename"], _load(storage, floor, status["result"]), bool(status["raster"]),
                   status["stored"], _form(status["args"]))


def _apply_background(storage: Storage, floor: Floor, background: Background | None, upload: str,
                      filename: str) -> None:
    if background is None:
        return
    meta: dict[str, Any] = {"width_px": background.width_px, "height_px": background.height_px,
                            "source": filename}
    if background.page is not None:
        meta.update(page=background.page, page_count=background.page_count)
    if background.vector_lines_px:  # the lines themselves are kept beside the image (floor_storage)
        meta.update(vector_lines=len(background.vector_lines_px), vector_lines_state="pending")
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
    """Update the floor's structure and zones from a stored upload's parse (level index, or "all": one floor each).

    Features carrying the id of one already on the floor update it in place. Everything happens in the
    caller's transaction, so any error leaves every floor as it was.
    """
    _require_edit(user, floor)
    status = storage.read_import(floor, token)
    if status is not None and status.get("state") == "done" and _matches(status, layer_map, category_map, units,
                                                                         repair, choices):
        preview = stored_preview(storage, floor, token)
        assert preview is not None
    else:  # the user changed the mapping without re-reading: read it now, within the same time limit
        preview = preview_upload(storage, limits, user, floor, token, layer_map=layer_map,
                                 category_map=category_map, units=units, repair=repair, choices=choices)
    result = preview.result
    if preview.raster:
        raise ValidationError("file", _("%(file)s: an image or PDF has no vector geometry to import", file=preview.filename))
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
