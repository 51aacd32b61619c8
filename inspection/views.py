"""Inspection pages: the risk-sorted list, the on-site checklist (htmx, one answer per request), evidence,
verification, sign-off and the report."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.models import Role
from extensions import db
from inspection import report, service
from inspection.models import Found, Inspection
from inspection.service import Conflict
from inspection.verification import queue_verification, reap_if_lost, request_verification
from inventory.fields import ValidationError
from inventory.services import get_venue
from security import page_number
from web import wants_json

bp = Blueprint("inspection", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every inspection page needs a signed-in user."""


@bp.errorhandler(Conflict)
def _conflict(error: Conflict):  # type: ignore[no-untyped-def]
    db.session.rollback()
    if wants_json():
        return jsonify(error=str(error), field=None), 409
    if request.headers.get("HX-Request"):
        return render_template("inspection/_error.html", message=str(error)), 409
    return render_template("error.html", code=409, message=str(error)), 409


def _editor(inspection: Inspection) -> bool:
    return not inspection.signed_off and current_user.id == inspection.inspector_id


@bp.get("/inspections")
def index():  # type: ignore[no-untyped-def]
    """Inspectors: their jurisdiction's venues by risk. Everyone else: the signed-off inspections they may read."""
    if current_user.role in (Role.INSPECTOR, Role.ADMIN):
        page = request.args.get("page", 1, type=page_number)
        rows, more = service.risk_list(current_user, page)
        return render_template("inspection/risk_list.html", rows=rows, page=page, more=more,
                               can_inspect=lambda venue: service.can_inspect(current_user, venue))
    return render_template("inspection/signed_list.html", inspections=service.signed_off_inspections(current_user))


@bp.get("/venues/<int:venue_id>/inspections")
def venue_list(venue_id: int):  # type: ignore[no-untyped-def]
    """A venue's inspections the user may read, newest first."""
    venue = get_venue(current_user, venue_id)
    return render_template("inspection/venue_list.html", venue=venue,
                           inspections=service.venue_inspections(current_user, venue),
                           can_inspect=service.can_inspect(current_user, venue))


@bp.post("/venues/<int:venue_id>/inspections")
def create(venue_id: int):  # type: ignore[no-untyped-def]
    """Start an inspection of a venue (its checklist is generated now)."""
    venue = get_venue(current_user, venue_id)
    inspection = service.create_inspection(current_user, venue)
    db.session.commit()
    return redirect(url_for("inspection.detail", inspection_id=inspection.id))


@bp.get("/inspections/<int:inspection_id>")
def detail(inspection_id: int):  # type: ignore[no-untyped-def]
    """The checklist on site: one card per terminal, the floor maps, photos, verification and sign-off."""
    inspection = service.get_inspection(current_user, inspection_id)
    return render_template("inspection/detail.html", inspection=inspection, editable=_editor(inspection),
                           maps=report.floor_maps(inspection), refusal=service.sign_off_refusal(inspection),
                           missing=service.unanswered(inspection), found_choices=list(Found),
                           floors=service.open_floors(inspection.venue))


