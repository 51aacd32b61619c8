"""An update stores only what changed (a floor's features as a feature diff); the audit page stays small."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa
from flask import Flask

from audit import chain
from audit.models import AuditEvent
from audit.recorder import NAMING_FIELDS, feature_diff, snapshot
from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import MANAGER_A

BIG_STRUCTURE_BYTES = 5_000_000


def _size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def _hotel_floor(app: Flask) -> Floor:
    app.config["COMPLIANCE_AUTO_EVALUATE"] = False  # this is about the audit trail, not the findings engine
    venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
    return venue.floors[0]


def _big_walls(count: int) -> list[dict]:
    """Walls with 40-point polylines, each with its stable id."""
    return [{"type": "Feature", "id": f"big-{i}", "properties": {"kind": "wall"},
             "geometry": {"type": "LineString", "coordinates": [[i * 0.01 + j * 0.5, j * 0.25] for j in range(40)]}}
            for i in range(count)]


def _grow(floor: Floor) -> list[dict]:
    """Give the floor a structure of about BIG_STRUCTURE_BYTES and commit it."""
    per_wall = _size(_big_walls(1)[0])
    floor.structure = [*floor.structure, *_big_walls(BIG_STRUCTURE_BYTES // per_wall + 1)]
    db.session.commit()
    return floor.structure


def _move_wall(floor: Floor, wall_id: str, dx: float) -> None:
    structure = copy.deepcopy(floor.structure)
    wall = next(f for f in structure if f.get("id") == wall_id)
    wall["geometry"]["coordinates"] = [[x + dx, y] for x, y in wall["geometry"]["coordinates"]]
    floor.structure = structure
    db.session.commit()


def _last_event(object_type: str, object_id: int) -> AuditEvent:
    return db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                         AuditEvent.object_id == object_id)
                             .order_by(AuditEvent.id.desc()).limit(1))


def test_moving_one_wall_of_a_big_floor_stores_a_feature_diff(demo_app: Flask) -> None:
    with demo_app.app_context():
        floor = _hotel_floor(demo_app)
        structure = _grow(floor)
        old = copy.deepcopy(structure)
        _move_wall(floor, "big-7", 0.5)
        event = _last_event("floor", floor.id)
        assert event.action == "update" and event.before["id"] == event.after["id"] == floor.id
        assert event.before["name"] == event.after["name"] == floor.name  # named, though the name did not change
        assert event.before["structure"] == {"removed": [next(f for f in old if f["id"] == "big-7")]}
        assert event.after["structure"] == {"added": [next(f for f in floor.structure if f["id"] == "big-7")]}
        stored = _size(event.before) + _size(event.after)
        assert stored * 100 < _size(floor.structure)
        assert chain.verify_events(db.session.connection()).ok


def test_feature_diff_reconstructs_the_new_list_and_falls_back_without_ids() -> None:
    old = _big_walls(5)
    new = [old[4], {**old[0], "properties": {"kind": "wall", "see_through": True}}, old[2], *_big_walls(7)[5:]]
    before, after = feature_diff(old, new)
    removed = {f["id"] for f in before["removed"]}
    rebuilt = {f["id"]: f for f in old if f["id"] not in removed} | {f["id"]: f for f in after["added"]}
    assert [rebuilt[i] for i in after["order"]] == new
    assert feature_diff([{"properties": {}}], new) is None  # items without ids: stored whole
    assert feature_diff(old, [*old, old[0]]) is None  # duplicate ids: stored whole


def test_audit_page_of_a_big_floor_is_small_and_names_the_change(demo_app: Flask, client, auth) -> None:
    with demo_app.app_context():
        floor = _hotel_floor(demo_app)
        venue_id, floor_id = floor.venue_id, floor.id
        _grow(floor)
        for dx in (0.5, 0.25, -0.5):
            _move_wall(floor, "big-3", dx)
        structure_bytes = _size(floor.structure)
    auth.login(MANAGER_A)
    page = client.get(f"/venues/{venue_id}/audit?type=floor").get_data(as_text=True)
    assert len(page.encode()) < 200_000 < structure_bytes
    assert page.count("walls: 1 changed") == 3 and f"#{floor_id}" in page
    assert "more characters)" in page  # the growth's added walls, cut short


def test_terminal_update_stores_only_changed_fields(demo_app: Flask) -> None:
    with demo_app.app_context():
        demo_app.config["COMPLIANCE_AUTO_EVALUATE"] = False
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-302"))
        full_before = snapshot(terminal)
        terminal.heading_deg = (terminal.heading_deg or 0) + 15
        db.session.commit()
        full_after = snapshot(terminal)
        event = _last_event("terminal", terminal.id)
    changed = {k for k in full_after if full_before[k] != full_after[k]}
    kept = changed | {"id"} | (set(NAMING_FIELDS) & set(full_after))
    assert "heading_deg" in changed and set(event.before) == set(event.after) == kept < set(full_after)
    assert event.before == {k: full_before[k] for k in kept} and event.after == {k: full_after[k] for k in kept}


@pytest.mark.parametrize("action", ["create", "delete"])
def test_creates_and_deletes_keep_full_snapshots(demo_app: Flask, action: str) -> None:
    with demo_app.app_context():
        demo_app.config["COMPLIANCE_AUTO_EVALUATE"] = False
        template = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-302"))
        terminal = Terminal(venue_id=template.venue_id, floor_id=template.floor_id, code="C-999", kind=template.kind,
                            x=1.0, y=1.0)
        db.session.add(terminal)
        db.session.commit()
        full = snapshot(terminal)
        if action == "delete":
            db.session.delete(terminal)
            db.session.commit()
        event = _last_event("terminal", full["id"])
    assert event.action == action
    assert (event.after if action == "create" else event.before) == full
