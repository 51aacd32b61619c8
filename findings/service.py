"""The findings service: evaluate a venue's floors and its legal entity, store the findings, accept them.

Findings are re-evaluated in the transaction that changes the inventory: ``install`` watches every flush for
changed venues, floors, zones and terminals and, just before the commit, evaluates the floors that changed
(and the venue's legal entity), so every door (forms, API, CSV, floor editor, importers, plan approval, work
done) keeps the findings current without calling anything. A finding that no longer holds becomes *fixed*,
with the change that fixed it: the plan approval when one was named (``compliance.service.note_reason``),
else the venue's latest audit event.

A transaction that changed only terminals (no zone, floor or venue) re-evaluates only what those terminals can
change (``evaluate_terminals``: their own findings and those of the rules that read the whole floor, as
``compliance.rules.READS`` classifies them; the legal entity as always), at the cost of the changed terminals
(``incremental_cost``) where the floor's engine is warm and it records no sign positions.
A change whose evaluation would cost more than COMPLIANCE_INLINE_LIMIT (``venue_cost``, measured by
bench/bench_compliance.py) is committed at once and its floors are re-checked by a queue job instead
(``findings.jobs``), with the same reason and the same ``_reconcile``; until it ends they read "re-checking".
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import shapely
import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, defer, selectinload

from accounts.access import can_edit_inventory
from accounts.models import User, iso_utc, utcnow
from audit.models import AuditEvent
from compliance import filing, rules
from compliance.citation import rule_sources, rule_statement
from compliance.models import CHECK_PENDING, STANDING, ComplianceCheck, Finding
from compliance.service import PAUSED_KEY, REASON_KEY
from extensions import db
from findings import wording
from i18n import area as area_text
from i18n import current_language
from inventory import floorio
from inventory.choices import FilingStatus, TerminalStatus, ZoneKind
from inventory.errors import Forbidden
from inventory.fields import ValidationError
from inventory.lru import LRUCache
from inventory.models import Floor, Terminal, Venue, Zone
from jobs.queue import enqueue
from planner import floor as pf
from planner.coverage import Engine
from planner.errors import InputError

log = logging.getLogger(__name__)

INLINE_LIMIT = 60  # COMPLIANCE_INLINE_LIMIT's default: about half a second of evaluation (docs/compliance.md)
DIRTY_KEY = "compliance_dirty"  # session.info: {venue_id: set of floor ids, or None for every floor}
FLOORS_KEY = "compliance_dirty_floors"  # session.info: floor ids whose venue is looked up at commit
QUEUE_KEY = "compliance_queued"  # session.info: ids of the checks this transaction queued, sent after commit
TERMINALS_KEY = "compliance_terminals"  # session.info: {floor id: codes (old and new) of the terminals changed}
STRUCTURE_KEY = "compliance_structure"  # session.info: floor ids whose zones or floor fields changed
INERT_KEY = "compliance_inert"  # session.info: {venue_id: [(floor ids, codes)]} of terminal edits no rule reads
ALL_FLOORS = None
MAX_JUSTIFICATION = 2000
IN_SERVICE = (TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL)
# Inventory columns the rules read, by the name the evaluator uses (compliance.rules attributes).
ATTRIBUTES = ("purpose", "storage_location", "retention_days", "signage_posted", "signage_type", "signage_x",
              "signage_y", "necessity_note", "alternative_verification", "consent_mechanism", "enrolled_count",
              "capture_zone")
# Everything an evaluation reads of a terminal: the engine model (floorio.terminal_model, the in-service filter and
# where it is: inventory.floor_overlays.MODEL_ATTRIBUTES), the rules' attributes, and what the entity rules sum
# (entity_state). An edit of a terminal that changes none of these (its serial, installation date) changes no finding.
EVALUATED = frozenset({"code", "kind", "x", "y", "heading_deg", "hfov_deg", "range_m", "hpx", "camera_model_id",
                       "camera_model", "height_m", "tilt_deg", "face_recognition", "audio", "locked", "status",
                       "removed_at", "floor_id", "venue_id", "id", *ATTRIBUTES})


# ---------------------------------------------------------------------------------------------- reading
def venue_findings(venue: Venue, *, status: str | None = None, severity: str | None = None,
                   rule_id: str | None = None) -> list[Finding]:
    """A venue's findings, filtered; standing ones first, then by severity, rule and subject."""
    query = sa.select(Finding).where(Finding.venue_id == venue.id)
    if status:
        query = query.where(Finding.status == status)
    if severity:
        query = query.where(Finding.severity == severity)
    if rule_id:
        query = query.where(Finding.rule_id == rule_id)
    order = sa.case({"open": 0, "accepted": 1, "fixed": 2}, value=Finding.status, else_=3)
    rank = sa.case({"prohibited": 0, "must": 1, "should": 2}, value=Finding.severity, else_=3)
    return list(db.session.scalars(query.order_by(order, rank, Finding.rule_id, Finding.subject, Finding.id)))


def get_finding(venue: Venue, finding_id: int) -> Finding | None:
    """One finding of the venue, or None."""
    return db.session.scalar(sa.select(Finding).where(Finding.id == finding_id, Finding.venue_id == venue.id))


