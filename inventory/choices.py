"""Choice enums for the inventory (NetBox-style ChoiceSets), with their display labels.

The floor-format enums (terminal kind, lock, zone kind, tier) are derived from planner.floor, which owns
the floor format: a value added there is a choice here.
"""

from __future__ import annotations

import enum

from planner import floor as floor_format


class Choice(enum.StrEnum):
    """A string enum whose members carry a human label."""

    @property
    def label(self) -> str:
        """Human-readable label of the member."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def values(cls) -> list[str]:
        """All stored values, in declaration order."""
        return [member.value for member in cls]


class VenueType(Choice):
    HOTEL = "hotel"
    SUPERMARKET = "supermarket"
    MALL = "mall"
    POOL_FITNESS = "pool_fitness"
    PUBLIC_RESTROOM = "public_restroom"
    MUSEUM = "museum"
    BANK = "bank"
    OFFICE = "office"
    OTHER = "other"


class TerminalStatus(Choice):
    ACTIVE = "active"
    PLANNED_REMOVAL = "planned_removal"
    REMOVED = "removed"
    VERIFIED_REMOVED = "verified_removed"


class StorageLocation(Choice):
    ON_DEVICE = "on_device"
    LOCAL_SERVER = "local_server"
    CLOUD = "cloud"
    VENDOR = "vendor"


class ComplianceProfile(Choice):
    """Which rows of the rules table apply to a venue (compliance.rules.PROFILES; a test keeps them equal)."""

    CN = "CN"
    EU = "EU"
    UK = "UK"

    @property
    def label(self) -> str:
        """Human-readable label of the member."""
        return {"CN": "China (national and Shanghai)", "EU": "European Union", "UK": "United Kingdom"}[self.value]


class FilingStatus(Choice):
    NOT_FILED = "not_filed"
    FILED = "filed"
    DEREGISTERED = "deregistered"


class SignageType(Choice):
    WARNING_SIGN = "warning_sign"  # a CCTV warning sign
    FACE_NOTICE = "face_notice"  # a face-recognition notice: processor, purpose, retention, rights


class AlternativeVerification(Choice):
    NONE = "none"
    CARD = "card"
    QR_CODE = "qr_code"
    PIN = "pin"
    ID_DOCUMENT = "id_document"
    STAFF_CHECK = "staff_check"


class ConsentMechanism(Choice):
    NONE = "none"
    IMPLIED = "implied"
    BUNDLED = "bundled"
    SEPARATE_OPT_IN = "separate_opt_in"
    WRITTEN = "written"
    LEGAL_BASIS = "legal_basis"  # no consent needed: a law requires the processing


def _derived(name: str, values: tuple[str, ...]) -> type[Choice]:
    """A Choice enum whose members are the format's values (member name = value upper-cased)."""
    return Choice(name, [(value.upper(), value) for value in values], module=__name__)  # type: ignore[return-value]


TerminalKind = _derived("TerminalKind", floor_format.TERMINAL_TYPES)
Lock = _derived("Lock", floor_format.LOCKS)
ZoneKind = _derived("ZoneKind", floor_format.ZONE_KINDS)
Tier = _derived("Tier", floor_format.TIERS)


def db_enum(choice: type[Choice]):
    """A portable VARCHAR-backed SQLAlchemy Enum storing the member values."""
    import sqlalchemy as sa

    return sa.Enum(choice, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                   validate_strings=True)
