"""Generate docs/openapi.yaml (OpenAPI 3.1) from the registered /api/v1 routes and the field specs.

Run `flask openapi --output docs/openapi.yaml` (or `make openapi`) after changing an endpoint;
tests/web/test_openapi.py fails while the committed file differs from the generated one.

Every rule under /api/v1 is documented: its summary comes from the view's docstring, its path parameters
from the URL converters. Views add detail (request body, responses, query parameters) with `@document(...)`,
which is the extension point for modules other than api/routes.py (e.g. api/floors.py):

    from api.openapi import document

    @bp.get("/floors/<int:floor_id>/geojson")
    @document(responses={"200": {"description": "...", "content": {"application/geo+json": {}}}})
    def floor_geojson(floor_id): ...

The resource endpoints of api/routes.py are described from RESOURCE_ENDPOINTS below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from inventory.choices import TerminalKind, TerminalStatus
from inventory.fields import CAMERA_MODEL_FIELDS, FLOOR_FIELDS, TERMINAL_FIELDS, VENUE_FIELDS, Field
from inventory.services import TERMINAL_SORTS
from planner.floor import MIN_HFOV_DEG
from security import MAX_ID

F = TypeVar("F", bound=Callable[..., Any])
PREFIX = "/api/v1"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")
WRITE_METHODS = ("post", "put", "patch", "delete")


def document(method: str | None = None, **operation: Any) -> Callable[[F], F]:
    """Attach OpenAPI operation fields to a view (for one method, or all of its methods when None)."""

    def decorator(view: F) -> F:
        docs = dict(getattr(view, "__openapi__", {}))
        docs[method.lower() if method else "*"] = operation
        view.__openapi__ = docs  # type: ignore[attr-defined]
        return view

    return decorator


# ---------------------------------------------------------------- schemas from the field specs


NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def text_schema(max_length: int, *, required: bool) -> dict[str, Any]:
    """A text input as inventory/fields.py cleans it: no NUL, at most max_length, and not blank when required."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, "pattern": NOT_BLANK if required else NO_NUL}
    if required:
        schema["minLength"] = 1
    return schema


def field_schema(field: Field, *, for_input: bool) -> dict[str, Any]:
    """JSON Schema of one field; optional inputs accept null (clears it or restores the default)."""
    schema: dict[str, Any] = {"description": field.title}
    kind = field.kind
    if kind == "str":
        schema.update(text_schema(field.max_length, required=field.required) if for_input
                      else {"type": "string", "maxLength": field.max_length})
    elif kind == "int":
        schema.update(type="integer", minimum=-MAX_ID, maximum=MAX_ID)  # 32-bit columns (fields._number)
    elif kind in ("float", "angle", "fov"):
        schema["type"] = "number"
    elif kind == "bool":
        schema["type"] = "boolean"
    elif kind == "choice":
        assert field.choices is not None
        schema.update(type="string", enum=field.choices.values())
    elif kind == "date":
        schema.update(type="string", format="date")
    elif kind == "district":
        schema.update(type="string", maxLength=field.max_length)
        if for_input:
            schema["pattern"] = "^[^\\u0000-\\u001f\\u007f]*$"  # fields._district refuses control characters
        schema["description"] += ("; a district of the managed list (English or Chinese name or code, any case),"
                                  " stored and returned as its English name")
    if kind in ("int", "float"):
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
    if kind == "angle":
        schema["description"] += "; counter-clockwise from +x, any value, stored normalised to [0, 360)"
        if not for_input:
            schema.update(minimum=0, exclusiveMaximum=360)
    if kind == "fov":
        schema.update(minimum=MIN_HFOV_DEG, maximum=360)
    default = field.default.value if hasattr(field.default, "value") else field.default
    if default is not None:
        schema["default"] = default
    elif kind == "bool":
        schema["default"] = False
    nullable = (not field.required) if for_input else (not field.required and default is None and kind != "bool")
    if nullable:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def input_schema(fields: tuple[Field, ...], *, required: bool, extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Request body schema: every writable field, unknown keys refused; required ones listed for POST/PUT."""
    properties = {f.name: field_schema(f, for_input=True) for f in fields}
    properties.update(extra or {})
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    names = [f.name for f in fields if f.required]
    if required and names:
        schema["required"] = names
    return schema


def output_schema(fields: tuple[Field, ...], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Response schema: ids first, then every field, then derived and timestamp properties."""
    properties = {**before, **{f.name: field_schema(f, for_input=False) for f in fields}, **after}
    return {"type": "object", "required": list(properties), "properties": properties}


ID = {"type": "integer", "minimum": 1}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC"}
TIMESTAMPS = {"created_at": TIMESTAMP, "updated_at": TIMESTAMP}
COUNTS = {
    "type": "object", "description": "Terminals by kind (in service) and by status",
    "required": ["in_service", "by_kind", "by_status", "face_recognition"],
    "properties": {"in_service": {"type": "integer"},
                   "by_kind": {"type": "object", "additionalProperties": {"type": "integer"}},
                   "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                   "face_recognition": {"type": "integer",
                                        "description": "Face-recognition terminals still in service"}},
}
ORGANISATION_ID_INPUT = {"type": ["integer", "null"], "description": "Admins only: the owning organisation"}


