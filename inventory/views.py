"""Inventory pages: venues, floors, terminals and the camera model library (htmx partials for tables)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import request as hx_request
from markupsafe import Markup

from accounts.access import can_edit_inventory, can_edit_zones
from accounts.models import Organisation
from extensions import db
from i18n import current_language
from inventory import floor_overlays, services
from inventory.choices import TerminalKind, TerminalStatus, VenueType
from inventory.fields import (
    CAMERA_MODEL_FIELDS,
    FLOOR_FIELDS,
    TERMINAL_FIELDS,
    VENUE_FIELDS,
    ValidationError,
)
from inventory.lru import LRUCache
from inventory.models import Floor, Terminal, Zone
from security import MAX_ID, page_number
from web import cached_fragment

bp = Blueprint("inventory", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every inventory page needs a signed-in user."""


def _form() -> dict[str, Any]:
    """Submitted form fields; unchecked checkboxes are absent, which the validator reads as false."""
    return request.form.to_dict()


def _render_form(template: str, error: ValidationError | None = None, **context: Any):  # type: ignore[no-untyped-def]
    """Render a form page, with 422 when it carries a validation error."""
    status = 422 if error else 200
    return render_template(template, error=error, values=context.pop("values", {}), **context), status


def _submit(save: Callable[[dict[str, Any]], Any], next_url: Callable[[Any], str], template: str,
            message: Callable[[Any], str] | None = None, **context: Any):  # type: ignore[no-untyped-def]
    """Handle a form POST: run the service, commit, say so and redirect; or roll back and re-render with the error."""
    try:
        saved = save(_form())
    except ValidationError as error:
        db.session.rollback()
        return _render_form(template, error, values=_form(), **context)
    db.session.commit()
    if message:
        flash(message(saved), "success")
    return redirect(next_url(saved))


# ---------------------------------------------------------------- venues


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    """Venues the user can see, with terminal counts."""
    venues = services.list_venues(current_user)
    by_floor = services.floor_terminal_counts([f.id for v in venues for f in v.floors])
    counts = {v.id: services.combined_counts([by_floor[f.id] for f in v.floors]) for v in venues}
    return render_template("inventory/index.html", venues=venues, counts=counts,
                           can_create=current_user.role.value in ("manager", "admin"))


@bp.route("/venues/new", methods=["GET", "POST"])
def venue_create():  # type: ignore[no-untyped-def]
    """Create a venue."""
    organisations = _organisation_choices()
    if request.method == "POST":
        return _submit(lambda data: services.create_venue(current_user, data, _admin_organisation()),
                       lambda venue: url_for("inventory.venue_detail", venue_id=venue.id),
                       "inventory/venue_form.html", lambda venue: _("Venue %(name)s created.", name=venue.name),
                       fields=VENUE_FIELDS, venue=None, organisations=organisations)
    if current_user.role.value not in ("manager", "admin"):
        abort(403)
    return _render_form("inventory/venue_form.html", values={}, fields=VENUE_FIELDS, venue=None,
                        organisations=organisations)


def _organisation_choices() -> list[Organisation] | None:
    """The organisations an admin picks from for a new venue; None for everyone else (they use their own)."""
    if current_user.role.value != "admin":
        return None
    return list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))


def _admin_organisation() -> int | None:
    """Admins choose the organisation of a new venue (it must exist); others always use their own."""
    raw = request.form.get("organisation_id", "")
    if current_user.role.value != "admin" or not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_ID or db.session.get(Organisation, int(raw)) is None:
        raise ValidationError("organisation_id", _("is not a known organisation"))
    return int(raw)


