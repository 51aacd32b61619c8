"""Who may see and change what: organisation and jurisdiction scoping for every query."""

from __future__ import annotations

import sqlalchemy as sa

from accounts.models import Role, User, planner_organisations
from inventory.districts import District, jurisdiction_districts

# Roles allowed to change inventory records (venues, floors, terminals, camera models).
INVENTORY_EDITORS = (Role.MANAGER, Role.ADMIN)
# Roles allowed to change zones and coverage requirements.
ZONE_EDITORS = (Role.MANAGER, Role.PLANNER, Role.ADMIN)


def scope_filter(user: User, organisation_id: sa.ColumnElement[int], district: sa.ColumnElement[str]
                 ) -> sa.ColumnElement[bool]:
    """SQL condition selecting the rows, by owning organisation and district, that the user may see."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.MANAGER:
        return organisation_id == user.organisation_id if user.organisation_id else sa.false()
    if user.role == Role.PLANNER:
        return organisation_id.in_(
            sa.select(planner_organisations.c.organisation_id).where(planner_organisations.c.user_id == user.id))
    if user.role == Role.INSPECTOR and user.jurisdiction_id is not None:
        return district.in_(jurisdiction_district_names(user.jurisdiction_id))
    return sa.false()


def jurisdiction_district_names(jurisdiction_id: int) -> sa.Select[tuple[str]]:
    """Subquery: the canonical names of a jurisdiction's districts."""
    return (sa.select(District.name).join(jurisdiction_districts, jurisdiction_districts.c.district_id == District.id)
            .where(jurisdiction_districts.c.jurisdiction_id == jurisdiction_id))


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