def schemas() -> dict[str, Any]:
    """components.schemas: input, patch and output schema of each resource, the user, and the error body."""
    ref = {"type": "object", "required": ["id", "name"],
           "properties": {"id": ID, "name": {"type": "string"}}}
    return {
        "Error": {"type": "object", "required": ["error", "field"], "properties": {
            "error": {"type": "string", "description": "What is wrong, for people"},
            "field": {"type": ["string", "null"], "description": "The offending field, or null"}}},
        "Me": {"type": "object", "required": ["id", "email", "name", "role", "organisation", "planned_organisations",
                                              "jurisdiction", "editable_organisation_ids", "auth"],
               "properties": {
                   "id": ID, "email": {"type": "string"}, "name": {"type": "string"},
                   "role": {"type": "string", "enum": ["manager", "planner", "inspector", "admin"]},
                   "organisation": {"oneOf": [ref, {"type": "null"}]},
                   "planned_organisations": {"type": "array", "items": ref},
                   "jurisdiction": {"oneOf": [{"type": "object", "properties": {
                       "id": ID, "name": {"type": "string"},
                       "districts": {"type": "array", "items": {"type": "string"}}}}, {"type": "null"}]},
                   "editable_organisation_ids": {"type": ["array", "null"], "items": {"type": "integer"},
                                                 "description": "Organisations whose inventory the user may "
                                                                "change; null means all (admin)"},
                   "auth": {"type": "string", "enum": ["token", "session"]}}},
        "Venue": output_schema(VENUE_FIELDS, {"id": ID, "organisation_id": ID},
                               {"floor_ids": {"type": "array", "items": {"type": "integer"}}, **TIMESTAMPS}),
        "VenueInput": input_schema(VENUE_FIELDS, required=True, extra={"organisation_id": ORGANISATION_ID_INPUT}),
        "VenueReplace": input_schema(VENUE_FIELDS, required=True),
        "VenuePatch": input_schema(VENUE_FIELDS, required=False),
        "Floor": output_schema(FLOOR_FIELDS, {"id": ID, "venue_id": ID},
                               {"has_background": {"type": "boolean"}, "counts": COUNTS, **TIMESTAMPS}),
        "FloorInput": input_schema(FLOOR_FIELDS, required=True),
        "FloorPatch": input_schema(FLOOR_FIELDS, required=False),
        "Terminal": output_schema(TERMINAL_FIELDS, {"id": ID, "venue_id": ID, "floor_id": ID}, TIMESTAMPS),
        "TerminalInput": input_schema(TERMINAL_FIELDS, required=True),
        "TerminalPatch": input_schema(TERMINAL_FIELDS, required=False),
        "CameraModel": output_schema(CAMERA_MODEL_FIELDS, {"id": ID, "organisation_id": {
            "type": ["integer", "null"], "description": "Owner; null for the shared library"}},
            {"varifocal": {"type": "boolean"}}),
        "CameraModelInput": input_schema(CAMERA_MODEL_FIELDS, required=True,
                                         extra={"organisation_id": ORGANISATION_ID_INPUT}),
        "CameraModelReplace": input_schema(CAMERA_MODEL_FIELDS, required=True),
        "CameraModelPatch": input_schema(CAMERA_MODEL_FIELDS, required=False),
    }


# ---------------------------------------------------------------- operations


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "count"],
            "properties": {"items": {"type": "array", "items": _ref(name)}, "count": {"type": "integer"}}}


