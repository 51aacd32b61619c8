"""Per-venue dashboard figures, kept in the `venue_figures` table so the city overview reads 10,000 short rows
instead of aggregating 500,000 terminals on every request.

The figures are computed by one grouped SQL statement (`figures_select`, the single home of the definitions in
dashboard.queries) for a set of venues. They stay current by themselves: a session listener notes the venue
of every changed terminal, floor, venue, plan, plan decision, finding and inspection, and recomputes those
venues' rows in the same transaction, just before it commits. Venues without a row (new, or data loaded
around the ORM) are filled on the next read (`ensure`); `flask dashboard-refresh` recomputes everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from accounts.models import utcnow
from dashboard.models import VenueFigures
from dashboard.queries import figures_select
from extensions import db
from inventory.floor_overlays import attributes_kept

COLUMNS = ("venue_id", "terminals_before", "terminals_after", "face_before", "face_after", "open_prohibited",
           "inspected", "enrolled", "refreshed_at")


def refresh(venue_ids: Iterable[int] | None = None, session: Session | None = None) -> int:
    """Recompute the figures of these venues (every venue when None) in the current transaction."""
    session = session or db.session
    ids = None if venue_ids is None else sorted(set(venue_ids))
    if ids == []:
        return 0
    table = VenueFigures.__table__
    chunks = [None] if ids is None else [ids[i:i + 1000] for i in range(0, len(ids), 1000)]
    missed = False
    with session.no_autoflush:
        for chunk in chunks:
            if chunk is None:
                session.execute(table.delete())
                session.execute(_upsert(session, figures_select(None, utcnow())))
            else:
                values = {"venue_ids": chunk, "now": utcnow()}
                # The UPDATE hits the compiled-statement cache; the dialects' upserts never do (no cache key),
                # so compiling it cost a save ~4 ms. Venues without a row yet (the UPDATE missed them) take it.
                if session.execute(_UPDATE, values).rowcount != len(chunk):
                    missed = True
                    session.execute(_venues_upsert(session), values)
        if ids is not None and not missed:
            return len(ids)  # every id updated its row (venue_id is the key: one row each)
        # Count the rows written rather than trust rowcount, which drivers report differently for INSERT ... SELECT.
        counted = sa.select(sa.func.count()).select_from(table)
        written = session.scalar(counted if ids is None else counted.where(table.c.venue_id.in_(ids))) or 0
    return written


def _upsert(session: Session, select: sa.Select[Any]) -> Any:
    """INSERT ... SELECT that replaces a venue's row: two transactions refreshing one venue at once (two saves on
    PostgreSQL, each seeing no row of the other) both succeed instead of the second failing on the key."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # SQLite needs a WHERE in an upsert's SELECT to tell its ON CONFLICT from a join's ON.
    statement = insert(VenueFigures.__table__).from_select(list(COLUMNS), select.where(sa.true()))
    return statement.on_conflict_do_update(index_elements=["venue_id"],
                                           set_={name: statement.excluded[name] for name in COLUMNS[1:]})


_STATEMENTS: dict[str, Any] = {}


