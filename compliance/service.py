"""What other packages read about findings without depending on the inventory: open counts per venue, which
venues are being re-checked, and the session flags the findings re-evaluation (findings.service) honours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from compliance.models import CHECK_PENDING, FINDING_SEVERITIES, ComplianceCheck, Finding
from extensions import db

REASON_KEY = "compliance_reason"  # session.info: the change the next commit's re-evaluation names as the fix
PAUSED_KEY = "compliance_paused"  # session.info: skip automatic re-evaluation


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


def rechecking_since(venue_ids: list[int]) -> dict[int, datetime]:
    """Venues whose findings a queued or running re-check (findings.jobs) is bringing up to date, with since when."""
    if not venue_ids:
        return {}
    rows = db.session.execute(sa.select(ComplianceCheck.venue_id, sa.func.min(ComplianceCheck.queued_at))
                              .where(ComplianceCheck.venue_id.in_(venue_ids),
                                     ComplianceCheck.state.in_(CHECK_PENDING))
                              .group_by(ComplianceCheck.venue_id))
    return {venue_id: since for venue_id, since in rows}


def note_reason(reason: str) -> None:
    """Name the change the next commit's re-evaluation reports as what fixed a finding (e.g. a plan approval)."""
    db.session.info[REASON_KEY] = reason


@contextmanager
def paused() -> Iterator[None]:
    """Skip automatic re-evaluation inside the block (bulk seeding); call findings.service.evaluate_all after."""
    db.session.info[PAUSED_KEY] = True
    try:
        yield
    finally:
        db.session.info.pop(PAUSED_KEY, None)
