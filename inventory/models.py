"""Inventory models: venue → floor → zone / terminal, and the camera model library."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from accounts.districts import District  # noqa: F401 - venue.district's foreign key needs the table
from accounts.models import Organisation, utcnow
from extensions import db
from inventory.choices import (
    AlternativeVerification,
    ComplianceProfile,
    ConsentMechanism,
    FilingStatus,
    Lock,
    SignageType,
    StorageLocation,
    TerminalKind,
    TerminalStatus,
    Tier,
    VenueType,
    ZoneKind,
    db_enum,
)


class Venue(db.Model):
    """A site owned by an organisation: a hotel, supermarket, pool, ..."""

    __table_args__ = (sa.Index("ix_venue_district_type", "district", "type"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organisation.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    type: so.Mapped[VenueType] = so.mapped_column(db_enum(VenueType))
    # The canonical English name of a district of the managed list (accounts.districts), never free text.
    district: so.Mapped[str] = so.mapped_column(
        sa.String(100), sa.ForeignKey("districts.name", onupdate="CASCADE", ondelete="RESTRICT"), index=True)
    address: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    compliance_profile: so.Mapped[ComplianceProfile] = so.mapped_column(db_enum(ComplianceProfile),
                                                                        default=ComplianceProfile.CN)
    # The processor that files with the CAC (CN-19); blank means the organisation's legal entity.
    legal_entity: so.Mapped[str | None] = so.mapped_column(sa.String(200), index=True)
    filing_status: so.Mapped[FilingStatus] = so.mapped_column(db_enum(FilingStatus), default=FilingStatus.NOT_FILED)
    filing_date: so.Mapped[date | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    # Set instead of deleting when a finding, an approved plan or an inspection refers to the record.
    removed_at: so.Mapped[datetime | None] = so.mapped_column()

    organisation: so.Mapped[Organisation] = so.relationship()
    # Removed floors (kept because something refers to them) are not part of the venue any more.
    floors: so.Mapped[list[Floor]] = so.relationship(
        back_populates="venue", order_by="Floor.level", cascade="all, delete-orphan",
        primaryjoin="and_(Floor.venue_id == Venue.id, Floor.removed_at.is_(None))")


class Floor(db.Model):
    """One level of a venue, with its walls, openings and outline in local metres."""

    # A removed floor is kept for the records that name it, so only floors in use need distinct levels.
    __table_args__ = (sa.Index("uq_floor_live_level", "venue_id", "level", unique=True,
                               sqlite_where=sa.text("removed_at IS NULL"),
                               postgresql_where=sa.text("removed_at IS NULL")),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    level: so.Mapped[int] = so.mapped_column()
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    # Floor-format features other than zones and terminals: outline, walls, openings, each with its
    # stable feature "id" (a string, unique on the floor together with the zones' keys).
    structure: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON, default=list)
    # Background plan: stored upload name, rendered image name, and the pixel -> metre transform.
    background_image: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    background_meta: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    original_upload: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    removed_at: so.Mapped[datetime | None] = so.mapped_column()
    # A fresh random token whenever the floor, one of its zones or terminals changes (inventory.floor_overlays):
    # what the floor's cached overlays and editor export are keyed by. Random, so copies and restores never reuse one.
    version: so.Mapped[str] = so.mapped_column(sa.String(32), default=lambda: uuid.uuid4().hex)

    venue: so.Mapped[Venue] = so.relationship(back_populates="floors")
    zones: so.Mapped[list[Zone]] = so.relationship(back_populates="floor", order_by="Zone.id",
                                                   cascade="all, delete-orphan")
    terminals: so.Mapped[list[Terminal]] = so.relationship(
        back_populates="floor", order_by="Terminal.id", cascade="all, delete-orphan",
        primaryjoin="and_(Terminal.floor_id == Floor.id, Terminal.removed_at.is_(None))")


class Zone(db.Model):
    """A polygon on a floor: required coverage, private (no view may reach it), or general."""

    __table_args__ = (sa.UniqueConstraint("floor_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    floor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("floor.id", ondelete="CASCADE"), index=True)
    # The zone's stable feature id (the GeoJSON id): edits and re-imports update the zone with the same key.
    key: so.Mapped[str] = so.mapped_column(sa.String(100))
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    kind: so.Mapped[ZoneKind] = so.mapped_column(db_enum(ZoneKind))
    use: so.Mapped[str | None] = so.mapped_column(sa.String(50))
    k: so.Mapped[int] = so.mapped_column(default=1)
    tier: so.Mapped[Tier] = so.mapped_column(db_enum(Tier), default=Tier.OBSERVE)
    geometry: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)

    floor: so.Mapped[Floor] = so.relationship(back_populates="zones")


class CameraModel(db.Model):
    """A camera specification in the model library, kept apart from installed terminals."""

    __table_args__ = (sa.UniqueConstraint("organisation_id", "manufacturer", "model"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # NULL organisation = the shared library every organisation can read.
    organisation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("organisation.id"), index=True)
    manufacturer: so.Mapped[str] = so.mapped_column(sa.String(100))
    model: so.Mapped[str] = so.mapped_column(sa.String(100))
    hpx: so.Mapped[int] = so.mapped_column()
    hfov_min_deg: so.Mapped[float] = so.mapped_column()
    hfov_max_deg: so.Mapped[float] = so.mapped_column()
    ir_range_m: so.Mapped[float | None] = so.mapped_column()
    face_recognition: so.Mapped[bool] = so.mapped_column(default=False)

    @property
    def varifocal(self) -> bool:
        """Whether the lens zooms between two fields of view."""
        return self.hfov_max_deg > self.hfov_min_deg


class Terminal(db.Model):
    """An installed (or planned) data-collection terminal: camera, face terminal, reader."""

    __table_args__ = (
        sa.UniqueConstraint("venue_id", "serial"),
        sa.UniqueConstraint("floor_id", "code"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    floor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("floor.id", ondelete="CASCADE"), index=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(50))
    kind: so.Mapped[TerminalKind] = so.mapped_column(db_enum(TerminalKind))
    x: so.Mapped[float] = so.mapped_column()
    y: so.Mapped[float] = so.mapped_column()
    height_m: so.Mapped[float] = so.mapped_column(default=2.5)
    heading_deg: so.Mapped[float] = so.mapped_column(default=0.0)
    tilt_deg: so.Mapped[float] = so.mapped_column(default=0.0)
    hfov_deg: so.Mapped[float] = so.mapped_column(default=90.0)
    range_m: so.Mapped[float | None] = so.mapped_column()
    hpx: so.Mapped[int | None] = so.mapped_column()
    camera_model_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("camera_model.id"), index=True)
    face_recognition: so.Mapped[bool] = so.mapped_column(default=False)
    audio: so.Mapped[bool] = so.mapped_column(default=False)
    storage_location: so.Mapped[StorageLocation] = so.mapped_column(db_enum(StorageLocation),
                                                                    default=StorageLocation.LOCAL_SERVER)
    retention_days: so.Mapped[int | None] = so.mapped_column()
    purpose: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    signage_posted: so.Mapped[bool] = so.mapped_column(default=False)
    signage_type: so.Mapped[SignageType | None] = so.mapped_column(db_enum(SignageType))
    signage_x: so.Mapped[float | None] = so.mapped_column()
    signage_y: so.Mapped[float | None] = so.mapped_column()
    necessity_note: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    alternative_verification: so.Mapped[AlternativeVerification | None] = so.mapped_column(
        db_enum(AlternativeVerification))
    consent_mechanism: so.Mapped[ConsentMechanism | None] = so.mapped_column(db_enum(ConsentMechanism))
    enrolled_count: so.Mapped[int | None] = so.mapped_column()
    # Key of the zone on the same floor declared as the face-capture area (CN-06).
    capture_zone: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    serial: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    installed_on: so.Mapped[date | None] = so.mapped_column()
    status: so.Mapped[TerminalStatus] = so.mapped_column(db_enum(TerminalStatus), default=TerminalStatus.ACTIVE)
    locked: so.Mapped[Lock | None] = so.mapped_column(db_enum(Lock))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
    removed_at: so.Mapped[datetime | None] = so.mapped_column()

    floor: so.Mapped[Floor] = so.relationship(back_populates="terminals")
    venue: so.Mapped[Venue] = so.relationship()
    camera_model: so.Mapped[CameraModel | None] = so.relationship()
