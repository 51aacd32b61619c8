"""Choice enums for the inventory (NetBox-style ChoiceSets), with their display labels."""

from __future__ import annotations

import enum


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


class TerminalKind(Choice):
    CAMERA = "camera"
    FACE_TERMINAL = "face_terminal"
    ACCESS_READER = "access_reader"
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


class Lock(Choice):
    KEEP = "keep"
    REMOVE = "remove"


class ZoneKind(Choice):
    REQUIRED = "required"
    PRIVATE = "private"
    GENERAL = "general"


class Tier(Choice):
    DETECT = "detect"
    OBSERVE = "observe"
    RECOGNISE = "recognise"
    IDENTIFY = "identify"


def db_enum(choice: type[Choice]):
    """A portable VARCHAR-backed SQLAlchemy Enum storing the member values."""
    import sqlalchemy as sa

    return sa.Enum(choice, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                   validate_strings=True)
