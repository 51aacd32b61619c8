"""Inventory services shared by the pages, the JSON API and the CLI; they never read the request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, defer, selectinload

from accounts.access import INVENTORY_EDITORS, can_edit_inventory, scope_filter
from accounts.districts import DistrictMove
from accounts.models import Role, User, utcnow
from extensions import db
from inventory import floorio
from inventory.choices import TerminalKind, TerminalStatus
from inventory.errors import Forbidden, NotFound
from inventory.fields import (
    CAMERA_MODEL_FIELDS,
    FLOOR_FIELDS,
    TERMINAL_FIELDS,
    VENUE_FIELDS,
    ValidationError,
    clean,
    clean_value,
)
from inventory.models import CameraModel, Floor, Terminal, Venue, Zone
from security import contains_pattern

M = TypeVar("M")


# ---------------------------------------------------------------- reading


def venue_filter(user: User) -> sa.ColumnElement[bool]:
    """SQL condition selecting the venues the user may see."""
    return scope_filter(user, Venue.organisation_id, Venue.district)


def venues_query(user: User) -> sa.Select[tuple[Venue]]:
    """Select the venues visible to the user (removed ones are listed no more)."""
    return sa.select(Venue).where(venue_filter(user), Venue.removed_at.is_(None)).order_by(Venue.name, Venue.id)


# A large floor's structure is hundreds of kB of JSON (the load test's: 170 kB): loaded when read, not with every
# row (the venue list and most floor requests never read it; the floor caches are keyed by version).
_NO_STRUCTURE = defer(Floor.structure)


def list_venues(user: User) -> list[Venue]:
    """Venues visible to the user (their floors loaded with them)."""
    return list(db.session.scalars(venues_query(user).options(selectinload(Venue.floors).options(_NO_STRUCTURE))))


def get_venue(user: User, venue_id: int, *, with_floors: bool = False) -> Venue:
    """A visible venue, or NotFound; `with_floors` loads its floors with it (without their structure)."""
    query = sa.select(Venue).where(Venue.id == venue_id, venue_filter(user), Venue.removed_at.is_(None))
    if with_floors:
        query = query.options(selectinload(Venue.floors).options(_NO_STRUCTURE))
    venue = db.session.scalar(query)
    if venue is None:
        raise NotFound(f"venue {venue_id}")
    return venue


def get_floor(user: User, floor_id: int) -> Floor:
    """A floor of a visible venue, or NotFound."""
    # The venue from the join too: every caller reads it (access checks), which was a statement more.
    floor = db.session.scalar(sa.select(Floor).join(Venue).options(_NO_STRUCTURE, contains_eager(Floor.venue)).where(
        Floor.id == floor_id, venue_filter(user), Floor.removed_at.is_(None), Venue.removed_at.is_(None)))
    if floor is None:
        raise NotFound(f"floor {floor_id}")
    return floor


def get_terminal(user: User, terminal_id: int) -> Terminal:
    """A terminal of a visible venue, or NotFound."""
    # Its floor and venue come from the join, the floor without the structure (a save of a terminal of the load floor read 170 kB of
    # JSON through the lazy `terminal.floor`; what needs the structure loads it when it reads it).
    terminal = db.session.scalar(
        sa.select(Terminal).join(Venue, Terminal.venue_id == Venue.id).join(Floor, Terminal.floor_id == Floor.id)
        .options(contains_eager(Terminal.floor).defer(Floor.structure), contains_eager(Terminal.venue))
        .where(Terminal.id == terminal_id, venue_filter(user), Terminal.removed_at.is_(None),
               Floor.removed_at.is_(None), Venue.removed_at.is_(None)))
    if terminal is None:
        raise NotFound(f"terminal {terminal_id}")
    return terminal


def camera_models_query(user: User) -> sa.Select[tuple[CameraModel]]:
    """Camera models the user may read: the shared library plus their organisations' own."""
    condition = CameraModel.organisation_id.is_(None)
    if user.role == Role.ADMIN:
        condition = sa.true()
    else:
        org_ids = _readable_organisation_ids(user)
        if org_ids:
            condition = condition | CameraModel.organisation_id.in_(org_ids)
    return sa.select(CameraModel).where(condition).order_by(CameraModel.manufacturer, CameraModel.model)


