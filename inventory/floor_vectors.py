"""A vector PDF's straight lines, offered as walls once its background is calibrated (confirm or decline)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from shapely.geometry import box, shape

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory import floor_editor, floorio
from inventory.errors import Forbidden
from inventory.fields import ValidationError
from inventory.floor_storage import Storage
from inventory.importers.raster import Calibration, walls_from_lines
from inventory.models import Floor

PENDING, ADDED, DECLINED = "pending", "added", "declined"


def _calibration(floor: Floor) -> Calibration | None:
    meta = floor.background_meta or {}
    if "metres_per_px" not in meta:
        return None
    return Calibration(float(meta["metres_per_px"]), tuple(meta["origin_px"]), float(meta.get("rotation_deg", 0.0)))


def offer(storage: Storage, floor: Floor) -> dict[str, Any] | None:
    """The lines still waiting for the user's answer, with their walls in floor metres; None when nothing waits."""
    meta = floor.background_meta or {}
    cal = _calibration(floor)
    if meta.get("vector_lines_state") != PENDING or cal is None:
        return None
    lines_px = storage.read_vector_lines(floor)
    if not lines_px:
        return None
    walls = walls_from_lines(lines_px, cal)
    return {"lines_px": lines_px, "walls": walls, "count": len(walls),
            "length_m": sum(shape(w["geometry"]).length for w in walls),
            "adds_outline": not floorio.has_outline(floor)}


def _answer(user: User, floor: Floor, state: str) -> None:
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not change floor plans"))
    floor.background_meta = {**(floor.background_meta or {}), "vector_lines_state": state}


def add_as_walls(storage: Storage, user: User, floor: Floor) -> dict[str, int]:
    """Add the offered lines as walls through the floor's one save path (an outline round them if it has none)."""
    found = offer(storage, floor)
    if found is None:
        raise ValidationError("vector_lines", _("no vector lines are waiting: calibrate a vector PDF's plan first"))
    _answer(user, floor, ADDED)
    collection = floorio.export_floor(floor)
    if found["adds_outline"]:
        bounds = [shape(w["geometry"]).bounds for w in found["walls"]]
        region = box(min(b[0] for b in bounds), min(b[1] for b in bounds),
                     max(b[2] for b in bounds), max(b[3] for b in bounds))
        if region.area <= 0:
            raise ValidationError("vector_lines", _("the lines enclose no area, so they give the floor no outline"))
        outline = {"type": "Feature", "properties": {"kind": "outline", "source": "pdf:vector"},
                   "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in region.exterior.coords]]}}
        collection["features"].insert(0, outline)
    collection["features"].extend(found["walls"])
    counts = floor_editor.save_geometry(user, floor, collection)
    db.session.flush()
    return {**counts, "walls_added": found["count"]}


def decline(user: User, floor: Floor) -> None:
    """Keep the floor as it is and stop offering the lines."""
    if (floor.background_meta or {}).get("vector_lines_state") != PENDING:
        raise ValidationError("vector_lines", _("no vector lines are waiting for an answer"))
    _answer(user, floor, DECLINED)
    db.session.flush()
