"""What keeps an inventory record: a standing finding, an approved plan or an inspection that refers to it.

Registered with inventory.services at import (the app factory imports this package), so inventory stays
below compliance, plans and inspection in the import layers.
"""

from __future__ import annotations

import sqlalchemy as sa

from compliance.models import STANDING, Finding
from extensions import db
from inspection.models import Inspection, InspectionItem
from inventory.models import Floor, Terminal, Venue
from inventory.services import register_reference_check
from plans.models import Plan, PlanDecision, WorkItem


def referenced(obj: Venue | Floor | Terminal) -> bool:
    """Whether a standing finding, an approved plan or an inspection refers to the record (or, for a venue or
    a floor, to anything in it)."""
    approved = Plan.approved_at.is_not(None)
    if isinstance(obj, Venue):
        floor_ids = sa.select(Floor.id).where(Floor.venue_id == obj.id)
        checks = [sa.select(Finding.id).where(Finding.venue_id == obj.id, Finding.status.in_(STANDING)),
                  sa.select(Plan.id).where(Plan.floor_id.in_(floor_ids), approved),
                  sa.select(Inspection.id).where(Inspection.venue_id == obj.id)]
    elif isinstance(obj, Floor):
        terminal_ids = sa.select(Terminal.id).where(Terminal.floor_id == obj.id)
        checks = [sa.select(Finding.id).where(sa.or_(Finding.floor_id == obj.id, Finding.terminal_id.in_(terminal_ids)),
                                              Finding.status.in_(STANDING)),
                  sa.select(Plan.id).where(Plan.floor_id == obj.id, approved),
                  sa.select(InspectionItem.id).where(sa.or_(InspectionItem.floor_id == obj.id,
                                                            InspectionItem.terminal_id.in_(terminal_ids)))]
    else:
        checks = [sa.select(Finding.id).where(Finding.terminal_id == obj.id, Finding.status.in_(STANDING)),
                  sa.select(PlanDecision.id).join(Plan, Plan.id == PlanDecision.plan_id)
                  .where(Plan.floor_id == obj.floor_id, approved, PlanDecision.terminal_code == obj.code),
                  sa.select(WorkItem.id).join(Plan, Plan.id == WorkItem.plan_id)
                  .where(WorkItem.terminal_id == obj.id, approved),
                  sa.select(InspectionItem.id).where(InspectionItem.terminal_id == obj.id)]
    return any(db.session.scalar(check.limit(1)) is not None for check in checks)


register_reference_check(referenced)