def floor_findings(floor: Floor, limit: int | None = None) -> list[Finding]:
    """The standing findings of one floor (for the map), or the first `limit` of them."""
    query = sa.select(Finding).where(Finding.floor_id == floor.id, Finding.status.in_(STANDING)).order_by(Finding.id)
    return list(db.session.scalars(query.limit(limit)))


def floor_finding_rows(floor: Floor, limit: int) -> list[sa.Row[Any]]:
    """The first `limit` standing findings of a floor as plain rows: what the floor page's list shows of each, the
    detail as its stored JSON text and the key of its zone (what the finding's map link selects)."""
    query = (sa.select(Finding.id, Finding.floor_id, Finding.rule_id, Finding.severity, Finding.status, Finding.subject,
                       Finding.message, Finding.terminal_id, Finding.zone_id,
                       sa.cast(Finding.detail, sa.Text).label("detail_json"), Zone.key.label("zone_key"))
             .outerjoin(Zone, Zone.id == Finding.zone_id)
             .where(Finding.floor_id == floor.id, Finding.status.in_(STANDING)).order_by(Finding.id).limit(limit))
    return list(db.session.execute(query))


def floor_finding_count(floor: Floor) -> int:
    """How many standing findings the floor has."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Finding).where(
        Finding.floor_id == floor.id, Finding.status.in_(STANDING))) or 0


def floor_findings_geojson(floor: Floor) -> dict[str, Any]:
    """A floor's standing findings as GeoJSON features: intruding area, else terminal point, else zone polygon."""
    terminals = {t.id: t for t in floor.terminals}
    zones = {z.id: z for z in floor.zones}
    features = []
    for f in floor_findings(floor):
        detail = f.detail or {}
        geometry = detail.get("geometry")
        terminal = terminals.get(f.terminal_id) if f.terminal_id else None
        zone = zones.get(f.zone_id) if f.zone_id else None
        if geometry is None and terminal is not None:
            geometry = {"type": "Point", "coordinates": [terminal.x, terminal.y]}
        elif geometry is None and zone is not None:
            geometry = zone.geometry
        if geometry is None:
            continue
        area = detail.get("intrusion_m2")
        label = f"{f.rule_id} {f.subject}" + (f" · {area_text(area, 2)}" if area else "")
        features.append({"type": "Feature", "geometry": geometry, "properties": {
            "id": f.id, "rule_id": f.rule_id, "severity": f.severity, "status": f.status, "subject": f.subject,
            "terminal": terminal.code if terminal else None, "zone": zone.name if zone else detail.get("zone"),
            "intrusion_m2": area, "message": wording.message(f), "label": label,
            "layer": "intrusion" if detail.get("geometry") else ("terminal" if terminal else "zone")}})
    return {"type": "FeatureCollection", "features": features}


def rule_of(rule_id: str) -> rules.Rule | None:
    """The rule of a stored finding (None if the rules file no longer has it)."""
    return next((r for r in rules.load_rules() if r.id == rule_id), None)


def finding_to_dict(f: Finding) -> dict[str, Any]:
    """A finding as JSON for the API: texts in the request's language, the English and the msgid beside them."""
    rule = rule_of(f.rule_id)
    language = current_language()
    msgid, params = wording.stored(f) or (None, None)
    return {"id": f.id, "venue_id": f.venue_id, "floor_id": f.floor_id, "rule_id": f.rule_id,
            "statement": rule_statement(rule, language) if rule else None,
            "source": rule_sources(rule, language) if rule else None,
            "severity": f.severity, "status": f.status, "terminal_id": f.terminal_id, "zone_id": f.zone_id,
            "subject": f.subject, "message": wording.message(f), "message_en": f.message, "msgid": msgid,
            "params": params, "detail": f.detail or {},
            "opened_at": iso_utc(f.opened_at), "fixed_at": iso_utc(f.fixed_at), "fixed_reason": f.fixed_reason,
            "accepted_by_id": f.accepted_by_id, "accepted_at": iso_utc(f.accepted_at), "justification": f.justification}


# ---------------------------------------------------------------------------------------------- evaluation
def entity_of(venue: Venue) -> str:
    """The legal entity that files for the venue: its own, else its organisation's, else the organisation name."""
    org = venue.organisation
    return (venue.legal_entity or (org.legal_entity if org else None) or (org.name if org else "")).strip()


def terminal_attributes(t: Terminal) -> dict[str, Any]:
    """The inventory attributes the rules read, as plain values."""
    out: dict[str, Any] = {}
    for name in ATTRIBUTES:
        value = getattr(t, name)
        out[name] = value.value if hasattr(value, "value") else value
    return out


# terminal_attributes of a row's ATTRIBUTES values, by those values (the key names its content: never stale), read-only
# as the rules read them: the mall floor's 500 terminals took 6000 attribute reads per re-check.
_ATTRIBUTES: LRUCache[tuple[Any, ...], Mapping[str, Any]] = LRUCache(8192)


def _row_attributes(row: Any) -> Mapping[str, Any]:
    """terminal_attributes of a floorio.floor_rows row read with the ATTRIBUTES columns (its last values)."""
    key = tuple(row[-len(ATTRIBUTES):])
    if floorio.negative_zero(key):
        return terminal_attributes(row)
    values = _ATTRIBUTES.get(key)
    if values is None:
        values = MappingProxyType(terminal_attributes(row))
        _ATTRIBUTES.set(key, values)
    return values


