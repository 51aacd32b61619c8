"""Who may see and change what: organisation and jurisdiction scoping for every query."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from accounts.models import Role, User, planner_organisations

F = TypeVar("F", bound=Callable[..., Any])

# Roles allowed to change inventory records (venues, floors, terminals, camera models).
INVENTORY_EDITORS = (Role.MANAGER, Role.ADMIN)
# Roles allowed to change zones and coverage requirements.
ZONE_EDITORS = (Role.MANAGER, Role.PLANNER, Role.ADMIN)


def venue_filter(user: User) -> sa.ColumnElement[bool]:
    """SQL condition selecting the venues the user may see."""
    from inventory.models import Venue

    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.MANAGER:
        return Venue.organisation_id == user.organisation_id if user.organisation_id else sa.false()
    if user.role == Role.PLANNER:
        return Venue.organisation_id.in_(
            sa.select(planner_organisations.c.organisation_id).where(planner_organisations.c.user_id == user.id))
    if user.role == Role.INSPECTOR and user.jurisdiction is not None:
        return Venue.district.in_(user.jurisdiction.districts or [])
    return sa.false()


def organisation_ids(user: User) -> list[int] | None:
    """Organisations whose objects the user may change; None means every organisation (admin)."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.MANAGER:
        return [user.organisation_id] if user.organisation_id else []
    if user.role == Role.PLANNER:
        return [org.id for org in user.planned_organisations]
    return []


def can_edit_inventory(user: User, organisation_id: int) -> bool:
    """Whether the user may change inventory records of this organisation."""
    allowed = organisation_ids(user)
    return user.role in INVENTORY_EDITORS and (allowed is None or organisation_id in allowed)


def can_edit_zones(user: User, organisation_id: int) -> bool:
    """Whether the user may change zones and coverage requirements of this organisation."""
    allowed = organisation_ids(user)
    return user.role in ZONE_EDITORS and (allowed is None or organisation_id in allowed)


def roles_required(*roles: Role) -> Callable[[F], F]:
    """View decorator: signed-in users holding one of the roles, else 403 (401 when signed out)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


ALL_ROLES = tuple(Role)
