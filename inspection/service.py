"""Inspection services: the risk-sorted venue list, checklists, on-site answers, evidence, sign-off.

Views, jobs and the CLI call these; they never read the request. Every change checks the user and refuses
edits to a signed-off inspection with a Conflict naming the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _
from sqlalchemy import event

from accounts.models import Role, User, utcnow
from audit.chain import canonical
from audit.models import AuditEvent
from compliance.models import Finding
from extensions import db
from i18n import when
from inspection import evidence as photos
from inspection.chain import seal
from inspection.models import Evidence, Expected, Found, Inspection, InspectionItem, InspectionStatus
from inventory.choices import TerminalKind, TerminalStatus
from inventory.errors import Forbidden, NotFound
from inventory.fields import Field, ValidationError, clean
from inventory.floorio import IN_SERVICE, check_placement
from inventory.models import Floor, Terminal, Venue
from inventory.services import venue_filter
from plans.models import Decision, Plan
from plans.service import totals

PAGE_SIZE = 50


class Conflict(Exception):
    """The change is not allowed in the inspection's current state (answers 409 with the reason)."""


# ---------------------------------------------------------------- reading


def last_inspection_at(venue_ids: Iterable[int]) -> dict[int, datetime]:
    """When each venue's most recent signed-off inspection was signed off; venues never inspected are absent."""
    ids = list(venue_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Inspection.venue_id, sa.func.max(Inspection.signed_off_at))
        .where(Inspection.venue_id.in_(ids), Inspection.status == InspectionStatus.SIGNED_OFF)
        .group_by(Inspection.venue_id))
    return {venue_id: at for venue_id, at in rows if at is not None}


def _visible(user: User) -> sa.ColumnElement[bool]:
    """Inspections the user may see: inspectors and admins every one in scope, others only signed-off ones."""
    condition = venue_filter(user)
    if user.role not in (Role.INSPECTOR, Role.ADMIN):
        condition = condition & (Inspection.status == InspectionStatus.SIGNED_OFF)
    return condition


def get_inspection(user: User, inspection_id: int) -> Inspection:
    """A visible inspection, or NotFound (other organisations' and other districts' are never visible)."""
    inspection = db.session.scalar(sa.select(Inspection).join(Venue, Inspection.venue_id == Venue.id)
                                   .where(Inspection.id == inspection_id, _visible(user)))
    if inspection is None:
        raise NotFound(f"inspection {inspection_id}")
    return inspection


def venue_inspections(user: User, venue: Venue) -> list[Inspection]:
    """A venue's inspections the user may see, newest first."""
    return list(db.session.scalars(sa.select(Inspection).join(Venue, Inspection.venue_id == Venue.id)
                                   .where(Inspection.venue_id == venue.id, _visible(user))
                                   .order_by(Inspection.id.desc())))


def signed_off_inspections(user: User, limit: int = 200) -> list[Inspection]:
    """The signed-off inspections the user may read (managers: their organisation's), newest first."""
    return list(db.session.scalars(sa.select(Inspection).join(Venue, Inspection.venue_id == Venue.id)
                                   .where(_visible(user), Inspection.status == InspectionStatus.SIGNED_OFF)
                                   .order_by(Inspection.signed_off_at.desc()).limit(limit)))


def plans_in_force(venue: Venue) -> list[Plan]:
    """The approved plan in force on each of the venue's floors, by floor level."""
    return list(db.session.scalars(sa.select(Plan).join(Floor, Plan.floor_id == Floor.id)
                                   .where(Floor.venue_id == venue.id, Plan.in_force_floor_id.is_not(None))
                                   .order_by(Floor.level)))


def open_floors(venue: Venue) -> list[Floor]:
    """The venue's floors still in the inventory (a removed floor has nothing left to inspect)."""
    return [floor for floor in venue.floors if floor.removed_at is None]