def _readable_organisation_ids(user: User) -> list[int]:
    """Organisations owning at least one venue the user can see, plus the user's own."""
    ids = set(db.session.scalars(sa.select(Venue.organisation_id).where(venue_filter(user)).distinct()))
    if user.organisation_id:
        ids.add(user.organisation_id)
    ids.update(org.id for org in user.planned_organisations)
    return sorted(ids)


def list_camera_models(user: User) -> list[CameraModel]:
    """Camera models visible to the user."""
    return list(db.session.scalars(camera_models_query(user)))


def get_camera_model(user: User, model_id: int) -> CameraModel:
    """A visible camera model, or NotFound."""
    model = db.session.scalar(camera_models_query(user).where(CameraModel.id == model_id))
    if model is None:
        raise NotFound(f"camera model {model_id}")
    return model


def terminal_counts(terminals: list[Terminal]) -> dict[str, Any]:
    """Counts of terminals by kind and by status, and face-recognition terminals still in service."""
    return _counts([(t.kind, t.status, bool(t.face_recognition), 1) for t in terminals])


def floor_terminal_counts(floor_ids: list[int]) -> dict[int, dict[str, Any]]:
    """terminal_counts of the terminals of each floor (not deleted), from one grouped query, not the rows."""
    rows: dict[int, list[tuple[Any, Any, bool, int]]] = {floor_id: [] for floor_id in floor_ids}
    if floor_ids:
        query = (sa.select(Terminal.floor_id, Terminal.kind, Terminal.status, Terminal.face_recognition, sa.func.count())
                 .where(Terminal.floor_id.in_(floor_ids), Terminal.removed_at.is_(None))
                 .group_by(Terminal.floor_id, Terminal.kind, Terminal.status, Terminal.face_recognition))
        for floor_id, kind, status, face, n in db.session.execute(query):
            rows[floor_id].append((kind, status, bool(face), n))
    return {floor_id: _counts(found) for floor_id, found in rows.items()}


def floor_zone_counts(floor_ids: list[int]) -> dict[int, int]:
    """How many zones each floor has, from one grouped query (not the zones' geometry)."""
    counts = dict.fromkeys(floor_ids, 0)
    if floor_ids:
        query = (sa.select(Zone.floor_id, sa.func.count()).where(Zone.floor_id.in_(floor_ids))
                 .group_by(Zone.floor_id))
        counts.update({floor_id: n for floor_id, n in db.session.execute(query)})
    return counts


