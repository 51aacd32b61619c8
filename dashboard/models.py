"""The stored per-venue figures of the city overview (derived data; see dashboard.figures)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from accounts.models import utcnow
from extensions import db


class VenueFigures(db.Model):
    """The dashboard figures of one venue (derived data: recomputed from the inventory, never edited)."""

    __tablename__ = "venue_figures"

    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), primary_key=True)
    terminals_before: so.Mapped[int] = so.mapped_column(default=0)
    terminals_after: so.Mapped[int] = so.mapped_column(default=0)
    face_before: so.Mapped[int] = so.mapped_column(default=0)
    face_after: so.Mapped[int] = so.mapped_column(default=0)
    open_prohibited: so.Mapped[int] = so.mapped_column(default=0)
    inspected: so.Mapped[bool] = so.mapped_column(default=False)
    # Enrolled persons of the venue's in-service terminals (CN-19 sums them per legal entity).
    enrolled: so.Mapped[int] = so.mapped_column(default=0)
    refreshed_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