def _venues_upsert(session: Session) -> Any:
    """The upsert of some venues' rows, built once per dialect (building it cost 6 of a save's 8 ms of refresh)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        _STATEMENTS[dialect] = _upsert(session, figures_select(sa.bindparam("venue_ids", expanding=True),
                                                               sa.bindparam("now", type_=sa.DateTime)))
    return _STATEMENTS[dialect]


def _venues_update() -> Any:
    """UPDATE ... FROM the figures of some venues: the rows they have, replaced in one cacheable statement."""
    table = VenueFigures.__table__
    select = figures_select(sa.bindparam("venue_ids", expanding=True), sa.bindparam("now", type_=sa.DateTime))
    named = select.with_only_columns(*(column.label(name) for column, name
                                       in zip(select.selected_columns, COLUMNS, strict=True))).subquery("figures")
    return (sa.update(table).values({name: named.c[name] for name in COLUMNS[1:]})
            .where(table.c.venue_id == named.c.venue_id))


_UPDATE = _venues_update()


def ensure() -> None:
    """Compute the figures of venues that have none yet (new venues, rows loaded around the ORM)."""
    from inventory.models import Venue

    missing = db.session.scalars(sa.select(Venue.id).outerjoin(VenueFigures, VenueFigures.venue_id == Venue.id)
                                 .where(VenueFigures.venue_id.is_(None))).all()
    if missing:
        refresh(missing)
        db.session.commit()


def _venue_ids_of(session: Session, objects: Iterable[Any]) -> tuple[set[int], set[int], set[int]]:
    """(venue ids, floor ids, plan ids) that changed objects belong to."""
    from compliance.models import Finding
    from inspection.models import Inspection
    from inventory.models import Floor, Terminal, Venue
    from plans.models import Plan, PlanDecision

    venues: set[int] = set()
    floors: set[int] = set()
    plans: set[int] = set()
    for obj in objects:
        if isinstance(obj, Venue):
            venues.add(obj.id)
        elif isinstance(obj, Terminal | Finding | Inspection | Floor):
            venues.add(obj.venue_id)
            history = sa.inspect(obj).attrs.venue_id.history
            venues.update(v for v in history.deleted if v is not None)
        elif isinstance(obj, Plan):
            floors.add(obj.floor_id)
        elif isinstance(obj, PlanDecision):
            plans.add(obj.plan_id)
    venues.discard(None)  # type: ignore[arg-type]
    return venues, {f for f in floors if f is not None}, {p for p in plans if p is not None}


WATCHED = ("Venue", "Floor", "Terminal", "Plan", "PlanDecision", "Finding", "Inspection")
# What the figures read of a terminal (dashboard.queries._terminal_figures): a write of a terminal that changes
# none of these (a serial, a note, a pose) leaves every figure as it was, and costs no recompute.
TERMINAL_ATTRIBUTES = frozenset({"venue_id", "floor_id", "code", "kind", "face_recognition", "status", "removed_at",
                                 "enrolled_count"})


def install(session_factory: Any) -> None:
    """Keep venue figures current: note changed venues at each flush, recompute them before commit."""

    @event.listens_for(session_factory, "after_flush")
    def _note(session: Session, _context: Any) -> None:
        changed = [o for o in (*session.new, *session.dirty, *session.deleted) if type(o).__name__ in WATCHED
                   and not (type(o).__name__ == "Terminal" and attributes_kept(session, o, TERMINAL_ATTRIBUTES))]
        if not changed:
            return
        venues, floors, plans = _venue_ids_of(session, changed)
        pending = session.info.setdefault("figures_pending", (set(), set(), set()))
        pending[0].update(venues)
        pending[1].update(floors)
        pending[2].update(plans)

    event.listen(session_factory, "after_rollback", _forget)

    @event.listens_for(session_factory, "before_commit")
    def _recompute(session: Session) -> None:
        if session.info.get("figures_busy"):
            return
        session.flush()
        pending = session.info.pop("figures_pending", None)
        if not pending or not any(pending):
            return
        from inventory.models import Floor
        from plans.models import Plan

        venues, floors, plans = pending
        if plans:
            floors |= set(session.scalars(sa.select(Plan.floor_id).where(Plan.id.in_(sorted(plans)))))
        if floors:
            venues |= set(session.scalars(sa.select(Floor.venue_id).where(Floor.id.in_(sorted(floors)))))
        session.info["figures_busy"] = True
        try:
            from inventory.models import Venue

            # Deleted venues' rows went with them (ON DELETE CASCADE).
            refresh(set(session.scalars(sa.select(Venue.id).where(Venue.id.in_(sorted(venues))))), session)
        finally:
            session.info["figures_busy"] = False


def _forget(session: Session) -> None:
    session.info.pop("figures_pending", None)


@click.command("dashboard-refresh")
@with_appcontext
def refresh_command() -> None:
    """Recompute every venue's dashboard figures (after loading data around the app)."""
    n = refresh(None)
    db.session.commit()
    click.echo(f"dashboard figures recomputed for {n} venues")
