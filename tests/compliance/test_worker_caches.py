"""The queue worker's re-checks read the floor with plain queries and reuse what its unchanged content gives
(inventory.floorio.floor_rows: the parsed structure and the zone models, keyed by the SHA-256 of their stored
values; findings.service: the engine, and the zones' outline check): the model is always the ORM mapper's
(floorio.floor_model), no cache entry outlives a change of what it names, and the findings equal an evaluation
from scratch by the ORM path."""

from __future__ import annotations

import copy
from types import MappingProxyType

import sqlalchemy as sa
from shapely.geometry import shape

from accounts.models import User, utcnow
from compliance import rules
from compliance.models import STANDING, Finding
from extensions import db
from findings import service
from inventory import floorio
from inventory.models import CameraModel, Floor, Terminal, Venue, Zone
from planner import floor as pf
from planner.coverage import Engine
from planner.research.floorgen import generate_mall_floor
from tests.conftest import ADMIN


def _clear() -> None:
    service._ENGINES.clear()
    service._ZONES_CHECKED.clear()
    floorio._STRUCTURES.clear()
    floorio._ZONES.clear()


def _reference(venue: Venue, floor: Floor) -> set[tuple]:
    """The floor's findings as the ORM path gives them from scratch: floor_model, every problem, a new engine."""
    model = floorio.floor_model(floor)
    model, _ = pf.without_bad_terminals(model)
    rows = {t.code: t for t in floor.terminals if t.removed_at is None}
    attributes = {code: service.terminal_attributes(t) for code, t in rows.items()}
    evaluation = rules.evaluate(model, attributes, profile=venue.compliance_profile.value, engine=Engine(model))
    return {(f.rule, f.terminal, f.zone, f.zone_key, f.msgid, repr(f.params), f.area_m2) for f in evaluation.findings}


def _drafts(venue: Venue, floor: Floor) -> set[tuple]:
    drafts = service.evaluate_floor(venue, floor)
    assert drafts is not None
    zones = {z.id: z for z in floor.zones}
    terminals = {t.id: t for t in floor.terminals}
    out = set()
    for d in drafts:
        zone = zones.get(d.zone_id)
        out.add((d.rule_id, terminals[d.terminal_id].code if d.terminal_id else None, d.detail.get("zone"),
                 zone.key if zone else None, d.detail["msgid"], repr(d.detail["params"]), d.detail.get("intrusion_m2")))
    return out


def _mall(segments: int = 30) -> tuple[int, int]:
    venue = db.session.scalar(sa.select(Venue).where(Venue.name == "FreshMart Jing'an"))
    admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
    floor = Floor(venue=venue, name=f"Mall {segments}", level=9)
    db.session.add(floor)
    db.session.flush()
    mall = generate_mall_floor(1, segments, camera_spacing=4.0)  # 23 walls, 13 zones, 13 terminals
    shop = next(f for f in mall["features"] if f["properties"].get("name") == "Shop 2")
    shop["properties"].update(zone="private", use="toilet")
    floorio.import_floor(admin, floor, mall)
    db.session.commit()
    return venue.id, floor.id


def _check(floor_id: int) -> str:
    """floor_rows agrees with the ORM mapper and the findings with the from-scratch ORM evaluation; the key."""
    db.session.expire_all()
    floor = db.session.get(Floor, floor_id)
    read = floorio.floor_rows(floor)
    reference = floorio.floor_model(floor)
    assert read.model == reference  # every field, the features' extra properties too
    assert repr(read.model) == repr(reference)  # and each value's type and sign (-0.0 equals 0.0)
    assert set(read.terminals) == {t.code for t in floor.terminals}
    assert [z.id for z in read.zones] == [z.id for z in floor.zones]
    assert read.geometry_key == service._digest(floor)
    assert _drafts(floor.venue, floor) == _reference(floor.venue, floor)
    return read.geometry_key


