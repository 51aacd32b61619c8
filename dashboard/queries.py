"""Aggregate queries of the city overview: a handful of grouped SQL statements, never a row per venue in Python.

Definitions (docs/benchmarks.md and the page's notes repeat them):
- a venue counts when the user may see it (accounts.access scope) and it is not removed;
- terminals *before → after*: on a floor with an approved plan in force, before = the plan's existing terminals
  (kept, removed, re-aimed) and after = kept + re-aimed + added; on a floor without one, both are the terminals
  in service now (active or planned removal, not removed from the register);
- a face-recognition terminal is a face terminal or any terminal with face recognition on;
- a venue is inspected when it has a signed-off inspection;
- open prohibited findings: findings of severity "prohibited" with status "open";
- filing (CN-19): enrolled persons of in-service terminals summed per legal entity across all its venues (the
  venue's legal entity, else its organisation's, else the organisation's name); an entity is listed when the
  sum reaches the rule's warning ratio of its threshold and it has a venue the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from accounts.models import Organisation, User
from compliance.models import Finding
from compliance.rules import load_rules
from extensions import db
from inspection.models import Inspection, InspectionStatus
from inventory.choices import TerminalKind, TerminalStatus, VenueType
from inventory.models import Floor, Terminal, Venue
from inventory.services import venue_filter
from plans.models import Decision, Plan, PlanDecision

IN_SERVICE = (TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL)
METRICS = ("venues", "inspected", "terminals_before", "terminals_after", "face_before", "face_after",
           "open_prohibited")


@dataclass
class Row:
    """Figures of one group (a district, a venue type, a district × type cell, or the total)."""

    venues: int = 0
    inspected: int = 0
    terminals_before: int = 0
    terminals_after: int = 0
    face_before: int = 0
    face_after: int = 0
    open_prohibited: int = 0
    entities_near: int = 0
    entities_over: int = 0

    def add(self, other: Row) -> None:
        """Add another group's additive figures into this one."""
        for name in METRICS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        """The figures by name (CSV columns)."""
        return {name: getattr(self, name) for name in (*METRICS, "entities_near", "entities_over")}


@dataclass
class Entity:
    """A legal entity at or above the filing warning level."""

    name: str
    enrolled: int
    over: bool
    venues: int = 0
    districts: list[str] = field(default_factory=list)


@dataclass
class Overview:
    """Everything the dashboard shows, for one user and one filter."""

    cells: dict[tuple[str, str], Row]
    by_district: dict[str, Row]
    by_type: dict[str, Row]
    total: Row
    entities: list[Entity]
    threshold: int
    warn_at: int


def filing_threshold() -> tuple[int, int]:
    """(threshold, warning level) of CN-19 from the compliance rules data."""
    rule = next(r for r in load_rules() if r.id == "CN-19")
    threshold = int(rule.params.get("threshold", 100_000))
    return threshold, int(threshold * float(rule.params.get("warn_ratio", 0.8)))


def _face(terminal: Any) -> sa.ColumnElement[bool]:
    return sa.or_(terminal.kind == TerminalKind("face_terminal"), terminal.face_recognition.is_(True))


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def scoped_venues(user: User, district: str | None = None, venue_type: str | None = None) -> sa.Subquery:
    """The venues the figures cover: visible to the user, not removed, optionally one district or type."""
    query = sa.select(Venue.id, Venue.district, Venue.type).where(venue_filter(user), Venue.removed_at.is_(None))
    if district:
        query = query.where(Venue.district == district)
    if venue_type:
        query = query.where(Venue.type == VenueType(venue_type))
    return query.subquery("v")


def _unplanned_terminals(venues: sa.Subquery) -> sa.Subquery:
    """Per venue: terminals in service, and face ones, on floors without an approved plan in force."""
    in_force = sa.select(Plan.in_force_floor_id).where(Plan.in_force_floor_id.is_not(None))
    return (sa.select(Terminal.venue_id.label("venue_id"), sa.func.count().label("n"),
                      _count_if(_face(Terminal)).label("face"))
            .join(Floor, Floor.id == Terminal.floor_id)
            .where(Terminal.venue_id.in_(sa.select(venues.c.id)), Terminal.removed_at.is_(None),
                   Floor.removed_at.is_(None), Terminal.status.in_(IN_SERVICE), Terminal.floor_id.not_in(in_force))
            .group_by(Terminal.venue_id).subquery("unplanned"))


def _planned_terminals(venues: sa.Subquery) -> sa.Subquery:
    """Per venue: before and after counts (all and face) from the decisions of the plans in force."""
    existing = PlanDecision.decision != Decision.ADD
    remains = PlanDecision.decision != Decision.REMOVE
    face = sa.and_(Terminal.id.is_not(None), _face(Terminal))
    return (sa.select(Floor.venue_id.label("venue_id"), _count_if(existing).label("before"),
                      _count_if(remains).label("after"), _count_if(sa.and_(existing, face)).label("face_before"),
                      _count_if(sa.and_(remains, face)).label("face_after"))
            .select_from(Plan)
            .join(Floor, Floor.id == Plan.in_force_floor_id)
            .join(PlanDecision, PlanDecision.plan_id == Plan.id)
            .outerjoin(Terminal, sa.and_(Terminal.floor_id == Floor.id, Terminal.code == PlanDecision.terminal_code))
            .where(Floor.venue_id.in_(sa.select(venues.c.id)), Floor.removed_at.is_(None))
            .group_by(Floor.venue_id).subquery("planned"))


