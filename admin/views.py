"""Administration: organisations, jurisdictions and users (create or invite, role and scope, deactivate,
password reset); every change is written to the audit trail."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts.districts import District, all_districts
from accounts.models import Jurisdiction, Organisation, Role, User, password_problem
from audit import events
from audit.models import AuditEvent
from audit.views import all_events, field_changes, naming_first, object_types
from extensions import db
from inventory.fields import ValidationError
from inventory.models import Venue
from security import MAX_ID, page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_NAME = 200
MAX_EMAIL = 254


def require_admin() -> None:
    """Refuse (403) anyone but an administrator."""
    if not current_user.is_authenticated or current_user.role != Role.ADMIN:
        abort(403, _("only administrators may use this page"))


@bp.before_request
@login_required
def _admins_only() -> None:
    """Every administration page needs a signed-in administrator."""
    require_admin()


# ---------------------------------------------------------------- validation


def clean_email(raw: str | None) -> str:
    """A normalised email address, or ValidationError naming the field."""
    email = (raw or "").strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or any(c.isspace() for c in email):
        raise ValidationError("email", _("must be an email address"))
    if len(email) > MAX_EMAIL:
        raise ValidationError("email", _("must have at most %(n)d characters", n=MAX_EMAIL))
    return email


def check_password_rules(password: str, field: str = "password") -> str:
    """The password when it is acceptable, else ValidationError naming the field."""
    problem = password_problem(password)
    if problem:
        raise ValidationError(field, problem)
    return password


def _name(raw: str | None, field: str = "name") -> str:
    name = (raw or "").strip()
    if not name:
        raise ValidationError(field, _("is required"))
    if len(name) > MAX_NAME:
        raise ValidationError(field, _("must have at most %(n)d characters", n=MAX_NAME))
    return name


def _pick(model: type[Organisation] | type[Jurisdiction], raw: str | None, field: str) -> Any:
    """The row chosen in a select by id, None when nothing is chosen; an unknown id names the field."""
    if not raw:
        return None
    row = db.session.get(model, int(raw)) if raw.isdigit() and int(raw) <= MAX_ID else None
    if row is None:
        raise ValidationError(field, _("is not a known choice"))
    return row


def temporary_password() -> str:
    """A random password to hand to a new or reset user (shown once)."""
    return secrets.token_urlsafe(12)


# ---------------------------------------------------------------- users


def user_summary(user: User) -> dict[str, Any]:
    """The audited fields of a user (never the password hash or the session token)."""
    return {"email": user.email, "name": user.name, "role": user.role.value,
            "organisation": user.organisation.name if user.organisation else None,
            "jurisdiction": user.jurisdiction.name if user.jurisdiction else None,
            "plans_for": sorted(o.name for o in user.planned_organisations), "active": user.active}


def apply_role(user: User, form: Mapping[str, Any]) -> None:
    """Set role and scope from a form; scope the role does not use is cleared so access rules stay unambiguous."""
    raw_role = form.get("role", "")
    if raw_role not in [r.value for r in Role]:
        raise ValidationError("role", _("is not a known role"))
    role = Role(raw_role)
    organisation = _pick(Organisation, form.get("organisation_id"), "organisation_id")
    jurisdiction = _pick(Jurisdiction, form.get("jurisdiction_id"), "jurisdiction_id")
    planned = [_pick(Organisation, raw, "plans_for") for raw in _getlist(form, "plans_for") if raw]
    if role == Role.MANAGER and organisation is None:
        raise ValidationError("organisation_id", _("a manager needs an organisation"))
    if role == Role.INSPECTOR and jurisdiction is None:
        raise ValidationError("jurisdiction_id", _("an inspector needs a jurisdiction"))
    if user.id is not None and user.id == current_user.id and role != Role.ADMIN:
        raise ValidationError("role", _("you cannot take the administrator role from yourself"))
    user.role = role
    user.organisation = organisation if role in (Role.MANAGER, Role.PLANNER) else None
    user.jurisdiction = jurisdiction if role == Role.INSPECTOR else None
    user.planned_organisations = planned if role == Role.PLANNER else []


def _getlist(form: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    return getlist(key) if getlist else list(form.get(key) or [])


def _save_audited(obj: Any, is_new: bool, kind: str, summary: Callable[[Any], dict[str, Any]],
                  apply: Callable[[Any], None], organisation_of: Callable[[Any], int | None] | None = None) -> Any:
    """Apply a change to an admin object and record only the fields it changed (nothing when none did)."""
    before = {} if is_new else summary(obj)
    apply(obj)
    db.session.add(obj)
    db.session.flush()
    old, new = events.changes(before, summary(obj))
    if new:
        events.record("create" if is_new else "update", kind, user_id=current_user.id, object_id=obj.id,
                      organisation_id=organisation_of(obj) if organisation_of else None, before=old or None,
                      after=new)
    return obj


def create_user(form: Mapping[str, Any]) -> tuple[User, str | None]:
    """Create a user from the admin form; return it with the temporary password when none was typed (an invite)."""
    email = clean_email(form.get("email"))
    name = _name(form.get("name"))
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationError("email", _("a user with this email already exists"))
    typed = form.get("password") or ""
    password = check_password_rules(typed) if typed else temporary_password()
    user = User(email=email, name=name, role=Role.MANAGER, active=True)
    apply_role(user, form)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    events.record("create", "user", user_id=current_user.id, object_id=user.id, after=user_summary(user),
                  organisation_id=user.organisation_id)
    return user, None if typed else password


def update_user(user: User, form: Mapping[str, Any]) -> None:
    """Change a user's name, role and scope from the admin form, recording the changed fields."""
    name = _name(form.get("name"))

    def apply(target: User) -> None:
        target.name = name
        apply_role(target, form)

    _save_audited(user, False, "user", user_summary, apply, organisation_of=lambda u: u.organisation_id)


