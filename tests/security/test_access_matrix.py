"""The access-control matrix: every route of `app.url_map`, called as seven users on objects of two organisations.

The users: anonymous; the manager of organisation A and of B; a planner for A; the inspector of A's district
and of B's; an admin. Each call gets its own fresh objects (a venue, a floor with a background and an upload,
a terminal, a camera model, an API token), so deleting one cannot hide the next call's result; plan routes
share one planned floor per organisation. The expected answer comes from `access_table.ROUTES` and
`accounts.access.POLICY` alone: not visible -> 404, visible but not allowed -> 403, anonymous -> 401 (API) or
the sign-in page, allowed -> anything else but a 5xx. Calls carry empty bodies, so "allowed" often means a
422 naming a field: the point is who gets past the access checks, and that those checks come first.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for

from accounts.access import POLICY, Action
from accounts.models import ApiToken, Jurisdiction, Organisation, Role, User
from extensions import db
from inventory.floor_storage import Storage
from inventory.models import CameraModel, Floor, Terminal, Venue
from tests.conftest import (
    ADMIN,
    INSPECTOR_CITY,
    INSPECTOR_SONGJIANG,
    MANAGER_A,
    MANAGER_B,
    PLANNER,
    make_app,
    seed,
)
from tests.security.access_table import OWNER, PUBLIC, ROUTES, SIGNED_IN, VIEW, Roles

ORGANISATIONS = {"A": ("Huangpu Hospitality Group", "Huangpu"), "B": ("FreshMart Supermarkets", "Jing'an")}


@dataclass(frozen=True)
class Persona:
    """One user of the matrix and the organisations whose objects they can see."""

    name: str
    email: str | None
    sees: frozenset[str]


PERSONAS = (
    Persona("anonymous", None, frozenset()),
    Persona("manager A", MANAGER_A, frozenset("A")),
    Persona("manager B", MANAGER_B, frozenset("B")),
    Persona("planner (A)", PLANNER, frozenset("A")),
    Persona("inspector X (A's district)", INSPECTOR_CITY, frozenset("A")),
    Persona("inspector Y (B's district)", INSPECTOR_SONGJIANG, frozenset("B")),
    Persona("admin", ADMIN, frozenset("AB")),
)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _tiny_floor() -> dict[str, Any]:
    """A 10 m room, one required zone and two cameras that each cover it: the optimizer removes one, fast."""
    camera = {"kind": "terminal", "type": "camera", "hfov_deg": 90, "hpx": 1920, "height_m": 2.8}
    return {"type": "FeatureCollection", "format": "sightline-floor/1", "name": "Matrix floor", "features": [
        {"type": "Feature", "geometry": _rect(0, 0, 10, 10), "properties": {"kind": "outline"}},
        {"type": "Feature", "geometry": _rect(1, 1, 9, 9),
         "properties": {"kind": "zone", "zone": "required", "name": "Hall", "use": "corridor", "tier": "observe"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]},
         "properties": {**camera, "id": "C-1", "heading_deg": 45}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [0.2, 0]},
         "properties": {**camera, "id": "C-2", "heading_deg": 45}},
    ]}


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _organisation(key: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == ORGANISATIONS[key][0]))


def _planned_floor(key: str) -> dict[str, int]:
    """A venue of the organisation with two finished plan versions; the first approved (it has work items)."""
    from inventory.floorio import import_floor
    from plans import service
    from plans.execution import execute_plan

    admin = _user(ADMIN)
    org = _organisation(key)
    venue = Venue(organisation_id=org.id, name=f"Planned {key}", type="hotel", district=ORGANISATIONS[key][1],
                  address="1 Matrix Rd")
    floor = Floor(venue=venue, level=0, name="Planned", structure=[])
    db.session.add_all([venue, floor])
    db.session.flush()
    import_floor(admin, floor, _tiny_floor())
    db.session.commit()
    ids = {"plan_floor_id": floor.id}
    for version in (1, 2):
        plan = service.create_plan(admin, floor, {"mode": "reduce", "time_limit": "10"})
        db.session.commit()
        execute_plan(plan.id)
        db.session.expire_all()
        plan = service.get_plan(admin, plan.id)
        assert plan.state.value == "done", plan.error
        if version == 1:
            service.approve(admin, plan)
            db.session.commit()
            assert plan.work_items, "the approved plan needs a work item for work_done"
            ids.update(approved_plan_id=plan.id, item_id=plan.work_items[0].id)
        else:
            ids.update(plan_id=plan.id, decision_id=plan.decisions[0].id)
    return ids


_serial = itertools.count(1)


def _fresh_objects(app: Flask, key: str, shared: dict[str, int]) -> dict[str, Any]:
    """A new venue, floor (with background and a failed upload), terminal, camera model and token of the org."""
    n = next(_serial)
    org = _organisation(key)
    manager = _user(MANAGER_A if key == "A" else MANAGER_B)
    venue = Venue(organisation_id=org.id, name=f"Matrix {key} {n}", type="hotel", district=ORGANISATIONS[key][1],
                  address="2 Matrix Rd")
    floor = Floor(venue=venue, level=1, name="Fresh", structure=[])
    model = CameraModel(organisation_id=org.id, manufacturer="Matrix", model=f"M-{key}-{n}", hpx=1920,
                        hfov_min_deg=60, hfov_max_deg=90)
    token, _ = ApiToken.issue(manager, f"matrix {n}")
    db.session.add_all([venue, floor, model, token])
    db.session.flush()
    terminal = Terminal(floor=floor, venue_id=venue.id, code="T-1", kind="camera", x=1.0, y=1.0)
    db.session.add(terminal)
    storage = Storage.from_config(app.config, app.instance_path)
    folder = storage.root / str(org.id) / f"floor-{floor.id}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "background-matrix.png").write_bytes(PNG)
    floor.background_image = f"{org.id}/floor-{floor.id}/background-matrix.png"
    upload, _ = storage.store_upload(floor, "plan.geojson", b'{"type": "FeatureCollection", "features": []}')
    storage.write_import(floor, upload, {"state": "failed", "error": "matrix", "filename": "x.dxf", "args": {}})
    db.session.commit()
    return {**shared, "venue_id": venue.id, "floor_id": floor.id, "terminal_id": terminal.id, "code": "T-1",
            "model_id": model.id, "token_id": token.id, "token": upload, "filename": "css/app.css",
            "owner": manager.email}


# Plan routes that need a particular plan, or query arguments.
def _arguments(endpoint: str, objects: dict[str, Any]) -> dict[str, Any]:
    values = dict(objects)
    if endpoint == "plans.work_done":
        values["plan_id"] = objects["approved_plan_id"]
    if endpoint.startswith("plans.") and "floor_id" in values:
        values["floor_id"] = objects["plan_floor_id"]
    if endpoint == "plans.plan_compare":
        values.update(a=objects["approved_plan_id"], b=objects["plan_id"])
    return values


def expected(rule: Any, persona: Persona, key: str | None, owner: str | None) -> str:
    """What the matrix demands of one call: ok, forbidden (403), hidden (404) or login (401 / sign-in page)."""
    if rule == PUBLIC:
        return "ok"
    if persona.email is None:
        return "login"
    if rule == SIGNED_IN:
        return "ok"
    if rule == OWNER:
        return "ok" if persona.email == owner else "hidden"
    role = Role(persona.name.split()[0]) if persona.name != "admin" else Role.ADMIN
    if isinstance(rule, Roles):
        return "ok" if role in rule.roles else rule.refused
    if key is None:  # object-less action (create a venue, a camera model): the role alone decides
        return "ok" if role in POLICY[Action(rule)] else "forbidden"
    if key not in persona.sees:
        return "hidden"
    if rule == VIEW or role in POLICY[Action(rule)]:
        return "ok"
    return "forbidden"


def outcome(response: Any, rule: Any) -> str:
    """Classify an answer as the matrix does (on public routes a 401 is a wrong password, not a refusal)."""
    status = response.status_code
    if status >= 500:
        return f"error {status}"
    if rule == PUBLIC and status not in (403, 404):
        return "ok"
    if status == 401 or (status == 302 and "/login?next=" in response.headers.get("Location", "")):
        return "login"
    return {403: "forbidden", 404: "hidden"}.get(status, "ok")


def _client(app: Flask, email: str | None) -> Any:
    client = app.test_client()
    if email is not None:
        with app.app_context():
            user_id = _user(email).get_id()
        with client.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True
    return client


def _routes(app: Flask) -> list[tuple[str, str, Any]]:
    return sorted((rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture(scope="module")
def matrix_app(tmp_path_factory: pytest.TempPathFactory, template_database: str) -> Flask:
    """The demo data with the matrix's scopes: the planner plans A only, inspector X has A's district, Y has B's."""
    tmp = tmp_path_factory.mktemp("matrix")
    app = make_app(template_database, tmp, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp / "jobs.sqlite"),
                   SOLVER_TIME_LIMIT=10.0)
    seed(app)
    with app.app_context():
        _user(PLANNER).planned_organisations = [_organisation("A")]
        for email, key in ((INSPECTOR_CITY, "A"), (INSPECTOR_SONGJIANG, "B")):
            jurisdiction = db.session.get(Jurisdiction, _user(email).jurisdiction_id)
            jurisdiction.districts = [ORGANISATIONS[key][1]]
        db.session.commit()
        app.config["MATRIX_SHARED"] = {key: _planned_floor(key) for key in ORGANISATIONS}
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_route_has_an_entry_and_every_entry_a_route(matrix_app: Flask) -> None:
    present = {(endpoint, method) for endpoint, method, _ in _routes(matrix_app)}
    listed = {(endpoint, method) for endpoint, methods in ROUTES.items() for method in methods}
    missing = sorted(present - listed)
    # Lenient while other branches are still landing routes; made an assertion once they are all covered.
    if missing:
        warnings.warn(f"routes with no entry in tests/security/access_table.py: {missing}", stacklevel=1)
    assert not listed - present, f"entries naming no route: {sorted(listed - present)}"