def test_cached_floor_models_follow_every_kind_of_change(demo_app):
    """After each edit (warm caches), the model, the rows and the findings are those of the ORM path from scratch,
    and the geometry key changes exactly when the structure or a zone does."""
    with demo_app.app_context():
        _clear()
        _venue_id, floor_id = _mall()
        key = _check(floor_id)
        assert _check(floor_id) == key  # unchanged: the same key, and the cached entries give the same model

        floor = db.session.get(Floor, floor_id)
        terminal = floor.terminals[0]
        terminal.heading_deg = (terminal.heading_deg + 45) % 360
        terminal.serial = "SER-1"
        db.session.commit()
        assert _check(floor_id) == key  # a terminal edit keeps the geometry

        floor = db.session.get(Floor, floor_id)
        structure = copy.deepcopy(floor.structure)
        wall = next(f for f in structure if f["properties"]["kind"] == "wall")
        structure.remove(wall)
        floor.structure = structure
        db.session.commit()
        key2 = _check(floor_id)
        assert key2 != key  # a wall less: a new structure entry, a new engine

        floor = db.session.get(Floor, floor_id)
        floor.structure = [*floor.structure, wall]
        db.session.commit()
        key3 = _check(floor_id)
        assert key3 not in (key, key2)  # the same features in another order are other text: another key

        zone = db.session.get(Floor, floor_id).zones[0]
        zone.name = "Renamed room"
        db.session.commit()
        key4 = _check(floor_id)
        assert key4 != key3

        zone = db.session.get(Floor, floor_id).zones[1]
        ring = [[x + 0.5, y] for x, y in zone.geometry["coordinates"][0]]
        zone.geometry = {"type": "Polygon", "coordinates": [ring]}
        db.session.commit()
        key5 = _check(floor_id)
        assert key5 != key4

        db.session.delete(db.session.get(Floor, floor_id).zones[2])
        db.session.commit()
        assert _check(floor_id) != key5

        floor = db.session.get(Floor, floor_id)
        model = CameraModel(manufacturer="Test", model="T-1", hpx=1920, hfov_min_deg=90, hfov_max_deg=90)
        db.session.add(model)
        floor.terminals[1].camera_model, floor.terminals[1].hpx, floor.terminals[1].range_m = model, None, None
        floor.terminals[2].status = floor.terminals[2].status.__class__("planned_removal")
        floor.terminals[3].status = floor.terminals[3].status.__class__("removed")  # out of service: off the model
        floor.terminals[4].removed_at = utcnow()  # kept as a record: off the floor
        db.session.add(Terminal(floor=floor, venue_id=floor.venue_id, code="NEW-1", kind="camera",
                                x=floor.terminals[0].x, y=floor.terminals[0].y, heading_deg=10.0))
        db.session.commit()
        _check(floor_id)
        model.hpx = 640  # the camera model's pixels are the terminal's optics
        db.session.commit()
        _check(floor_id)
        for x in (0.0, -0.0, 0.0):  # equal values that print apart: a cached model must not stand in for the other
            floor = db.session.get(Floor, floor_id)
            floor.terminals[0].x, floor.terminals[0].signage_x = x, x
            db.session.commit()
            _check(floor_id)
            stored = db.session.get(Floor, floor_id).terminals[0]  # as the database gives it back (SQLite: 0.0)
            attributes = service._row_attributes(floorio.floor_rows(stored.floor, service.ATTRIBUTES).terminals[
                stored.code])
            assert repr(attributes) == repr(MappingProxyType(service.terminal_attributes(stored)))


def test_a_recheck_parses_an_unchanged_structure_once_and_loads_no_terminal_or_zone_objects(demo_app, monkeypatch):
    """What the worker saves: the second evaluation of an unchanged floor parses no feature and builds no ORM row of
    a terminal or zone (on main each re-check parsed the whole structure and loaded every row)."""
    with demo_app.app_context():
        _clear()
        venue_id, floor_id = _mall()
        db.session.expire_all()
        service.evaluate_venue(db.session.get(Venue, venue_id), {floor_id}, "first")
        db.session.commit()
        parsed: list[int] = []
        original = pf.parse_feature
        monkeypatch.setattr(pf, "parse_feature", lambda *a, **k: parsed.append(1) or original(*a, **k))
        loaded: list[str] = []

        def on_terminal(_target, _context):
            loaded.append("terminal")

        def on_zone(_target, _context):
            loaded.append("zone")

        sa.event.listen(Terminal, "load", on_terminal)
        sa.event.listen(Zone, "load", on_zone)
        try:
            db.session.expire_all()
            floor = db.session.get(Floor, floor_id)
            code = db.session.scalar(sa.select(Terminal.code).where(Terminal.floor_id == floor_id))
            service.evaluate_terminals(db.session.get(Venue, venue_id), {floor.id: {code}}, "again")
            db.session.commit()
        finally:
            sa.event.remove(Terminal, "load", on_terminal)
            sa.event.remove(Zone, "load", on_zone)
        assert parsed == []
        assert "zone" not in loaded and loaded.count("terminal") <= 1  # at most the terminal a finding names


