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
import sqlalchemy.orm

from accounts.models import Organisation, User
from compliance.models import Finding
from compliance.rules import load_rules
from dashboard.models import VenueFigures
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


def _terminal_figures(venues: sa.Subquery) -> sa.Subquery:
    """Per venue, in one pass over its terminals: before/after counts (all and face recognition).

    A terminal on a floor with a plan in force counts by its decision there (before: kept, removed or re-aimed;
    after: kept or re-aimed), whatever its state now; elsewhere it counts before and after while in service.
    New cameras of the plans come from `_added`.
    """
    plan = sa.orm.aliased(Plan)
    decision = sa.orm.aliased(PlanDecision)
    in_service = sa.and_(Terminal.removed_at.is_(None), Terminal.status.in_(IN_SERVICE))
    unplanned = sa.and_(plan.id.is_(None), in_service)
    decided = decision.id.is_not(None)
    remains = sa.and_(decided, decision.decision != Decision.REMOVE)
    face = _face(Terminal)
    return (sa.select(Terminal.venue_id.label("venue_id"),
                      _count_if(sa.or_(unplanned, decided)).label("before"),
                      _count_if(sa.or_(unplanned, remains)).label("after"),
                      _count_if(sa.and_(face, sa.or_(unplanned, decided))).label("face_before"),
                      _count_if(sa.and_(face, sa.or_(unplanned, remains))).label("face_after"),
                      sa.func.coalesce(sa.func.sum(sa.case((in_service, Terminal.enrolled_count), else_=0)), 0)
                      .label("enrolled"))
            .select_from(Terminal)
            .join(Floor, sa.and_(Floor.id == Terminal.floor_id, Floor.removed_at.is_(None)))
            .outerjoin(plan, plan.in_force_floor_id == Terminal.floor_id)
            .outerjoin(decision, sa.and_(decision.plan_id == plan.id, decision.terminal_code == Terminal.code,
                                         decision.decision != Decision.ADD))
            .where(Terminal.venue_id.in_(sa.select(venues.c.id)))
            .group_by(Terminal.venue_id).subquery("terminals"))


def _added(venues: sa.Subquery) -> sa.Subquery:
    """Per venue: new cameras the plans in force add (they count after, never before)."""
    return (sa.select(Floor.venue_id.label("venue_id"), sa.func.count().label("n"))
            .select_from(Plan)
            .join(Floor, sa.and_(Floor.id == Plan.in_force_floor_id, Floor.removed_at.is_(None)))
            .join(PlanDecision, sa.and_(PlanDecision.plan_id == Plan.id, PlanDecision.decision == Decision.ADD))
            .where(Floor.venue_id.in_(sa.select(venues.c.id)))
            .group_by(Floor.venue_id).subquery("added"))


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


def _venue_ids(ids: list[int] | sa.BindParameter[Any] | None) -> sa.Subquery:
    query = sa.select(Venue.id)
    if ids is not None:
        query = query.where(Venue.id.in_(ids))
    return query.subquery("v")


def figures_select(ids: list[int] | sa.BindParameter[Any] | None, now: Any) -> sa.Select[Any]:
    """Per-venue figures (columns of dashboard.figures.COLUMNS) of these venues, every venue when None (ids and now
    may be bind parameters, for a statement built once and run with values)."""
    v = _venue_ids(ids)
    terminals, added = _terminal_figures(v), _added(v)
    prohibited, inspected = _open_prohibited(v), _inspected(v)
    zero = sa.literal(0)
    return (sa.select(
        v.c.id, sa.func.coalesce(terminals.c.before, zero),
        sa.func.coalesce(terminals.c.after, zero) + sa.func.coalesce(added.c.n, zero),
        sa.func.coalesce(terminals.c.face_before, zero), sa.func.coalesce(terminals.c.face_after, zero),
        sa.func.coalesce(prohibited.c.n, zero), inspected.c.venue_id.is_not(None),
        sa.func.coalesce(terminals.c.enrolled, zero),
        now if isinstance(now, sa.BindParameter) else sa.literal(now, sa.DateTime))
        .select_from(v)
        .outerjoin(terminals, terminals.c.venue_id == v.c.id)
        .outerjoin(added, added.c.venue_id == v.c.id)
        .outerjoin(prohibited, prohibited.c.venue_id == v.c.id)
        .outerjoin(inspected, inspected.c.venue_id == v.c.id))


def _scope(query: sa.Select[Any], user: User, district: str | None, venue_type: str | None) -> sa.Select[Any]:
    """Restrict a query over Venue to the venues the figures cover: visible, not removed, the filters."""
    query = query.where(venue_filter(user), Venue.removed_at.is_(None))
    if district:
        query = query.where(Venue.district == district)
    if venue_type:
        query = query.where(Venue.type == VenueType(venue_type))
    return query


def cell_statement(user: User, district: str | None = None, venue_type: str | None = None) -> sa.Select[Any]:
    """Figures per (district, venue type), summed from the stored per-venue figures."""
    f = VenueFigures
    return _scope(sa.select(
        Venue.district, Venue.type, sa.func.count(Venue.id), _count_if(f.inspected.is_(True)),
        sa.func.sum(f.terminals_before), sa.func.sum(f.terminals_after), sa.func.sum(f.face_before),
        sa.func.sum(f.face_after), sa.func.sum(f.open_prohibited))
        .select_from(Venue).join(f, f.venue_id == Venue.id), user, district, venue_type
    ).group_by(Venue.district, Venue.type)


def cells(user: User, district: str | None = None, venue_type: str | None = None) -> dict[tuple[str, str], Row]:
    """Figures per (district, venue type) for the venues the user may see (call figures.ensure() first)."""
    out: dict[tuple[str, str], Row] = {}
    for row in db.session.execute(cell_statement(user, district, venue_type)):
        venue_type_value = row[1].value if hasattr(row[1], "value") else str(row[1])
        out[(row[0], venue_type_value)] = Row(*(int(n or 0) for n in row[2:]))
    return out


def entity_expression() -> sa.ColumnElement[str]:
    """The legal entity a venue files under: its own, else its organisation's, else the organisation's name."""
    return sa.func.coalesce(sa.func.nullif(Venue.legal_entity, ""), sa.func.nullif(Organisation.legal_entity, ""),
                            Organisation.name)


def entities(user: User, warn_at: int, threshold: int, district: str | None = None,
             venue_type: str | None = None) -> list[Entity]:
    """Legal entities whose enrolled persons (over all their venues) reach the warning level, with their venues
    the user may see."""
    entity = entity_expression()
    owners = sa.select(Venue).join(Organisation, Organisation.id == Venue.organisation_id)
    totals = dict(db.session.execute(
        owners.with_only_columns(entity, sa.func.sum(VenueFigures.enrolled))
        .join(VenueFigures, VenueFigures.venue_id == Venue.id)
        .where(Venue.removed_at.is_(None), VenueFigures.enrolled > 0)
        .group_by(entity).having(sa.func.sum(VenueFigures.enrolled) >= warn_at)).all())
    if not totals:
        return []
    rows = db.session.execute(_scope(owners.with_only_columns(entity, Venue.district, sa.func.count(Venue.id))
                                     .where(entity.in_(sorted(totals))), user, district, venue_type)
                              .group_by(entity, Venue.district))
    found: dict[str, Entity] = {}
    for name, venue_district, n in rows:
        enrolled = int(totals[name])
        item = found.setdefault(name, Entity(name=name, enrolled=enrolled, over=enrolled >= threshold))
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
