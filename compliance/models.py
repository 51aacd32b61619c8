"""Stored compliance findings: one rule broken by one subject of a venue, open, fixed or accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from extensions import db


def utcnow() -> datetime:
    """The current UTC time, naive (as accounts.models.utcnow; not imported, so compliance/ depends on no app package)."""
    return datetime.now(UTC).replace(tzinfo=None)

FINDING_SEVERITIES = ("prohibited", "must", "should")
FINDING_STATUSES = ("open", "fixed", "accepted")
# Findings still to act on: open ones, and accepted ones (they still hold, with a justification).
STANDING = ("open", "accepted")


class Finding(db.Model):
    """A compliance finding of a venue; its identity is (venue, rule, key) while it holds."""

    __tablename__ = "findings"
    __table_args__ = (
        sa.Index("ix_findings_venue_id_status", "venue_id", "status"),
        sa.Index("ix_findings_venue_id_rule_id_key", "venue_id", "rule_id", "key"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    floor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("floor.id", ondelete="SET NULL"))
    rule_id: so.Mapped[str] = so.mapped_column(sa.String(20))
    # Stable identity of what offends within the venue and rule (floor, terminal ID, zone key, entity, ...).
    key: so.Mapped[str] = so.mapped_column(sa.String(300))
    severity: so.Mapped[str] = so.mapped_column(sa.String(20))
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="open")
    terminal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("terminal.id", ondelete="SET NULL"))
    zone_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("zone.id", ondelete="SET NULL"))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    message: so.Mapped[str] = so.mapped_column(sa.String(1000))
    detail: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    opened_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    fixed_at: so.Mapped[datetime | None] = so.mapped_column()
    fixed_reason: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    accepted_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    accepted_at: so.Mapped[datetime | None] = so.mapped_column()
    justification: so.Mapped[str | None] = so.mapped_column(sa.String(2000))

    accepted_by = so.relationship("User")  # accounts.models.User, named so compliance/ imports no app package

    @property
    def standing(self) -> bool:
        """Whether the finding still holds (open or accepted)."""
        return self.status in STANDING


CHECK_PENDING = ("queued", "running")


class ComplianceCheck(db.Model):
    """A re-evaluation of a venue's floors left to the job queue (a change too costly to evaluate in its save).

    While one is queued or running its floors' findings are being re-checked, not current; a failed one stays
    (with its error) until the next change of the venue queues its floors again.
    """

    __tablename__ = "compliance_checks"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    floor_ids: so.Mapped[list[int] | None] = so.mapped_column(sa.JSON)  # None: every floor of the venue
    # {floor id (text): codes} when only those terminals changed (evaluated incrementally); None: whole floors.
    terminals: so.Mapped[dict[str, list[str]] | None] = so.mapped_column(sa.JSON)
    reason: so.Mapped[str] = so.mapped_column(sa.String(200))  # what fixed findings are reported fixed by
    state: so.Mapped[str] = so.mapped_column(sa.String(20), default="queued")  # queued, running or failed
    queued_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    started_at: so.Mapped[datetime | None] = so.mapped_column()
    heartbeat_at: so.Mapped[datetime | None] = so.mapped_column()  # a running check silent too long lost its worker
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    error: so.Mapped[str | None] = so.mapped_column(sa.String(1000))

    def covers(self, floor_id: int) -> bool:
        """Whether the check re-evaluates this floor."""
        return self.floor_ids is None or floor_id in self.floor_ids