def combined_counts(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several terminal_counts (a venue's, from its floors')."""
    total: dict[str, Any] = _counts([])
    for c in counts:
        total["in_service"] += c["in_service"]
        total["face_recognition"] += c["face_recognition"]
        for group in ("by_kind", "by_status"):
            for key, n in c[group].items():
                total[group][key] += n
    return total


def _counts(rows: list[tuple[Any, Any, bool, int]]) -> dict[str, Any]:
    """terminal_counts from (kind, status, face recognition, how many) groups."""
    by_kind: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    face = 0
    for kind, status, face_recognition, n in rows:
        by_status[status.value] += n
        if status in _IN_SERVICE:
            by_kind[kind.value] += n
            face += n if face_recognition else 0
    return {
        "in_service": sum(by_kind.values()),
        "by_kind": {kind.value: by_kind.get(kind.value, 0) for kind in TerminalKind},
        "by_status": {status.value: by_status.get(status.value, 0) for status in TerminalStatus},
        "face_recognition": face,
    }


# Every mapped column of a terminal, named as its attribute: a plain row of these reads as the terminal does.
TERMINAL_COLUMNS = tuple(getattr(Terminal, attr.key) for attr in sa.inspect(Terminal).column_attrs)

_IN_SERVICE = (TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL)

TERMINAL_SORTS = {"code", "kind", "status", "x", "y", "heading_deg", "hfov_deg", "serial", "installed_on"}


def list_terminals(user: User, floor: Floor, *, kind: str | None = None, status: str | None = None,
                   search: str | None = None, sort: str = "code", descending: bool = False) -> list[Terminal]:
    """Terminals of a floor, filtered and sorted for the inline-edited table."""
    return list(db.session.scalars(_terminal_query(floor, kind, status, search, sort, descending)))


def terminal_field_rows(user: User, floor: Floor, *, sort: str = "code") -> list[sa.Row[Any]]:
    """Every terminal of the floor as a plain row of its TERMINAL_FIELDS values in their order (what an export
    writes), sorted as list_terminals sorts: rows, not ORM objects, which cost most of a 500-terminal export."""
    columns = [getattr(Terminal, spec.name) for spec in TERMINAL_FIELDS]
    return list(db.session.execute(_terminal_query(floor, None, None, None, sort, False).with_only_columns(*columns)))


def terminal_page(user: User, floor: Floor, page: int, per_page: int, *, kind: str | None = None,
                  status: str | None = None, search: str | None = None, sort: str = "code",
                  descending: bool = False) -> tuple[list[sa.Row[Any]], int, int]:
    """A page of the floor's filtered, sorted terminals as plain rows of every column, by attribute name (a page
    past the end is the last), the page number shown and how many terminals match in all. Rows, not ORM objects:
    the table's rows are rendered once per content (inventory.views.terminal_rows), and loading 100 objects was
    most of what a cached page cost."""
    query = _terminal_query(floor, kind, status, search, sort, descending)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, -(-total // per_page)))
    query = query.with_only_columns(*TERMINAL_COLUMNS).limit(per_page).offset((page - 1) * per_page)
    return list(db.session.execute(query)), page, total


def _terminal_query(floor: Floor, kind: str | None, status: str | None, search: str | None, sort: str,
                    descending: bool) -> sa.Select[tuple[Terminal]]:
    query = sa.select(Terminal).where(Terminal.floor_id == floor.id, Terminal.removed_at.is_(None))
    if kind:
        query = query.where(Terminal.kind == TerminalKind(kind))
    if status:
        query = query.where(Terminal.status == TerminalStatus(status))
    pattern = contains_pattern(search or "")
    if pattern != "%%":
        query = query.where(sa.or_(Terminal.code.ilike(pattern, escape="\\"),
                                   Terminal.serial.ilike(pattern, escape="\\"),
                                   Terminal.purpose.ilike(pattern, escape="\\")))
    column = getattr(Terminal, sort if sort in TERMINAL_SORTS else "code")
    return query.order_by(column.desc() if descending else column.asc(), Terminal.id)


# ---------------------------------------------------------------- writing


def _require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden(_("your role may not change this"))


def _apply(obj: M, values: Mapping[str, Any]) -> M:
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def _save(obj: Any) -> Any:
    """Flush so constraint errors surface now; the caller's request commits or rolls back."""
    db.session.add(obj)
    db.session.flush()
    return obj


def create_venue(user: User, data: Mapping[str, Any], organisation_id: int | None = None) -> Venue:
    """Create a venue in the user's organisation (admins name the organisation)."""
    _require(user.role in INVENTORY_EDITORS)  # the role first: a refused user learns nothing from the body
    values = clean(VENUE_FIELDS, data)
    organisation_id = organisation_id or user.organisation_id
    if organisation_id is None:
        raise ValidationError("organisation_id", _("is required"))
    _require(can_edit_inventory(user, organisation_id))
    return _save(_apply(Venue(organisation_id=organisation_id), values))


def update_venue(user: User, venue: Venue, data: Mapping[str, Any]) -> Venue:
    """Change some of a venue's fields."""
    _require(can_edit_inventory(user, venue.organisation_id))
    values = clean(VENUE_FIELDS, data, partial=True)
    if "district" in values and values["district"] != venue.district:
        # The audit event records the change; the move record keeps the venue in view of the old district.
        db.session.add(DistrictMove(venue_id=venue.id, organisation_id=venue.organisation_id, venue_name=venue.name,
                                    from_district=venue.district, to_district=values["district"], user_id=user.id))
    return _save(_apply(venue, values))


def delete_object(user: User, obj: Venue | Floor | Terminal) -> str:
    """Delete an inventory object the user may change (zones go through the floor's geometry saves).

    A record that a standing finding, an approved plan or an inspection refers to is kept and marked removed
    (removed_at): lists and pages no longer show it, and the references still resolve. Returns "removed" or
    "deleted".
    """
    organisation_id = obj.organisation_id if isinstance(obj, Venue) else obj.venue.organisation_id
    _require(can_edit_inventory(user, organisation_id))
    if is_referenced(obj):
        obj.removed_at = utcnow()
        db.session.flush()
        return "removed"
    db.session.delete(obj)
    db.session.flush()
    return "deleted"