@dataclass
class _Draft:
    """A finding as the evaluation produced it, before it is matched to a stored one."""

    rule_id: str
    key: str
    severity: str
    subject: str
    message: str
    floor_id: int | None = None
    terminal_id: int | None = None
    zone_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def floor_cost(terminals: int, private_zones: int) -> int:
    """The estimated cost of a first evaluation of a floor, in COMPLIANCE_INLINE_LIMIT's units.

    Computing each terminal's view dominates: bench/bench_compliance.py measured 3-9 ms per terminal on the demo
    floors and generated malls alike, however many private zones (docs/compliance.md).
    """
    return terminals + private_zones


def venue_cost(venue: Venue, floor_ids: set[int] | None, known: dict[int, int] | None = None) -> int:
    """The estimated cost of evaluating the venue's floors (all, or the given ones) from a cold engine; ``known``
    holds floors' costs already counted in this state of the transaction (and takes those counted here)."""
    return sum(_first_costs([f.id for f in venue.floors
                             if f.removed_at is None and (floor_ids is None or f.id in floor_ids)], known).values())


def _first_costs(floor_ids: list[int], known: dict[int, int] | None = None) -> dict[int, int]:
    """floor_cost of each floor, counted in SQL: a save on a 500-terminal floor need not load its rows to learn
    that it is too costly for the save (11 ms of the load test's save). Floors in ``known`` are not counted again
    (a save asks for the incremental cost and then the full one: two queries less)."""
    known = {} if known is None else known
    missing = [f for f in floor_ids if f not in known]
    if missing:
        terminals = dict(db.session.execute(sa.select(Terminal.floor_id, sa.func.count()).where(
            Terminal.floor_id.in_(missing), Terminal.removed_at.is_(None)).group_by(Terminal.floor_id)).tuples().all())
        private = dict(db.session.execute(sa.select(Zone.floor_id, sa.func.count()).where(
            Zone.floor_id.in_(missing), Zone.kind == ZoneKind("private")).group_by(Zone.floor_id)).tuples().all())
        known.update({f: floor_cost(terminals.get(f, 0), private.get(f, 0)) for f in missing})
    return {f: known[f] for f in floor_ids}


def _floor_scoped() -> set[str]:
    return {r.id for r in rules.load_rules() if r.scope == "floor"}


def evaluate_floor(venue: Venue, floor: Floor, codes: set[str] | None = None) -> list[_Draft] | None:
    """The floor's findings under the venue's profile; None when the floor cannot be evaluated (no outline yet).

    With ``codes``, only the findings an edit of those terminals can change: theirs under the rules that read one
    terminal, and every finding of the rules that read the whole floor (compliance.rules.READS).
    """
    try:
        # Plain rows, the parsed structure and zones reused while unchanged (floorio.floor_rows): on the mall
        # floor, loading 500 terminals and 315 zones as ORM objects and parsing 170 kB of structure was most of
        # a re-check.
        read = floorio.floor_rows(floor, ATTRIBUTES)
        if read.model is None:
            return []
        rows = read.terminals  # a terminal deleted but kept as a record (removed_at) is off the wall: none of them
        # The zones' problems are only listed, never used here, and depend on the geometry alone: checked once per
        # geometry (315 zones against the outline were a fifth of a re-check), still where a check fails.
        if _ZONES_CHECKED.get(read.geometry_key) is None:
            pf.zone_problems(read.model)
            _ZONES_CHECKED.set(read.geometry_key, True)
        model, _problems = pf.without_bad_terminals(read.model, zones=False)
        attributes = {code: _row_attributes(t) for code, t in rows.items()}
        engine = _engine(floor, model, read.geometry_key)
        profile = venue.compliance_profile.value
        if codes is None:
            evaluation = rules.evaluate(model, attributes, profile=profile, engine=engine)
        else:
            evaluation = rules.evaluate_changed(model, codes, attributes, profile=profile, engine=engine)
    except (InputError, ValidationError, shapely.errors.GEOSException) as exc:
        log.warning("compliance: floor %s not evaluated: %s", floor.id, exc)
        return None
    zones_by_key = {z.key: z for z in read.zones}
    zones_by_name = {z.name: z for z in read.zones}
    drafts = []
    for f in evaluation.findings:
        zone = zones_by_key.get(f.zone_key or "") or zones_by_name.get(f.zone or "")
        terminal = rows.get(f.terminal or "")
        detail: dict[str, Any] = {"source": f.source, "floor": floor.name, **f.detail, "msgid": f.msgid,
                                  "params": f.params}
        if f.zone:
            detail["zone"] = f.zone
        if f.area_m2 is not None:
            detail["intrusion_m2"] = f.area_m2
        if f.geometry is not None:
            detail["geometry"] = f.geometry
        subject = f.terminal or f.zone or floor.name
        key = f"floor:{floor.id}:{f.terminal or '-'}:{zone.key if zone else (f.zone or '-')}"
        drafts.append(_Draft(rule_id=f.rule, key=key, severity=f.severity, subject=subject[:200],
                             message=wording.english(f.msgid, f.params)[:1000], floor_id=floor.id,
                             terminal_id=terminal.id if terminal else None, zone_id=zone.id if zone else None,
                             detail=detail))
    return drafts


