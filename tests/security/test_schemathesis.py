"""Schemathesis against docs/openapi.yaml: every operation, run on the real WSGI app, never answers 5xx and
every response matches the document (schema, status code, content type).

Budget: SIGHTLINE_API_FUZZ_EXAMPLES examples per operation and generation mode (default 10, derandomized: the
CI pass); `bench/schemathesis.sh` runs 300 with fresh random seeds. Requests carry a real write-scope API
token of the Huangpu manager (organisation A, demo data) on a database of this module only. Path parameters
are drawn from the seeded objects that user can see (plus whatever Schemathesis generates, mostly 404s), so
writes reach real venues, floors, terminals, camera models and findings; deletes run last. The list is taken
once, not per example: Hypothesis replays examples and needs the same choices (deleted objects then 404).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken, User
from compliance.models import Finding
from extensions import db
from inventory.models import CameraModel, Floor, Terminal, Venue
from tests.conftest import MANAGER_A, make_app, seed

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = int(os.environ.get("SIGHTLINE_API_FUZZ_EXAMPLES", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                derandomize=not os.environ.get("SIGHTLINE_FUZZ_RANDOM"),
                suppress_health_check=list(HealthCheck))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]

SCHEMA = schemathesis.openapi.from_path(DOCUMENT)
OPERATIONS = sorted((result.ok() for result in SCHEMA.get_all_operations()),
                    key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))



@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, template_database: str) -> Iterator[Flask]:
    """The demo data on this module's own database, with the manager's write token in config."""
    app = make_app(template_database, tmp_path_factory.mktemp("schemathesis"))
    seed(app)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        token, plain = ApiToken.issue(user, "schemathesis")
        db.session.add(token)
        db.session.commit()
    app.config["FUZZ_HEADERS"] = {"Authorization": f"Bearer {plain}"}
    app.config["FUZZ_IDS"] = visible_ids(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def visible_ids(app: Flask) -> dict[str, list[Any]]:
    """Path parameter values that name the organisation's seeded objects."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        venues = db.session.scalars(sa.select(Venue.id).where(Venue.organisation_id == user.organisation_id)).all()
        floors = db.session.scalars(sa.select(Floor.id).where(Floor.venue_id.in_(venues))).all()
        terminals = db.session.execute(sa.select(Terminal.id, Terminal.code).where(Terminal.floor_id.in_(floors))).all()
        models = db.session.scalars(sa.select(CameraModel.id).where(
            (CameraModel.organisation_id == user.organisation_id) | CameraModel.organisation_id.is_(None))).all()
        findings = db.session.scalars(sa.select(Finding.id).where(Finding.venue_id.in_(venues))).all()
    return {"venue_id": list(venues), "floor_id": list(floors), "terminal_id": [t.id for t in terminals],
            "code": sorted({t.code for t in terminals}), "model_id": list(models), "finding_id": list(findings)}


def with_real_objects(case: Any, data: st.DataObject, known: dict[str, list[Any]]) -> None:
    """Replace each generated path parameter by a visible object's id most of the time (else keep it: a 404)."""
    for name, value in list((case.path_parameters or {}).items()):
        if known.get(name):
            case.path_parameters[name] = data.draw(st.one_of(st.sampled_from(known[name]), st.just(value)),
                                                   label=name)


# ---------------------------------------------------------------- what it found, as plain regression tests

API = "/api/v1"
DOCUMENT_DICT = SCHEMA.raw_schema


def _documented(path: str, method: str) -> dict[str, Any]:
    return DOCUMENT_DICT["paths"][path][method]["responses"]


@pytest.mark.parametrize("method, path", [("delete", "/venues/{}"), ("put", "/venues/{}"), ("patch", "/floors/{}"),
                                          ("delete", "/terminals/{}"), ("put", "/floors/{}/geojson"),
                                          ("delete", "/camera-models/{}")])