def set_active(user: User, active: bool) -> None:
    """Deactivate (ending every session) or reactivate a user, recorded."""
    if user.id == current_user.id:
        raise ValidationError(None, _("you cannot deactivate yourself"))
    if user.active == active:
        return
    if active:
        user.active = True
    else:
        user.deactivate()
    events.record(events.REACTIVATE if active else events.DEACTIVATE, "user", user_id=current_user.id,
                  object_id=user.id, before={"active": not active}, after={"active": active},
                  organisation_id=user.organisation_id)


def reset_password(user: User, typed: str) -> str | None:
    """Give a user a new password (typed, or a temporary one returned to show once); ends their sessions."""
    password = check_password_rules(typed) if typed else temporary_password()
    user.set_password(password)
    events.record(events.PASSWORD_RESET, "user", user_id=current_user.id, object_id=user.id,
                  organisation_id=user.organisation_id, after={"email": user.email})
    return None if typed else password


def _choices() -> dict[str, Any]:
    return {"organisations": list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name))),
            "jurisdictions": list(db.session.scalars(sa.select(Jurisdiction).order_by(Jurisdiction.name))),
            "roles": list(Role)}


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    """The administration start page: the users."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():  # type: ignore[no-untyped-def]
    """Every user with role, scope, whether they may sign in and when they last did."""
    rows = db.session.scalars(sa.select(User).order_by(User.active.desc(), User.email))
    last_sign_in = dict(db.session.execute(
        sa.select(AuditEvent.user_id, sa.func.max(AuditEvent.at))
        .where(AuditEvent.action == events.SIGN_IN, AuditEvent.object_type == "user")
        .group_by(AuditEvent.user_id)).tuples().all())
    return render_template("admin/users.html", users=list(rows), last_sign_in=last_sign_in)


@bp.route("/users/new", methods=["GET", "POST"])
def user_create():  # type: ignore[no-untyped-def]
    """Create a user with a password, or invite one with a temporary password shown once."""
    if request.method == "POST":
        try:
            user, temporary = create_user(request.form)
        except ValidationError as error:
            db.session.rollback()
            return render_template("admin/user_form.html", user=None, error=error, values=request.form,
                                   **_choices()), 422
        db.session.commit()
        flash(_("User %(email)s created.", email=user.email), "success")
        if temporary:
            return render_template("admin/password_shown.html", user=user, password=temporary)
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", user=None, error=None, values={}, **_choices())


def _user_values(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "role": user.role.value,
            "organisation_id": str(user.organisation_id or ""), "jurisdiction_id": str(user.jurisdiction_id or ""),
            "plans_for": [str(o.id) for o in user.planned_organisations]}


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):  # type: ignore[no-untyped-def]
    """Change a user's name, role and organisation or jurisdiction."""
    user = _user_or_404(user_id)
    if request.method == "POST":
        try:
            update_user(user, request.form)
        except ValidationError as error:
            db.session.rollback()
            return render_template("admin/user_form.html", user=user, error=error, values=request.form,
                                   **_choices()), 422
        db.session.commit()
        flash(_("User %(email)s saved.", email=user.email), "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", user=user, error=None, values=_user_values(user), **_choices())


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):  # type: ignore[no-untyped-def]
    """Deactivate (ends every session at once) or reactivate a user."""
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        set_active(user, active)
    except ValidationError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    db.session.commit()
    flash(_("%(email)s can sign in again.", email=user.email) if active
          else _("%(email)s is deactivated and signed out everywhere.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):  # type: ignore[no-untyped-def]
    """Reset a user's password (typed, or a temporary one shown once); their sessions end."""
    user = _user_or_404(user_id)
    try:
        temporary = reset_password(user, request.form.get("password", ""))
    except ValidationError as error:
        db.session.rollback()
        return render_template("admin/user_form.html", user=user, error=error, values=_user_values(user),
                               **_choices()), 422
    db.session.commit()
    flash(_("The password of %(email)s was reset; their sessions have ended.", email=user.email), "success")
    if temporary:
        return render_template("admin/password_shown.html", user=user, password=temporary)
    return redirect(url_for("admin.user_edit", user_id=user.id))


# ---------------------------------------------------------------- organisations


def _organisation_summary(organisation: Organisation) -> dict[str, Any]:
    return {"name": organisation.name, "legal_entity": organisation.legal_entity}


def save_organisation(organisation: Organisation | None, form: Mapping[str, Any]) -> Organisation:
    """Create or rename an organisation (unique name), recorded with the changed fields."""
    name = _name(form.get("name"))
    legal_entity = (form.get("legal_entity") or "").strip() or None
    if legal_entity and len(legal_entity) > MAX_NAME:
        raise ValidationError("legal_entity", _("must have at most %(n)d characters", n=MAX_NAME))
    clash = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))
    if clash is not None and (organisation is None or clash != organisation.id):
        raise ValidationError("name", _("an organisation with this name already exists"))

    def apply(target: Organisation) -> None:
        target.name, target.legal_entity = name, legal_entity

    return _save_audited(organisation or Organisation(), organisation is None, "organisation",
                         _organisation_summary, apply, organisation_of=lambda o: o.id)


