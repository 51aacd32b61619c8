"""Sign-in, sign-out and API tokens."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import (
    Blueprint,
    Request,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from accounts.models import ApiToken, User, authenticate
from extensions import db, login_manager
from security import MAX_ID, SIGN_IN_LIMIT, limiter
from web import safe_next, wants_json

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user from the session: id and session token must both match, and the user be active."""
    row_id, _, token = user_id.partition(":")
    if not row_id.isdigit() or int(row_id) > MAX_ID or not token:
        return None
    user = db.session.get(User, int(row_id))
    if user is None or not user.is_active or not hmac.compare_digest(user.session_token, token):
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req: Request) -> User | None:
    """Authenticate API calls carrying `Authorization: Bearer <token>`."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(header[7:].strip()),
                                                       ApiToken.revoked.is_(False)))
    if token is None or not token.user.is_active:
        return None
    req.environ["sightline.token_auth"] = True
    return token.user


@login_manager.unauthorized_handler
def unauthorized():  # type: ignore[no-untyped-def]
    """Send pages to the sign-in form and API calls a JSON 401."""
    if wants_json():
        return {"error": "authentication required", "field": None}, 401
    return redirect(url_for("accounts.login", next=request.full_path))


def _sign_in_failed(response: Response) -> bool:
    return response.status_code == 401


def _email_key() -> str:
    return "login-email:" + request.form.get("email", "").strip().lower()


TOO_MANY_SIGN_INS = "Too many failed sign-ins; wait a minute and try again."


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"], deduct_when=_sign_in_failed, error_message=TOO_MANY_SIGN_INS)
@limiter.limit(SIGN_IN_LIMIT, key_func=_email_key, methods=["POST"], deduct_when=_sign_in_failed,
               error_message=TOO_MANY_SIGN_INS)
def login():  # type: ignore[no-untyped-def]
    """Show the sign-in form and sign the user in (a fresh session: nothing from before sign-in carries over)."""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        user = authenticate(email, request.form.get("password", ""))
        if user is not None:
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
        return render_template("accounts/login.html", email=email), 401
    return render_template("accounts/login.html", email="")


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    """Sign the user out, ending all of their sessions."""
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("accounts.login"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # type: ignore[no-untyped-def]
    """List the user's API tokens and issue a new one (shown once)."""
    plain = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:100] or "token"
        token, plain = ApiToken.issue(current_user, name)
        db.session.add(token)
        db.session.commit()
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == current_user.id,
                                                        ApiToken.revoked.is_(False)))
    return render_template("accounts/tokens.html", tokens=list(rows), plain=plain)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    """Revoke one of the user's tokens."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
    if token is None:
        abort(404)  # someone else's token, exactly as if it did not exist
    token.revoked = True
    db.session.commit()
    return redirect(url_for("accounts.tokens"))