_ENGINES: OrderedDict[str, Engine] = OrderedDict()  # geometry digest -> engine, so views survive between commits
ENGINE_CACHE_SIZE = 16
_ZONES_CHECKED: LRUCache[str, bool] = LRUCache(64)  # geometry keys whose zones planner.floor.zone_problems checked


def _engine(floor: Floor, model: pf.Floor, digest: str | None = None) -> Engine:
    """An engine for the floor's geometry (outline, walls, openings, zones: named by ``digest``, by default
    ``_digest(floor)``), reused while that geometry is unchanged.

    Views depend only on that geometry and each pose, so a commit that moves one camera recomputes one view.
    """
    digest = digest if digest is not None else _digest(floor)
    engine = _ENGINES.get(digest)
    if engine is None:
        engine = _ENGINES[digest] = Engine(model)
        while len(_ENGINES) > ENGINE_CACHE_SIZE:
            _ENGINES.popitem(last=False)
    else:
        _ENGINES.move_to_end(digest)
    return engine


def _digest(floor: Floor) -> str:
    """What names the floor's engine: its id and the SHA-256 of its stored structure and zones
    (floorio.FloorRows.geometry_key)."""
    return floorio.geometry_key(floor)


def _default_reason(venue_id: int) -> str:
    last = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)).where(AuditEvent.venue_id == venue_id))
    return f"audit event {last}" if last else "re-evaluation"


def _reconcile(venue_id: int, drafts: Iterable[_Draft], candidates: list[Finding], reason: str) -> dict[str, int]:
    """Upsert drafts over the standing candidates by (rule, key); candidates not produced again become fixed."""
    standing = {(f.rule_id, f.key): f for f in candidates}
    now = utcnow()
    counts = {"opened": 0, "updated": 0, "fixed": 0}
    seen = set()
    for d in drafts:
        ident = (d.rule_id, d.key)
        if ident in seen:
            continue
        seen.add(ident)
        row = standing.pop(ident, None)
        if row is None:
            db.session.add(Finding(venue_id=venue_id, rule_id=d.rule_id, key=d.key, severity=d.severity,
                                   status="open", subject=d.subject, message=d.message, floor_id=d.floor_id,
                                   terminal_id=d.terminal_id, zone_id=d.zone_id, detail=d.detail, opened_at=now))
            counts["opened"] += 1
            continue
        # The detail as the JSON column gives it back (a shapely mapping's tuples are lists there): compared in
        # that form, an unchanged finding is not rewritten (each re-check rewrote every intrusion's geometry,
        # giving the floor a new findings map for nothing).
        detail = json.loads(json.dumps(d.detail)) if d.detail is not None else None
        values = {"severity": d.severity, "subject": d.subject, "message": d.message, "floor_id": d.floor_id,
                  "terminal_id": d.terminal_id, "zone_id": d.zone_id, "detail": detail}
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        counts["updated"] += int(changed)
    for row in standing.values():
        row.status, row.fixed_at, row.fixed_reason = "fixed", now, reason[:200]
        counts["fixed"] += 1
    return counts


def evaluate_venue(venue: Venue, floor_ids: set[int] | None = ALL_FLOORS, reason: str | None = None) -> dict[str, int]:
    """Re-evaluate the venue's floors (all, or the given ones) and its legal entity; returns what changed."""
    reason = reason or _default_reason(venue.id)
    scoped = _floor_scoped()
    floors = [f for f in _floors(venue) if (floor_ids is None or f.id in floor_ids) and f.removed_at is None]
    drafts: list[_Draft] = []
    evaluated: set[int] = set()
    for floor in floors:
        found = evaluate_floor(venue, floor)
        if found is not None:
            drafts.extend(found)
            evaluated.add(floor.id)
    query = sa.select(Finding).where(Finding.venue_id == venue.id, Finding.status.in_(STANDING),
                                     Finding.rule_id.in_(scoped))
    live_floors = {f.id for f in venue.floors if f.removed_at is None}
    candidates = [f for f in db.session.scalars(query)
                  if f.floor_id in evaluated or f.floor_id is None or f.floor_id not in live_floors]
    counts = _reconcile(venue.id, drafts, candidates, reason)
    return _with_entities(venue, counts, scoped, reason)


def evaluate_terminals(venue: Venue, changed: dict[int, set[str]], reason: str | None = None) -> dict[str, int]:
    """Re-evaluate after an edit of terminals alone (floor id -> terminal codes, old and new): their findings,
    the findings of the rules that read the whole floor, and the venue's legal entity; the rest stand."""
    reason = reason or _default_reason(venue.id)
    scoped = _floor_scoped()
    reads = {r.id: rules.reads(r) for r in rules.load_rules()}
    counts = {"opened": 0, "updated": 0, "fixed": 0}
    for floor in _floors(venue):
        codes = changed.get(floor.id)
        if codes is None or floor.removed_at is not None:
            continue
        drafts = evaluate_floor(venue, floor, codes)
        if drafts is None:
            continue
        candidates = list(db.session.scalars(sa.select(Finding).where(
            Finding.venue_id == venue.id, Finding.floor_id == floor.id, Finding.status.in_(STANDING),
            Finding.rule_id.in_(scoped), _changeable(floor.id, codes, scoped, reads)).order_by(Finding.id)))
        for k, v in _reconcile(venue.id, drafts, candidates, reason).items():
            counts[k] += v
    return _with_entities(venue, counts, scoped, reason)