def _item_fragment(inspection: Inspection, item_id: int, error: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    item = next(i for i in inspection.items if i.id == item_id)
    return render_template("inspection/_item.html", inspection=inspection, item=item, editable=_editor(inspection),
                           error=error, values=request.form if error else None), status


@bp.post("/inspections/<int:inspection_id>/items/<int:item_id>")
def answer(inspection_id: int, item_id: int):  # type: ignore[no-untyped-def]
    """Save one answer (present, removed, moved, re-aimed) with its note; returns the item's card."""
    inspection = service.get_inspection(current_user, inspection_id)
    try:
        service.answer_item(current_user, inspection, item_id, request.form.to_dict())
    except ValidationError as error:
        db.session.rollback()
        if wants_json():
            return jsonify(error.as_dict()), 422
        return _item_fragment(inspection, item_id, str(error), 422)
    db.session.commit()
    if wants_json():
        return jsonify(ok=True)
    return _item_fragment(inspection, item_id)


@bp.post("/inspections/<int:inspection_id>/items/<int:item_id>/evidence")
@bp.post("/inspections/<int:inspection_id>/evidence")
def upload(inspection_id: int, item_id: int | None = None):  # type: ignore[no-untyped-def]
    """Attach an evidence photo to an item or to the inspection (JPEG or PNG; EXIF removed)."""
    inspection = service.get_inspection(current_user, inspection_id)
    service.require_editable(current_user, inspection)  # who may, before what was sent
    file = request.files.get("photo")
    try:
        if file is None or not file.filename:
            raise ValidationError("photo", _("choose a photo to upload"))
        service.add_evidence(current_user, inspection, item_id, file.filename, file.read())
    except ValidationError as error:
        db.session.rollback()
        if wants_json():
            return jsonify(error.as_dict()), 422
        if item_id is not None and request.headers.get("HX-Request"):
            return _item_fragment(inspection, item_id, str(error), 422)
        return render_template("error.html", code=422, message=str(error)), 422
    db.session.commit()
    if item_id is not None and request.headers.get("HX-Request"):
        return _item_fragment(inspection, item_id)
    return redirect(url_for("inspection.detail", inspection_id=inspection.id) + "#photos")


@bp.post("/inspections/<int:inspection_id>/undeclared")
def undeclared(inspection_id: int):  # type: ignore[no-untyped-def]
    """Record a terminal found on site that the inventory does not declare, placed on the map."""
    inspection = service.get_inspection(current_user, inspection_id)
    try:
        item = service.add_undeclared(current_user, inspection, request.form.to_dict())
    except ValidationError as error:
        db.session.rollback()
        if wants_json():
            return jsonify(error.as_dict()), 422
        return render_template("inspection/detail.html", inspection=inspection, editable=_editor(inspection),
                               maps=report.floor_maps(inspection), refusal=service.sign_off_refusal(inspection),
                               missing=service.unanswered(inspection), found_choices=list(Found),
                               floors=service.open_floors(inspection.venue), undeclared_error=str(error),
                               undeclared_values=request.form), 422
    db.session.commit()
    return redirect(url_for("inspection.detail", inspection_id=inspection.id) + f"#item-{item.id}")


@bp.post("/inspections/<int:inspection_id>/items/<int:item_id>/remove")
def remove_undeclared(inspection_id: int, item_id: int):  # type: ignore[no-untyped-def]
    """Take back a not-declared entry recorded by mistake."""
    inspection = service.get_inspection(current_user, inspection_id)
    service.remove_undeclared(current_user, inspection, item_id)
    db.session.commit()
    return redirect(url_for("inspection.detail", inspection_id=inspection.id) + "#checklist")


@bp.post("/inspections/<int:inspection_id>/note")
@bp.post("/inspections/<int:inspection_id>/items/<int:item_id>/note")
def note(inspection_id: int, item_id: int | None = None):  # type: ignore[no-untyped-def]
    """Save a note on the inspection or on one item as soon as it is typed."""
    inspection = service.get_inspection(current_user, inspection_id)
    service.save_note(current_user, inspection, item_id, request.form.get("note", ""))
    db.session.commit()
    if request.headers.get("HX-Request"):
        return render_template("inspection/_saved.html")
    return redirect(url_for("inspection.detail", inspection_id=inspection.id))


@bp.post("/inspections/<int:inspection_id>/verify")
def verify(inspection_id: int):  # type: ignore[no-untyped-def]
    """Queue the independent verification of the answers as they are now."""
    inspection = service.get_inspection(current_user, inspection_id)
    request_verification(current_user, inspection)
    db.session.commit()
    queue_verification(inspection)
    return redirect(url_for("inspection.detail", inspection_id=inspection.id) + "#verification")


@bp.get("/inspections/<int:inspection_id>/verification")
def verification(inspection_id: int):  # type: ignore[no-untyped-def]
    """The verification block (polled by htmx while the job runs)."""
    inspection = service.get_inspection(current_user, inspection_id)
    reap_if_lost(inspection)
    return render_template("inspection/_verification.html", inspection=inspection, editable=_editor(inspection),
                           refusal=service.sign_off_refusal(inspection), oob=True)


@bp.post("/inspections/<int:inspection_id>/sign-off")
def sign_off(inspection_id: int):  # type: ignore[no-untyped-def]
    """Sign the inspection off; from then on it is immutable and sealed into the inspection chain."""
    inspection = service.get_inspection(current_user, inspection_id)
    service.sign_off(current_user, inspection)
    db.session.commit()
    return redirect(url_for("inspection.report_page", inspection_id=inspection.id))


@bp.get("/inspections/<int:inspection_id>/report")
def report_page(inspection_id: int):  # type: ignore[no-untyped-def]
    """The printable inspection report."""
    inspection = service.get_inspection(current_user, inspection_id)
    return report.report_html(inspection, inline_images=False)


@bp.get("/inspections/<int:inspection_id>/report.pdf")
def report_pdf(inspection_id: int):  # type: ignore[no-untyped-def]
    """The inspection report as PDF (WeasyPrint, as the plan report)."""
    inspection = service.get_inspection(current_user, inspection_id)
    pdf = report.report_pdf(inspection, base_url=request.url_root)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="inspection-{inspection.id}.pdf"'})


@bp.get("/inspections/<int:inspection_id>/evidence/<int:evidence_id>")
@bp.get("/inspections/<int:inspection_id>/evidence/<int:evidence_id>/<string:size>")
def evidence(inspection_id: int, evidence_id: int, size: str = "full"):  # type: ignore[no-untyped-def]
    """An evidence photo or its thumbnail (only to those who may see the inspection)."""
    if size not in ("full", "thumb"):
        abort(404)
    inspection = service.get_inspection(current_user, inspection_id)
    record, path = service.evidence_file(inspection, evidence_id, size == "thumb")
    return send_file(path, mimetype="image/jpeg" if size == "thumb" else record.mime, max_age=3600)

