"""Dashboard pages: figures by district and venue type, its CSV, district moves; inspectors and admins only."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.access import scope_filter
from accounts.districts import DistrictMove, all_districts
from accounts.models import Role, User
from dashboard import figures, queries
from dashboard.charts import Bar, bar_chart
from extensions import db
from inventory.choices import VenueType
from inventory.csv_io import escape_cell
from security import page_number

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

VIEWERS = (Role.INSPECTOR, Role.ADMIN)


@bp.before_request
@login_required
def _viewers_only() -> None:
    """The city overview belongs to inspecting authorities (and admins); other roles are refused."""
    if current_user.role not in VIEWERS:
        abort(403)


def _filters() -> tuple[str | None, str | None]:
    """The district and venue-type filters of the query string; unknown values are a 400 naming the parameter."""
    district = request.args.get("district") or None
    venue_type = request.args.get("type") or None
    if district is not None and district not in {d.name for d in all_districts()}:
        abort(400, description=_("district: '%(value)s' is not a district", value=district))
    if district is not None and district not in _visible_districts(current_user):
        abort(404)  # a district outside the jurisdiction is hidden like its venues
    if venue_type is not None and venue_type not in VenueType.values():
        abort(400, description=_("type: '%(value)s' is not a venue type", value=venue_type))
    return district, venue_type


def _visible_districts(user: User) -> list[str]:
    """The districts the user's figures can cover (every district for admins), in the list's order."""
    names = [d.name for d in all_districts()]
    if user.role == Role.ADMIN or user.jurisdiction is None:
        return names if user.role == Role.ADMIN else []
    mine = set(user.jurisdiction.districts)
    return [n for n in names if n in mine]


@bp.get("/")
def overview():  # type: ignore[no-untyped-def]
    """The jurisdiction's figures by district and venue type, with charts and the filing watch list."""
    district, venue_type = _filters()
    figures.ensure()
    data = queries.overview(current_user, district, venue_type)
    visible = _visible_districts(current_user)
    districts = [d for d in visible if d in data.by_district]
    types = [t for t in VenueType.values() if t in data.by_type]
    type_label = {t.value: t.label for t in VenueType}
    charts = {
        "terminals": bar_chart(
            "chart-terminals", _("Terminals before and after the approved plans, by district"),
            _("For each district, terminals before (hatched) and after (solid) the plans in force."),
            [Bar(d, data.by_district[d].terminals_before, data.by_district[d].terminals_after) for d in districts],
            before_label=_("before"), after_label=_("after")),
        "face": bar_chart(
            "chart-face", _("Face-recognition terminals before and after, by district"),
            _("For each district, face-recognition terminals before (hatched) and after (solid) the plans in force."),
            [Bar(d, data.by_district[d].face_before, data.by_district[d].face_after) for d in districts],
            before_label=_("before"), after_label=_("after")),
        "prohibited": bar_chart(
            "chart-prohibited", _("Open prohibited findings, by district"),
            _("For each district, the number of open findings of severity prohibited."),
            [Bar(d, data.by_district[d].open_prohibited) for d in districts], before_label=_("open prohibited")),
        "types": bar_chart(
            "chart-types", _("Terminals before and after, by venue type"),
            _("For each venue type, terminals before (hatched) and after (solid) the plans in force."),
            [Bar(type_label[t], data.by_type[t].terminals_before, data.by_type[t].terminals_after) for t in types],
            before_label=_("before"), after_label=_("after")),
    }
    return render_template("dashboard/overview.html", data=data, districts=districts, types=types,
                           type_label=type_label, charts=charts, district=district, venue_type=venue_type,
                           district_choices=visible, venue_types=VenueType)


CSV_COLUMNS = ("district", "venue_type", "venues", "inspected", "terminals_before", "terminals_after", "face_before",
               "face_after", "open_prohibited")


@bp.get("/export.csv")
def export_csv() -> Response:
    """The figures per district × venue type (with the filters of the page) as CSV, one row per cell."""
    district, venue_type = _filters()
    figures.ensure()
    grid = queries.cells(current_user, district, venue_type)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 with a byte-order mark
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for (d, t), row in sorted(grid.items()):
        values = row.as_dict()
        writer.writerow([escape_cell(d), t, *(values[c] for c in CSV_COLUMNS[2:])])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="sightline-overview.csv"'})


def moves_query(user: User) -> sa.Select[tuple[DistrictMove]]:
    """District moves the user may see: out of or into one of their districts (every move for admins)."""
    condition = sa.or_(scope_filter(user, DistrictMove.organisation_id, DistrictMove.from_district),
                       scope_filter(user, DistrictMove.organisation_id, DistrictMove.to_district))
    return sa.select(DistrictMove).where(condition).order_by(DistrictMove.at.desc(), DistrictMove.id.desc())


MOVES_PAGE = 100


@bp.get("/moves")
def moves():  # type: ignore[no-untyped-def]
    """Venues moved into or out of the jurisdiction's districts, newest first, a page at a time."""
    page = request.args.get("page", 1, type=page_number)
    rows = list(db.session.scalars(moves_query(current_user).options(so.selectinload(DistrictMove.user))
                                   .limit(MOVES_PAGE + 1).offset((page - 1) * MOVES_PAGE)))
    mine = set(current_user.jurisdiction.districts) if current_user.jurisdiction else None
    return render_template("dashboard/moves.html", moves=rows[:MOVES_PAGE], mine=mine, page=page,
                           more=len(rows) > MOVES_PAGE)
