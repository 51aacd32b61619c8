"""The AuditEvent model; rows are never updated or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from accounts.models import User, utcnow
from extensions import db


class AuditEvent(db.Model):
    """One change to an audited object (create, update or delete)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    organisation_id: so.Mapped[int | None] = so.mapped_column(index=True)
    venue_id: so.Mapped[int | None] = so.mapped_column(index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(50))
    object_id: so.Mapped[int | None] = so.mapped_column()
    action: so.Mapped[str] = so.mapped_column(sa.String(20))
    before: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    after: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Hash chain (audit.chain), set when the event's transaction commits: seq is its place in the chain, prev_hash
    # the previous event's hash (unique, so the chain cannot fork).
    seq: so.Mapped[int | None] = so.mapped_column(unique=True, index=True)
    prev_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True, index=True)
    record_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    user: so.Mapped[User | None] = so.relationship()
