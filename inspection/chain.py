"""An inspection's hashed content, sealing it into the inspection chain at sign-off, and reading the chain back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from accounts.models import utcnow
from audit.chain import GENESIS, Rows, record_hash, register_chain
from extensions import db
from inspection.models import Inspection, InspectionStatus

_PG_LOCK_KEY = 0x5116_47A1
ITEM_FIELDS = ("id", "terminal_id", "floor_id", "position", "code", "kind", "face_recognition", "expected",
               "expected_heading_deg", "expected_pose", "found", "found_x", "found_y", "found_heading_deg", "note",
               "answered_at", "answered_by_id")
EVIDENCE_FIELDS = ("id", "item_id", "path", "thumbnail_path", "mime", "size", "width", "height", "sha256",
                   "uploaded_by_id", "created_at")


def _value(obj: Any, name: str) -> Any:
    value = getattr(obj, name)
    return value.value if hasattr(value, "value") and not isinstance(value, int | float) else value


def inspection_content(inspection: Inspection) -> dict[str, Any]:
    """Everything a signed-off inspection states: who, when, counts, verification, every answer and photo digest."""
    return {
        "id": inspection.id, "venue_id": inspection.venue_id, "inspector_id": inspection.inspector_id,
        "plan_id": inspection.plan_id, "status": inspection.status.value, "created_at": inspection.created_at,
        "signed_off_at": inspection.signed_off_at, "declared": inspection.declared, "found": inspection.found,
        "verification": inspection.verification, "note": inspection.note,
        "items": [{name: _value(item, name) for name in ITEM_FIELDS} for item in inspection.items],
        "evidence": [{name: _value(photo, name) for name in EVIDENCE_FIELDS} for photo in inspection.evidence],
    }


def seal(inspection: Inspection) -> None:
    """Sign the inspection off and link it to the chain's head, in one change (inside the sign-off transaction)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    head = db.session.scalar(sa.select(Inspection.record_hash).where(Inspection.record_hash.is_not(None))
                             .order_by(Inspection.signed_off_at.desc(), Inspection.id.desc()).limit(1))
    # No flush between the status change and the hash: the immutability guard sees one sign-off change.
    with db.session.no_autoflush:
        inspection.status, inspection.signed_off_at = InspectionStatus.SIGNED_OFF, utcnow()
        inspection.prev_hash = head or GENESIS
        inspection.record_hash = record_hash(inspection_content(inspection), inspection.prev_hash)


def chained_inspections() -> Rows:
    """(id, content, prev_hash, record_hash) of every signed-off inspection, in sign-off order, read fresh."""
    ids = db.session.scalars(sa.select(Inspection.id).where(Inspection.status == InspectionStatus.SIGNED_OFF)
                             .order_by(Inspection.signed_off_at, Inspection.id)).all()
    for inspection_id in ids:
        db.session.expire_all()
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection is not None
        yield inspection.id, inspection_content(inspection), inspection.prev_hash, inspection.record_hash


register_chain("inspections", chained_inspections)