@bp.route("/venues/<int:venue_id>/edit", methods=["GET", "POST"])
def venue_edit(venue_id: int):  # type: ignore[no-untyped-def]
    """Edit a venue."""
    venue = services.get_venue(current_user, venue_id)
    if request.method == "POST":
        return _submit(lambda data: services.update_venue(current_user, venue, data),
                       lambda saved: url_for("inventory.venue_detail", venue_id=saved.id),
                       "inventory/venue_form.html", fields=VENUE_FIELDS, venue=venue)
    if not can_edit_inventory(current_user, venue.organisation_id):
        abort(403)
    if not can_edit_inventory(current_user, venue.organisation_id):
        abort(403)  # read-only roles get no form they cannot save
    values = {f.name: getattr(venue, f.name) for f in VENUE_FIELDS}
    return _render_form("inventory/venue_form.html", values=values, fields=VENUE_FIELDS, venue=venue)


@bp.post("/venues/<int:venue_id>/delete")
def venue_delete(venue_id: int):  # type: ignore[no-untyped-def]
    """Delete a venue with its floors and terminals."""
    venue = services.get_venue(current_user, venue_id)
    name = venue.name
    services.delete_object(current_user, venue)
    db.session.commit()
    flash(_("Venue %(name)s deleted.", name=name), "success")
    return redirect(url_for("inventory.index"))


@bp.get("/venues/<int:venue_id>")
def venue_detail(venue_id: int):  # type: ignore[no-untyped-def]
    """A venue's floors, with counts by kind and status."""
    venue = services.get_venue(current_user, venue_id, with_floors=True)
    floor_counts = services.floor_terminal_counts([f.id for f in venue.floors])
    venue_counts = services.combined_counts(list(floor_counts.values()))
    return render_template("inventory/venue_detail.html", venue=venue, floor_counts=floor_counts,
                           zone_counts=services.floor_zone_counts([f.id for f in venue.floors]),
                           counts=venue_counts, can_edit=can_edit_inventory(current_user, venue.organisation_id),
                           venue_types=VenueType)


# ---------------------------------------------------------------- floors


@bp.route("/venues/<int:venue_id>/floors/new", methods=["GET", "POST"])
def floor_create(venue_id: int):  # type: ignore[no-untyped-def]
    """Add a floor to a venue."""
    venue = services.get_venue(current_user, venue_id)
    if request.method == "POST":
        return _submit(lambda data: services.create_floor(current_user, venue, data),
                       lambda floor: url_for("inventory.floor_detail", floor_id=floor.id),
                       "inventory/floor_form.html", lambda floor: _("Floor %(name)s added.", name=floor.name),
                       fields=FLOOR_FIELDS, venue=venue, floor=None)
    if not can_edit_inventory(current_user, venue.organisation_id):
        abort(403)
    next_level = max((f.level for f in venue.floors), default=-1) + 1
    return _render_form("inventory/floor_form.html", values={"level": next_level}, fields=FLOOR_FIELDS,
                        venue=venue, floor=None)


@bp.route("/floors/<int:floor_id>/edit", methods=["GET", "POST"])
def floor_edit(floor_id: int):  # type: ignore[no-untyped-def]
    """Rename or renumber a floor."""
    floor = services.get_floor(current_user, floor_id)
    if request.method == "POST":
        return _submit(lambda data: services.update_floor(current_user, floor, data),
                       lambda saved: url_for("inventory.floor_detail", floor_id=saved.id),
                       "inventory/floor_form.html", fields=FLOOR_FIELDS, venue=floor.venue, floor=floor)
    if not can_edit_inventory(current_user, floor.venue.organisation_id):
        abort(403)
    if not can_edit_inventory(current_user, floor.venue.organisation_id):
        abort(403)  # read-only roles get no form they cannot save
    values = {f.name: getattr(floor, f.name) for f in FLOOR_FIELDS}
    return _render_form("inventory/floor_form.html", values=values, fields=FLOOR_FIELDS, venue=floor.venue,
                        floor=floor)


