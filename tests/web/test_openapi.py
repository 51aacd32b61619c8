"""docs/openapi.yaml is generated, current, covers every /api/v1 route, and matches what the API returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from accounts.models import ApiToken, User
from api import openapi
from extensions import db
from inventory.choices import TerminalKind
from inventory.fields import CAMERA_MODEL_FIELDS, FLOOR_FIELDS, TERMINAL_FIELDS, VENUE_FIELDS
from tests.conftest import ADMIN

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The generated document."""
    return openapi.build(openapi.generator_app())


def test_committed_document_is_current():
    generated = openapi.render(openapi.generator_app())
    assert COMMITTED.read_text(encoding="utf-8") == generated, \
        "docs/openapi.yaml is stale: run `.venv/bin/python -m api.openapi > docs/openapi.yaml`"


def test_every_api_route_and_method_is_documented(document):
    app = openapi.generator_app()
    rules = openapi.api_rules(app)
    assert len(rules) >= 9
    for rule in rules:
        path = openapi._openapi_path(rule.rule[len(openapi.PREFIX):])[0]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = document["paths"][path][method.lower()]
            assert op["summary"] and op["responses"] and op["operationId"], (path, method)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(rule.arguments), (path, method)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_resource_endpoints_are_described(document):
    paths = document["paths"]
    for path in ("/venues", "/venues/{venue_id}/floors", "/floors/{floor_id}/terminals", "/camera-models"):
        assert {"get", "post"} <= set(paths[path]), path
        assert "201" in paths[path]["post"]["responses"] and "422" in paths[path]["post"]["responses"]
    for path in ("/venues/{venue_id}", "/floors/{floor_id}", "/terminals/{terminal_id}",
                 "/camera-models/{model_id}"):
        assert {"get", "put", "patch", "delete"} == set(paths[path]), path
        assert paths[path]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("Patch")
        assert "404" in paths[path]["get"]["responses"]
    assert paths["/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Me")


@pytest.mark.parametrize("name, fields", [("Venue", VENUE_FIELDS), ("Floor", FLOOR_FIELDS),
                                          ("Terminal", TERMINAL_FIELDS), ("CameraModel", CAMERA_MODEL_FIELDS)])
def test_schemas_follow_the_field_specs(document, name, fields):
    schemas = document["components"]["schemas"]
    writable = [f.name for f in fields]
    create, patch = schemas[f"{name}Input"], schemas[f"{name}Patch"]
    assert [k for k in create["properties"] if k != "organisation_id"] == writable
    assert create["required"] == [f.name for f in fields if f.required] and "required" not in patch
    assert create["additionalProperties"] is False and patch["additionalProperties"] is False
    assert set(writable) <= set(schemas[name]["properties"])


def test_terminal_schema_details(document):
    properties = document["components"]["schemas"]["TerminalInput"]["properties"]
    assert properties["kind"]["enum"] == TerminalKind.values()
    assert properties["hfov_deg"]["exclusiveMinimum"] == 0 and properties["hfov_deg"]["maximum"] == 360
    assert properties["x"]["type"] == "number" and properties["hpx"]["type"] == ["integer", "null"]
    assert properties["installed_on"]["format"] == "date"
    output = document["components"]["schemas"]["Terminal"]["properties"]
    assert output["heading_deg"]["exclusiveMaximum"] == 360 and output["serial"]["type"] == ["string", "null"]


def test_yaml_text_parses_to_the_document(document):
    yaml = pytest.importorskip("yaml")  # PyYAML is not a dependency; checked where it is installed
    assert yaml.safe_load(COMMITTED.read_text(encoding="utf-8")) == document


def test_document_decorator_is_the_extension_point():
    app = Flask(__name__)

    @app.get("/api/v1/things/<int:thing_id>/<name>")
    @openapi.document(method="get", responses={"200": {"description": "A thing",
                                                       "content": {"image/png": {}}}})
    def thing(thing_id: int, name: str) -> str:
        """Fetch a thing."""
        return ""

    doc = openapi.build(app)
    op = doc["paths"]["/things/{thing_id}/{name}"]["get"]
    assert op["summary"] == "Fetch a thing." and op["responses"]["200"]["description"] == "A thing"
    assert [p["name"] for p in op["parameters"]] == ["thing_id", "name"]
    assert op["parameters"][0]["schema"]["type"] == "integer" and "404" in op["responses"]


# ---------------------------------------------------------------- live responses against the schemas


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
         "null": type(None)}


def check(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> None:
    """A small JSON Schema check (type, enum, required, properties, items, oneOf, bounds) of the subset used."""
    schema = _resolve(document, schema)
    if "oneOf" in schema:
        errors = []
        for option in schema["oneOf"]:
            try:
                check(document, option, value, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches no option: {errors}")
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        ok = any(isinstance(value, TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                 for t in names)
        assert ok, f"{where}: {value!r} is not {names}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value), where
        assert value <= schema.get("maximum", value), where
        if "exclusiveMaximum" in schema:
            assert value < schema["exclusiveMaximum"], where
        if "exclusiveMinimum" in schema:
            assert value > schema["exclusiveMinimum"], where
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        properties = schema.get("properties", {})
        if properties and schema.get("type") == "object" and "additionalProperties" not in schema:
            assert set(value) <= set(properties), f"{where}: undocumented {sorted(set(value) - set(properties))}"
        for key, item in value.items():
            if key in properties:
                check(document, properties[key], item, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                check(document, schema["additionalProperties"], item, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(document, schema["items"], item, f"{where}[{i}]")


def test_live_responses_match_the_documented_schemas(demo_app, document):
    with demo_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        token, plain = ApiToken.issue(user, "schema")
        db.session.add(token)
        db.session.commit()
    client = demo_app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    venue = client.get("/api/v1/venues", headers=headers).json["items"][0]
    floor_id = venue["floor_ids"][0]
    terminal = client.get(f"/api/v1/floors/{floor_id}/terminals", headers=headers).json["items"][0]
    model = client.get("/api/v1/camera-models", headers=headers).json["items"][0]
    urls = {"/me": "/api/v1/me", "/venues": "/api/v1/venues", "/venues/{venue_id}": f"/api/v1/venues/{venue['id']}",
            "/venues/{venue_id}/floors": f"/api/v1/venues/{venue['id']}/floors",
            "/floors/{floor_id}": f"/api/v1/floors/{floor_id}",
            "/floors/{floor_id}/terminals": f"/api/v1/floors/{floor_id}/terminals",
            "/terminals/{terminal_id}": f"/api/v1/terminals/{terminal['id']}",
            "/camera-models": "/api/v1/camera-models",
            "/camera-models/{model_id}": f"/api/v1/camera-models/{model['id']}"}
    for path, url in urls.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        check(document, schema, response.json, path)
    bad = client.patch(f"/api/v1/terminals/{terminal['id']}", headers=headers, json={"hfov_deg": 0})
    check(document, document["components"]["schemas"]["Error"], bad.json)
    created = client.post(f"/api/v1/floors/{floor_id}/terminals", headers=headers, json={
        "code": "S-1", "kind": "camera", "x": 1, "y": 1, "heading_deg": -30, "installed_on": "2024-01-02"})
    check(document, document["components"]["schemas"]["Terminal"], created.json)
