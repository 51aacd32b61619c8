"""A background plan's scale, origin and rotation (two clicked points a known distance apart)."""

from __future__ import annotations

import math
from typing import Any

from flask_babel import gettext as _

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory.errors import Forbidden
from inventory.fields import ValidationError
from inventory.importers import ImportFailed
from inventory.importers.raster import Calibration
from inventory.importers.raster import calibrate as two_point
from inventory.models import Floor
from planner.floor import normalise_heading


def calibrate(user: User, floor: Floor, p1: tuple[float, float], p2: tuple[float, float], distance_m: float,
              origin: tuple[float, float] | None = None, rotation_deg: float = 0.0) -> dict[str, Any]:
    """Set the background's scale from two pixel points a known distance apart, plus origin and rotation."""
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not change floor plans"))
    if not floor.background_image or not floor.background_meta:
        raise ValidationError("file", _("upload a plan image before setting its scale"))
    checks = {"distance_m": distance_m, "rotation_deg": rotation_deg, "x1": p1[0], "y1": p1[1], "x2": p2[0],
              "y2": p2[1]}
    if origin is not None:
        checks.update(ox=origin[0], oy=origin[1])
    for name, value in checks.items():
        if not math.isfinite(value):
            raise ValidationError(name, _("must be a finite number"))
    try:
        cal = two_point(p1, p2, distance_m, origin_px=origin, rotation_deg=normalise_heading(rotation_deg))
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
    meta = floor.background_meta or {}
    if not floor.background_image or "metres_per_px" not in meta:
        return None
    cal = Calibration(float(meta["metres_per_px"]), tuple(meta["origin_px"]), float(meta.get("rotation_deg", 0.0)))
    corners = cal.corners_m(int(meta["width_px"]), int(meta["height_px"]))
    if not all(math.isfinite(v) for xy in corners for v in xy):
        return None  # a calibration stored before NaN was refused: show the plan uncalibrated
    return [[round(x, 4), round(y, 4)] for x, y in corners]
