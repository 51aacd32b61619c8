"""Inspection fixtures: the demo hotel with an approved plan partly carried out, and an inspector on it."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from extensions import db
from inventory.models import Floor, Terminal, Venue
from plans.models import Plan
from tests.conftest import DEMO_PASSWORD, INSPECTOR_CITY, MANAGER_A, PLANNER

HOTEL = "Bund View Hotel"


def login(client: FlaskClient, email: str) -> None:
    """Sign in through the form."""
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[-400:]


def photo(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), gps: bool = True) -> bytes:
    """A small photo, with EXIF that includes GPS coordinates when asked."""
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:12:01 09:30:00"  # DateTime
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 21.0), 3: "E", 4: (121.0, 29.0, 7.0)}
    image.save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


@dataclass
class Hotel:
    """The approved hotel plan: ids the tests need."""

    venue_id: int
    floor_id: int
    plan_id: int


@pytest.fixture
def hotel(demo_app: Flask, client: FlaskClient) -> Hotel:
    """The demo hotel planned and approved (removing C-303, C-305, F-306); the manager removed C-303 and C-305."""
    with demo_app.app_context():
        venue_id, floor_id = db.session.execute(sa.select(Venue.id, Floor.id).join(Floor)
                                                .where(Venue.name == HOTEL)).one()
    login(client, PLANNER)
    run = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    assert run.status_code == 302, run.get_data(as_text=True)[-600:]
    plan_id = int(run.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/plans/{plan_id}/approve").status_code == 302
    login(client, MANAGER_A)
    with demo_app.app_context():
        items = {i.label: i.id for i in db.session.get(Plan, plan_id).work_items}
    for code in ("C-303", "C-305"):
        assert client.post(f"/plans/{plan_id}/work-items/{items[code]}/done").status_code == 302
    client.post("/logout")
    return Hotel(venue_id, floor_id, plan_id)


def start(client: FlaskClient, venue_id: int, email: str = INSPECTOR_CITY) -> int:
    """Start an inspection as the inspector; its id."""
    login(client, email)
    response = client.post(f"/venues/{venue_id}/inspections")
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    return int(re.search(r"/inspections/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]


def item_ids(app: Flask, inspection_id: int) -> dict[str, int]:
    """Checklist item ids by terminal code."""
    from inspection.models import InspectionItem

    with app.app_context():
        return dict(db.session.execute(sa.select(InspectionItem.code, InspectionItem.id)
                                       .where(InspectionItem.inspection_id == inspection_id)).all())


def terminal_position(app: Flask, floor_id: int, code: str) -> tuple[float, float]:
    """Where a terminal is declared."""
    with app.app_context():
        return tuple(db.session.execute(sa.select(Terminal.x, Terminal.y)
                                        .where(Terminal.floor_id == floor_id, Terminal.code == code)).one())  # type: ignore[return-value]