def inspection_floors(inspection: Inspection) -> list[Floor]:
    """The floors an inspection covers: those its checklist refers to, and any still in the inventory."""
    used = {item.floor_id for item in inspection.items}
    return [floor for floor in inspection.venue.floors if floor.removed_at is None or floor.id in used]


def _kind_of(kind: str, face: bool) -> str:
    """The count bucket of a terminal: camera, face (any face recognition) or other."""
    if face or kind == TerminalKind.FACE_TERMINAL.value:
        return "face"
    return "cameras" if kind == TerminalKind.CAMERA.value else "other"


def _empty_counts() -> dict[str, int]:
    return {"cameras": 0, "face": 0, "other": 0, "total": 0}


def declared_counts(venue: Venue, plans: list[Plan] | None = None) -> dict[str, Any]:
    """Counts the venue declares before and after: from each floor's approved plan, else its inventory as it is."""
    plans = plans_in_force(venue) if plans is None else plans
    before, after = _empty_counts(), _empty_counts()
    planned = {plan.floor_id for plan in plans}
    for plan in plans:
        t = totals(plan)
        for key, a, b in (("cameras", "before_cameras", "after_cameras"), ("face", "before_face", "after_face"),
                          ("other", "before_other", "after_other")):
            before[key] += t[a]
            after[key] += t[b]
    for floor in open_floors(venue):
        if floor.id in planned:
            continue
        for terminal in floor.terminals:
            if terminal.status in IN_SERVICE and terminal.removed_at is None:
                bucket = _kind_of(terminal.kind.value, terminal.face_recognition)
                before[bucket] += 1
                after[bucket] += 1
    for counts in (before, after):
        counts["total"] = counts["cameras"] + counts["face"] + counts["other"]
    return {"before": before, "after": after, "plans": [plan.id for plan in plans]}


@dataclass
class VenueRisk:
    """One row of the inspector's risk-sorted list."""

    venue: Venue
    prohibited: int
    face_terminals: int
    last_inspected: datetime | None
    declared: dict[str, Any]
    open_inspection: Inspection | None

    @property
    def days_since(self) -> int | None:
        """Whole days since the last signed-off inspection (None if never inspected)."""
        return None if self.last_inspected is None else (utcnow() - self.last_inspected).days


