"""API endpoints for venues, floors, terminals and camera models (see docs/openapi.yaml)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from accounts.access import INVENTORY_EDITORS
from accounts.models import Organisation, Role
from api.blueprint import bp
from api.serialize import camera_model_to_dict, floor_to_dict, terminal_to_dict, user_to_dict, venue_to_dict
from extensions import db
from inventory import services
from inventory.choices import TerminalKind, TerminalStatus
from inventory.fields import (
    CAMERA_MODEL_FIELDS,
    FLOOR_FIELDS,
    TERMINAL_FIELDS,
    VENUE_FIELDS,
    Field,
    ValidationError,
)

NUMBER_KINDS = ("int", "float", "angle", "fov")
TEXT_KINDS = ("str", "choice", "date")


class BadBody(Exception):
    """The request body is not a JSON object (wrong media type or malformed JSON)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(BadBody)
def _bad_body(error: BadBody) -> tuple[Response, int]:
    """Non-JSON or malformed bodies: 415 or 400 with the usual error shape."""
    db.session.rollback()
    return jsonify(error=error.message, field=None), error.status


@bp.errorhandler(IntegrityError)
def _conflict(_error: IntegrityError) -> tuple[Response, int]:
    """A unique constraint the services did not pre-check (e.g. a concurrent write): 409, nothing saved."""
    db.session.rollback()
    return jsonify(error="conflicts with an existing record", field=None), 409


# ---------------------------------------------------------------- request helpers