def _call(app: Flask, endpoint: str, method: str, rule: Any, table_rule: Any, persona: Persona,
          key: str | None, objects: dict[str, Any]) -> tuple[str, Any]:
    """Make one call on the objects of organisation `key`; return its outcome and the response."""
    with app.app_context():
        values = {name: value for name, value in _arguments(endpoint, objects).items()
                  if name in rule.arguments or name in ("a", "b")}
        with app.test_request_context():
            url = url_for(endpoint, **values)
    client = _client(app, persona.email)
    form = {"token": objects["token"]} if endpoint.startswith("floors.upload_") else {}
    body = {"json": {}} if url.startswith("/api/") and method != "GET" else {"data": form}
    response = client.open(url, method=method, **({} if method == "GET" else body))
    return outcome(response, table_rule), response


def test_access_matrix(matrix_app: Flask) -> None:
    mismatches: list[str] = []
    calls = 0
    reads: dict[str, dict[str, Any]] = {}
    # Reads first, on one set of objects per organisation; every write gets objects of its own.
    for endpoint, method, url_rule in sorted(_routes(matrix_app), key=lambda r: (r[1] != "GET", r[0], r[1])):
        rule = ROUTES.get(endpoint, {}).get(method)
        if rule is None:
            continue  # reported by test_every_route_has_an_entry_and_every_entry_a_route
        names_object = bool(set(url_rule.arguments) - {"filename"})
        for persona in PERSONAS:
            for key in (ORGANISATIONS if names_object else (None,)):
                org = key or "A"
                if method != "GET" or org not in reads:
                    with matrix_app.app_context():
                        objects = _fresh_objects(matrix_app, org, matrix_app.config["MATRIX_SHARED"][org])
                    if method == "GET":
                        reads[org] = objects
                objects = reads[org] if method == "GET" else objects
                got, response = _call(matrix_app, endpoint, method, url_rule, rule, persona, key, objects)
                want = expected(rule, persona, key, objects["owner"])
                calls += 1
                if got != want:
                    detail = response.get_data(as_text=True)[:120] if response.is_json else ""
                    mismatches.append(f"{method} {endpoint} as {persona.name} on {key or '-'}: want {want}, got "
                                      f"{got} ({response.status_code} {detail.strip()})")
    assert calls > 500
    assert not mismatches, f"{len(mismatches)} of {calls} calls differ from the table:\n" + "\n".join(mismatches)


def test_the_documented_policy_is_the_code_policy() -> None:
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    documented = {match[0]: {Role(role.strip()) for role in match[1].split(",")}
                  for match in re.findall(r"^\| `(\w+)` \|[^|]*\| ([a-z, ]+) \|$", text, flags=re.MULTILINE)}
    assert documented == {action.value: set(roles) for action, roles in POLICY.items()}
