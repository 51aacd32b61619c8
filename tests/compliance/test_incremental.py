"""Terminal-only edits re-evaluate incrementally (findings.service.evaluate_terminals): after each of a random
sequence of terminal edits, on a demo venue with planted violations and on a generated mall floor, the findings the
commit hook stored equal what a full evaluation from scratch stores; and the inline limit counts changed terminals
(plus the floor where the entrance-sign rule has signs to judge, or the engine is cold)."""

from __future__ import annotations

import json
import random

import pytest
import shapely
import sqlalchemy as sa

from accounts.models import User, utcnow
from compliance import rules
from compliance.models import STANDING, Finding
from extensions import db
from findings import service
from inventory import floorio
from inventory.choices import AlternativeVerification, ConsentMechanism, SignageType, TerminalKind
from inventory.models import Floor, Terminal, Venue
from planner.research.floorgen import generate_mall_floor
from tests.conftest import ADMIN

STEPS = 40


def test_every_check_says_what_it_reads():
    assert set(rules.READS) == set(rules.CHECKS) | set(rules.ENTITY_CHECKS)
    assert set(rules.READS.values()) <= {"terminal", "floor", "split", "entity"}
    for rule in rules.load_rules():
        if rule.implemented:
            assert (rules.reads(rule) == "entity") == (rule.scope == "entity"), rule.id


def _state(venue_id: int) -> set[tuple]:
    rows = db.session.scalars(sa.select(Finding).where(Finding.venue_id == venue_id, Finding.status.in_(STANDING)))
    return {(f.rule_id, f.key, f.floor_id, f.terminal_id, f.zone_id, f.status, f.severity,
             (f.detail or {}).get("msgid"), json.dumps((f.detail or {}).get("params"), sort_keys=True))
            for f in rows}


def _points(floor: Floor) -> list[tuple[float, float]]:
    """Places to put a terminal: a point inside every zone (private ones too), and near every terminal."""
    out = [tuple(shapely.geometry.shape(z.geometry).representative_point().coords[0]) for z in floor.zones]
    out += [(t.x, t.y) for t in floor.terminals if t.removed_at is None]
    return out


def _edit(rng: random.Random, floor: Floor, step: int) -> str:
    """Apply one random terminal edit to the floor (not committed); what it did."""
    live = [t for t in floor.terminals if t.removed_at is None]
    op = rng.choice(["move", "turn", "kind", "face", "audio", "sign", "fields", "capture", "rename", "add",
                     "remove", "retire"] if live else ["add"])
    if op == "add":
        x, y = rng.choice(_points(floor))
        db.session.add(Terminal(floor=floor, venue_id=floor.venue_id, code=f"P-{step}", x=x, y=y,
                                kind=rng.choice(list(TerminalKind)), heading_deg=rng.uniform(0, 360),
                                face_recognition=rng.random() < 0.5, signage_posted=rng.random() < 0.5,
                                purpose=rng.choice(["", "public_security", "for your safety"]),
                                retention_days=rng.choice([None, 2, 10, 40])))
        return op
    t = rng.choice(live)
    if op == "move":
        x, y = rng.choice(_points(floor))
        t.x, t.y = x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5)
    elif op == "turn":
        t.heading_deg, t.hfov_deg = rng.uniform(0, 360), rng.choice([45.0, 90.0, 120.0])
    elif op == "kind":
        t.kind = rng.choice(list(TerminalKind))
    elif op == "face":
        t.face_recognition = not t.face_recognition
        t.enrolled_count = rng.choice([None, 10, 200_000])
    elif op == "audio":
        t.audio = not t.audio
    elif op == "sign":
        t.signage_posted = rng.random() < 0.6
        t.signage_type = rng.choice([None, *SignageType])
        x, y = rng.choice(_points(floor))
        t.signage_x, t.signage_y = (x, y) if rng.random() < 0.7 else (None, None)
    elif op == "fields":
        t.purpose = rng.choice(["", "public_security", "for your safety", "loss prevention"])
        t.retention_days = rng.choice([None, 2, 10, 40])
        t.necessity_note = rng.choice(["", "entrance control"])
        t.alternative_verification = rng.choice([None, *AlternativeVerification])
        t.consent_mechanism = rng.choice([None, *ConsentMechanism])
    elif op == "capture":
        t.capture_zone = rng.choice([None, "", "nowhere", *(z.key for z in floor.zones)])
    elif op == "rename":
        t.code = f"R-{step}"
    elif op == "remove":
        db.session.delete(t)
    else:
        t.removed_at = utcnow()
    return f"{op} {t.code}"


def _spy(monkeypatch) -> list[str]:
    """Record which of the evaluation paths the commit hook takes."""
    calls: list[str] = []

    def spy(name):
        original = getattr(service, name)
        return lambda *a, **k: calls.append(name) or original(*a, **k)

    for name in ("evaluate_terminals", "evaluate_venue", "queue_check"):
        monkeypatch.setattr(service, name, spy(name))
    return calls


