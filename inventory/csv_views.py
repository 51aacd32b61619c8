"""Bulk CSV import (with a row-level preview) and export of a floor's terminals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.access import can_edit_inventory
from extensions import db
from i18n import DEFAULT_LOCALE, current_language
from inventory import csv_io, services
from inventory.fields import TERMINAL_FIELDS, ValidationError
from inventory.models import Floor
from planner.floor import MIN_HFOV_DEG

bp = Blueprint("csv", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every CSV page needs a signed-in user."""


def _camera_models() -> dict[int, str]:
    """Visible library models by id, labelled 'Manufacturer Model' (the other accepted spelling)."""
    return {m.id: f"{m.manufacturer} {m.model}" for m in services.list_camera_models(current_user)}


def titled_header() -> bool:
    """Whether a CSV export heads its columns with titles in the reader's language (?header=titles, or a non-English
    user by default) rather than the stable machine names (?header=machine, and English)."""
    choice = request.args.get("header")
    if choice in ("machine", "titles"):
        return choice == "titles"
    return current_language() != DEFAULT_LOCALE


@bp.get("/floors/<int:floor_id>/terminals.csv")
def export(floor_id: int) -> Response:
    """Download every terminal of the floor (all statuses) as CSV, ordered by ID."""
    floor = services.get_floor(current_user, floor_id)
    rows = services.terminal_field_rows(current_user, floor, sort="code")
    name = f"floor-{floor.id}-level-{floor.level}-terminals.csv"
    return Response(csv_io.encode(csv_io.write_values(rows, titles=titled_header())), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/floors/<int:floor_id>/terminals/import", methods=["GET", "POST"])
def import_terminals(floor_id: int):  # type: ignore[no-untyped-def]
    """Upload or paste a CSV, preview every row, then confirm to write all rows in one transaction."""
    floor = services.get_floor(current_user, floor_id)
    if not can_edit_inventory(current_user, floor.venue.organisation_id):
        abort(403)
    if request.method == "GET":
        return _form(floor)
    parsed = _read_submission()
    if parsed is None:
        return _form(floor, ValidationError("file", _("choose a CSV file or paste CSV text")), status=422)
    rows, errors, plan = _preview(floor, parsed)
    if errors or request.form.get("confirm") != "1":
        return render_template("inventory/csv_preview.html", floor=floor, parsed=parsed, rows=rows, errors=errors,
                               summary=_summary(plan), columns=csv_io.COLUMNS), (422 if errors else 200)
    counts = services.apply_terminal_import(current_user, floor, plan)
    db.session.commit()
    flash(_("Imported %(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.",
            rows=len(plan), created=counts["created"], updated=counts["updated"], unchanged=counts["unchanged"]),
          "success")
    return redirect(url_for("inventory.floor_detail", floor_id=floor.id))


def _form(floor: Floor, error: ValidationError | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    """The upload/paste form with the column reference."""
    return render_template("inventory/csv_import.html", floor=floor, error=error, fields=TERMINAL_FIELDS,
                           encodings=csv_io.ENCODINGS, max_rows=csv_io.MAX_ROWS,
                           camera_models=_camera_models(), min_hfov=f"{MIN_HFOV_DEG:g}"), status


def _read_submission() -> csv_io.CsvFile | None:
    """The submitted CSV: the confirm step's text, an uploaded file, or pasted text; None when nothing came."""
    models = _camera_models()
    upload = request.files.get("file")
    if request.form.get("confirm") != "1" and upload is not None and upload.filename:
        return csv_io.read(upload.read(csv_io.MAX_BYTES + 1), request.form.get("encoding", "auto"), models)
    text = request.form.get("csv_text", "")
    if not text.strip():
        return None
    return csv_io.parse(text, models)


def _preview(floor: Floor, parsed: csv_io.CsvFile) -> tuple[list[dict[str, Any]], list[ValidationError],
                                                            list[services.TerminalImportRow]]:
    """Each row's outcome (create, update, unchanged or error) and every problem, sorted by row."""
    plan: list[services.TerminalImportRow] = []
    if not parsed.problems:
        plan = services.plan_terminal_import(current_user, floor,
                                             [(row.row, row.values) for row in parsed.rows if not row.errors])
    planned = {item.row: item for item in plan}
    rows = []
    for row in parsed.rows:
        item = planned.get(row.row)
        row_errors = row.errors + (item.errors if item else [])
        rows.append({"row": row.row, "code": row.code, "errors": row_errors,
                     "action": "error" if row_errors else (item.action if item else "error"),
                     "changes": item.changes if item else {}})
    errors = parsed.problems + [e for r in rows for e in r["errors"]]
    return rows, errors, plan


def _summary(plan: list[services.TerminalImportRow]) -> dict[str, int]:
    """How many rows each action covers."""
    summary = {"create": 0, "update": 0, "unchanged": 0}
    for item in plan:
        summary[item.action] += 1
    return summary
