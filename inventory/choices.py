"""Choice enums for the inventory (NetBox-style ChoiceSets), with their display labels.

The floor-format enums (terminal kind, lock, zone kind, tier) are derived from planner.floor, which owns
the floor format: a value added there is a choice here.
"""

from __future__ import annotations

import enum

from flask_babel import gettext

from i18n import N_
from planner import floor as floor_format

# English labels of every choice value (the msgids of their translations); a value missing here is shown as
# its capitalised value, and tests/i18n fails until it is added.
LABELS: dict[str, str] = {
    # venue types
    "hotel": N_("Hotel"), "supermarket": N_("Supermarket"), "mall": N_("Mall"), "pool_fitness": N_("Pool fitness"),
    "public_restroom": N_("Public restroom"), "museum": N_("Museum"), "bank": N_("Bank"), "office": N_("Office"),
    "other": N_("Other"),
    # terminal statuses
    "active": N_("Active"), "planned_removal": N_("Planned removal"), "removed": N_("Removed"),
    "verified_removed": N_("Verified removed"),
    # storage locations
    "on_device": N_("On device"), "local_server": N_("Local server"), "cloud": N_("Cloud"), "vendor": N_("Vendor"),
    # terminal kinds
    "camera": N_("Camera"), "face_terminal": N_("Face terminal"), "access_reader": N_("Access reader"),
    # locks, decisions, work kinds
    "keep": N_("Keep"), "remove": N_("Remove"), "reaim": N_("Reaim"), "add": N_("Add"), "install": N_("Install"),
    # zone kinds and tiers
    "required": N_("Required"), "private": N_("Private"), "general": N_("General"),
    "detect": N_("Detect"), "observe": N_("Observe"), "recognise": N_("Recognise"), "identify": N_("Identify"),
    # plan states, reviews, plan modes
    "queued": N_("Queued"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed"),
    "cancelled": N_("Cancelled"), "accepted": N_("Accepted"), "rejected": N_("Rejected"),
    "reduce": N_("Reduce"), "design": N_("Design"),
    # roles
    "manager": N_("Facility manager"), "planner": N_("Planner"), "inspector": N_("Inspector"),
    "admin": N_("Administrator"),
    # compliance profiles, filing, signage, alternatives, consent
    "CN": N_("China (national and Shanghai)"), "EU": N_("European Union"), "UK": N_("United Kingdom"),
    "not_filed": N_("Not filed"), "filed": N_("Filed"), "deregistered": N_("Deregistered"),
    "warning_sign": N_("CCTV warning sign"), "face_notice": N_("Face-recognition notice"),
    "none": N_("None"), "card": N_("Card"), "qr_code": N_("QR code"), "pin": N_("PIN"),
    "id_document": N_("ID document"), "staff_check": N_("Staff check"),
    "implied": N_("Implied"), "bundled": N_("Bundled with terms"), "separate_opt_in": N_("Separate opt-in"),
    "written": N_("Written"), "legal_basis": N_("Required by law (no consent)"),
}

# Room uses (compliance/data/room_uses.json) as shown to people.
USE_LABELS: dict[str, str] = {
    "toilet": N_("Toilet"), "shower": N_("Shower"), "changing_room": N_("Changing room"),
    "guest_room": N_("Guest room"), "fitting_room": N_("Fitting room"), "nursing_room": N_("Nursing room"),
    "dorm_room": N_("Dorm room"), "staff_rest_room": N_("Staff rest room"),
}


# Audit actions as shown in histories.
ACTION_LABELS: dict[str, str] = {
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
    "sign_in": N_("signed in"), "sign_in_failed": N_("sign-in failed"), "sign_out": N_("signed out"),
    "token_issue": N_("token issued"), "token_revoke": N_("token revoked"),
    "run": N_("optimizer run"), "cancel": N_("run cancelled"), "approve": N_("approved"), "supersede": N_("superseded"),
    "work_done": N_("work done"), "password_change": N_("password changed"), "password_reset": N_("password reset"),
    "deactivate": N_("deactivated"), "reactivate": N_("reactivated"), "accept": N_("accepted"),
}


def action_label(action: str | None) -> str:
    """The translated label of an audit action, e.g. "work_done" -> "work done"."""
    if not action:
        return ""
    return gettext(ACTION_LABELS[action]) if action in ACTION_LABELS else action.replace("_", " ")


def label_of(value: str | None) -> str:
    """The translated label of a stored choice value (or role), e.g. "face_terminal" -> "Face terminal"."""
    if not value:
        return ""
    value = str(value)
    return gettext(LABELS[value]) if value in LABELS else value.replace("_", " ").capitalize()


def use_label(use: str | None) -> str:
    """The translated label of a room use, e.g. "changing_room" -> "Changing room"; other uses as written."""
    if not use:
        return ""
    return gettext(USE_LABELS[use]) if use in USE_LABELS else use.replace("_", " ")


class Choice(enum.StrEnum):
    """A string enum whose members carry a human label."""

    @property
    def label(self) -> str:
        """Human-readable label of the member, in the request's language."""
        return label_of(self.value)

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