@bp.route("/organisations", methods=["GET", "POST"])
def organisations():  # type: ignore[no-untyped-def]
    """Organisations with their users and venues; the form adds one."""
    error = None
    if request.method == "POST":
        try:
            organisation = save_organisation(None, request.form)
        except ValidationError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            flash(_("Organisation %(name)s created.", name=organisation.name), "success")
            return redirect(url_for("admin.organisations"))
    users = dict(db.session.execute(sa.select(User.organisation_id, sa.func.count()).group_by(User.organisation_id))
                 .tuples().all())
    venues = dict(db.session.execute(sa.select(Venue.organisation_id, sa.func.count())
                                     .group_by(Venue.organisation_id)).tuples().all())
    rows = list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))
    return render_template("admin/organisations.html", organisations=rows, user_counts=users, venue_counts=venues,
                           error=error, values=request.form if error else {}), (422 if error else 200)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def organisation_edit(organisation_id: int):  # type: ignore[no-untyped-def]
    """Rename an organisation or set its legal entity."""
    organisation = db.session.get(Organisation, organisation_id) or abort(404)
    if request.method == "POST":
        try:
            save_organisation(organisation, request.form)
        except ValidationError as error:
            db.session.rollback()
            return render_template("admin/organisation_form.html", organisation=organisation, error=error,
                                   values=request.form), 422
        db.session.commit()
        flash(_("Organisation %(name)s saved.", name=organisation.name), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", organisation=organisation, error=None,
                           values=_organisation_summary(organisation))


# ---------------------------------------------------------------- jurisdictions


def _chosen_districts(form: Mapping[str, Any]) -> list[District]:
    """The districts ticked for a jurisdiction, from the managed list; an unknown one names the field."""
    known = {str(d.id): d for d in all_districts()}
    chosen = []
    for raw in _getlist(form, "districts"):
        if raw not in known:
            raise ValidationError("districts", _("is not a district of the managed list"))
        chosen.append(known[raw])
    return sorted(set(chosen), key=lambda d: (d.position, d.id))


