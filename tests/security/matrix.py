"""Shared machinery of the security tests: the seven users, fresh objects of two organisations, URL building."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, url_for

from accounts.access import POLICY, Action
from accounts.models import ApiToken, Organisation, Role, User
from extensions import db
from inventory.floor_storage import Storage
from inventory.models import CameraModel, Floor, Terminal, Venue
from tests.conftest import ADMIN, INSPECTOR_CITY, INSPECTOR_SONGJIANG, MANAGER_A, MANAGER_B, PLANNER
from tests.security.access_table import (
    INSPECT,
    INSPECTION_EDIT,
    INSPECTION_READ,
    OWNER,
    PUBLIC,
    SIGNED_IN,
    VIEW,
    Roles,
)

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

INSPECTORS = {"A": INSPECTOR_CITY, "B": INSPECTOR_SONGJIANG}

def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


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


def user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def organisation(key: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == ORGANISATIONS[key][0]))


def planned_floor(key: str) -> dict[str, int]:
    """A venue of the organisation with two finished plan versions; the first approved (it has work items)."""
    from inventory.floorio import import_floor
    from plans import service
    from plans.execution import execute_plan

    admin = user(ADMIN)
    org = organisation(key)
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
            ids.update(approved_plan_id=plan.id, plan_item_id=plan.work_items[0].id)
        else:
            ids.update(plan_id=plan.id, decision_id=plan.decisions[0].id)
    return ids


_serial = itertools.count(1)


def fresh_objects(app: Flask, key: str, shared: dict[str, int]) -> dict[str, Any]:
    """New objects of the organisation for one call: a venue, a floor (with a background and a failed upload),
    a terminal, a camera model, a manager's API token, an open finding, an inspection in progress with a photo,
    and a user, an organisation and a jurisdiction for the admin pages."""
    n = next(_serial)
    org = organisation(key)
    manager = user(MANAGER_A if key == "A" else MANAGER_B)
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
    ids = {**_administered(key, n), **_inspected(app, key, venue), **_finding(venue, floor, terminal)}
    db.session.commit()
    return {**shared, **ids, "venue_id": venue.id, "floor_id": floor.id, "terminal_id": terminal.id, "code": "T-1",
            "model_id": model.id, "token_id": token.id, "token": upload, "filename": "css/app.css",
            "stem": "README", "locale": "en", "name": "admin-home.png",
            "owner": manager.email}


def _administered(key: str, n: int) -> dict[str, int]:
    """A user, an organisation and a jurisdiction for the admin pages to change."""
    from accounts.models import Jurisdiction

    org = Organisation(name=f"Matrix org {key} {n}")
    jurisdiction = Jurisdiction(name=f"Matrix jurisdiction {key} {n}")
    person = User(email=f"matrix-{key.lower()}-{n}@example.com", name="Matrix person", role=Role.MANAGER,
                  organisation=organisation(key), password_hash="x")
    db.session.add_all([org, jurisdiction, person])
    db.session.flush()
    return {"organisation_id": org.id, "jurisdiction_id": jurisdiction.id, "user_id": person.id}


def _inspected(app: Flask, key: str, venue: Venue) -> dict[str, Any]:
    """An inspection in progress of the venue, started by the inspector of its district, with one photo."""
    from inspection import service

    inspector = user(INSPECTORS[key])
    inspection = service.create_inspection(inspector, venue)
    item = inspection.items[0]
    evidence = service.add_evidence(inspector, inspection, item.id, "photo.png", PNG)
    return {"inspection_id": inspection.id, "item_id": item.id, "evidence_id": evidence.id, "size": "thumb"}


def _finding(venue: Venue, floor: Floor, terminal: Terminal) -> dict[str, int]:
    """An open compliance finding on the venue's terminal."""
    from compliance.models import Finding

    finding = Finding(venue_id=venue.id, floor_id=floor.id, terminal_id=terminal.id, rule_id="M-1",
                      key=f"matrix-{terminal.id}", severity="minor", subject=terminal.code, message="matrix finding")
    db.session.add(finding)
    db.session.flush()
    return {"finding_id": finding.id}


# Plan routes that need a particular plan, or query arguments.
def arguments(endpoint: str, objects: dict[str, Any]) -> dict[str, Any]:
    values = dict(objects)
    if endpoint == "plans.work_done":
        values["plan_id"] = objects["approved_plan_id"]
        values["item_id"] = objects["plan_item_id"]
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
    if key is not None and key not in persona.sees:
        return "hidden"
    if rule == INSPECT:
        return "ok" if role == Role.INSPECTOR else "forbidden"
    if rule in (INSPECTION_READ, INSPECTION_EDIT):
        if role not in (Role.INSPECTOR, Role.ADMIN):
            return "hidden"  # an inspection in progress is not theirs to see
        if rule == INSPECTION_READ:
            return "ok"
        return "ok" if persona.email == INSPECTORS[key] else "forbidden"
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


def signed_in_client(app: Flask, email: str | None) -> Any:
    client = app.test_client()
    if email is not None:
        with app.app_context():
            user_id = user(email).get_id()
        with client.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True
    return client


def routes(app: Flask) -> list[tuple[str, str, Any]]:
    """Every (endpoint, method, URL rule) of the app; an endpoint may have several URL rules."""
    return sorted(((rule.endpoint, method, rule) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}), key=lambda r: (r[0], r[1], r[2].rule))


def call(app: Flask, endpoint: str, method: str, rule: Any, table_rule: Any, persona: Persona,
          key: str | None, objects: dict[str, Any]) -> tuple[str, Any]:
    """Make one call on the objects of organisation `key`; return its outcome and the response."""
    with app.app_context():
        values = {name: value for name, value in arguments(endpoint, objects).items()
                  if name in rule.arguments or name in ("a", "b")}
        with app.test_request_context():
            url = url_for(endpoint, **values)
    client = signed_in_client(app, persona.email)
    form = {"token": objects["token"]} if endpoint.startswith("floors.upload_") else {}
    body = {"json": {}} if url.startswith("/api/") and method != "GET" else {"data": form}
    response = client.open(url, method=method, **({} if method == "GET" else body))
    return outcome(response, table_rule), response


