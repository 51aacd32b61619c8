"""Field specifications shared by the HTML forms, the JSON API and CSV import, and their validator."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from inventory.choices import (
    N_,
    AlternativeVerification,
    Choice,
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
)
from planner.floor import MIN_HFOV_DEG, hfov_in_range, normalise_heading
from security import MAX_ID


class ValidationError(ValueError):
    """A value that fails its field's rule; names the field (and the CSV row when there is one)."""

    def __init__(self, field: str | None, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.row = row

    def as_dict(self) -> dict[str, Any]:
        """JSON body for API error responses."""
        body: dict[str, Any] = {"error": self.message, "field": self.field}
        if self.row is not None:
            body["row"] = self.row
        return body

    def __str__(self) -> str:
        where = _("row %(row)s, ", row=self.row) if self.row is not None else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"


@dataclass(frozen=True)
class Field:
    """One editable attribute: its type, whether it is required, and its allowed range."""

    name: str
    kind: str  # "str" | "int" | "float" | "bool" | "choice" | "date" | "angle" | "fov" | "district"
    required: bool = False
    choices: type[Choice] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 200
    label: str = ""
    default: Any = None

    @property
    def title(self) -> str:
        """Label shown in forms and table headers, in the request's language."""
        return _(self.label) if self.label else self.name.replace("_", " ").capitalize()


TRUE_WORDS = {"1", "true", "yes", "on", "y"}
FALSE_WORDS = {"0", "false", "no", "off", "n", ""}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _finite(number: float | int) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int beyond any float
        return False


def _number(field: Field, value: Any, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise ValidationError(field.name, _("must be a number, not true/false"))
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip()) if integer else float(value.strip())
        except ValueError:
            raise ValidationError(field.name, (_("'%(value)s' is not a whole number", value=value) if integer
                                   else _("'%(value)s' is not a number", value=value)))
    else:
        raise ValidationError(field.name, _("must be a number"))
    if not _finite(number):
        raise ValidationError(field.name, _("must be a finite number"))
    if integer and isinstance(number, float):
        if not number.is_integer():
            raise ValidationError(field.name, _("must be a whole number"))
        number = int(number)
    if integer and not -MAX_ID <= number <= MAX_ID:
        raise ValidationError(field.name, _("must lie within ±%(limit)s (a 32-bit integer)", limit=MAX_ID))
    if field.minimum is not None and number < field.minimum:
        raise ValidationError(field.name, _("must be at least %(minimum)s", minimum=format(field.minimum, "g")))
    if field.maximum is not None and number > field.maximum:
        raise ValidationError(field.name, _("must be at most %(maximum)s", maximum=format(field.maximum, "g")))
    return number


def clean_value(field: Field, value: Any) -> Any:
    """Convert one raw value (form string or JSON value) to its stored type, or raise ValidationError."""
    if _blank(value):
        if field.required:
            raise ValidationError(field.name, _("is required"))
        return False if field.kind == "bool" else field.default
    if field.kind == "str":
        if not isinstance(value, str):
            raise ValidationError(field.name, _("must be text"))
        value = value.strip()
        if "\x00" in value:
            raise ValidationError(field.name, _("must not contain a NUL character"))
        if len(value) > field.max_length:
            raise ValidationError(field.name, _("must be at most %(count)s characters", count=field.max_length))
        return value
    if field.kind == "int":
        return _number(field, value, integer=True)
    if field.kind == "float":
        return float(_number(field, value, integer=False))
    if field.kind == "angle":
        return normalise_heading(_number(field, value, integer=False))
    if field.kind == "fov":
        fov = float(_number(field, value, integer=False))
        if not hfov_in_range(fov):
            raise ValidationError(field.name, _("field of view must lie between %(low)s and 360 degrees",
                                                low=format(MIN_HFOV_DEG, "g")))
        return fov
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValidationError(field.name, _("'%(value)s' is not true or false", value=value))
    if field.kind == "choice":
        assert field.choices is not None
        if not isinstance(value, str) or value.strip() not in field.choices.values():
            allowed = ", ".join(field.choices.values())
            raise ValidationError(field.name, _("'%(value)s' is not one of: %(allowed)s", value=value, allowed=allowed))
        return field.choices(value.strip())
    if field.kind == "district":
        return _district(field, value)
    if field.kind == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(field.name, _("'%(value)s' is not a date (YYYY-MM-DD)", value=value))
    raise AssertionError(f"unknown field kind {field.kind}")


def _district(field: Field, value: Any) -> str:
    """A district of the managed list, by code, English or Chinese name in any case; its canonical name."""
    from accounts.districts import all_districts, lookup

    if not isinstance(value, str):
        raise ValidationError(field.name, _("must be text"))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError(field.name, _("must not contain control characters (such as NUL)"))
    if len(value) > field.max_length:
        raise ValidationError(field.name, _("must be at most %(count)s characters", count=field.max_length))
    district = lookup(value)
    if district is None:
        known = ", ".join(d.name for d in all_districts())
        raise ValidationError(field.name, _("'%(value)s' is not a district; choose one of: %(allowed)s",
                                            value=value.strip(), allowed=known))
    return district.name


def clean(fields: tuple[Field, ...], data: Mapping[str, Any], *, partial: bool = False,
          strict: bool = False) -> dict[str, Any]:
    """Validate a mapping against the fields; partial skips absent keys, strict rejects unknown keys."""
    if strict:
        known = {f.name for f in fields}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValidationError(unknown[0], _("is not a known field"))
    values: dict[str, Any] = {}
    for field in fields:
        if partial and field.name not in data:
            continue
        values[field.name] = clean_value(field, data.get(field.name))
    return values


VENUE_FIELDS = (
    Field("name", "str", required=True, max_length=200, label=N_("Name")),
    Field("type", "choice", required=True, choices=VenueType, label=N_("Type")),
    Field("district", "district", required=True, max_length=100, label=N_("District")),
    Field("address", "str", max_length=300, default="", label=N_("Address")),
    Field("compliance_profile", "choice", choices=ComplianceProfile, default=ComplianceProfile.CN,
          label=N_("Compliance profile")),
    Field("legal_entity", "str", max_length=200, label=N_("Legal entity (blank: the organisation's)")),
    Field("filing_status", "choice", choices=FilingStatus, default=FilingStatus.NOT_FILED,
          label=N_("CAC filing status")),
    Field("filing_date", "date", label=N_("CAC filing date")),
)

FLOOR_FIELDS = (
    Field("level", "int", required=True, minimum=-20, maximum=300, label=N_("Level")),
    Field("name", "str", required=True, max_length=100, label=N_("Name")),
)

CAMERA_MODEL_FIELDS = (
    Field("manufacturer", "str", required=True, max_length=100, label=N_("Manufacturer")),
    Field("model", "str", required=True, max_length=100, label=N_("Model")),
    Field("hpx", "int", required=True, minimum=160, maximum=20000, label=N_("Horizontal pixels")),
    Field("hfov_min_deg", "fov", required=True, label=N_("HFOV min (°)")),
    Field("hfov_max_deg", "fov", required=True, label=N_("HFOV max (°)")),
    Field("ir_range_m", "float", minimum=0, maximum=500, label=N_("IR range (m)")),
    Field("face_recognition", "bool", label=N_("Face recognition")),
)

TERMINAL_FIELDS = (
    Field("code", "str", required=True, max_length=50, label=N_("ID")),
    Field("kind", "choice", required=True, choices=TerminalKind, label=N_("Kind")),
    Field("x", "float", required=True, minimum=-1e5, maximum=1e5, label=N_("X (m)")),
    Field("y", "float", required=True, minimum=-1e5, maximum=1e5, label=N_("Y (m)")),
    Field("height_m", "float", minimum=0, maximum=100, default=2.5, label=N_("Mount height (m)")),
    Field("heading_deg", "angle", default=0.0, label=N_("Heading (°)")),
    Field("tilt_deg", "float", minimum=-90, maximum=90, default=0.0, label=N_("Tilt (°)")),
    Field("hfov_deg", "fov", default=90.0, label=N_("HFOV (°)")),
    Field("range_m", "float", minimum=0.1, maximum=1000, label=N_("Range (m)")),
    Field("hpx", "int", minimum=160, maximum=20000, label=N_("Horizontal pixels")),
    Field("camera_model_id", "int", minimum=1, label=N_("Camera model")),
    Field("face_recognition", "bool", label=N_("Face recognition")),
    Field("audio", "bool", label=N_("Audio")),
    Field("storage_location", "choice", choices=StorageLocation, default=StorageLocation.LOCAL_SERVER, label=N_("Storage location")),
    Field("retention_days", "int", minimum=0, maximum=36500, label=N_("Retention days")),
    Field("purpose", "str", max_length=200, default="", label=N_("Purpose")),
    Field("signage_posted", "bool", label=N_("Signage posted")),
    Field("serial", "str", max_length=100, label=N_("Serial")),
    Field("installed_on", "date", label=N_("Installed on")),
    Field("status", "choice", choices=TerminalStatus, default=TerminalStatus.ACTIVE, label=N_("Status")),
    Field("locked", "choice", choices=Lock, label=N_("Locked")),
    Field("signage_type", "choice", choices=SignageType, label=N_("Sign type")),
    Field("signage_x", "float", minimum=-1e5, maximum=1e5, label=N_("Sign X (m)")),
    Field("signage_y", "float", minimum=-1e5, maximum=1e5, label=N_("Sign Y (m)")),
    Field("necessity_note", "str", max_length=1000, default="", label=N_("Necessity note")),
    Field("alternative_verification", "choice", choices=AlternativeVerification,
          label=N_("Alternative to face verification")),
    Field("consent_mechanism", "choice", choices=ConsentMechanism, label=N_("Consent mechanism")),
    Field("enrolled_count", "int", minimum=0, maximum=100_000_000, label=N_("Enrolled persons")),
    Field("capture_zone", "str", max_length=100, label=N_("Declared capture zone (zone name or id)")),
)

ZONE_FIELDS = (
    Field("name", "str", required=True, max_length=100, label=N_("Name")),
    Field("kind", "choice", required=True, choices=ZoneKind, label=N_("Kind")),
    Field("use", "str", max_length=50, label=N_("Use")),
    Field("k", "int", minimum=1, maximum=10, default=1, label=N_("Cameras needed (k)")),
    Field("tier", "choice", choices=Tier, default=Tier.OBSERVE, label=N_("Tier")),
)


def field_names(fields: tuple[Field, ...]) -> list[str]:
    """Names of the fields in order (CSV header, API schema)."""
    return [f.name for f in fields]