def test_queued_rechecks_with_warm_caches_match_a_from_scratch_evaluation(demo_app):
    """Terminal edits, then a structure edit, then terminal edits again, each re-checked by the worker's path
    (evaluate_terminals, warm caches): the standing findings equal those of a full evaluation with every cache
    cleared, after each step."""
    with demo_app.app_context():
        _clear()
        venue_id, floor_id = _mall()
        demo_app.config["COMPLIANCE_INLINE_LIMIT"] = 0  # every edit goes to the queue (immediate in tests)

        def state() -> set[tuple]:
            return {(f.rule_id, f.key, f.floor_id, f.terminal_id, f.zone_id, f.severity, f.message, repr(f.detail))
                    for f in db.session.scalars(sa.select(Finding).where(Finding.venue_id == venue_id,
                                                                         Finding.status.in_(STANDING)))}

        def verify(step: str) -> None:
            db.session.expire_all()
            after = state()
            assert after, step
            _clear()
            counts = service.evaluate_venue(db.session.get(Venue, venue_id), service.ALL_FLOORS, "full")
            assert (counts["opened"], counts["fixed"], counts["updated"]) == (0, 0, 0), (step, counts)
            assert state() == after, step
            db.session.commit()

        service.evaluate_venue(db.session.get(Venue, venue_id), service.ALL_FLOORS, "first")
        db.session.commit()
        toilet = next(z for z in db.session.get(Floor, floor_id).zones if z.use == "toilet")
        inside = shape(toilet.geometry).representative_point()
        for step in range(7):
            floor = db.session.get(Floor, floor_id)
            if step == 3:  # the structure changes under warm caches: walls gone, views widen
                floor.structure = [f for f in floor.structure if f["properties"]["kind"] != "wall"]
            elif step == 5:  # and a wall across the floor cuts them
                floor.structure = [*floor.structure, {"type": "Feature", "id": "wall-test", "properties": {
                    "kind": "wall"}, "geometry": {"type": "LineString", "coordinates": [[1.0, 13.0], [47.0, 13.0]]}}]
            else:
                t = floor.terminals[step]
                t.heading_deg = (t.heading_deg + 60 * (step + 1)) % 360
                if step == 1:
                    t.x, t.y = inside.x, inside.y  # into the toilet: the private-zone rules fire
                t.signage_posted = step % 2 == 0
            db.session.commit()
            verify(f"step {step}")


def test_what_an_evaluation_reads_of_a_terminal_is_evaluated():
    """EVALUATED (an edit outside it changes no finding) holds what the model, the rules' attributes and the
    entity rules read of a terminal."""
    from inventory.floor_overlays import MODEL_ATTRIBUTES

    assert MODEL_ATTRIBUTES <= service.EVALUATED and set(service.ATTRIBUTES) <= service.EVALUATED
    assert {"enrolled_count", "face_recognition", "status", "removed_at", "venue_id"} <= service.EVALUATED
    assert not {"serial", "installed_on", "updated_at", "created_at"} & service.EVALUATED


def test_an_edit_no_rule_reads_queues_no_check_and_still_evaluates_the_entity(demo_app, monkeypatch):
    """A serial edit on a floor over the inline limit: no re-check queued (on main the worker re-checked the floor),
    the floor's findings as a full evaluation gives them, the entity rules evaluated; with a failed check on the
    venue, the edit takes it over as any change does."""
    from compliance.models import ComplianceCheck

    with demo_app.app_context():
        venue_id, floor_id = _mall()
        demo_app.config["COMPLIANCE_INLINE_LIMIT"] = 0
        entity_runs: list[str] = []
        original = service.evaluate_entity
        monkeypatch.setattr(service, "evaluate_entity", lambda *a, **k: entity_runs.append(a[1]) or original(*a, **k))
        before = {(f.rule_id, f.key, f.status) for f in db.session.scalars(sa.select(Finding).where(
            Finding.venue_id == venue_id))}
        evaluated: list[str] = []
        for name in ("queue_check", "evaluate_terminals", "evaluate_venue"):
            monkeypatch.setattr(service, name, (lambda n, f: lambda *a, **k: evaluated.append(n) or f(*a, **k))(
                name, getattr(service, name)))
        db.session.get(Floor, floor_id).terminals[0].serial = "INERT-1"
        db.session.commit()
        assert evaluated == [] and db.session.scalars(sa.select(ComplianceCheck)).all() == []
        assert entity_runs  # the deadline rules see the day of the edit
        _clear()
        counts = service.evaluate_venue(db.session.get(Venue, venue_id), service.ALL_FLOORS, "full")
        assert counts == {"opened": 0, "updated": 0, "fixed": 0}
        assert {(f.rule_id, f.key, f.status) for f in db.session.scalars(sa.select(Finding).where(
            Finding.venue_id == venue_id))} == before
        db.session.commit()

        now = utcnow()
        db.session.add(ComplianceCheck(venue_id=venue_id, floor_ids=[floor_id], reason="x", state="failed",
                                       queued_at=now, heartbeat_at=now, attempts=3, error="boom"))
        db.session.commit()
        db.session.get(Floor, floor_id).terminals[0].serial = "INERT-2"
        db.session.commit()  # immediate queue in tests: the taken-over check ran and is gone
        assert "queue_check" in evaluated and db.session.scalars(sa.select(ComplianceCheck)).all() == []