def _jurisdiction_summary(jurisdiction: Jurisdiction) -> dict[str, Any]:
    return {"name": jurisdiction.name, "districts": list(jurisdiction.districts)}


def save_jurisdiction(jurisdiction: Jurisdiction | None, form: Mapping[str, Any]) -> Jurisdiction:
    """Create or change a jurisdiction (a named set of managed districts), recorded with the changed fields."""
    name = _name(form.get("name"))
    districts = _chosen_districts(form)
    clash = db.session.scalar(sa.select(Jurisdiction.id).where(Jurisdiction.name == name))
    if clash is not None and (jurisdiction is None or clash != jurisdiction.id):
        raise ValidationError("name", _("a jurisdiction with this name already exists"))

    def apply(target: Jurisdiction) -> None:
        target.name, target.district_list = name, districts

    return _save_audited(jurisdiction or Jurisdiction(), jurisdiction is None, "jurisdiction",
                         _jurisdiction_summary, apply)


@bp.route("/jurisdictions", methods=["GET", "POST"])
def jurisdictions():  # type: ignore[no-untyped-def]
    """Jurisdictions with their districts and inspectors; the form adds one."""
    error = None
    if request.method == "POST":
        try:
            jurisdiction = save_jurisdiction(None, request.form)
        except ValidationError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            flash(_("Jurisdiction %(name)s created.", name=jurisdiction.name), "success")
            return redirect(url_for("admin.jurisdictions"))
    inspectors = dict(db.session.execute(sa.select(User.jurisdiction_id, sa.func.count())
                                         .group_by(User.jurisdiction_id)).tuples().all())
    rows = list(db.session.scalars(sa.select(Jurisdiction).order_by(Jurisdiction.name)))
    return render_template("admin/jurisdictions.html", jurisdictions=rows, inspector_counts=inspectors,
                           error=error, values=_jurisdiction_values(request.form if error else None),
                           all_districts=all_districts()), (422 if error else 200)


def _jurisdiction_values(form: Mapping[str, Any] | None, jurisdiction: Jurisdiction | None = None) -> dict[str, Any]:
    """What the jurisdiction form shows: what was submitted, the jurisdiction as stored, or nothing."""
    if form is not None:
        return {"name": form.get("name", ""), "districts": set(_getlist(form, "districts"))}
    if jurisdiction is not None:
        return {"name": jurisdiction.name, "districts": {str(d.id) for d in jurisdiction.district_list}}
    return {"name": "", "districts": set()}


@bp.route("/jurisdictions/<int:jurisdiction_id>", methods=["GET", "POST"])
def jurisdiction_edit(jurisdiction_id: int):  # type: ignore[no-untyped-def]
    """Rename a jurisdiction or change its districts."""
    jurisdiction = db.session.get(Jurisdiction, jurisdiction_id) or abort(404)
    if request.method == "POST":
        try:
            save_jurisdiction(jurisdiction, request.form)
        except ValidationError as error:
            db.session.rollback()
            return render_template("admin/jurisdiction_form.html", jurisdiction=jurisdiction, error=error,
                                   values=_jurisdiction_values(request.form), all_districts=all_districts()), 422
        db.session.commit()
        flash(_("Jurisdiction %(name)s saved.", name=jurisdiction.name), "success")
        return redirect(url_for("admin.jurisdictions"))
    return render_template("admin/jurisdiction_form.html", jurisdiction=jurisdiction, error=None,
                           values=_jurisdiction_values(None, jurisdiction), all_districts=all_districts())


# ---------------------------------------------------------------- audit trail


@bp.get("/audit")
def audit():  # type: ignore[no-untyped-def]
    """Every audit event, including those of no venue (sign-ins, tokens, camera models, deleted venues)."""
    object_type = request.args.get("type") or None
    without_venue = request.args.get("scope") == "no-venue"
    page = all_events(object_type, without_venue, request.args.get("page", 1, type=page_number))
    # Venues that still have a page; events of deleted or removed ones say so instead of linking.
    venues = dict(db.session.execute(sa.select(Venue.id, Venue.name).where(
        Venue.id.in_({e.venue_id for e in page.events if e.venue_id}), Venue.removed_at.is_(None))).tuples().all())
    return render_template("admin/audit.html", page=page, object_type=object_type,
                           without_venue=without_venue, object_types=object_types(), venues=venues,
                           field_changes=field_changes, naming_first=naming_first)
