"""Inspection (one visit to a venue), its checklist items and its evidence photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from accounts.models import User, utcnow
from extensions import db
from inventory.choices import Choice, db_enum
from inventory.models import Floor, Terminal, Venue


class InspectionStatus(Choice):
    IN_PROGRESS = "in_progress"
    SIGNED_OFF = "signed_off"


class Expected(Choice):
    """What the approved plan and the inventory say the inspector should find."""

    KEPT = "kept"
    REMOVED = "removed"
    RE_AIMED = "re_aimed"
    INSTALLED = "installed"


class Found(Choice):
    """What the inspector found on site."""

    PRESENT = "present"
    REMOVED = "removed"
    MOVED = "moved"
    RE_AIMED = "re_aimed"
    NOT_DECLARED = "not_declared"


class Inspection(db.Model):
    """One inspector's visit to a venue: declared and found counts, verification, sign-off and its chain hash."""

    __tablename__ = "inspections"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id"), index=True)
    inspector_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    # The approved plan in force that the visit checks (the first floor's when a venue has several;
    # declared["plans"] lists every floor's).
    plan_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("plan.id", ondelete="SET NULL"))
    status: so.Mapped[InspectionStatus] = so.mapped_column(db_enum(InspectionStatus),
                                                           default=InspectionStatus.IN_PROGRESS, index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    signed_off_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    # {"before": {kind: n, "total": n, "face_recognition": n}, "after": {...}, "plans": [plan ids]}
    declared: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Same shape as declared["after"], counted from the answers.
    found: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # {state, job, coverage_ok, privacy_ok, minimal, found_total, optimum, per floor details, error}
    verification: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Chain over signed-off inspections: set at sign-off; unique prev_hash makes a fork impossible.
    prev_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    record_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    venue: so.Mapped[Venue] = so.relationship()
    inspector: so.Mapped[User] = so.relationship()
    items: so.Mapped[list[InspectionItem]] = so.relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                             order_by="InspectionItem.position")
    evidence: so.Mapped[list[Evidence]] = so.relationship(back_populates="inspection", cascade="all, delete-orphan",
                                                          order_by="Evidence.id")

    @property
    def signed_off(self) -> bool:
        """Whether the inspection is signed off (and so immutable)."""
        return self.status == InspectionStatus.SIGNED_OFF


class InspectionItem(db.Model):
    """One checklist line: a terminal and its expected state, or a terminal found on site but not declared."""

    __tablename__ = "inspection_items"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    inspection_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    terminal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("terminal.id", ondelete="SET NULL"))
    floor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("floor.id", ondelete="SET NULL"))
    position: so.Mapped[int] = so.mapped_column(default=0)
    # Terminal code and kind as declared (kept even if the terminal row later goes), or as seen for not-declared.
    code: so.Mapped[str] = so.mapped_column(sa.String(50))
    kind: so.Mapped[str] = so.mapped_column(sa.String(32))
    face_recognition: so.Mapped[bool] = so.mapped_column(default=False)
    expected: so.Mapped[Expected | None] = so.mapped_column(db_enum(Expected))
    expected_heading_deg: so.Mapped[float | None] = so.mapped_column()
    # Declared pose {x, y, heading_deg, hfov_deg, range_m|hpx, height_m}: the location map and the as-found floor.
    expected_pose: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    found: so.Mapped[Found | None] = so.mapped_column(db_enum(Found))
    # Position and heading as found (moved, re-aimed, not declared), in floor metres.
    found_x: so.Mapped[float | None] = so.mapped_column()
    found_y: so.Mapped[float | None] = so.mapped_column()
    found_heading_deg: so.Mapped[float | None] = so.mapped_column()
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    answered_at: so.Mapped[datetime | None] = so.mapped_column()
    answered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))

    inspection: so.Mapped[Inspection] = so.relationship(back_populates="items")
    terminal: so.Mapped[Terminal | None] = so.relationship()
    floor: so.Mapped[Floor | None] = so.relationship()
    evidence: so.Mapped[list[Evidence]] = so.relationship(back_populates="item", order_by="Evidence.id")


class Evidence(db.Model):
    """An evidence photo (EXIF stripped) of an inspection or one of its items, with its thumbnail."""

    __tablename__ = "inspection_evidence"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    inspection_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    item_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("inspection_items.id", ondelete="CASCADE"),
                                                      index=True)
    # Paths relative to UPLOAD_FOLDER.
    path: so.Mapped[str] = so.mapped_column(sa.String(300))
    thumbnail_path: so.Mapped[str] = so.mapped_column(sa.String(300))
    mime: so.Mapped[str] = so.mapped_column(sa.String(50))
    size: so.Mapped[int] = so.mapped_column()
    width: so.Mapped[int] = so.mapped_column()
    height: so.Mapped[int] = so.mapped_column()
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    original_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    inspection: so.Mapped[Inspection] = so.relationship(back_populates="evidence")
    item: so.Mapped[InspectionItem | None] = so.relationship(back_populates="evidence")
