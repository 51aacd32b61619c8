"""Floor plan pages: upload, import preview, scale calibration and the background image."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from htmx_flask import request as hx_request
from werkzeug.wrappers import Response

from accounts.access import can_edit_inventory
from extensions import db
from inventory import floor_calibration, floor_upload, floor_vectors, services
from inventory.fields import ValidationError
from inventory.floor_storage import Storage, stored_upload
from inventory.importers import Limits
from inventory.importers.dxf import ROLES
from inventory.models import Floor

bp = Blueprint("floors", __name__)

ZONE_KIND_CHOICES = ("private", "general", "required", "wall", "ignore")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every floor plan page needs a signed-in user."""


def _storage() -> Storage:
    """This app's upload folder."""
    return Storage.from_config(current_app.config, current_app.instance_path)


def _limits() -> Limits:
    """Importer limits: the configured upload size and time limit."""
    return floor_upload.import_limits(current_app.config)


def _editable(floor_id: int) -> Floor:
    """A floor the user may see, or 404; a floor they may not change, 403."""
    floor = services.get_floor(current_user, floor_id)
    if not can_edit_inventory(current_user, floor.venue.organisation_id):
        raise services.Forbidden(_("your role may not change floor plans"))
    return floor


def _redirect(target: str) -> Response:
    """Redirect a page or, for htmx, tell htmx to navigate."""
    if hx_request.htmx:
        response = Response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


def _mapping(prefix: str) -> dict[str, str]:
    """Form fields named `<prefix>:<source>` as a source -> target mapping."""
    return {key[len(prefix) + 1:]: value for key, value in request.form.items()
            if key.startswith(prefix + ":") and value}


