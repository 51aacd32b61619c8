"""Inspection queries and changes; views and jobs call these, never the models directly."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from inspection.models import Inspection, InspectionStatus


def last_inspection_at(venue_ids: Iterable[int]) -> dict[int, datetime]:
    """When each venue's most recent signed-off inspection was signed off; venues never inspected are absent."""
    ids = list(venue_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Inspection.venue_id, sa.func.max(Inspection.signed_off_at))
        .where(Inspection.venue_id.in_(ids), Inspection.status == InspectionStatus.SIGNED_OFF)
        .group_by(Inspection.venue_id))
    return {venue_id: at for venue_id, at in rows if at is not None}
