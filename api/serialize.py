"""JSON representations of inventory objects for the /api/v1 endpoints."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from accounts.access import organisation_ids
from accounts.models import User, iso_utc
from inventory.fields import CAMERA_MODEL_FIELDS, FLOOR_FIELDS, TERMINAL_FIELDS, VENUE_FIELDS, Field
from inventory.models import CameraModel, Floor, Terminal, Venue
from inventory.services import terminal_counts


def jsonable(value: Any) -> Any:
    """A column value as JSON: enums by value, dates and datetimes in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _fields(obj: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    return {f.name: jsonable(getattr(obj, f.name)) for f in fields}


def venue_to_dict(venue: Venue) -> dict[str, Any]:
    """A venue with its writable fields, owner and timestamps."""
    return {"id": venue.id, "organisation_id": venue.organisation_id, **_fields(venue, VENUE_FIELDS),
            "floor_ids": [f.id for f in venue.floors],
            "created_at": jsonable(venue.created_at), "updated_at": jsonable(venue.updated_at)}


def floor_to_dict(floor: Floor) -> dict[str, Any]:
    """A floor with its level, name and terminal counts (geometry lives under the floor-geometry endpoints)."""
    return {"id": floor.id, "venue_id": floor.venue_id, **_fields(floor, FLOOR_FIELDS),
            "has_background": floor.background_image is not None,
            "counts": terminal_counts(floor.terminals),
            "created_at": jsonable(floor.created_at), "updated_at": jsonable(floor.updated_at)}


def terminal_to_dict(terminal: Terminal) -> dict[str, Any]:
    """A terminal with every field of TERMINAL_FIELDS plus its ids and timestamps."""
    return {"id": terminal.id, "venue_id": terminal.venue_id, "floor_id": terminal.floor_id,
            **_fields(terminal, TERMINAL_FIELDS),
            "created_at": jsonable(terminal.created_at), "updated_at": jsonable(terminal.updated_at)}


def camera_model_to_dict(model: CameraModel) -> dict[str, Any]:
    """A camera model; organisation_id null means the shared library."""
    return {"id": model.id, "organisation_id": model.organisation_id, **_fields(model, CAMERA_MODEL_FIELDS),
            "varifocal": model.varifocal}


def user_to_dict(user: User, *, token_auth: bool) -> dict[str, Any]:
    """The signed-in user, their scope, and how this request was authenticated."""
    jurisdiction = user.jurisdiction
    return {
        "id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
        "organisation": ({"id": user.organisation.id, "name": user.organisation.name}
                         if user.organisation else None),
        "planned_organisations": [{"id": o.id, "name": o.name} for o in user.planned_organisations],
        "jurisdiction": ({"id": jurisdiction.id, "name": jurisdiction.name,
                          "districts": list(jurisdiction.districts or [])} if jurisdiction else None),
        "editable_organisation_ids": organisation_ids(user) if user.role.value in ("manager", "admin") else [],
        "auth": "token" if token_auth else "session",
    }
