"""The findings service: evaluate a venue's floors, store findings, and answer counts for pages."""

from __future__ import annotations

import sqlalchemy as sa

from compliance.models import FINDING_SEVERITIES, Finding
from extensions import db


def open_finding_counts(venue_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open findings per venue and severity (every venue asked for, every severity, zeros included)."""
    counts = {vid: dict.fromkeys(FINDING_SEVERITIES, 0) for vid in venue_ids}
    if not venue_ids:
        return counts
    rows = db.session.execute(
        sa.select(Finding.venue_id, Finding.severity, sa.func.count())
        .where(Finding.venue_id.in_(venue_ids), Finding.status == "open")
        .group_by(Finding.venue_id, Finding.severity))
    for venue_id, severity, n in rows:
        counts[venue_id][severity] = n
    return counts