@pytest.mark.parametrize("huge", ["2147483648", "1906268422255728503", "9" * 40])
def test_ids_beyond_the_integer_range_answer_404_for_every_method(fuzz_app, method, path, huge):
    """Found: DELETE /venues/1906268422255728503 answered an undocumented 405 (Werkzeug checks the method of
    every rule whose regex matched before the converter's max refuses the id); the regex now bounds it."""
    response = getattr(fuzz_app.test_client(), method)(API + path.format(huge), json={},
                                                        headers=fuzz_app.config["FUZZ_HEADERS"])
    assert response.status_code == 404 and response.is_json
    assert "404" in _documented(path.replace("{}", "{" + _parameter(path) + "}"), method)


def _parameter(path: str) -> str:
    return {"venues": "venue_id", "floors": "floor_id", "terminals": "terminal_id",
            "camera-models": "model_id"}[path.split("/")[1]]


def test_id_regex_bounds_exactly_the_integer_range():
    """The converter's regex accepts 0..MAX_ID and nothing above, at every digit boundary."""
    import re

    from security import MAX_ID, digits_up_to

    for limit in (0, 7, 10, 99, 100, 305, 1000, MAX_ID):
        pattern = re.compile(digits_up_to(limit) + r"\Z")
        probes = set(range(min(limit + 30, 2000))) | {limit - 1, limit, limit + 1, limit * 10, 10 ** len(str(limit))}
        probes |= {int(str(limit)[:i] + "9" * (len(str(limit)) - i)) for i in range(len(str(limit)))}
        for number in sorted(p for p in probes if p >= 0):
            assert bool(pattern.match(str(number))) == (number <= limit), (limit, number)


@pytest.mark.parametrize("path", ["/floors/{floor_id}/overlays", "/floors/{floor_id}/findings"])
def test_geojson_endpoints_send_the_documented_media_type(fuzz_app, path):
    """Found: the overlays and floor findings were documented as application/geo+json but sent application/json."""
    floor_id = visible_ids(fuzz_app)["floor_id"][0]
    response = fuzz_app.test_client().get(API + path.format(floor_id=floor_id), headers=fuzz_app.config["FUZZ_HEADERS"])
    assert response.status_code == 200 and response.json["type"] == "FeatureCollection"
    assert list(_documented(path, "get")["200"]["content"]) == [response.mimetype] == ["application/geo+json"]


@pytest.mark.parametrize("url, path", [("/floors/{floor_id}/geojson?x%00=1", "/floors/{floor_id}/geojson"),
                                       ("/me?q=%00", "/me"),
                                       ("/venues/{venue_id}/findings?status=bogus", "/venues/{venue_id}/findings")])
def test_refused_query_parameters_are_a_documented_422(fuzz_app, url, path):
    """Found: a NUL in any query parameter (security.py refuses it everywhere) and a bad findings filter answered
    422 where the document listed none; every operation now documents 422."""
    known = visible_ids(fuzz_app)
    response = fuzz_app.test_client().get(API + url.format(floor_id=known["floor_id"][0],
                                                           venue_id=known["venue_id"][0]),
                                          headers=fuzz_app.config["FUZZ_HEADERS"])
    assert response.status_code == 422 and response.json["field"] in ("x", "q", "status")
    assert "422" in _documented(path, "get")
    assert all("422" in op["responses"] for item in DOCUMENT_DICT["paths"].values() for op in item.values())