def _changeable(floor_id: int, codes: set[str], scoped: set[str], reads: dict[str, str]) -> sa.ColumnElement[bool]:
    """Which of the floor's standing findings an edit of only these terminals can change (evaluate_changed's
    scope), in SQL: the floor's 800 findings need not be loaded to keep the few an edit can touch."""
    whole = sorted(r for r in scoped if reads.get(r, "floor") == "floor")
    split = sorted(r for r in scoped if reads.get(r, "floor") == "split")
    return sa.or_(Finding.subject.in_(sorted(codes)), Finding.rule_id.in_(whole),
                  sa.and_(Finding.rule_id.in_(split), Finding.terminal_id.is_(None),
                          Finding.key.startswith(f"floor:{floor_id}:-:", autoescape=True)))


def _floors(venue: Venue) -> list[Floor]:
    """The venue's floors, loaded without their structure where not loaded yet (an evaluation reads the structure
    as text, floorio.floor_rows: the mall floor's 170 kB need not be parsed into an ORM attribute too)."""
    if "floors" in sa.inspect(venue).unloaded:
        db.session.scalars(sa.select(Venue).where(Venue.id == venue.id).options(
            selectinload(Venue.floors).options(defer(Floor.structure)))).one()
    return list(venue.floors)


def incremental_cost(venue: Venue, changed: dict[int, set[str]], known: dict[int, int] | None = None) -> int:
    """The estimated cost of ``evaluate_terminals``: the changed terminals, plus a first evaluation of each floor
    whose engine this process has not built (the whole-floor rules need every view) or that records a sign
    position (the entrance-sign rule then judges every entrance against every sign: bench/bench_compliance.py
    measured it at about the whole floor's warm cost, docs/compliance.md). ``known`` as for ``venue_cost``."""
    total = 0
    for floor in venue.floors:
        if floor.id in changed and floor.removed_at is None:
            total += len(changed[floor.id])
            if not _warm(floor) or _has_signs(floor):
                total += _first_costs([floor.id], known)[floor.id]
    return total


def _warm(floor: Floor) -> bool:
    """Whether this process holds an engine for the floor's current geometry (the digest only when it holds one
    for the floor at all: a web worker that never evaluated a big floor skips hashing its 800 walls)."""
    prefix = f"{floor.id}:"
    return any(key.startswith(prefix) for key in _ENGINES) and _digest(floor) in _ENGINES


def _has_signs(floor: Floor) -> bool:
    # The signs compliance.rules reads (_Context.sign_points): a position, on a terminal whose sign is not absent.
    return bool(db.session.scalar(sa.select(sa.exists().where(
        Terminal.floor_id == floor.id, Terminal.removed_at.is_(None), Terminal.signage_x.is_not(None),
        Terminal.signage_y.is_not(None), sa.or_(Terminal.signage_posted.is_(None),
                                                 Terminal.signage_posted.is_(True))))))


def _with_entities(venue: Venue, counts: dict[str, int], scoped: set[str], reason: str) -> dict[str, int]:
    # The venue's entity, and any entity it still holds findings of: a venue that changed entity leaves that sum.
    entities = {entity_of(venue)}
    entities.update(str(f.detail.get("entity")) for f in db.session.scalars(sa.select(Finding).where(
        Finding.venue_id == venue.id, Finding.status.in_(STANDING), Finding.rule_id.not_in(scoped)))
        if (f.detail or {}).get("entity"))
    for entity in sorted(entities):
        for k, v in evaluate_entity(venue.organisation_id, entity, reason).items():
            counts[k] += v
    db.session.flush()
    return counts


def _entity_venues(organisation_id: int, entity: str) -> list[Venue]:
    venues = db.session.scalars(sa.select(Venue).where(Venue.organisation_id == organisation_id))
    return [v for v in venues if entity_of(v) == entity]


def entity_state(organisation_id: int, entity: str) -> filing.EntityState:
    """Enrolled persons, filing and face-recognition counts of a legal entity over its venues."""
    venues = _entity_venues(organisation_id, entity)
    ids = [v.id for v in venues]
    enrolled = fr_active = fr_retired = 0
    if ids:
        enrolled = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Terminal.enrolled_count), 0))
            .where(Terminal.venue_id.in_(ids), Terminal.face_recognition.is_(True),
                   Terminal.status.in_(IN_SERVICE), Terminal.removed_at.is_(None))) or 0
        for status, present, n in db.session.execute(
                sa.select(Terminal.status, Terminal.removed_at.is_(None), sa.func.count())
                .where(Terminal.venue_id.in_(ids), Terminal.face_recognition.is_(True))
                .group_by(Terminal.status, Terminal.removed_at.is_(None))):
            if status == TerminalStatus.ACTIVE and present:
                fr_active += n
            else:  # marked for removal, removed, or deleted and kept as a record
                fr_retired += n
    filed = any(v.filing_status == FilingStatus.FILED for v in venues)
    return filing.EntityState(name=entity, enrolled=int(enrolled), filed=filed, fr_active=fr_active,
                              fr_retired=fr_retired)


