"""API endpoints for floor geometry: floor-format export/import, editor state, poses and coverage overlays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, json, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from api.blueprint import bp
from api.openapi import document, field_schema
from extensions import db
from inventory import floor_editor, services
from inventory.fields import TERMINAL_FIELDS, ValidationError
from inventory.floor_overlays import overlays_json
from inventory.floorio import export_floor
from planner.floor import FORMAT


def _body() -> Any:
    """The JSON request body, or a 422 naming the problem."""
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError("body", _("the request body must be JSON (Content-Type: application/json)"))
    return data


def _background_url(floor_id: int, name: str | None) -> str | None:
    """The floor's background URL, versioned by its stored name so a new upload is never served from cache."""
    if not name:
        return None
    return url_for("floors.background", floor_id=floor_id, v=name.rsplit("/", 1)[-1][11:19])


def geojson(body: Any) -> Response:
    """A GeoJSON body served as application/geo+json (RFC 7946), the media type the document names."""
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/floors/<int:floor_id>/geojson")
@document(parameters=[{"name": "download", "in": "query", "required": False, "schema": {"type": "string"},
                       "description": "Any value: send as an attachment"}],
          responses={"200": {"description": f"The floor as a {FORMAT} FeatureCollection",
                             "content": {"application/geo+json": {"schema": {"type": "object"}}}}})
def floor_geojson(floor_id: int):  # type: ignore[no-untyped-def]
    """Export the floor as a FeatureCollection in the floor format (?download=1 as a file)."""
    floor = services.get_floor(current_user, floor_id)
    response = geojson(export_floor(floor))
    if request.args.get("download"):
        name = f"floor-{floor.id}-level-{floor.level}.geojson"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.put("/floors/<int:floor_id>/geojson")
@document(parameters=[{"name": "replace_terminals", "in": "query", "required": False,
                       "schema": {"type": "string", "enum": ["1", "true"]},
                       "description": "Delete terminals missing from the collection"}],
          requestBody={"required": True, "content": {"application/json": {"schema": {
              "type": "object", "required": ["type", "features"],
              "properties": {"type": {"const": "FeatureCollection"},
                             "features": {"type": "array", "items": {"type": "object"}}}}}}},
          responses={"200": {"description": "Counts of what changed, the new export and each terminal's tier ranges",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def floor_geojson_put(floor_id: int):  # type: ignore[no-untyped-def]
    """Apply a whole floor-format collection as differences, all or nothing (422 names the feature)."""
    floor = services.get_floor(current_user, floor_id)
    replace = request.args.get("replace_terminals") in ("1", "true")
    counts = floor_editor.save_geometry(current_user, floor, _body(), replace_terminals=replace)
    db.session.commit()
    return {"counts": counts, "floor": export_floor(floor), "ranges": floor_editor.terminal_ranges(floor)}


@bp.put("/floors/<int:floor_id>/zones")
@document(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["features"],
    "properties": {"features": {"type": "array", "items": {"type": "object"}}}}}}},
          responses={"200": {"description": "Zone counts (created, updated, deleted) and the new export",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def floor_zones_put(floor_id: int):  # type: ignore[no-untyped-def]
    """Upsert only the floor's zones by feature id ({"features": [zone features]}); planners may, all or nothing."""
    floor = services.get_floor(current_user, floor_id)
    body = _body()
    counts = floor_editor.save_zones(current_user, floor, body.get("features") if isinstance(body, dict) else None)
    db.session.commit()
    return {"counts": counts, "floor": export_floor(floor)}


@bp.get("/floors/<int:floor_id>/editor")
@document(responses={"200": {"description": "Floor export, background placement, zone templates, permissions",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def floor_editor_state(floor_id: int):  # type: ignore[no-untyped-def]
    """What the floor editor loads: geometry, background placement, zone templates and permissions."""
    floor = services.get_floor(current_user, floor_id)
    body, etag = floor_editor.editor_state_json(current_user, floor, _background_url(floor.id, floor.background_image))
    return conditional(body, etag, "application/json")


def conditional(body: Callable[[], bytes], etag: str, mimetype: str) -> Response:
    """A revalidated response: 304 when the request's If-None-Match names `etag`, else `body()` with it.

    A browser keeps the JSON its fetch() got with an ETag and asks again with If-None-Match (no-cache: every
    time), so an unchanged floor costs neither building nor sending the body again.
    """
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(body(), mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/floors/<int:floor_id>/overlays")
@document(parameters=[{"name": "tolerance", "in": "query", "required": False, "schema": {"type": "number"},
                       "description": "Private-zone overlap tolerance in m2 (default 0.01)"}],
          responses={"200": {"description": "GeoJSON FeatureCollection: view, uncovered, private_intrusion, "
                                            "inside_private and heat features (properties.layer)",
                             "content": {"application/geo+json": {"schema": {"type": "object"}}}}})
def floor_overlays(floor_id: int):  # type: ignore[no-untyped-def]
    """Coverage overlays: wall-clipped views, uncovered pieces and private-zone intrusions as GeoJSON."""
    from planner.errors import InputError

    floor = services.get_floor(current_user, floor_id)
    tolerance = request.args.get("tolerance", type=float)
    try:
        body, etag = overlays_json(floor, tolerance)
    except InputError as exc:
        raise ValidationError(exc.where or "floor", exc.message) from exc
    # Cached per floor geometry: a browser that has these overlays gets a 304 instead of megabytes again.
    return conditional(lambda: body, etag, "application/geo+json")


@bp.patch("/floors/<int:floor_id>/terminals/<code>/pose")
@document(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {f.name: field_schema(f, for_input=True) for f in TERMINAL_FIELDS
                                     if f.name in ("x", "y", "heading_deg", "hfov_deg", "range_m", "hpx")}}}}},
          responses={"200": {"description": "The terminal's new pose",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def terminal_pose(floor_id: int, code: str):  # type: ignore[no-untyped-def]
    """Move or turn one terminal: any of x, y, heading_deg, hfov_deg, range_m, hpx."""
    floor = services.get_floor(current_user, floor_id)
    data = _body()
    if not isinstance(data, dict):
        raise ValidationError("body", _("must be a JSON object"))
    terminal = floor_editor.set_pose(current_user, floor, code, data)
    db.session.commit()
    return {"id": terminal.code, "x": terminal.x, "y": terminal.y, "heading_deg": terminal.heading_deg,
            "hfov_deg": terminal.hfov_deg}


@bp.delete("/floors/<int:floor_id>/terminals/<code>")
@document(responses={"204": {"description": "Deleted"}})
def terminal_delete(floor_id: int, code: str):  # type: ignore[no-untyped-def]
    """Delete one terminal of the floor by its ID."""
    floor = services.get_floor(current_user, floor_id)
    floor_editor.delete_terminal(current_user, floor, code)
    db.session.commit()
    current_app.logger.info("terminal %s deleted from floor %s", code, floor_id)
    return "", 204
