"""The /api/v1 blueprint and its authentication; the endpoint modules register on it."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    """Require a user; session-authenticated writes must still carry the CSRF token."""
    if not current_user.is_authenticated:
        return {"error": _("authentication required"), "field": None}, 401
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if unsafe and request.environ.get("sightline.token_scope", "write") != "write":
        return {"error": _("this API token is read-only: issue a write token to change anything"), "field": None}, 403
    if unsafe and not request.environ.get("sightline.token_auth") and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None