def _open_prohibited(venues: sa.Subquery) -> sa.Subquery:
    return (sa.select(Finding.venue_id.label("venue_id"), sa.func.count().label("n"))
            .where(Finding.venue_id.in_(sa.select(venues.c.id)), Finding.status == "open",
                   Finding.severity == "prohibited")
            .group_by(Finding.venue_id).subquery("prohibited"))


def _inspected(venues: sa.Subquery) -> sa.Subquery:
    return (sa.select(Inspection.venue_id.label("venue_id"))
            .where(Inspection.venue_id.in_(sa.select(venues.c.id)), Inspection.status == InspectionStatus.SIGNED_OFF,
                   Inspection.signed_off_at.is_not(None))
            .group_by(Inspection.venue_id).subquery("inspected"))


def cells(user: User, district: str | None = None, venue_type: str | None = None) -> dict[tuple[str, str], Row]:
    """Figures per (district, venue type) for the venues the user may see."""
    v = scoped_venues(user, district, venue_type)
    unplanned, planned = _unplanned_terminals(v), _planned_terminals(v)
    prohibited, inspected = _open_prohibited(v), _inspected(v)
    zero = sa.literal(0)
    query = (sa.select(
        v.c.district, v.c.type, sa.func.count(v.c.id),
        sa.func.count(inspected.c.venue_id),
        sa.func.sum(sa.func.coalesce(unplanned.c.n, zero) + sa.func.coalesce(planned.c.before, zero)),
        sa.func.sum(sa.func.coalesce(unplanned.c.n, zero) + sa.func.coalesce(planned.c.after, zero)),
        sa.func.sum(sa.func.coalesce(unplanned.c.face, zero) + sa.func.coalesce(planned.c.face_before, zero)),
        sa.func.sum(sa.func.coalesce(unplanned.c.face, zero) + sa.func.coalesce(planned.c.face_after, zero)),
        sa.func.sum(sa.func.coalesce(prohibited.c.n, zero)))
        .select_from(v)
        .outerjoin(unplanned, unplanned.c.venue_id == v.c.id)
        .outerjoin(planned, planned.c.venue_id == v.c.id)
        .outerjoin(prohibited, prohibited.c.venue_id == v.c.id)
        .outerjoin(inspected, inspected.c.venue_id == v.c.id)
        .group_by(v.c.district, v.c.type))
    out: dict[tuple[str, str], Row] = {}
    for row in db.session.execute(query):
        venue_type_value = row[1].value if hasattr(row[1], "value") else str(row[1])
        out[(row[0], venue_type_value)] = Row(*(int(n or 0) for n in row[2:]))
    return out


def entity_expression() -> sa.ColumnElement[str]:
    """The legal entity a venue files under: its own, else its organisation's, else the organisation's name."""
    return sa.func.coalesce(sa.func.nullif(Venue.legal_entity, ""), sa.func.nullif(Organisation.legal_entity, ""),
                            Organisation.name)


def entities(user: User, warn_at: int, threshold: int, district: str | None = None,
             venue_type: str | None = None) -> list[Entity]:
    """Legal entities whose enrolled persons reach the warning level, with their venues the user may see."""
    entity = entity_expression()
    totals = (sa.select(entity.label("entity"), sa.func.sum(Terminal.enrolled_count).label("enrolled"))
              .select_from(Terminal).join(Venue, Venue.id == Terminal.venue_id)
              .join(Organisation, Organisation.id == Venue.organisation_id)
              .where(Terminal.enrolled_count.is_not(None), Terminal.removed_at.is_(None),
                     Terminal.status.in_(IN_SERVICE), Venue.removed_at.is_(None))
              .group_by(entity).having(sa.func.sum(Terminal.enrolled_count) >= warn_at).subquery("totals"))
    v = scoped_venues(user, district, venue_type)
    rows = db.session.execute(
        sa.select(totals.c.entity, totals.c.enrolled, Venue.district, sa.func.count(Venue.id))
        .select_from(Venue).join(v, v.c.id == Venue.id)
        .join(Organisation, Organisation.id == Venue.organisation_id)
        .join(totals, totals.c.entity == entity)
        .group_by(totals.c.entity, totals.c.enrolled, Venue.district))
    found: dict[str, Entity] = {}
    for name, enrolled, venue_district, n in rows:
        item = found.setdefault(name, Entity(name=name, enrolled=int(enrolled), over=int(enrolled) >= threshold))
        item.venues += int(n)
        item.districts.append(venue_district)
    for item in found.values():
        item.districts.sort()
    return sorted(found.values(), key=lambda e: (-e.enrolled, e.name))


def overview(user: User, district: str | None = None, venue_type: str | None = None) -> Overview:
    """The dashboard's figures: per cell, rolled up by district and by type, the total, and the entities."""
    threshold, warn_at = filing_threshold()
    grid = cells(user, district, venue_type)
    listed = entities(user, warn_at, threshold, district, venue_type)
    by_district: dict[str, Row] = {}
    by_type: dict[str, Row] = {}
    total = Row()
    for (d, t), row in sorted(grid.items()):
        by_district.setdefault(d, Row()).add(row)
        by_type.setdefault(t, Row()).add(row)
        total.add(row)
    # Entities are not additive across groups (one entity spans districts): count them per district directly.
    for item in listed:
        for d in set(item.districts):
            if d in by_district:
                attr = "entities_over" if item.over else "entities_near"
                setattr(by_district[d], attr, getattr(by_district[d], attr) + 1)
        setattr(total, "entities_over" if item.over else "entities_near",
                getattr(total, "entities_over" if item.over else "entities_near") + 1)
    return Overview(cells=grid, by_district=by_district, by_type=by_type, total=total, entities=listed,
                    threshold=threshold, warn_at=warn_at)