def _error(code: str, description: str) -> dict[str, Any]:
    response = {"description": description, "content": _json(_ref("Error"))}
    if code == "503":
        response["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds"}}
    return response


ERRORS = {
    "400": "Malformed JSON, or (session auth) a missing or wrong CSRF token (field csrf_token)",
    "401": "No valid token or session",
    "403": "The object is visible but your role may not change it",
    "404": "No such object, or it belongs to an organisation you cannot see",
    "405": "Method not allowed on this path",
    "409": "Conflicts with an existing record (e.g. the same camera model twice)",
    "413": "The body is larger than the upload limit (UPLOAD_MAX_BYTES plus 1 MiB)",
    "415": "The body is not application/json",
    "422": "A field is invalid: wrong JSON type, out of range, unknown enum value, missing or unknown field, "
           "duplicate serial in the venue or ID on the floor, ...; or a query parameter (of any name) holds a "
           "NUL character",
    "503": "The database is not answering (restarting or down): nothing was saved; retry after Retry-After seconds",
}

TERMINAL_QUERY = [
    {"name": "kind", "in": "query", "schema": {"type": "string", "enum": TerminalKind.values()}},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": TerminalStatus.values()}},
    {"name": "q", "in": "query", "description": "Substring of the ID, serial or purpose",
     "schema": {"type": "string"}},
    {"name": "sort", "in": "query", "schema": {"type": "string", "default": "code", "enum": sorted(TERMINAL_SORTS)}},
    {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"], "default": "asc"}},
]

OWNED = ("Venue", "CameraModel")  # resources whose create body names the organisation (admins)

# endpoint -> (schema name, action); actions: list, create, get, update, delete.
RESOURCE_ENDPOINTS: dict[str, tuple[str, str]] = {
    "api.venue_list": ("Venue", "list"), "api.venue_create": ("Venue", "create"),
    "api.venue_get": ("Venue", "get"), "api.venue_update": ("Venue", "update"),
    "api.venue_destroy": ("Venue", "delete"),
    "api.floor_list": ("Floor", "list"), "api.floor_create": ("Floor", "create"),
    "api.floor_get": ("Floor", "get"), "api.floor_update": ("Floor", "update"),
    "api.floor_destroy": ("Floor", "delete"),
    "api.terminal_list": ("Terminal", "list"), "api.terminal_create": ("Terminal", "create"),
    "api.terminal_get": ("Terminal", "get"), "api.terminal_update": ("Terminal", "update"),
    "api.terminal_destroy": ("Terminal", "delete"),
    "api.camera_model_list": ("CameraModel", "list"), "api.camera_model_create": ("CameraModel", "create"),
    "api.camera_model_get": ("CameraModel", "get"), "api.camera_model_update": ("CameraModel", "update"),
    "api.camera_model_destroy": ("CameraModel", "delete"),
}


def resource_operation(endpoint: str, method: str) -> dict[str, Any]:
    """Request body, responses and query parameters of a resource endpoint of api/routes.py."""
    if endpoint == "api.me":
        return {"responses": {"200": {"description": "The signed-in user", "content": _json(_ref("Me"))}}}
    if endpoint not in RESOURCE_ENDPOINTS:
        return {}
    name, action = RESOURCE_ENDPOINTS[endpoint]
    if action == "list":
        op: dict[str, Any] = {"responses": {"200": {"description": f"{name} objects you can see",
                                                    "content": _json(_list_of(name))}}}
        if name == "Terminal":
            op["parameters"] = TERMINAL_QUERY
        return op
    if action == "get":
        return {"responses": {"200": {"description": f"The {name}", "content": _json(_ref(name))}}}
    if action == "delete":
        return {"responses": {"204": {"description": "Deleted"}}}
    if action == "create":
        return {"requestBody": {"required": True, "content": _json(_ref(f"{name}Input"))},
                "responses": {"201": {"description": f"The new {name}; Location names its URL",
                                      "headers": {"Location": {"schema": {"type": "string"}}},
                                      "content": _json(_ref(name))}}}
    # PUT replaces the fields only: the owner never changes, so organisation_id is an unknown field there.
    body = (f"{name}Replace" if name in OWNED else f"{name}Input") if method == "put" else f"{name}Patch"
    return {"summary": ("Replace" if method == "put" else "Change") + f" a {name}: "
            + ("every field; absent optional fields are reset to their defaults" if method == "put"
               else "only the fields sent"),
            "requestBody": {"required": True, "content": _json(_ref(body))},
            "responses": {"200": {"description": f"The changed {name}", "content": _json(_ref(name))}}}


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """Flask rule → OpenAPI path with its path parameters."""
    parameters = []
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule):
        schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID} if converter == "int" else (
            {"type": "number"} if converter == "float" else {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule), parameters


def operation(app: Flask, rule: Any, method: str) -> dict[str, Any]:
    """One documented operation: docstring summary, path parameters, standard errors, then specific detail."""
    view = app.view_functions[rule.endpoint]
    doc = (view.__doc__ or "").strip().splitlines()
    path, parameters = _openapi_path(rule.rule)
    segment = path[len(PREFIX):].strip("/").split("/")[0] or "api"
    op: dict[str, Any] = {
        "operationId": rule.endpoint.removeprefix("api.") + (f"_{method}" if _multi(rule) else ""),
        "tags": [segment],
        "summary": doc[0] if doc else rule.endpoint,
    }
    op.update(resource_operation(rule.endpoint, method))
    extra = getattr(view, "__openapi__", {})
    op.update(extra.get("*", {}))
    op.update(extra.get(method, {}))
    if parameters:
        op["parameters"] = parameters + op.get("parameters", [])
    responses = op.setdefault("responses", {"200": {"description": "Success", "content": {"application/json": {}}}})
    # 422: every request is refused when a query parameter holds a NUL (security.py); 503: the database is down.
    codes = ["401", "422", "503"]
    if parameters:
        codes.append("404")
    if method in WRITE_METHODS:
        codes += ["400", "403"]
    if "requestBody" in op:
        codes += ["409", "413", "415"]
    for code in sorted(set(codes)):
        responses.setdefault(code, {"$ref": f"#/components/responses/E{code}"})
    op["responses"] = dict(sorted(responses.items()))
    return op


def _multi(rule: Any) -> bool:
    return len([m for m in rule.methods if m.lower() in METHOD_ORDER]) > 1


def api_rules(app: Flask) -> list[Any]:
    """Every URL rule under /api/v1, in path order."""
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")), key=lambda r: r.rule)


def build(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for the app's /api/v1 routes."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in api_rules(app):
        path, _ = _openapi_path(rule.rule[len(PREFIX):])
        methods = [m for m in METHOD_ORDER if m.upper() in rule.methods]
        entry = paths.setdefault(path, {})
        for method in methods:
            entry[method] = operation(app, rule, method)
    for path, entry in paths.items():
        paths[path] = {m: entry[m] for m in METHOD_ORDER if m in entry}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sightline API",
            "version": "1.0.0",
            "description": "Inventory of venues, floors, data-collection terminals and camera models. "
                           "See docs/api.md for authentication, errors and examples. "
                           "Generated by `flask openapi`; do not edit by hand.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API token from the 'API tokens' page (slt_...)"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The signed-in browser session; writes must also send the "
                                                 "page's CSRF token in the X-CSRFToken header"},
            },
            "responses": {f"E{code}": _error(code, text) for code, text in ERRORS.items()},
            "schemas": schemas(),
        },
    }


# ---------------------------------------------------------------- YAML output (no PyYAML dependency)


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.$#/ -]*$")
_RESERVED = {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith((" ", ":")) and ": " not in text \
            and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars (empty containers in flow style)."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.append(to_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}{_scalar(key)}: {_flow(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 1)
                lines.append(f"{pad}- {body.lstrip()}")
            elif isinstance(item, list) and item:
                lines.append(f"{pad}-")
                lines.append(to_yaml(item, indent + 1))
            else:
                lines.append(f"{pad}- {_flow(item)}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def render(app: Flask) -> str:
    """The document as YAML text, as committed in docs/openapi.yaml."""
    return "# Generated by `flask openapi --output docs/openapi.yaml`; do not edit by hand.\n" + \
        to_yaml(build(app)) + "\n"


@click.command("openapi")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the document to this file (docs/openapi.yaml) instead of standard output.")
@with_appcontext
def openapi_command(output: Path | None) -> None:
    """Generate the OpenAPI document of /api/v1 from the registered routes."""
    text = render(current_app._get_current_object())  # type: ignore[attr-defined]
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