def risk_list(user: User, page: int = 1) -> tuple[list[VenueRisk], bool]:
    """The venues in the user's scope, riskiest first, one page at a time; also whether more pages follow.

    Risk order: open prohibited findings, then face-recognition terminals in service, then the longest time
    since the last signed-off inspection (never inspected first). Sorting happens in SQL so a city-sized
    jurisdiction pages without loading every venue.
    """
    prohibited = (sa.select(Finding.venue_id, sa.func.count().label("n"))
                  .where(Finding.status == "open", Finding.severity == "prohibited")
                  .group_by(Finding.venue_id).subquery())
    face = (sa.select(Terminal.venue_id, sa.func.count().label("n"))
            .where(Terminal.status.in_(IN_SERVICE),
                   sa.or_(Terminal.face_recognition.is_(True), Terminal.kind == TerminalKind.FACE_TERMINAL))
            .group_by(Terminal.venue_id).subquery())
    last = (sa.select(Inspection.venue_id, sa.func.max(Inspection.signed_off_at).label("at"))
            .where(Inspection.status == InspectionStatus.SIGNED_OFF).group_by(Inspection.venue_id).subquery())
    n_prohibited = sa.func.coalesce(prohibited.c.n, 0)
    n_face = sa.func.coalesce(face.c.n, 0)
    rows = db.session.execute(
        sa.select(Venue, n_prohibited, n_face, last.c.at)
        .outerjoin(prohibited, prohibited.c.venue_id == Venue.id)
        .outerjoin(face, face.c.venue_id == Venue.id)
        .outerjoin(last, last.c.venue_id == Venue.id)
        .where(venue_filter(user), Venue.removed_at.is_(None))
        .order_by(n_prohibited.desc(), n_face.desc(), last.c.at.is_not(None), last.c.at.asc(), Venue.name, Venue.id)
        .limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    venue_ids = [venue.id for venue, *_ in rows]
    open_by_venue = {i.venue_id: i for i in db.session.scalars(
        sa.select(Inspection).where(Inspection.venue_id.in_(venue_ids),
                                    Inspection.status == InspectionStatus.IN_PROGRESS)
        .order_by(Inspection.id))} if venue_ids else {}
    return [VenueRisk(venue, n_p, n_f, at, declared_counts(venue), open_by_venue.get(venue.id))
            for venue, n_p, n_f, at in rows], more


# ---------------------------------------------------------------- creating


def can_inspect(user: User, venue: Venue) -> bool:
    """Inspectors whose jurisdiction covers the venue's district may inspect it."""
    return (user.role == Role.INSPECTOR and user.jurisdiction is not None
            and venue.district in (user.jurisdiction.districts or []))


def _pose(terminal: Terminal) -> dict[str, Any]:
    return {"x": terminal.x, "y": terminal.y, "heading_deg": terminal.heading_deg, "hfov_deg": terminal.hfov_deg,
            "range_m": terminal.range_m, "hpx": terminal.hpx, "height_m": terminal.height_m}


def checklist(venue: Venue, plans: list[Plan]) -> list[InspectionItem]:
    """One item per terminal of the venue with the state the approved plan (else the inventory) expects."""
    by_floor = {plan.floor_id: plan for plan in plans}
    items: list[InspectionItem] = []
    for floor in open_floors(venue):
        plan = by_floor.get(floor.id)
        decisions = {d.terminal_code: d for d in plan.decisions} if plan else {}
        for terminal in floor.terminals:
            decision = decisions.get(terminal.code)
            heading = None
            if decision is not None and decision.decision == Decision.REMOVE:
                expected = Expected.REMOVED
            elif decision is not None and decision.decision == Decision.REAIM:
                expected, heading = Expected.RE_AIMED, (decision.pose or {}).get("heading_deg")
            elif (terminal.status in IN_SERVICE and terminal.status != TerminalStatus.PLANNED_REMOVAL
                  and terminal.removed_at is None):
                expected = Expected.KEPT
            else:
                expected = Expected.REMOVED
            items.append(InspectionItem(terminal=terminal, floor=floor, code=terminal.code, kind=terminal.kind.value,
                                        face_recognition=terminal.face_recognition, expected=expected,
                                        expected_heading_deg=heading, expected_pose=_pose(terminal)))
        installed = {t.code for t in floor.terminals}
        for d in plan.decisions if plan else []:
            if d.decision == Decision.ADD and d.terminal_code not in installed:
                pose = dict(d.pose or {})
                items.append(InspectionItem(floor=floor, code=d.terminal_code, kind=TerminalKind.CAMERA.value,
                                            expected=Expected.INSTALLED, expected_heading_deg=pose.get("heading_deg"),
                                            expected_pose=pose))
    for position, item in enumerate(items):
        item.position = position
    return items


def create_inspection(user: User, venue: Venue) -> Inspection:
    """Start an inspection of a venue: declared counts now, and the checklist from plan and inventory."""
    if not can_inspect(user, venue):
        raise Forbidden(_("only an inspector of the venue's district may inspect it"))
    plans = plans_in_force(venue)
    inspection = Inspection(venue=venue, inspector=user, plan_id=plans[0].id if plans else None,
                            declared=declared_counts(venue, plans))
    inspection.items = checklist(venue, plans)
    db.session.add(inspection)
    db.session.flush()
    _audit(user, inspection, "create", {"items": len(inspection.items), "plans": inspection.declared["plans"]})
    return inspection


def _audit(user: User, inspection: Inspection, action: str, after: dict[str, Any]) -> None:
    """An audit event of an inspection step (it joins the audit hash chain like every event)."""
    db.session.add(AuditEvent(user_id=user.id, organisation_id=inspection.venue.organisation_id,
                              venue_id=inspection.venue_id, object_type="inspection", object_id=inspection.id,
                              action=action, after=after))


# ---------------------------------------------------------------- on site


def require_editable(user: User, inspection: Inspection) -> None:
    """Refuse any change to a signed-off inspection, or by anyone but its inspector."""
    if inspection.signed_off:
        raise Conflict(_("inspection %(id)s was signed off on %(when)s and can no longer be changed",
                         id=inspection.id, when=when(inspection.signed_off_at, zone=True)))
    if user.id != inspection.inspector_id:
        raise Forbidden(_("only the inspector who started this inspection may change it"))


def _item(inspection: Inspection, item_id: int) -> InspectionItem:
    item = next((i for i in inspection.items if i.id == item_id), None)
    if item is None:
        raise NotFound(f"checklist item {item_id}")
    return item


def _placed(floor: Floor | None, values: Mapping[str, Any], need: bool) -> tuple[float | None, float | None]:
    x, y = values.get("x"), values.get("y")
    if need and (x is None or y is None):
        raise ValidationError("x" if x is None else "y", _("tap the map (or enter x and y) to place the terminal"))
    if x is not None and y is not None and floor is not None:
        check_placement(floor, x, y)
    return x, y


ANSWER_FIELDS = (
    Field("found", "choice", required=True, choices=Found, label="Found"),
    Field("x", "float", minimum=-1e5, maximum=1e5, label="X (m)"),
    Field("y", "float", minimum=-1e5, maximum=1e5, label="Y (m)"),
    Field("heading_deg", "angle", label="Heading (°)"),
    Field("note", "str", max_length=2000, default=""),
)


def answer_item(user: User, inspection: Inspection, item_id: int, data: Mapping[str, Any]) -> InspectionItem:
    """Record what was found for one checklist item (saved at once, so a lost connection loses nothing)."""
    require_editable(user, inspection)
    item = _item(inspection, item_id)
    values = clean(ANSWER_FIELDS, data)
    found = values["found"]
    if found == Found.NOT_DECLARED:
        raise ValidationError("found", _("a checklist terminal is declared; add a terminal found on site instead"))
    x = y = heading = None
    if found == Found.MOVED:
        x, y = _placed(item.floor, values, need=True)
        heading = values.get("heading_deg")
    elif found == Found.RE_AIMED:
        heading = values.get("heading_deg")
        if heading is None:
            raise ValidationError("heading_deg", _("give the heading the terminal points at now"))
    item.found, item.found_x, item.found_y, item.found_heading_deg = found, x, y, heading
    item.note = values["note"] or ""
    item.answered_at, item.answered_by_id = utcnow(), user.id
    db.session.flush()
    return item


def save_note(user: User, inspection: Inspection, item_id: int | None, note: str) -> None:
    """Save a note on an item or on the whole inspection."""
    require_editable(user, inspection)
    if len(note) > 2000:
        raise ValidationError("note", _("must be at most 2000 characters"))
    target: Inspection | InspectionItem = _item(inspection, item_id) if item_id is not None else inspection
    target.note = note.strip()
    db.session.flush()


UNDECLARED_FIELDS = (
    Field("floor_id", "int", required=True, minimum=1, label="Floor"),
    Field("code", "str", required=True, max_length=50, label="Label"),
    Field("kind", "choice", required=True, choices=TerminalKind, label="Kind"),
    Field("face_recognition", "bool", label="Face recognition"),
    Field("x", "float", minimum=-1e5, maximum=1e5, label="X (m)"),
    Field("y", "float", minimum=-1e5, maximum=1e5, label="Y (m)"),
    Field("heading_deg", "angle", default=0.0, label="Heading (°)"),
    Field("hfov_deg", "fov", default=90.0, label="HFOV (°)"),
    Field("range_m", "float", minimum=0.5, maximum=200, default=10.0, label="Range (m)"),
    Field("note", "str", max_length=2000, default=""),
)


def add_undeclared(user: User, inspection: Inspection, data: Mapping[str, Any]) -> InspectionItem:
    """Record a terminal found on site but absent from the inventory, placed on the floor map."""
    require_editable(user, inspection)
    values = clean(UNDECLARED_FIELDS, data)
    floor = next((f for f in open_floors(inspection.venue) if f.id == values["floor_id"]), None)
    if floor is None:
        raise ValidationError("floor_id", _("is not a floor of this venue"))
    x, y = _placed(floor, values, need=True)
    code = values["code"].strip()
    if any(i.code == code and i.floor_id == floor.id for i in inspection.items):
        raise ValidationError("code", _("'%(code)s' is already on this floor's checklist; give the new one its own label", code=code))
    item = InspectionItem(floor=floor, code=code, kind=values["kind"].value,
                          face_recognition=bool(values["face_recognition"]), found=Found.NOT_DECLARED,
                          found_x=x, found_y=y, found_heading_deg=values["heading_deg"],
                          expected_pose={"hfov_deg": values["hfov_deg"], "range_m": values["range_m"]},
                          note=values["note"] or "", answered_at=utcnow(), answered_by_id=user.id,
                          position=max((i.position for i in inspection.items), default=-1) + 1)
    inspection.items.append(item)
    db.session.flush()
    return item


def remove_undeclared(user: User, inspection: Inspection, item_id: int) -> None:
    """Take back a not-declared entry recorded by mistake, with its photos (declared items cannot be removed)."""
    require_editable(user, inspection)
    item = _item(inspection, item_id)
    if item.expected is not None:
        raise ValidationError("item", _("%(code)s is on the declared checklist; answer it instead of removing it", code=item.code))
    files = [name for photo in item.evidence for name in (photo.path, photo.thumbnail_path)]
    for photo in list(item.evidence):
        inspection.evidence.remove(photo)
        db.session.delete(photo)
    inspection.items.remove(item)
    db.session.delete(item)
    db.session.flush()
    photos.remove(*files)


def add_evidence(user: User, inspection: Inspection, item_id: int | None, filename: str, raw: bytes) -> Evidence:
    """Store an evidence photo (cleaned of EXIF) of the inspection or one item; nothing is kept if any step fails."""
    require_editable(user, inspection)
    item = _item(inspection, item_id) if item_id is not None else None
    photo = photos.clean_photo(raw, photos.max_bytes())
    folder = photos.folder_of(inspection.venue.organisation_id, inspection.id)
    path, thumb = photos.write(folder, photo)
    try:
        record = Evidence(inspection=inspection, item=item, path=path, thumbnail_path=thumb, mime=photo.mime,
                          size=len(photo.data), width=photo.width, height=photo.height, sha256=photo.sha256,
                          original_name=(filename or "")[-200:], uploaded_by_id=user.id)
        db.session.add(record)
        db.session.flush()
    except Exception:
        photos.remove(path, thumb)
        raise
    return record


def evidence_file(inspection: Inspection, evidence_id: int, thumbnail: bool) -> tuple[Evidence, Any]:
    """An evidence row of the inspection and the path of its photo or thumbnail."""
    record = next((e for e in inspection.evidence if e.id == evidence_id), None)
    if record is None:
        raise NotFound(f"evidence {evidence_id}")
    folder = photos.folder_of(inspection.venue.organisation_id, inspection.id)
    return record, photos.resolve(folder, record.thumbnail_path if thumbnail else record.path)


# ---------------------------------------------------------------- as found


def unanswered(inspection: Inspection) -> list[InspectionItem]:
    """Checklist items without an answer yet."""
    return [i for i in inspection.items if i.found is None]


def found_counts(inspection: Inspection) -> dict[str, int]:
    """Terminals found in place (present, moved, re-aimed or not declared), by count bucket."""
    counts = _empty_counts()
    for item in inspection.items:
        if item.found is not None and item.found != Found.REMOVED:
            counts[_kind_of(item.kind, item.face_recognition)] += 1
    counts["total"] = counts["cameras"] + counts["face"] + counts["other"]
    return counts


def answers_digest(inspection: Inspection) -> str:
    """A digest of every answer, so a verification can be matched to the answers it checked."""
    answers = [[i.id, i.found.value if i.found else None, i.found_x, i.found_y, i.found_heading_deg, i.kind,
                i.face_recognition, i.expected_pose if i.found == Found.NOT_DECLARED else None]
               for i in inspection.items]
    return hashlib.sha256(canonical(answers).encode()).hexdigest()


def differences(inspection: Inspection) -> list[InspectionItem]:
    """Answered items whose finding differs from what was declared (the report's discrepancies)."""
    agree = {Expected.KEPT: {Found.PRESENT}, Expected.REMOVED: {Found.REMOVED},
             Expected.RE_AIMED: {Found.RE_AIMED}, Expected.INSTALLED: {Found.PRESENT}}
    return [i for i in inspection.items if i.found is not None
            and (i.found == Found.NOT_DECLARED or i.found not in agree.get(i.expected, set()))]  # type: ignore[arg-type]


# ---------------------------------------------------------------- sign-off


def sign_off_refusal(inspection: Inspection) -> str | None:
    """Why the inspection cannot be signed off now, or None."""
    if inspection.signed_off:
        return _("the inspection is already signed off")
    missing = unanswered(inspection)
    if missing:
        names = ", ".join(i.code for i in missing[:8]) + (", …" if len(missing) > 8 else "")
        return _("%(count)s checklist item(s) have no answer yet: %(items)s", count=len(missing), items=names)
    verification = inspection.verification or {}
    if verification.get("state") != "done":
        return _("run the independent verification first (and wait for it to finish)")
    if verification.get("answers_digest") != answers_digest(inspection):
        return _("answers changed since the verification ran; verify again")
    return None


def sign_off(user: User, inspection: Inspection) -> Inspection:
    """Sign the inspection off: found counts fixed, terminals found removed become verified removed, chain sealed."""
    require_editable(user, inspection)
    refusal = sign_off_refusal(inspection)
    if refusal:
        raise Conflict(refusal)
    for item in inspection.items:
        terminal = item.terminal
        if item.found == Found.REMOVED and terminal is not None and terminal.status == TerminalStatus.REMOVED:
            terminal.status = TerminalStatus.VERIFIED_REMOVED
    inspection.found = found_counts(inspection)
    db.session.flush()
    seal(inspection)
    db.session.flush()
    _audit(user, inspection, "sign_off", {"found": inspection.found, "record_hash": inspection.record_hash,
                                          "verified_removed": sorted(i.code for i in inspection.items
                                                                     if i.terminal is not None and i.terminal.status
                                                                     == TerminalStatus.VERIFIED_REMOVED)})
    db.session.flush()
    return inspection


# ---------------------------------------------------------------- immutability in the ORM


def _inspection_of(obj: Any) -> Inspection | None:
    if isinstance(obj, Inspection):
        return obj
    if isinstance(obj, InspectionItem | Evidence):
        return obj.inspection
    return None


def _was_signed_off(inspection: Inspection) -> bool:
    history = sa.inspect(inspection).attrs.status.history
    before = history.deleted[0] if history.deleted else (history.unchanged[0] if history.unchanged else None)
    return before == InspectionStatus.SIGNED_OFF


@event.listens_for(so.Session, "before_flush")
def _refuse_signed_off_changes(session: so.Session, _context: Any, _instances: Any) -> None:
    """Last line behind the services: no flush may change, add to or delete a signed-off inspection."""
    for obj in (*session.dirty, *session.deleted, *session.new):
        inspection = _inspection_of(obj)
        if inspection is None or sa.inspect(inspection).transient or sa.inspect(inspection).pending:
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if _was_signed_off(inspection):
            raise PermissionError(f"inspection {inspection.id} is signed off and immutable")
