"""Dashboard pages: figures by district and venue type, district moves; inspectors and admins only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from accounts.access import scope_filter
from accounts.models import Role, User
from extensions import db
from inventory.districts import DistrictMove

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

VIEWERS = (Role.INSPECTOR, Role.ADMIN)


@bp.before_request
@login_required
def _viewers_only() -> None:
    """The city overview belongs to inspecting authorities (and admins); other roles are refused."""
    if current_user.role not in VIEWERS:
        abort(403)


def moves_query(user: User) -> sa.Select[tuple[DistrictMove]]:
    """District moves the user may see: out of or into one of their districts (every move for admins)."""
    condition = sa.or_(scope_filter(user, DistrictMove.organisation_id, DistrictMove.from_district),
                       scope_filter(user, DistrictMove.organisation_id, DistrictMove.to_district))
    return sa.select(DistrictMove).where(condition).order_by(DistrictMove.at.desc(), DistrictMove.id.desc())


@bp.get("/moves")
def moves():  # type: ignore[no-untyped-def]
    """Venues moved into or out of the jurisdiction's districts, newest first."""
    rows = list(db.session.scalars(moves_query(current_user).limit(500)))
    mine = set(current_user.jurisdiction.districts) if current_user.jurisdiction else None
    return render_template("dashboard/moves.html", moves=rows, mine=mine)


@bp.get("/")
def overview():  # type: ignore[no-untyped-def]
    """The jurisdiction's figures by district and venue type."""
    return render_template("dashboard/overview.html")
