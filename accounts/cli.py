"""`flask create-user`: add a user from the command line."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from accounts.models import Jurisdiction, Organisation, Role, User, password_problem
from extensions import db


def get_or_create_organisation(name: str) -> Organisation:
    """Find an organisation by name or create it."""
    organisation = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name)
        db.session.add(organisation)
        db.session.flush()
    return organisation


def get_or_create_jurisdiction(name: str, districts: list[str]) -> Jurisdiction:
    """Find a jurisdiction by name (adding districts) or create it."""
    jurisdiction = db.session.scalar(sa.select(Jurisdiction).where(Jurisdiction.name == name))
    if jurisdiction is None:
        jurisdiction = Jurisdiction(name=name, districts=sorted(set(districts)))
        db.session.add(jurisdiction)
    elif districts:
        jurisdiction.districts = sorted(set(jurisdiction.districts) | set(districts))
    db.session.flush()
    return jurisdiction


def create_user(email: str, name: str, password: str, role: Role, *, organisation: str | None = None,
                jurisdiction: str | None = None, districts: list[str] | None = None,
                planned: list[str] | None = None) -> User:
    """Create a user with a role and its scope; raises ValueError on a bad combination."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError("email must contain @")
    if password_problem(password):
        raise ValueError(f"password {password_problem(password)}")
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValueError(f"a user with email {email} already exists")
    user = User(email=email, name=name, role=role)
    user.set_password(password)
    if role == Role.MANAGER:
        if not organisation:
            raise ValueError("a manager needs --organisation")
        user.organisation = get_or_create_organisation(organisation)
    if role == Role.PLANNER:
        user.planned_organisations = [get_or_create_organisation(n) for n in (planned or [])]
        if organisation:
            user.organisation = get_or_create_organisation(organisation)
    if role == Role.INSPECTOR:
        if not jurisdiction:
            raise ValueError("an inspector needs --jurisdiction")
        user.jurisdiction = get_or_create_jurisdiction(jurisdiction, districts or [])
    db.session.add(user)
    db.session.flush()
    return user


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--organisation", help="Organisation of a manager (created if new).")
@click.option("--plans-for", "planned", multiple=True, help="Organisation a planner works for (repeatable).")
@click.option("--jurisdiction", help="Jurisdiction of an inspector (created if new).")
@click.option("--district", "districts", multiple=True, help="District in the inspector's jurisdiction (repeatable).")
@with_appcontext
def create_user_command(email: str, name: str, role: str, password: str, organisation: str | None,
                        planned: tuple[str, ...], jurisdiction: str | None, districts: tuple[str, ...]) -> None:
    """Create a user."""
    try:
        user = create_user(email, name, password, Role(role), organisation=organisation, jurisdiction=jurisdiction,
                           districts=list(districts), planned=list(planned))
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc))
    db.session.commit()
    click.echo(f"created {user.role.value} {user.email}")