def evaluate_entity(organisation_id: int, entity: str, reason: str, today: date | None = None) -> dict[str, int]:
    """Re-evaluate the entity-scope rules (CN-19, CN-20) and store their findings on every venue of the entity."""
    today = today or utcnow().date()
    venues = _entity_venues(organisation_id, entity)
    counts = {"opened": 0, "updated": 0, "fixed": 0}
    if not venues:
        return counts
    state = entity_state(organisation_id, entity)
    entity_rules = [r for r in rules.load_rules() if r.scope == "entity"]
    standing: dict[int, list[Finding]] = {v.id: [] for v in venues}
    for f in db.session.scalars(sa.select(Finding).where(
            Finding.venue_id.in_(list(standing)), Finding.status.in_(STANDING),
            Finding.rule_id.in_([r.id for r in entity_rules]))):
        standing[f.venue_id].append(f)
    # A deadline runs from the first time any venue of the entity saw the condition.
    since: dict[tuple[str, str], date] = {}
    for f in (f for rows in standing.values() for f in rows):
        ident = (f.rule_id, f.key)
        since[ident] = min(since.get(ident, f.opened_at.date()), f.opened_at.date())
    drafts: dict[str, _Draft] = {}
    for rule in entity_rules:
        if not rule.implemented or rule.check not in filing.ENTITY_RULES:
            continue
        found = filing.ENTITY_RULES[rule.check](rule, state, today,
                                                since.get((rule.id, filing.standing_key(rule.check, entity))))
        if found is not None:
            drafts[rule.id] = _Draft(rule_id=found.rule, key=found.key[:300], severity=found.severity,
                                     subject=entity[:200] or "—",
                                     message=wording.english(found.msgid, found.params)[:1000],
                                     detail={"source": rule.source, **found.detail, "msgid": found.msgid,
                                             "params": found.params})
    by_id = {r.id: r for r in entity_rules}
    for venue in venues:
        mine = [d for rid, d in drafts.items() if venue.compliance_profile.value in by_id[rid].profiles]
        for k, v in _reconcile(venue.id, mine, standing[venue.id], reason).items():
            counts[k] += v
    return counts


# ---------------------------------------------------------------------------------------------- accepting
def can_accept(user: User, venue: Venue) -> bool:
    """Managers of the venue's organisation and administrators accept findings; inspectors and planners read."""
    return can_edit_inventory(user, venue.organisation_id)


def accept(user: User, venue: Venue, finding: Finding, justification: Any) -> Finding:
    """Accept an open finding with a justification, recording who accepted it (and an audit event)."""
    if not can_accept(user, venue):
        raise Forbidden(_("only the venue's facility managers and administrators may accept findings"))
    text = justification.strip() if isinstance(justification, str) else ""
    if not text:
        raise ValidationError("justification", _("is required: say why the finding is accepted"))
    if "\x00" in text:
        raise ValidationError("justification", _("must not contain a NUL character"))
    if len(text) > MAX_JUSTIFICATION:
        raise ValidationError("justification", _("must be at most %(count)s characters", count=MAX_JUSTIFICATION))
    if finding.status != "open":
        raise ValidationError("status", _("only an open finding can be accepted; this one is %(status)s", status=_(str(finding.status))))
    finding.status, finding.accepted_by_id, finding.accepted_at, finding.justification = \
        "accepted", user.id, utcnow(), text
    db.session.add(AuditEvent(user_id=user.id, organisation_id=venue.organisation_id, venue_id=venue.id,
                              object_type="finding", object_id=finding.id, action="accept",
                              after={"rule_id": finding.rule_id, "subject": finding.subject, "justification": text}))
    db.session.flush()
    return finding


# ---------------------------------------------------------------------------------------------- queued re-checks
def _union(a: list[int] | set[int] | None, b: list[int] | set[int] | None) -> list[int] | None:
    return None if a is None or b is None else sorted(set(a) | set(b))


def needs_queue(venue_id: int, floor_ids: set[int] | None) -> bool:
    """Whether a change of these floors must go to the queue whatever its cost: a queued or running check of the
    venue re-evaluates one of them (it must see this change too), or a check failed (this change queues it again)."""
    for check in db.session.scalars(sa.select(ComplianceCheck).where(ComplianceCheck.venue_id == venue_id)):
        if check.state not in CHECK_PENDING:
            return True
        if floor_ids is None or check.floor_ids is None or set(check.floor_ids) & floor_ids:
            return True
    return False