@bp.get("/floors/<int:floor_id>/background")
def background(floor_id: int):  # type: ignore[no-untyped-def]
    """The floor's background image, only for users who may see the floor."""
    floor = services.get_floor(current_user, floor_id)
    response = send_file(_storage().background_path(floor), mimetype="image/png", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/floors/<int:floor_id>/upload", methods=["GET", "POST"])
def upload(floor_id: int):  # type: ignore[no-untyped-def]
    """Upload a plan: an image or PDF becomes the background, a vector file is previewed for import."""
    floor = _editable(floor_id)
    if request.method == "GET":
        return render_template("inventory/floor_upload.html", floor=floor, error=None, preview=None,
                               stored=stored_upload(floor))
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise ValidationError("file", _("choose a file to upload"))
        page = request.form.get("page", "1").strip() or "1"
        if not page.isdigit() or int(page) < 1:
            raise ValidationError("page", _("the page must be a whole number from 1"))
        token = floor_upload.upload_plan(_storage(), _limits(), current_user, floor, file.filename, file.read(),
                                         page=int(page) - 1, units=request.form.get("units") or None,
                                         repair=request.form.get("repair") == "1")
    except ValidationError as error:
        db.session.rollback()
        return _upload_error(floor, error)
    db.session.commit()
    floor_upload.queue_import(floor, token)
    return _import_status(floor, token)


@bp.get("/floors/<int:floor_id>/upload/<token>/status")
def upload_status(floor_id: int, token: str):  # type: ignore[no-untyped-def]
    """Where an upload's background read stands (polled by htmx): progress, the preview, or why it failed."""
    return _import_status(_editable(floor_id), token)


def _import_status(floor: Floor, token: str):  # type: ignore[no-untyped-def]
    """The read's progress (202), its preview, the calibration page for a plan image, or its error (422)."""
    db.session.expire_all()  # the worker may have changed the floor (a background) since this request began
    status = floor_upload.import_status(_storage(), current_user, floor, token)
    if status.state == "failed":
        return _upload_error(floor, ValidationError("file", status.error or "the import failed"))
    if status.preview is not None:
        if status.preview.raster:
            return _redirect(url_for("floors.calibrate", floor_id=floor.id))
        return _render_preview(floor, status.preview)
    template = "inventory/_floor_upload_result.html" if hx_request.htmx else "inventory/floor_upload.html"
    return render_template(template, floor=floor, error=None, preview=None, stored=None, job=status,
                           limit=current_app.config.get("IMPORT_MAX_SECONDS")), 202


def _upload_error(floor: Floor, error: ValidationError):  # type: ignore[no-untyped-def]
    """The upload form (or, for htmx, its result area) with the error, as 422 (507 when storage failed)."""
    template = "inventory/_floor_upload_result.html" if hx_request.htmx else "inventory/floor_upload.html"
    return render_template(template, floor=floor, error=error, preview=None, stored=None), getattr(error, "status", 422)


def _render_preview(floor: Floor, preview: floor_upload.Preview,  # type: ignore[no-untyped-def]
                    error: ValidationError | None = None):
    """The import preview: counts, warnings, the mapping to confirm and the level choice (and a failed import's error)."""
    template = "inventory/_floor_upload_result.html" if hx_request.htmx else "inventory/floor_upload.html"
    return render_template(template, floor=floor, error=error, preview=preview, roles=ROLES, stored=None,
                           zone_kinds=ZONE_KIND_CHOICES, terminals=len(floor.terminals)), (422 if error else 200)


def _mapping_args() -> dict[str, Any]:
    """Layer and category mappings and units from the preview form."""
    return {"layer_map": _mapping("layer"), "category_map": _mapping("category"),
            "units": request.form.get("units") or None, "repair": request.form.get("repair") == "1",
            "choices": _mapping("choice")}


@bp.post("/floors/<int:floor_id>/upload/preview")
def upload_preview(floor_id: int):  # type: ignore[no-untyped-def]
    """Read the stored upload again with the mapping the user edited."""
    floor = _editable(floor_id)
    token = floor_upload.request_preview(_storage(), current_user, floor, request.form.get("token", ""),
                                         **_mapping_args())
    floor_upload.queue_import(floor, token)
    return _import_status(floor, token)


@bp.post("/floors/<int:floor_id>/upload/apply")
def upload_apply(floor_id: int):  # type: ignore[no-untyped-def]
    """Replace the floor's structure and zones from the stored upload, in one transaction."""
    floor = _editable(floor_id)
    try:
        floors = floor_upload.apply_upload(_storage(), _limits(), current_user, floor, request.form.get("token", ""),
                                            level=request.form.get("level", "0"), **_mapping_args())
    except ValidationError as error:
        db.session.rollback()
        floor = services.get_floor(current_user, floor_id)
        # Keep the stored preview on screen beside the error (the form keeps the user's mapping).
        preview = floor_upload.stored_preview(_storage(), floor, request.form.get("token", ""))
        if preview is None:
            return _upload_error(floor, error)
        return _render_preview(floor, preview, error)
    db.session.commit()
    flash(ngettext("Plan imported into %(num)d floor.", "Plan imported into %(num)d floors.", len(floors)), "success")
    return _redirect(url_for("inventory.floor_detail", floor_id=floors[0].id))


def _number(name: str) -> float:
    """A required number from the calibration form."""
    raw = request.form.get(name, "").strip()
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(name, _("'%(value)s' is not a number", value=raw) if raw else _("is required"))


@bp.route("/floors/<int:floor_id>/calibrate", methods=["GET", "POST"])
def calibrate(floor_id: int):  # type: ignore[no-untyped-def]
    """Set the background's scale (two clicked points and their real distance), origin and rotation."""
    floor = _editable(floor_id)
    if not floor.background_image:
        return redirect(url_for("floors.upload", floor_id=floor.id))
    error = None
    if request.method == "POST":
        try:
            p1 = (_number("x1"), _number("y1"))
            p2 = (_number("x2"), _number("y2"))
            origin = None
            if request.form.get("ox", "").strip() and request.form.get("oy", "").strip():
                origin = (_number("ox"), _number("oy"))
            rotation = _number("rotation_deg") if request.form.get("rotation_deg", "").strip() else 0.0
            floor_calibration.calibrate(current_user, floor, p1, p2, _number("distance_m"), origin, rotation)
        except ValidationError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            if floor_vectors.offer(_storage(), floor) is not None:
                return _redirect(url_for("floors.vector_lines", floor_id=floor.id))
            return _redirect(url_for("inventory.floor_detail", floor_id=floor.id))
    url = url_for("floors.background", floor_id=floor.id, v=floor.background_image.rsplit("/", 1)[-1][11:19])
    return render_template("inventory/floor_calibrate.html", floor=floor, error=error, background_url=url,
                           meta=floor.background_meta or {}), (422 if error else 200)


@bp.route("/floors/<int:floor_id>/vector-lines", methods=["GET", "POST"])
def vector_lines(floor_id: int):  # type: ignore[no-untyped-def]
    """Offer a calibrated vector PDF's straight lines as walls: add them all, or leave the floor as it is."""
    floor = _editable(floor_id)
    error = None
    if request.method == "POST":
        try:
            if request.form.get("answer") == "add":
                floor_vectors.add_as_walls(_storage(), current_user, floor)
            else:
                floor_vectors.decline(current_user, floor)
        except ValidationError as exc:
            db.session.rollback()
            floor = services.get_floor(current_user, floor_id)
            error = exc
        else:
            db.session.commit()
            return _redirect(url_for("inventory.floor_detail", floor_id=floor.id))
    found = floor_vectors.offer(_storage(), floor)
    if found is None:
        return redirect(url_for("inventory.floor_detail", floor_id=floor.id))
    url = url_for("floors.background", floor_id=floor.id, v=floor.background_image.rsplit("/", 1)[-1][11:19])
    return render_template("inventory/floor_vector_lines.html", floor=floor, found=found, error=error,
                           background_url=url, meta=floor.background_meta or {}), (422 if error else 200)