@bp.post("/floors/<int:floor_id>/delete")
def floor_delete(floor_id: int):  # type: ignore[no-untyped-def]
    """Delete a floor."""
    floor = services.get_floor(current_user, floor_id)
    venue_id, name = floor.venue_id, floor.name
    services.delete_object(current_user, floor)
    db.session.commit()
    flash(_("Floor %(name)s deleted.", name=name), "success")
    return redirect(url_for("inventory.venue_detail", venue_id=venue_id))


TERMINALS_PER_PAGE = 100  # rows of a floor's terminal table per page (a 20,000-terminal floor is 200 pages)


def _table_context(floor: Floor) -> dict[str, Any]:
    """Filtered, sorted terminals and what the table needs to render."""
    args = request.args
    kind = args.get("kind") if args.get("kind") in TerminalKind.values() else None
    status = args.get("status") if args.get("status") in TerminalStatus.values() else None
    sort = args.get("sort", "code")
    descending = args.get("dir") == "desc"
    terminals, page, total = services.terminal_page(
        current_user, floor, args.get("page", 1, type=page_number), TERMINALS_PER_PAGE, kind=kind, status=status,
        search=args.get("q"), sort=sort, descending=descending)
    can_edit = can_edit_inventory(current_user, floor.venue.organisation_id)
    return {"floor": floor, "terminals": terminals, "rows": terminal_rows(terminals, can_edit),
            "filters": {"kind": kind or "", "status": status or "",
                        "q": args.get("q", ""), "sort": sort, "dir": "desc" if descending else "asc"},
            "pager": {"number": page, "pages": max(1, -(-total // TERMINALS_PER_PAGE)), "total": total},
            "can_edit": can_edit, "kinds": TerminalKind, "statuses": TerminalStatus,
            "counts": services.floor_terminal_counts([floor.id])[floor.id]}


_rows: LRUCache[Hashable, Markup] = LRUCache(20_000)  # a row is about 2 kB


def terminal_rows(terminals: list[sa.Row[Any]], can_edit: bool) -> Markup:
    """The read-only rows of the terminal table (`_terminal_row.html` for each), each rendered once per content.

    `terminals` are plain rows of every terminal column (services.terminal_page). A row shows only its terminal's
    columns, translated, with buttons by `can_edit`: the key names all of it (every column, the language,
    `can_edit`, the script root its links start with), so an edited terminal gets a new key and an entry is never
    stale, never another role's or language's. Without it the 100 rows were most of the floor page's CPU (about 15
    translations and 3 URLs each), and under load most views follow an edit of one row.
    """
    shared = (current_language(), can_edit, request.script_root)
    return Markup("".join(cached_fragment(_rows, (*shared, *t), partial(_render_row, t, can_edit)) for t in terminals))


def _render_row(terminal: Terminal | sa.Row[Any], can_edit: bool) -> Markup:
    """One read-only row, as the table's include of _terminal_row.html renders it."""
    return Markup(render_template("inventory/_terminal_row.html", t=terminal, editing=False, error=None,
                                  can_edit=can_edit, kinds=TerminalKind, statuses=TerminalStatus))


def _has_plan(floor: Floor, terminal_count: int) -> bool:
    """Whether the floor has anything to draw (walls, a background, zones or terminals): else the page offers an
    upload. The structure (170 kB of JSON on the load floor) is read only when nothing cheaper answers, and then
    once per floor version (a new version whenever the floor is written)."""
    if floor.background_image or terminal_count:
        return True
    if db.session.scalar(sa.select(Zone.id).where(Zone.floor_id == floor.id).limit(1)) is not None:
        return True
    return bool(floor_overlays.cached(f"has-structure:{floor.id}:{floor.version}", lambda: bool(floor.structure)))


@bp.get("/floors/<int:floor_id>")
def floor_detail(floor_id: int):  # type: ignore[no-untyped-def]
    """A floor: its map, terminal table and counts."""
    floor = services.get_floor(current_user, floor_id)
    context = _table_context(floor)
    if hx_request.htmx and hx_request.htmx.target == "terminal-table":
        return render_template("inventory/_terminal_table.html", **context)
    has_plan = _has_plan(floor, sum(context["counts"]["by_status"].values()))
    return render_template("inventory/floor_detail.html", has_plan=has_plan,
                           can_edit_zones=can_edit_zones(current_user, floor.venue.organisation_id), **context)


# ---------------------------------------------------------------- terminals


@bp.route("/floors/<int:floor_id>/terminals/new", methods=["GET", "POST"])
def terminal_create(floor_id: int):  # type: ignore[no-untyped-def]
    """Record a terminal on a floor."""
    floor = services.get_floor(current_user, floor_id)
    models = services.list_camera_models(current_user)
    if request.method == "POST":
        return _submit(lambda data: services.create_terminal(current_user, floor, data),
                       lambda saved: url_for("inventory.floor_detail", floor_id=saved.floor_id),
                       "inventory/terminal_form.html", lambda saved: _("Terminal %(code)s added.", code=saved.code),
                       fields=TERMINAL_FIELDS, floor=floor, terminal=None, camera_models=models)
    if not can_edit_inventory(current_user, floor.venue.organisation_id):
        abort(403)
    return _render_form("inventory/terminal_form.html", values={}, fields=TERMINAL_FIELDS, floor=floor,
                        terminal=None, camera_models=models)


@bp.route("/terminals/<int:terminal_id>/edit", methods=["GET", "POST"])
def terminal_edit(terminal_id: int):  # type: ignore[no-untyped-def]
    """Edit every field of a terminal on its own page."""
    terminal = services.get_terminal(current_user, terminal_id)
    models = services.list_camera_models(current_user)
    can_edit = can_edit_inventory(current_user, terminal.venue.organisation_id)
    if request.method == "POST" and can_edit:
        return _submit(lambda data: services.update_terminal(current_user, terminal, data),
                       lambda saved: url_for("inventory.floor_detail", floor_id=saved.floor_id),
                       "inventory/terminal_form.html", fields=TERMINAL_FIELDS, floor=terminal.floor,
                       terminal=terminal, camera_models=models, read_only=False)
    values = {f.name: getattr(terminal, f.name) for f in TERMINAL_FIELDS}
    # Roles that may not edit the record (planners, inspectors) get the record read-only, with the way to lock
    # through the plan review; a refused POST answers 403 on that same page, never a bare error page.
    refused = request.method == "POST"
    html = render_template("inventory/terminal_form.html", error=None, values=values, fields=TERMINAL_FIELDS,
                           floor=terminal.floor, terminal=terminal, camera_models=models, read_only=not can_edit,
                           refused=refused)
    return html, (403 if refused else 200)


# Columns edited inline in the terminal table.
INLINE_FIELDS = ("code", "kind", "status", "heading_deg", "hfov_deg", "face_recognition", "serial")


@bp.route("/terminals/<int:terminal_id>/row", methods=["GET", "POST"])
def terminal_row(terminal_id: int):  # type: ignore[no-untyped-def]
    """htmx: a terminal's table row, read-only or (with ?edit=1) as an inline form; POST saves it."""
    terminal = services.get_terminal(current_user, terminal_id)
    error = None
    editing = request.args.get("edit") == "1"
    can_edit = can_edit_inventory(current_user, terminal.venue.organisation_id)
    if request.method == "POST" and not can_edit:
        html = render_template("inventory/_terminal_row.html", t=terminal, editing=False, can_edit=False,
                               refused=True, kinds=TerminalKind, statuses=TerminalStatus)
        return html, 403
    feedback = None
    if request.method == "POST":
        data = {name: request.form.get(name) for name in INLINE_FIELDS}
        data["face_recognition"] = request.form.get("face_recognition", "")
        try:
            services.update_terminal(current_user, terminal, data)
            db.session.commit()
            editing = False
            # By id, and can_edit stands (an inline edit changes neither venue nor organisation): reloading the
            # floor and venue the commit expired would be two statements for nothing.
            feedback = _table_feedback(terminal.floor_id, _("Terminal %(code)s saved.", code=terminal.code))
        except ValidationError as exc:
            db.session.rollback()
            error, editing = exc, True
            terminal = services.get_terminal(current_user, terminal_id)
            can_edit = can_edit_inventory(current_user, terminal.venue.organisation_id)
    html = render_template("inventory/_terminal_row.html", t=terminal, editing=editing and can_edit,
                           error=error, error_title=_field_title(TERMINAL_FIELDS, error), can_edit=can_edit,
                           kinds=TerminalKind, statuses=TerminalStatus)
    return html + (feedback or ""), (422 if error else 200)


def _field_title(fields: tuple[Any, ...], error: ValidationError | None) -> str | None:
    """The (translated) title of the field a validation error names, for messages shown beside it."""
    return next((f.title for f in fields if error is not None and f.name == error.field), None)


def _table_feedback(floor_id: int, message: str) -> str:
    """htmx out-of-band fragments: the floor's fresh count badges and a status line saying what was done."""
    return render_template("inventory/_table_feedback.html", counts=services.floor_terminal_counts([floor_id])[floor_id],
                           message=message)


@bp.post("/terminals/<int:terminal_id>/delete")
def terminal_delete(terminal_id: int):  # type: ignore[no-untyped-def]
    """Delete a terminal record (use the removed status for terminals taken down)."""
    terminal = services.get_terminal(current_user, terminal_id)
    floor_id, code = terminal.floor_id, terminal.code
    services.delete_object(current_user, terminal)
    db.session.commit()
    message = _("Terminal %(code)s deleted.", code=code)
    if hx_request.htmx:
        return _table_feedback(services.get_floor(current_user, floor_id).id, message)
    flash(message, "success")
    return redirect(url_for("inventory.floor_detail", floor_id=floor_id))


# ---------------------------------------------------------------- camera models


@bp.get("/camera-models")
def camera_models():  # type: ignore[no-untyped-def]
    """The camera model library."""
    return render_template("inventory/camera_models.html", models=services.list_camera_models(current_user),
                           fields=CAMERA_MODEL_FIELDS)


@bp.route("/camera-models/new", methods=["GET", "POST"])
def camera_model_create():  # type: ignore[no-untyped-def]
    """Add a camera model to the organisation's library."""
    if request.method == "POST":
        return _submit(lambda data: services.create_camera_model(current_user, data),
                       lambda _saved: url_for("inventory.camera_models"),
                       "inventory/camera_model_form.html",
                       lambda saved: _("Camera model %(model)s added.", model=f"{saved.manufacturer} {saved.model}"),
                       fields=CAMERA_MODEL_FIELDS, model=None)
    if current_user.role.value not in ("manager", "admin"):
        abort(403)
    return _render_form("inventory/camera_model_form.html", values={}, fields=CAMERA_MODEL_FIELDS, model=None)


@bp.route("/camera-models/<int:model_id>/edit", methods=["GET", "POST"])
def camera_model_edit(model_id: int):  # type: ignore[no-untyped-def]
    """Edit a camera model the organisation owns."""
    model = services.get_camera_model(current_user, model_id)
    if request.method == "POST":
        return _submit(lambda data: services.update_camera_model(current_user, model, data),
                       lambda _saved: url_for("inventory.camera_models"),
                       "inventory/camera_model_form.html", fields=CAMERA_MODEL_FIELDS, model=model)
    if not services.can_edit_camera_model(current_user, model):
        abort(403)
    if not services.can_edit_camera_model(current_user, model):
        abort(403)  # read-only roles get no form they cannot save
    values = {f.name: getattr(model, f.name) for f in CAMERA_MODEL_FIELDS}
    return _render_form("inventory/camera_model_form.html", values=values, fields=CAMERA_MODEL_FIELDS, model=model)