def _run(app, monkeypatch, venue_id: int, floor_id: int, seed: int, path: tuple[str, ...] = ("evaluate_terminals",),
         steps: int = STEPS) -> None:
    calls = _spy(monkeypatch)
    rng = random.Random(seed)
    incremental = 0
    for step in range(steps):
        floor = db.session.get(Floor, floor_id)
        what = _edit(rng, floor, step)
        calls.clear()
        db.session.commit()
        assert calls in ([], list(path)), f"step {step} ({what}) was not evaluated incrementally: {calls}"
        incremental += bool(calls)
        after_edit = _state(venue_id)
        service._ENGINES.clear()  # from scratch: no view computed for the incremental path is reused
        service._ZONES_CHECKED.clear()  # nor a parsed structure, a zone model or a zone check
        floorio._STRUCTURES.clear()
        floorio._ZONES.clear()
        counts = service.evaluate_venue(db.session.get(Venue, venue_id), service.ALL_FLOORS, "full")
        assert (counts["opened"], counts["fixed"]) == (0, 0), f"step {step} ({what}): {counts}"
        assert _state(venue_id) == after_edit, f"step {step} ({what})"
        db.session.commit()
        db.session.expire_all()
    assert incremental > steps // 2  # most edits change something (an edit may set a value it already had)
    assert any(f[0] in ("CN-01", "CN-02", "CN-03") for f in after_edit)  # the private-zone rules were exercised


@pytest.mark.parametrize("seed", [1, 2])
def test_random_terminal_edits_on_a_demo_venue_match_a_full_evaluation(demo_app, monkeypatch, seed):
    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Blue Wave Natatorium"))
        floor = max((f for f in venue.floors if floorio.has_outline(f)), key=lambda f: len(f.terminals))
        _run(demo_app, monkeypatch, venue.id, floor.id, seed)


def _mall(app, segments: int) -> tuple[int, int]:
    """A generated mall floor (one shop made a toilet, so private-zone rules apply) on a demo venue."""
    venue = db.session.scalar(sa.select(Venue).where(Venue.name == "FreshMart Jing'an"))
    admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
    floor = Floor(venue=venue, name=f"Mall {segments}", level=9)
    db.session.add(floor)
    db.session.flush()
    mall = generate_mall_floor(1, segments)
    shop = next(f for f in mall["features"] if f["properties"].get("name") == "Shop 2")
    shop["properties"].update(zone="private", use="toilet")
    floorio.import_floor(admin, floor, mall)
    db.session.commit()
    return venue.id, floor.id


@pytest.mark.parametrize("seed", [3, 4])
def test_random_terminal_edits_on_a_generated_floor_match_a_full_evaluation(demo_app, monkeypatch, seed):
    with demo_app.app_context():
        venue_id, floor_id = _mall(demo_app, 4)
        _run(demo_app, monkeypatch, venue_id, floor_id, seed)


@pytest.mark.parametrize("seed", [5])
def test_queued_terminal_edits_are_evaluated_incrementally_by_the_job(demo_app, monkeypatch, seed):
    """A terminal edit too costly for its save is queued with its codes; the job (immediate here) evaluates only
    what they can change, and the stored findings still equal a full evaluation from scratch."""
    with demo_app.app_context():
        venue_id, floor_id = _mall(demo_app, 4)
        demo_app.config["COMPLIANCE_INLINE_LIMIT"] = 0  # every edit goes to the queue
        _run(demo_app, monkeypatch, venue_id, floor_id, seed, ("queue_check", "evaluate_terminals"), steps=20)


def test_queued_checks_gather_terminal_codes_until_a_change_needs_the_whole_floor(demo_app):
    from compliance.models import ComplianceCheck

    with demo_app.app_context():
        venue_id, floor_id = _mall(demo_app, 4)
        venue = db.session.get(Venue, venue_id)
        assert service.queue_check(venue, {floor_id}, "one", {floor_id: {"A", "B"}}) is not None
        assert service.queue_check(venue, {floor_id}, "two", {floor_id: {"C"}}) is None  # joined the queued one
        [check] = db.session.scalars(sa.select(ComplianceCheck).where(ComplianceCheck.venue_id == venue_id)).all()
        db.session.refresh(check)
        assert check.terminals == {str(floor_id): ["A", "B", "C"]} and check.reason == "two"
        assert service.queue_check(venue, {floor_id}, "zone", None) is None  # a zone edit: the whole floor
        db.session.refresh(check)
        assert check.terminals is None and check.floor_ids == [floor_id]
        db.session.rollback()


def test_a_terminal_edit_counts_changed_terminals_and_a_zone_edit_the_floor(demo_app, monkeypatch):
    calls = _spy(monkeypatch)
    with demo_app.app_context():
        venue_id, floor_id = _mall(demo_app, 4)
        floor = db.session.get(Floor, floor_id)
        demo_app.config["COMPLIANCE_INLINE_LIMIT"] = 1  # below the floor's cost, not below one terminal's
        assert service.venue_cost(floor.venue, {floor_id}) > 1
        calls.clear()
        terminal = floor.terminals[0]
        terminal.heading_deg = (terminal.heading_deg + 30) % 360
        db.session.commit()
        assert calls == ["evaluate_terminals"]  # in the save
        calls.clear()
        db.session.get(Floor, floor_id).zones[0].name = "Renamed"
        db.session.commit()
        assert calls[0] == "queue_check"  # a zone edit still follows the floor's cost
        assert "evaluate_terminals" not in calls
        calls.clear()
        service._ENGINES.clear()  # a process that has not evaluated the floor: its first evaluation is whole
        floor = db.session.get(Floor, floor_id)
        floor.terminals[0].heading_deg = (floor.terminals[0].heading_deg + 30) % 360
        db.session.commit()
        assert calls[0] == "queue_check"
        assert service._digest(db.session.get(Floor, floor_id)) in service._ENGINES  # the job evaluated it here
        calls.clear()
        floor = db.session.get(Floor, floor_id)
        t = floor.terminals[0]
        t.signage_posted, t.signage_x, t.signage_y = True, t.x, t.y
        db.session.commit()
        assert calls[0] == "queue_check"  # with a sign on the floor, the entrance-sign rule judges the whole floor