# Checks, registered by the areas that refer to inventory records (see records/), of whether something still
# refers to a venue, floor or terminal; inventory itself knows none of them.
_REFERENCE_CHECKS: list[Callable[[Venue | Floor | Terminal], bool]] = []


def register_reference_check(check: Callable[[Venue | Floor | Terminal], bool]) -> None:
    """Add a check that says whether something refers to an inventory record (kept removed, not deleted)."""
    if check not in _REFERENCE_CHECKS:
        _REFERENCE_CHECKS.append(check)


def is_referenced(obj: Venue | Floor | Terminal) -> bool:
    """Whether a registered check finds a reference to the record (or, for a venue or floor, to its contents)."""
    return any(check(obj) for check in _REFERENCE_CHECKS)


def create_floor(user: User, venue: Venue, data: Mapping[str, Any]) -> Floor:
    """Add a floor to a venue."""
    _require(can_edit_inventory(user, venue.organisation_id))
    values = clean(FLOOR_FIELDS, data)
    _check_unique_level(venue, values["level"], None)
    return _save(_apply(Floor(venue=venue, structure=[]), values))


def update_floor(user: User, floor: Floor, data: Mapping[str, Any]) -> Floor:
    """Change a floor's level or name."""
    _require(can_edit_inventory(user, floor.venue.organisation_id))
    values = clean(FLOOR_FIELDS, data, partial=True)
    if "level" in values:
        _check_unique_level(floor.venue, values["level"], floor.id)
    return _save(_apply(floor, values))


def _check_unique_level(venue: Venue, level: int, floor_id: int | None) -> None:
    clash = db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue.id, Floor.level == level,
                                                        Floor.removed_at.is_(None)))
    if clash is not None and clash != floor_id:
        raise ValidationError("level", _("level %(level)s already exists in this venue", level=level))


def _check_terminal(user: User, floor: Floor, values: dict[str, Any], terminal: Terminal | None) -> None:
    """Cross-field rules: inside the outline, serial unique in the venue, code unique on the floor, a visible model."""
    terminal_id = terminal.id if terminal is not None else None
    if "x" in values or "y" in values:
        x = values.get("x", terminal.x if terminal is not None else None)
        y = values.get("y", terminal.y if terminal is not None else None)
        if x is not None and y is not None:
            floorio.check_placement(floor, x, y)
    if values.get("serial"):
        clash = db.session.scalar(sa.select(Terminal.id).where(Terminal.venue_id == floor.venue_id,
                                                               Terminal.serial == values["serial"]))
        if clash is not None and clash != terminal_id:
            raise ValidationError("serial", _("serial '%(serial)s' is already used in this venue", serial=values["serial"]))
    if values.get("code"):
        clash = db.session.execute(sa.select(Terminal.id, Terminal.removed_at).where(
            Terminal.floor_id == floor.id, Terminal.code == values["code"])).first()
        if clash is not None and clash.id != terminal_id:
            if clash.removed_at is not None:
                raise ValidationError("code", _("ID '%(code)s' belongs to a removed terminal that findings, plans or inspections "
                                        "still refer to; choose another ID", code=values["code"]))
            raise ValidationError("code", _("ID '%(code)s' is already used on this floor", code=values["code"]))
    check_compliance_fields(floor, values, terminal)
    if values.get("camera_model_id") is not None:
        try:
            get_camera_model(user, values["camera_model_id"])
        except NotFound:
            raise ValidationError("camera_model_id", _("no such camera model"))


