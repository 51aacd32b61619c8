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
from audit.recorder import NAMING_FIELDS, is_feature_diff
from extensions import db
from i18n import N_
from inventory import services
from inventory.models import Venue
from security import page_number

bp = Blueprint("audit", __name__)

PAGE_SIZE = 25
# Bookkeeping columns that every row has and no reader needs to see change.
HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at"})
SHORT_VALUE = 60  # characters of a value shown before the rest goes behind a toggle
LONG_VALUE = 2000  # characters of a value put in the page at all: a 20 MB floor must not become 20 MB of HTML
# What a feature diff's summary calls each kind of floor feature.
FEATURE_KINDS = {"wall": N_("walls"), "opening": N_("openings"), "outline": N_("outline"), "zone": N_("zones"),
                 "terminal": N_("terminals")}
OTHER_FEATURES = N_("other features")


@dataclass(frozen=True)
class FieldChange:
    """One field of an audit event: its value before and after (None where the object did not exist)."""

    field: str
    before: str | None
    after: str | None
    summary: str | None = None  # a feature diff's counts; before/after then hold the removed/added features


def _capped(text: str) -> str:
    """A long text cut to LONG_VALUE characters, saying how many were left out."""
    if len(text) <= LONG_VALUE:
        return text
    return text[:LONG_VALUE] + _("… (%(num)d more characters)", num=len(text) - LONG_VALUE)


def _text(value: Any) -> str | None:
    """A stored value as the page shows it, capped; None stays None (rendered as a dash)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return _capped(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return _capped(str(value))


def _kind(feature: dict[str, Any]) -> str:
    props = feature.get("properties")
    return props.get("kind", "") if isinstance(props, dict) else ""


def diff_summary(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A feature diff in words, per kind: "walls: 3 added, 1 removed, 2 changed"."""
    removed = {repr(f.get("id")): _kind(f) for f in before.get("removed", [])}
    added = {repr(f.get("id")): _kind(f) for f in after.get("added", [])}
    counts: dict[str, list[int]] = {}
    for key, kind in added.items():
        counts.setdefault(kind, [0, 0, 0])[2 if key in removed else 0] += 1
    for key, kind in removed.items():
        if key not in added:
            counts.setdefault(kind, [0, 0, 0])[1] += 1
    parts = []
    for kind, (n_added, n_removed, n_changed) in counts.items():
        words = [text for n, text in ((n_added, _("%(num)d added", num=n_added)),
                                      (n_removed, _("%(num)d removed", num=n_removed)),
                                      (n_changed, _("%(num)d changed", num=n_changed))) if n]
        parts.append(_("%(kind)s: %(changes)s", kind=_(FEATURE_KINDS.get(kind, OTHER_FEATURES)),
                       changes=", ".join(words)))
    if "order" in after:
        parts.append(_("reordered"))
    return "; ".join(parts) or _("no feature changed")


def field_changes(event: AuditEvent) -> list[FieldChange]:
    """The fields an event changed: differing fields of an update, the set fields of a create or delete."""
    before, after = event.before or {}, event.after or {}
    changes = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if field in HIDDEN_FIELDS or old == new or (old in (None, "", [], {}) and new in (None, "", [], {})):
            continue
        if is_feature_diff(old) and is_feature_diff(new):
            changes.append(FieldChange(field, _text(old.get("removed")), _text(new.get("added")),
                                       diff_summary(old, new)))
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
