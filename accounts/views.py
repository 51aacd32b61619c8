"""Sign-in, sign-out and API tokens."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
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
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from accounts import signals
from accounts.models import (
    DEFAULT_TOKEN_DAYS,
    TOKEN_LIFETIMES_DAYS,
    ApiToken,
    TokenScope,
    User,
    authenticate,
    password_problem,
)
from extensions import db, login_manager
from security import MAX_ID, SIGN_IN_LIMIT, limiter
from web import safe_next, wants_json

bp = Blueprint("accounts", __name__)


# With the organisation or jurisdiction every page's header names: one statement, not two. Built once, so its
# cache key (the joined loads make it costly) is computed once, not on every request.
_SIGNED_IN_USER = (sa.select(User).options(so.joinedload(User.organisation), so.joinedload(User.jurisdiction))
                   .where(User.id == sa.bindparam("user_id")))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user from the session: id and session token must both match, and the user be active."""
    row_id, _, token = user_id.partition(":")
    if not row_id.isdigit() or int(row_id) > MAX_ID or not token:
        return None
    user = db.session.execute(_SIGNED_IN_USER, {"user_id": int(row_id)}).scalar_one_or_none()
    if user is None or not user.is_active or not hmac.compare_digest(user.session_token, token):
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req: Request) -> User | None:
    """Authenticate API calls carrying `Authorization: Bearer <token>`: a token that is revoked or expired, or
    whose user is inactive, authenticates nothing (401). Pages ignore tokens: they take sessions and CSRF."""
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not req.path.startswith("/api/"):
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(header[7:].strip()),
                                                       ApiToken.revoked.is_(False)))
    if token is None or token.expired or not token.user.is_active:
        return None
    req.environ["sightline.token_auth"] = True
    req.environ["sightline.token_scope"] = token.scope.value
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
            signals.signed_in.send(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        # The email tried, never the password: enough to spot guessing against one account.
        signals.sign_in_failed.send(None, email=email[:254])
        db.session.commit()
        flash(_("Wrong email or password."), "error")
        return render_template("accounts/login.html", email=email), 401
    return render_template("accounts/login.html", email="")


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    """Sign the user out, ending all of their sessions."""
    current_user.end_sessions()
    signals.signed_out.send(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("accounts.login"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # type: ignore[no-untyped-def]
    """List the user's API tokens and issue a new one (shown once)."""
    plain, error = None, None
    if request.method == "POST":
        name = request.form.get("name", "").strip()[:100] or "token"
        try:
            scope = TokenScope(request.form.get("scope", ""))
            days = int(request.form.get("days", ""))
            if days not in TOKEN_LIFETIMES_DAYS:
                raise ValueError
        except ValueError:
            error = _("Choose a scope (read or write) and one of the lifetimes offered.")
    if request.method == "POST" and error is None:
        token, plain = ApiToken.issue(current_user, name, scope, days)
        db.session.add(token)
        db.session.flush()
        signals.token_issued.send(current_user._get_current_object(), token=token)
        db.session.commit()
        flash(_("Token %(name)s issued.", name=name), "success")
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == current_user.id,
                                                        ApiToken.revoked.is_(False)).order_by(ApiToken.id))
    return render_template("accounts/tokens.html", tokens=list(rows), plain=plain, error=error,
                           scopes=TokenScope, lifetimes=TOKEN_LIFETIMES_DAYS,
                           default_days=DEFAULT_TOKEN_DAYS), 422 if error else 200


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    """Revoke one of the user's tokens."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
    if token is None:
        abort(404)  # someone else's token, exactly as if it did not exist
    if not token.revoked:
        token.revoked = True
        signals.token_revoked.send(current_user._get_current_object(), token=token)
        db.session.commit()
        flash(_("Token %(name)s revoked.", name=token.name), "success")
    return redirect(url_for("accounts.tokens"))


@dataclass(frozen=True)
class FieldError:
    """A refused form value: which field and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _password_change_error(form: Mapping[str, str]) -> FieldError | None:
    """Why this password change is refused, naming the field; None when it may go ahead."""
    if not current_user.check_password(form.get("current_password", "")):
        return FieldError("current_password", _("is not your current password"))
    problem = password_problem(form.get("new_password", ""))
    if problem:
        return FieldError("new_password", problem)
    if form.get("new_password") != form.get("confirm_password", ""):
        return FieldError("confirm_password", _("does not match the new password"))
    return None


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    """Change one's own password: the current one is needed; every other session ends, this one stays."""
    error = _password_change_error(request.form) if request.method == "POST" else None
    if request.method == "POST" and error is None:
        user = current_user._get_current_object()
        user.set_password(request.form["new_password"])
        signals.password_changed.send(user)
        db.session.commit()
        login_user(user)  # this session carries the new session token; the others no longer match
        flash(_("Password changed. Your other sessions have been signed out."), "success")
        return redirect(url_for("accounts.change_password"))
    return render_template("accounts/password.html", error=error), (422 if error else 200)