def check_compliance_fields(floor: Floor, values: Mapping[str, Any], terminal: Terminal | None) -> None:
    """Cross-field rules of the compliance fields: a sign has both coordinates on the floor; the capture zone exists."""
    def current(name: str) -> Any:
        return values[name] if name in values else (getattr(terminal, name) if terminal is not None else None)

    if "signage_x" in values or "signage_y" in values:
        sx, sy = current("signage_x"), current("signage_y")
        if (sx is None) != (sy is None):
            raise ValidationError("signage_y" if sy is None else "signage_x",
                                  "a sign position needs both X and Y (or neither)")
        if sx is not None:
            try:
                floorio.check_placement(floor, sx, sy)
            except ValidationError as error:
                raise ValidationError("signage_x", f"sign {error.message}") from None
    if values.get("capture_zone"):
        keys = {z.key for z in floor.zones}
        by_name = {z.name: z.key for z in floor.zones}
        wanted = values["capture_zone"]
        if wanted not in keys and wanted not in by_name:
            raise ValidationError("capture_zone", _("no zone with id or name '%(zone)s' on this floor", zone=wanted))
        if isinstance(values, dict) and wanted not in keys:
            values["capture_zone"] = by_name[wanted]  # stored by the zone's stable id, so a rename keeps it


def create_terminal(user: User, floor: Floor, data: Mapping[str, Any]) -> Terminal:
    """Record a terminal on a floor."""
    _require(can_edit_inventory(user, floor.venue.organisation_id))
    values = clean(TERMINAL_FIELDS, data)
    _check_terminal(user, floor, values, None)
    return _save(_apply(Terminal(floor=floor, venue_id=floor.venue_id), values))


def update_terminal(user: User, terminal: Terminal, data: Mapping[str, Any]) -> Terminal:
    """Change some of a terminal's fields."""
    _require(can_edit_inventory(user, terminal.venue.organisation_id))
    values = clean(TERMINAL_FIELDS, data, partial=True)
    _check_terminal(user, terminal.floor, values, terminal)
    return _save(_apply(terminal, values))


def set_planned_removal(terminal: Terminal, planned: bool) -> None:
    """Lifecycle step of an approved plan: active <-> planned removal (the plan service checks the approver)."""
    if planned and terminal.status == TerminalStatus.ACTIVE:
        terminal.status = TerminalStatus.PLANNED_REMOVAL
    elif not planned and terminal.status == TerminalStatus.PLANNED_REMOVAL:
        terminal.status = TerminalStatus.ACTIVE
    db.session.flush()


def create_camera_model(user: User, data: Mapping[str, Any], organisation_id: int | None = None) -> CameraModel:
    """Add a camera model to the organisation's library (admins may add to the shared one)."""
    _require(user.role in INVENTORY_EDITORS)
    values = clean(CAMERA_MODEL_FIELDS, data)
    _check_fov_range(values)
    if user.role != Role.ADMIN:
        organisation_id = user.organisation_id
        _require(organisation_id is not None and can_edit_inventory(user, organisation_id))
    return _save(_apply(CameraModel(organisation_id=organisation_id), values))


def update_camera_model(user: User, model: CameraModel, data: Mapping[str, Any]) -> CameraModel:
    """Change a camera model the user's organisation owns."""
    _require_model_owner(user, model)
    values = clean(CAMERA_MODEL_FIELDS, data, partial=True)
    merged = {"hfov_min_deg": model.hfov_min_deg, "hfov_max_deg": model.hfov_max_deg, **values}
    _check_fov_range(merged)
    return _save(_apply(model, values))


def delete_camera_model(user: User, model: CameraModel) -> None:
    """Delete a camera model no terminal uses."""
    _require_model_owner(user, model)
    in_use = db.session.scalar(sa.select(sa.func.count()).where(Terminal.camera_model_id == model.id,
                                                                Terminal.removed_at.is_(None)))
    if in_use:
        raise ValidationError("id", _("%(count)s terminal(s) still use this model", count=in_use))
    kept = db.session.scalar(sa.select(sa.func.count()).where(Terminal.camera_model_id == model.id))
    if kept:
        raise ValidationError("id", _("%(count)s removed terminal(s) that findings, plans or inspections refer to "
                                "still use this model", count=kept))
    db.session.delete(model)
    db.session.flush()


def can_edit_camera_model(user: User, model: CameraModel) -> bool:
    """Admins change any camera model (the shared library too); editors only their organisation's own."""
    if user.role == Role.ADMIN:
        return True
    return model.organisation_id is not None and can_edit_inventory(user, model.organisation_id)


