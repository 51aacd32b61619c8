"""The audit trail of a venue, and the queries and field differences the admin audit page shares; each event is
shown as the fields it changed, before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from audit.models import AuditEvent
from extensions import db
from inventory import services
from inventory.models import Venue
from security import page_number

bp = Blueprint("audit", __name__)

PAGE_SIZE = 25
# Bookkeeping columns that every row has and no reader needs to see change.
HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at"})
SHORT_VALUE = 60  # characters of a value shown before the rest goes behind a toggle
# Fields that say which object a create or delete was about; its other fields go behind a toggle.
NAMING_FIELDS = ("code", "name", "email", "level", "kind", "status", "model", "manufacturer", "role")


@dataclass(frozen=True)
class FieldChange:
    """One field of an audit event: its value before and after (None where the object did not exist)."""

    field: str
    before: str | None
    after: str | None


def _text(value: Any) -> str | None:
    """A stored value as the page shows it; None stays None (rendered as a dash)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """The fields an event changed: differing fields of an update, the set fields of a create or delete."""
    before, after = event.before or {}, event.after or {}
    changes = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if field in HIDDEN_FIELDS or old == new or (old in (None, "", [], {}) and new in (None, "", [], {})):
            continue
        changes.append(FieldChange(field, _text(old) if field in before else None,
                                   _text(new) if field in after else None))
    return changes


def naming_first(changes: list[FieldChange]) -> tuple[list[FieldChange], list[FieldChange]]:
    """Split a create's or delete's fields into those naming the object and the rest."""
    naming = [c for c in changes if c.field in NAMING_FIELDS]
    return naming, [c for c in changes if c.field not in NAMING_FIELDS]


@dataclass(frozen=True)
class Page:
    """One page of events, newest first, with what the pager needs."""

    events: list[AuditEvent]
    number: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // PAGE_SIZE))


def _page(query: sa.Select[tuple[AuditEvent]], number: int) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)
                              .offset((number - 1) * PAGE_SIZE))
    return Page(list(rows), number, total)


def venue_events(venue_id: int, object_type: str | None = None, page: int = 1) -> Page:
    """A page of a venue's audit events, newest first."""
    query = sa.select(AuditEvent).where(AuditEvent.venue_id == venue_id)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    return _page(query, page)


def all_events(object_type: str | None = None, without_venue: bool = False, page: int = 1) -> Page:
    """A page of every audit event; `without_venue` keeps those no venue page shows (none, deleted or removed)."""
    query = sa.select(AuditEvent)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if without_venue:
        query = query.where(sa.or_(AuditEvent.venue_id.is_(None),
                                   ~sa.exists().where(Venue.id == AuditEvent.venue_id, Venue.removed_at.is_(None))))
    return _page(query, page)


def object_types(venue_id: int | None = None) -> list[str]:
    """The kinds of object with recorded events (of one venue, or all)."""
    query = sa.select(AuditEvent.object_type).distinct()
    if venue_id is not None:
        query = query.where(AuditEvent.venue_id == venue_id)
    return sorted(db.session.scalars(query))


@bp.get("/venues/<int:venue_id>/audit")
@login_required
def venue_audit(venue_id: int):  # type: ignore[no-untyped-def]
    """Browse who changed what in a venue: each change as its fields before and after."""
    venue = services.get_venue(current_user, venue_id)
    object_type = request.args.get("type") or None
    page = venue_events(venue.id, object_type, request.args.get("page", 1, type=page_number))
    types = object_types(venue.id)
    return render_template("audit/venue_audit.html", venue=venue, page=page, object_type=object_type,
                           object_types=types, field_changes=field_changes, naming_first=naming_first)
