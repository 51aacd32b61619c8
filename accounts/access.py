"""Who may see and change what: the policy table of actions and roles, and organisation and jurisdiction
scoping for every query.

Seeing an object follows `scope_filter` (organisation for managers and planners, districts for inspectors).
Changing one needs the action's role in `POLICY` *and* the object's organisation among `organisation_ids`.
`tests/security/test_access_matrix.py` checks every route against this table, and `docs/api.md` shows it.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from accounts.districts import District, jurisdiction_districts
from accounts.models import Role, User, planner_organisations


class Action(enum.StrEnum):
    """Something a user does to an organisation's objects, beyond seeing them."""

    EDIT_INVENTORY = "edit_inventory"  # venues, floors, floor plans, terminals, CSV import, camera models
    EDIT_ZONES = "edit_zones"  # zones and coverage requirements
    RUN_PLANS = "run_plans"  # start, cancel and re-run optimizer runs, review their decisions, trade-off curves
    APPROVE_PLANS = "approve_plans"  # make a plan version the floor's plan in force
    CARRY_OUT_WORK = "carry_out_work"  # tick an approved plan's work items done


# The one table of who may do what (within the organisations `organisation_ids` gives them). Managers own their
# venues, so they edit zones and run plans as planners do; approval stays with planners, so the person who asks
# for a reduction is not the one who signs it off alone; the manager then carries the work out.
POLICY: dict[Action, tuple[Role, ...]] = {
    Action.EDIT_INVENTORY: (Role.MANAGER, Role.ADMIN),
    Action.EDIT_ZONES: (Role.MANAGER, Role.PLANNER, Role.ADMIN),
    Action.RUN_PLANS: (Role.MANAGER, Role.PLANNER, Role.ADMIN),
    Action.APPROVE_PLANS: (Role.PLANNER, Role.ADMIN),
    Action.CARRY_OUT_WORK: (Role.MANAGER, Role.ADMIN),
}

# Roles allowed to change inventory records (venues, floors, terminals, camera models).
INVENTORY_EDITORS = POLICY[Action.EDIT_INVENTORY]
# Roles allowed to change zones and coverage requirements.
ZONE_EDITORS = POLICY[Action.EDIT_ZONES]


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


def may(user: User, action: Action, organisation_id: int) -> bool:
    """Whether the user may do this action to objects of this organisation (by `POLICY` and scope)."""
    if user.role not in POLICY[action]:
        return False
    allowed = organisation_ids(user)
    return allowed is None or organisation_id in allowed


def can_edit_inventory(user: User, organisation_id: int) -> bool:
    """Whether the user may change inventory records of this organisation."""
    return may(user, Action.EDIT_INVENTORY, organisation_id)


def can_edit_zones(user: User, organisation_id: int) -> bool:
    """Whether the user may change zones and coverage requirements of this organisation."""
    return may(user, Action.EDIT_ZONES, organisation_id)