def _require_model_owner(user: User, model: CameraModel) -> None:
    _require(can_edit_camera_model(user, model))


def _check_fov_range(values: Mapping[str, Any]) -> None:
    if values["hfov_min_deg"] > values["hfov_max_deg"]:
        raise ValidationError("hfov_min_deg", _("must not exceed the maximum field of view"))


# ---------------------------------------------------------------- bulk terminal import (CSV)


class TerminalImportRow:
    """What importing one validated row does: create, update (with the changed fields) or nothing."""

    def __init__(self, row: int, code: str, values: dict[str, Any], terminal: Terminal | None) -> None:
        self.row = row
        self.code = code
        self.values = values
        self.terminal = terminal
        self.errors: list[ValidationError] = []
        self.changes: dict[str, tuple[Any, Any]] = {}
        if terminal is None:
            self.action = "create"
        else:
            self.changes = {name: (getattr(terminal, name), value) for name, value in values.items()
                            if getattr(terminal, name) != value}
            self.action = "update" if self.changes else "unchanged"


def plan_terminal_import(user: User, floor: Floor, rows: list[tuple[int, dict[str, Any]]]) -> list[TerminalImportRow]:
    """Match cleaned CSV rows to the floor's terminals by code and check serials against the whole venue."""
    _require(can_edit_inventory(user, floor.venue.organisation_id))
    existing = {t.code: t for t in db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor.id))}
    plan = [TerminalImportRow(number, values["code"], values, existing.get(values["code"]))
            for number, values in rows]
    # Serials must be unique in the venue after the import: rows updated here give up their old serial.
    updated_ids = {item.terminal.id for item in plan if item.terminal is not None}
    holders = db.session.execute(
        sa.select(Terminal.id, Terminal.serial, Terminal.code, Floor.name).join(Floor, Terminal.floor_id == Floor.id)
        .where(Terminal.venue_id == floor.venue_id, Terminal.serial.is_not(None)))
    kept = {serial: (code, floor_name) for terminal_id, serial, code, floor_name in holders
            if terminal_id not in updated_ids}
    for item in plan:
        x = item.values.get("x", item.terminal.x if item.terminal is not None else None)
        y = item.values.get("y", item.terminal.y if item.terminal is not None else None)
        if x is not None and y is not None:
            try:
                floorio.check_placement(floor, x, y)
            except ValidationError as error:
                item.errors.append(ValidationError(error.field, error.message, row=item.row))
        try:
            check_compliance_fields(floor, item.values, item.terminal)
        except ValidationError as error:
            item.errors.append(ValidationError(error.field, error.message, row=item.row))
        serial = item.values.get("serial")
        if serial and serial in kept:
            code, floor_name = kept[serial]
            item.errors.append(ValidationError(
                "serial", f"serial '{serial}' is already used in this venue by {code} ({floor_name})", row=item.row))
    return plan


def apply_terminal_import(user: User, floor: Floor, plan: list[TerminalImportRow]) -> dict[str, int]:
    """Write a checked import plan in the caller's transaction; unchanged rows are not touched."""
    _require(can_edit_inventory(user, floor.venue.organisation_id))
    if any(item.errors for item in plan):
        raise ValidationError(None, _("the import has errors; nothing was written"))
    updates = [item for item in plan if item.action == "update"]
    # A serial moving to another row of this import would clash mid-flush: free the old holders first.
    incoming = {item.values["serial"] for item in plan if item.values.get("serial")
                and (item.action == "create" or "serial" in item.changes)}
    movers = [item.terminal for item in updates
              if item.terminal is not None and "serial" in item.changes and item.terminal.serial in incoming]
    if movers:
        for terminal in movers:
            terminal.serial = None
        db.session.flush()
    for item in updates:
        _apply(item.terminal, {name: new for name, (_old, new) in item.changes.items()})
    for item in plan:
        if item.action == "create":
            values = {f.name: item.values[f.name] if f.name in item.values else clean_value(f, None)
                      for f in TERMINAL_FIELDS}
            db.session.add(_apply(Terminal(floor=floor, venue_id=floor.venue_id), values))
    db.session.flush()
    counts = Counter(item.action for item in plan)
    return {"created": counts["create"], "updated": counts["update"], "unchanged": counts["unchanged"]}