def test_put_bodies_document_what_the_server_takes(fuzz_app):
    """Found (positive examples refused): PUT /venues documented organisation_id, which PUT refuses as unknown,
    and required text fields accepted blank strings the validator refuses as missing."""
    import re

    venue_id = visible_ids(fuzz_app)["venue_id"][0]
    client, headers = fuzz_app.test_client(), fuzz_app.config["FUZZ_HEADERS"]
    current = client.get(f"{API}/venues/{venue_id}", headers=headers).json
    body = {k: current[k] for k in DOCUMENT_DICT["components"]["schemas"]["VenueReplace"]["properties"]}
    assert client.put(f"{API}/venues/{venue_id}", headers=headers, json=body).status_code == 200
    refused = client.put(f"{API}/venues/{venue_id}", headers=headers, json={**body, "organisation_id": None})
    assert refused.status_code == 422 and refused.json["field"] == "organisation_id"
    put = DOCUMENT_DICT["paths"]["/venues/{venue_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert put["schema"]["$ref"].endswith("/VenueReplace")
    blank = client.put(f"{API}/venues/{venue_id}", headers=headers, json={**body, "name": "  "})
    assert blank.status_code == 422 and blank.json["field"] == "name"
    name = DOCUMENT_DICT["components"]["schemas"]["VenueReplace"]["properties"]["name"]
    assert not re.search(name["pattern"], "  ") and re.search(name["pattern"], current["name"])



def test_a_body_over_the_limit_is_a_documented_413(fuzz_app):
    """Status codes the app returns but the document lacked: 413 for a body over MAX_CONTENT_LENGTH."""
    venue_id = visible_ids(fuzz_app)["venue_id"][0]
    limit = fuzz_app.config["MAX_CONTENT_LENGTH"]
    fuzz_app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = fuzz_app.test_client().patch(f"{API}/venues/{venue_id}", headers=fuzz_app.config["FUZZ_HEADERS"],
                                                json={"name": "x" * 2048})
    finally:
        fuzz_app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413 and response.json["field"] is None
    assert all("413" in op["responses"] for item in DOCUMENT_DICT["paths"].values() for op in item.values()
               if "requestBody" in op)


def test_a_database_outage_is_a_documented_503(fuzz_app, monkeypatch):
    """Status codes the app returns but the document lacked: 503 with Retry-After when the database is down."""
    from sqlalchemy.exc import OperationalError

    from inventory import services

    def down(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(services, "list_venues", down)
    response = fuzz_app.test_client().get(f"{API}/venues", headers=fuzz_app.config["FUZZ_HEADERS"])
    assert response.status_code == 503 and response.headers["Retry-After"] == "30" and response.json["error"]
    assert "Retry-After" in DOCUMENT_DICT["components"]["responses"]["E503"]["headers"]
    assert all("503" in op["responses"] for item in DOCUMENT_DICT["paths"].values() for op in item.values())



def test_a_subnormal_field_of_view_is_refused_not_a_500(fuzz_app):
    """Found by the long run: PATCH /terminals/3 {"hfov_deg": 5e-324} crashed the tier ranges (tan of the half angle
    underflows to 0), and once stored made the visibility code overflow; no lens is that narrow, so it is a 422
    naming the field, and the narrowest allowed lens is stored with a finite range."""
    import math

    from planner.coverage import tier_range
    from planner.floor import MIN_HFOV_DEG

    terminal_id = visible_ids(fuzz_app)["terminal_id"][0]
    client = fuzz_app.test_client()
    response = client.patch(f"{API}/terminals/{terminal_id}", headers=fuzz_app.config["FUZZ_HEADERS"],
                            json={"hfov_deg": 5e-324, "hpx": 1920})
    assert response.status_code == 422 and response.json["field"] == "hfov_deg"
    response = client.patch(f"{API}/terminals/{terminal_id}", headers=fuzz_app.config["FUZZ_HEADERS"],
                            json={"hfov_deg": MIN_HFOV_DEG, "hpx": 1920})
    assert response.status_code == 200 and response.json["hfov_deg"] == MIN_HFOV_DEG
    assert math.isfinite(tier_range(MIN_HFOV_DEG, 1920, "detect"))


# ---------------------------------------------------------------- the fuzzing pass (last: its deletes empty the data)


@pytest.mark.fuzz
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_operation_conforms(fuzz_app: Flask, operation: Any, mode: GenerationMode) -> None:
    """No 5xx, and the status code, content type and body of every response are the documented ones."""
    headers = fuzz_app.config["FUZZ_HEADERS"]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        with_real_objects(case, data, fuzz_app.config["FUZZ_IDS"])
        case.call_and_validate(headers=headers, checks=CHECKS, app=fuzz_app)

    run()