def json_body(fields: tuple[Field, ...], *, extra: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON object in the body, with unknown keys and wrong JSON types rejected (strict)."""
    if not request.is_json:
        raise BadBody(415, _("send a JSON object with Content-Type: application/json"))
    data = request.get_json(silent=True)
    if data is None:
        raise BadBody(400, _("the body is not valid JSON"))
    if not isinstance(data, dict):
        raise ValidationError(None, _("the body must be a JSON object"))
    known = {f.name for f in fields} | set(extra)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError(unknown[0], _("is not a known field"))
    for field in fields:
        if field.name in data:
            check_json_type(field, data[field.name])
    return data


def check_json_type(field: Field, value: Any) -> None:
    """JSON clients must send numbers as numbers, booleans as booleans and text as strings (null clears)."""
    if value is None:
        return
    if field.kind in NUMBER_KINDS and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValidationError(field.name, _("must be a number, not %(type)s", type=_json_type(value)))
    if field.kind == "bool" and not isinstance(value, bool):
        raise ValidationError(field.name, _("must be true or false, not %(type)s", type=_json_type(value)))
    if field.kind in TEXT_KINDS and not isinstance(value, str):
        raise ValidationError(field.name, _("must be a string, not %(type)s", type=_json_type(value)))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return _("a boolean")
    if isinstance(value, int | float):
        return _("a number")
    if isinstance(value, str):
        return _("a string")
    if isinstance(value, list):
        return _("an array")
    if isinstance(value, dict):
        return _("an object")
    return _("null")


def full(fields: tuple[Field, ...], data: dict[str, Any]) -> dict[str, Any]:
    """PUT semantics: every field, absent ones reset to their default."""
    return {f.name: data.get(f.name) for f in fields}


def created(body: dict[str, Any], location: str) -> tuple[Response, int, dict[str, str]]:
    """201 with the new object and its Location."""
    return jsonify(body), 201, {"Location": location}


def listing(items: list[dict[str, Any]]) -> Response:
    """A list response: {"items": [...], "count": n}."""
    return jsonify(items=items, count=len(items))


def _organisation_choice(data: dict[str, Any], *, allow_null: bool) -> int | None:
    """The organisation_id an admin named in the body (others always write to their own)."""
    raw = data.get("organisation_id")
    if current_user.role != Role.ADMIN:
        if raw is not None and raw != current_user.organisation_id:
            raise ValidationError("organisation_id", _("only admins choose the organisation"))
        return None
    if raw is None:
        if allow_null:
            return None
        raise ValidationError("organisation_id", _("is required for admins"))
    if isinstance(raw, bool) or not isinstance(raw, int) or db.session.get(Organisation, raw) is None:
        raise ValidationError("organisation_id", _("no such organisation"))
    return raw


# ---------------------------------------------------------------- me


@bp.get("/me")
def me() -> Response:
    """The signed-in user, their role and scope."""
    return jsonify(user_to_dict(current_user, token_auth=bool(request.environ.get("sightline.token_auth"))))


# ---------------------------------------------------------------- venues


@bp.get("/venues")
def venue_list() -> Response:
    """Venues the user can see."""
    return listing([venue_to_dict(v) for v in services.list_venues(current_user)])


@bp.post("/venues")
def venue_create() -> tuple[Response, int, dict[str, str]]:
    """Create a venue (admins name the organisation_id)."""
    if current_user.role not in INVENTORY_EDITORS:
        raise services.Forbidden(_("your role may not create venues"))
    data = json_body(VENUE_FIELDS, extra=("organisation_id",))
    organisation_id = _organisation_choice(data, allow_null=False)
    values = {k: v for k, v in data.items() if k != "organisation_id"}
    venue = services.create_venue(current_user, values, organisation_id)
    db.session.commit()
    return created(venue_to_dict(venue), url_for("api.venue_get", venue_id=venue.id))


@bp.get("/venues/<int:venue_id>")
def venue_get(venue_id: int) -> Response:
    """One venue."""
    return jsonify(venue_to_dict(services.get_venue(current_user, venue_id)))


@bp.route("/venues/<int:venue_id>", methods=["PATCH", "PUT"])
def venue_update(venue_id: int) -> Response:
    """Change a venue: PATCH the fields sent, PUT all of them."""
    venue = services.get_venue(current_user, venue_id)
    data = json_body(VENUE_FIELDS)
    services.update_venue(current_user, venue, full(VENUE_FIELDS, data) if request.method == "PUT" else data)
    db.session.commit()
    return jsonify(venue_to_dict(venue))


@bp.delete("/venues/<int:venue_id>")
def venue_destroy(venue_id: int) -> tuple[str, int]:
    """Delete a venue with its floors and terminals."""
    services.delete_object(current_user, services.get_venue(current_user, venue_id))
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------- floors


@bp.get("/venues/<int:venue_id>/floors")
def floor_list(venue_id: int) -> Response:
    """Floors of a venue, lowest level first."""
    venue = services.get_venue(current_user, venue_id)
    return listing([floor_to_dict(f) for f in venue.floors])


@bp.post("/venues/<int:venue_id>/floors")
def floor_create(venue_id: int) -> tuple[Response, int, dict[str, str]]:
    """Add a floor to a venue."""
    venue = services.get_venue(current_user, venue_id)
    floor = services.create_floor(current_user, venue, json_body(FLOOR_FIELDS))
    db.session.commit()
    return created(floor_to_dict(floor), url_for("api.floor_get", floor_id=floor.id))


@bp.get("/floors/<int:floor_id>")
def floor_get(floor_id: int) -> Response:
    """One floor."""
    return jsonify(floor_to_dict(services.get_floor(current_user, floor_id)))


@bp.route("/floors/<int:floor_id>", methods=["PATCH", "PUT"])
def floor_update(floor_id: int) -> Response:
    """Change a floor's level or name: PATCH the fields sent, PUT all of them."""
    floor = services.get_floor(current_user, floor_id)
    data = json_body(FLOOR_FIELDS)
    services.update_floor(current_user, floor, full(FLOOR_FIELDS, data) if request.method == "PUT" else data)
    db.session.commit()
    return jsonify(floor_to_dict(floor))


@bp.delete("/floors/<int:floor_id>")
def floor_destroy(floor_id: int) -> tuple[str, int]:
    """Delete a floor with its zones and terminals."""
    services.delete_object(current_user, services.get_floor(current_user, floor_id))
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------- terminals


@bp.get("/floors/<int:floor_id>/terminals")
def terminal_list(floor_id: int) -> Response:
    """Terminals of a floor; filter with kind, status and q, order with sort and dir."""
    floor = services.get_floor(current_user, floor_id)
    kind, status = request.args.get("kind") or None, request.args.get("status") or None
    if kind is not None and kind not in TerminalKind.values():
        raise ValidationError("kind", _("'%(value)s' is not one of: %(allowed)s", value=kind, allowed=", ".join(TerminalKind.values())))
    if status is not None and status not in TerminalStatus.values():
        raise ValidationError("status", _("'%(value)s' is not one of: %(allowed)s", value=status, allowed=", ".join(TerminalStatus.values())))
    sort = request.args.get("sort", "code")
    if sort not in services.TERMINAL_SORTS:
        raise ValidationError("sort", _("'%(value)s' is not one of: %(allowed)s", value=sort,
                                         allowed=", ".join(sorted(services.TERMINAL_SORTS))))
    terminals = services.list_terminals(current_user, floor, kind=kind, status=status, search=request.args.get("q"),
                                        sort=sort, descending=request.args.get("dir") == "desc")
    return listing([terminal_to_dict(t) for t in terminals])


@bp.post("/floors/<int:floor_id>/terminals")
def terminal_create(floor_id: int) -> tuple[Response, int, dict[str, str]]:
    """Record a terminal on a floor."""
    floor = services.get_floor(current_user, floor_id)
    terminal = services.create_terminal(current_user, floor, json_body(TERMINAL_FIELDS))
    db.session.commit()
    return created(terminal_to_dict(terminal), url_for("api.terminal_get", terminal_id=terminal.id))


@bp.get("/terminals/<int:terminal_id>")
def terminal_get(terminal_id: int) -> Response:
    """One terminal."""
    return jsonify(terminal_to_dict(services.get_terminal(current_user, terminal_id)))


@bp.route("/terminals/<int:terminal_id>", methods=["PATCH", "PUT"])
def terminal_update(terminal_id: int) -> Response:
    """Change a terminal: PATCH the fields sent, PUT all of them."""
    terminal = services.get_terminal(current_user, terminal_id)
    data = json_body(TERMINAL_FIELDS)
    services.update_terminal(current_user, terminal,
                             full(TERMINAL_FIELDS, data) if request.method == "PUT" else data)
    db.session.commit()
    return jsonify(terminal_to_dict(terminal))


@bp.delete("/terminals/<int:terminal_id>")
def terminal_destroy(terminal_id: int) -> tuple[str, int]:
    """Delete a terminal record (set status to removed for terminals taken down)."""
    services.delete_object(current_user, services.get_terminal(current_user, terminal_id))
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------- camera models


@bp.get("/camera-models")
def camera_model_list() -> Response:
    """The shared camera model library plus the user's organisations' own models."""
    return listing([camera_model_to_dict(m) for m in services.list_camera_models(current_user)])


@bp.post("/camera-models")
def camera_model_create() -> tuple[Response, int, dict[str, str]]:
    """Add a camera model to the organisation's library (admins: organisation_id, null for the shared one)."""
    data = json_body(CAMERA_MODEL_FIELDS, extra=("organisation_id",))
    organisation_id = _organisation_choice(data, allow_null=True)
    values = {k: v for k, v in data.items() if k != "organisation_id"}
    model = services.create_camera_model(current_user, values, organisation_id)
    db.session.commit()
    return created(camera_model_to_dict(model), url_for("api.camera_model_get", model_id=model.id))


@bp.get("/camera-models/<int:model_id>")
def camera_model_get(model_id: int) -> Response:
    """One camera model."""
    return jsonify(camera_model_to_dict(services.get_camera_model(current_user, model_id)))


@bp.route("/camera-models/<int:model_id>", methods=["PATCH", "PUT"])
def camera_model_update(model_id: int) -> Response:
    """Change a camera model the organisation owns: PATCH the fields sent, PUT all of them."""
    model = services.get_camera_model(current_user, model_id)
    data = json_body(CAMERA_MODEL_FIELDS)
    services.update_camera_model(current_user, model,
                                 full(CAMERA_MODEL_FIELDS, data) if request.method == "PUT" else data)
    db.session.commit()
    return jsonify(camera_model_to_dict(model))


@bp.delete("/camera-models/<int:model_id>")
def camera_model_destroy(model_id: int) -> tuple[str, int]:
    """Delete a camera model that no terminal uses."""
    services.delete_camera_model(current_user, services.get_camera_model(current_user, model_id))
    db.session.commit()
    return "", 204
