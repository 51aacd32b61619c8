"""The audit trail page of a venue."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from audit.models import AuditEvent
from extensions import db
from inventory import services
from security import page_number

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50


def venue_events(venue_id: int, object_type: str | None = None, page: int = 1) -> list[AuditEvent]:
    """A page of a venue's audit events, newest first."""
    query = sa.select(AuditEvent).where(AuditEvent.venue_id == venue_id)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    query = query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return list(db.session.scalars(query))


@bp.get("/venues/<int:venue_id>/audit")
@login_required
def venue_audit(venue_id: int):  # type: ignore[no-untyped-def]
    """Browse who changed what in a venue, with the values before and after."""
    venue = services.get_venue(current_user, venue_id)
    object_type = request.args.get("type") or None
    page = request.args.get("page", 1, type=page_number)
    events = venue_events(venue.id, object_type, page)
    return render_template("audit/venue_audit.html", venue=venue, events=events, object_type=object_type,
                           page=page, more=len(events) == PAGE_SIZE)