def _union_terminals(a: dict[str, list[str]] | None, b: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if a is None or b is None:
        return None
    return {f: sorted(set(a.get(f, [])) | set(b.get(f, []))) for f in sorted(set(a) | set(b))}


def queue_check(venue: Venue, floor_ids: set[int] | None, reason: str,
                terminals: dict[int, set[str]] | None = None) -> int | None:
    """Add these floors to the venue's queued check, or create it (taking over failed ones); returns the id of a
    new check, to send to the queue after the commit, or None when a check already on the queue took them.

    ``terminals`` (floor id -> codes, old and new) says only those terminals changed: the check then evaluates
    them incrementally (``evaluate_terminals``) unless a change it gathers changed more. The latest change's
    reason is kept: the evaluation sees the inventory as that change left it.
    """
    rows = list(db.session.scalars(sa.select(ComplianceCheck).where(
        ComplianceCheck.venue_id == venue.id, ComplianceCheck.state.in_(("queued", "failed")))
        .order_by(ComplianceCheck.id)))
    floors: list[int] | None = sorted(floor_ids) if floor_ids is not None else None
    codes = None if terminals is None or floors is None else {str(f): sorted(terminals[f]) for f in floors}
    for failed in (c for c in rows if c.state == "failed"):
        floors = _union(floors, failed.floor_ids)
        codes = _union_terminals(codes, failed.terminals)
        db.session.delete(failed)
    for queued in (c for c in rows if c.state == "queued"):
        # Conditional: a worker that claimed it meanwhile reads the inventory from before this change.
        if db.session.execute(sa.update(ComplianceCheck).where(
                ComplianceCheck.id == queued.id, ComplianceCheck.state == "queued").values(
                floor_ids=_union(queued.floor_ids, floors), terminals=_union_terminals(queued.terminals, codes),
                reason=reason[:200])).rowcount == 1:
            return None
    now = utcnow()
    check = ComplianceCheck(venue_id=venue.id, floor_ids=floors, terminals=codes, reason=reason[:200],
                            state="queued", queued_at=now, heartbeat_at=now, attempts=0)
    db.session.add(check)
    db.session.flush()
    return check.id


def enqueue_checks(check_ids: list[int]) -> None:
    """Send committed checks to the queue; one that cannot be sent now is sent again by the reaper."""
    for check_id in check_ids:
        try:
            enqueue("compliance_check", check_id)
        except Exception:  # the save is committed; a queue outage must not turn it into an error
            current_app.logger.exception("compliance check %s not queued; the reaper sends it again", check_id)


def venue_checks(venue_id: int) -> list[ComplianceCheck]:
    """The venue's checks not yet done (queued, running or failed), oldest first."""
    return list(db.session.scalars(sa.select(ComplianceCheck).where(ComplianceCheck.venue_id == venue_id)
                                   .order_by(ComplianceCheck.id)))


def recheck_state(venue_id: int, floor_id: int | None = None) -> dict[str, Any]:
    """What the venue's (or one floor's) findings are waiting for: since when they are being re-checked, and
    the error of a re-check that failed ({"since": None, "failed": None} when the findings are current)."""
    since: datetime | None = None
    failed: ComplianceCheck | None = None
    for check in venue_checks(venue_id):
        if floor_id is not None and not check.covers(floor_id):
            continue
        if check.state in CHECK_PENDING:
            since = check.queued_at if since is None else min(since, check.queued_at)
        else:
            failed = check
    return {"since": since, "failed": failed}


# ---------------------------------------------------------------------------------------------- the commit hook
def _mark(session: Session, venue_id: int | None, floor_id: int | None) -> None:
    dirty: dict[int, set[int] | None] = session.info.setdefault(DIRTY_KEY, {})
    if venue_id is None:
        if floor_id is not None:
            session.info.setdefault(FLOORS_KEY, set()).add(floor_id)
        return
    if floor_id is None:
        dirty[venue_id] = ALL_FLOORS
    elif venue_id not in dirty:
        dirty[venue_id] = {floor_id}
    elif dirty[venue_id] is not ALL_FLOORS:
        dirty[venue_id].add(floor_id)  # type: ignore[union-attr]


def _collect(session: Session, deleted: bool, obj: Any) -> None:
    if isinstance(obj, Terminal):
        _collect_terminal(session, obj)
    elif isinstance(obj, Zone):
        _mark(session, obj.floor.venue_id if obj.floor is not None else None, obj.floor_id)
        session.info.setdefault(STRUCTURE_KEY, set()).add(obj.floor_id)
    elif isinstance(obj, Floor):
        _mark(session, obj.venue_id, None if deleted else obj.id)
        session.info.setdefault(STRUCTURE_KEY, set()).add(obj.id)
    elif isinstance(obj, Venue) and not deleted:
        _mark(session, obj.id, None)


def _collect_terminal(session: Session, obj: Terminal) -> None:
    """Mark the terminal's floors, before and after the change, and note its codes for evaluate_terminals; an edit
    that changes nothing an evaluation reads is only noted (INERT_KEY: _before_commit decides)."""
    state = sa.inspect(obj)
    floors = {obj.floor_id, *state.attrs.floor_id.history.deleted} - {None}
    venues = {obj.venue_id, *state.attrs.venue_id.history.deleted}
    codes = {c for c in (obj.code, *state.attrs.code.history.deleted) if c}
    if obj not in session.new and obj not in session.deleted and obj.venue_id is not None and not any(
            state.attrs[name].history.has_changes() for name in EVALUATED):
        session.info.setdefault(INERT_KEY, {}).setdefault(obj.venue_id, []).append((floors, codes))
        return
    _mark_terminal(session, venues, floors, codes)


def _mark_terminal(session: Session, venues: set[int], floors: set[int], codes: set[str]) -> None:
    touched: dict[int, set[str]] = session.info.setdefault(TERMINALS_KEY, {})
    for venue_id in venues:
        if not floors:
            _mark(session, venue_id, None)
        for floor_id in floors:
            _mark(session, venue_id, floor_id)
    for floor_id in floors:
        touched.setdefault(floor_id, set()).update(codes)


def _terminals_only(floor_ids: set[int] | None, touched: dict[int, set[str]],
                    structure: set[int]) -> dict[int, set[str]] | None:
    """The changed terminals by floor when the transaction changed only terminals of these floors, else None."""
    if not floor_ids or floor_ids & structure or not floor_ids <= set(touched):
        return None
    return {f: touched[f] for f in floor_ids}


def _enabled(session: Session) -> bool:
    if not has_app_context() or session.info.get(PAUSED_KEY):
        return False
    return bool(current_app.config.get("COMPLIANCE_AUTO_EVALUATE", True)) and session is db.session()


def install(session_factory: Any) -> None:
    """Re-evaluate the findings of every venue whose inventory changed, in the same transaction, before commit."""

    @event.listens_for(session_factory, "after_flush")
    def _after_flush(session: Session, _context: Any) -> None:
        for obj in session.new:
            _collect(session, False, obj)
        for obj in session.dirty:
            if isinstance(obj, Terminal | Zone | Floor | Venue) and session.is_modified(obj, include_collections=False):
                _collect(session, False, obj)
        for obj in session.deleted:
            _collect(session, True, obj)

    @event.listens_for(session_factory, "before_commit")
    def _before_commit(session: Session) -> None:
        if not _enabled(session):
            for key in (DIRTY_KEY, FLOORS_KEY, TERMINALS_KEY, STRUCTURE_KEY, INERT_KEY):
                session.info.pop(key, None)
            return
        session.flush()
        floors = session.info.pop(FLOORS_KEY, set())
        if floors:
            for floor_id, venue_id in session.execute(sa.select(Floor.id, Floor.venue_id).where(Floor.id.in_(floors))):
                _mark(session, venue_id, floor_id)
        # Edits no rule reads (a serial number): their venue's findings are what they were, but the entity rules
        # count days (a filing deadline), so those are evaluated as after any change. Where the venue changed
        # otherwise too, or has a check (queued, running or failed: it is taken over as by any change), they count as
        # the edits they are, as before.
        entities_only: list[int] = []
        for venue_id, edits in session.info.pop(INERT_KEY, {}).items():
            if venue_id not in session.info.get(DIRTY_KEY, {}) and not session.scalar(sa.select(sa.exists().where(
                    ComplianceCheck.venue_id == venue_id))):
                entities_only.append(venue_id)
                continue
            for floor_ids, codes in edits:
                _mark_terminal(session, {venue_id}, floor_ids, codes)
        dirty: dict[int, set[int] | None] = session.info.pop(DIRTY_KEY, {})
        touched: dict[int, set[str]] = session.info.pop(TERMINALS_KEY, {})
        structure: set[int] = session.info.pop(STRUCTURE_KEY, set())
        reason = session.info.pop(REASON_KEY, None)
        limit = int(current_app.config.get("COMPLIANCE_INLINE_LIMIT", INLINE_LIMIT))
        for venue_id, floor_ids in dirty.items():
            venue = session.get(Venue, venue_id)
            if venue is not None:
                # Collections may still hold rows deleted in this transaction: read them again, the floors
                # without their structure (the load floor's is 170 kB of JSON, which deciding needs not; an
                # evaluation that needs it reads it then).
                session.expire(venue, ["floors"])
                session.scalars(sa.select(Venue).where(Venue.id == venue_id).options(
                    selectinload(Venue.floors).options(defer(Floor.structure)))).one()
                for floor in venue.floors:
                    session.expire(floor, ["terminals", "zones"])
                changed = _terminals_only(floor_ids, touched, structure)
                known: dict[int, int] = {}  # floor costs, counted once for both estimates
                if floor_ids is not None and not floor_ids:
                    evaluate_venue(venue, floor_ids, reason)
                elif changed is not None and incremental_cost(venue, changed, known) <= limit \
                        and not needs_queue(venue.id, floor_ids):
                    evaluate_terminals(venue, changed, reason)
                elif venue_cost(venue, floor_ids, known) > limit or needs_queue(venue.id, floor_ids):
                    created = queue_check(venue, floor_ids, reason or _default_reason(venue.id), changed)
                    if created is not None:
                        session.info.setdefault(QUEUE_KEY, set()).add(created)
                else:
                    evaluate_venue(venue, floor_ids, reason)
        for venue_id in entities_only:
            venue = session.get(Venue, venue_id)
            if venue is not None:
                _with_entities(venue, {"opened": 0, "updated": 0, "fixed": 0}, _floor_scoped(),
                               reason or _default_reason(venue_id))
        for key in (DIRTY_KEY, TERMINALS_KEY, STRUCTURE_KEY, INERT_KEY):  # the evaluation's own flushes change no inventory
            session.info.pop(key, None)

    @event.listens_for(session_factory, "after_commit")
    def _after_commit(session: Session) -> None:
        queued = session.info.pop(QUEUE_KEY, set())
        if queued:
            enqueue_checks(sorted(queued))

    @event.listens_for(session_factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        for key in (DIRTY_KEY, FLOORS_KEY, TERMINALS_KEY, STRUCTURE_KEY, INERT_KEY, REASON_KEY, QUEUE_KEY):
            session.info.pop(key, None)


def evaluate_all(venues: Iterable[Venue] | None = None) -> int:
    """Evaluate every venue (or the given ones) from scratch; returns how many were evaluated."""
    venues = list(venues) if venues is not None else list(db.session.scalars(sa.select(Venue).order_by(Venue.id)))
    for venue in venues:
        evaluate_venue(venue, ALL_FLOORS, "initial evaluation")
    return len(venues)
