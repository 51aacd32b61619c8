"""CAC filing per legal entity (CN-19, CN-20): threshold, warning and deadlines, as plain functions of counts.

Working days skip Saturdays and Sundays only: the official holiday calendar (and its make-up working weekends)
is not in the sources, so a deadline may fall a few days later than the legal one, never earlier than today's
rule of thumb would put it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from compliance.rules import MESSAGES, Rule


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Mon–Fri) after `start`."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


@dataclass(frozen=True)
class EntityState:
    """What the rules need to know about one legal entity, summed over its venues."""

    name: str
    enrolled: int  # persons enrolled on face-recognition terminals in service
    filed: bool  # a filing is recorded as active for the entity
    fr_active: int  # face-recognition terminals still active (not marked for removal)
    fr_retired: int  # face-recognition terminals marked for removal or removed


@dataclass(frozen=True)
class EntityFinding:
    """A finding of a legal entity: it is stored on every venue of the entity."""

    rule: str
    severity: str
    key: str
    msgid: str  # one of compliance.rules.MESSAGES, rendered with params where it is shown
    params: dict[str, Any]
    detail: dict[str, Any]


def threshold_finding(rule: Rule, entity: EntityState, today: date, since: date | None) -> EntityFinding | None:
    """CN-19: over the threshold and not filed (with the deadline), or a warning from warn_ratio of it."""
    threshold = int(rule.params.get("threshold", 100_000))
    warn = float(rule.params.get("warn_ratio", 0.8))
    days = int(rule.params.get("working_days", 30))
    if entity.filed or entity.enrolled < warn * threshold:
        return None
    params: dict[str, Any] = {"entity": entity.name, "enrolled": entity.enrolled, "threshold": threshold}
    detail: dict[str, Any] = {"entity": entity.name, "enrolled": entity.enrolled, "threshold": threshold}
    if entity.enrolled < threshold:
        return EntityFinding(rule.id, "should", f"entity:{entity.name}:warning", MESSAGES["filing_warning"],
                             {**params, "share": round(entity.enrolled / threshold, 4)}, detail)
    reached = since or today
    deadline = add_working_days(reached, days)
    detail.update(reached_on=reached.isoformat(), deadline=deadline.isoformat(), overdue=today > deadline)
    return EntityFinding(rule.id, rule.severity, standing_key("filing_threshold", entity.name),
                         MESSAGES["filing_overdue" if today > deadline else "filing_due"],
                         {**params, "deadline": deadline.isoformat()}, detail)


def deregistration_finding(rule: Rule, entity: EntityState, today: date, since: date | None) -> EntityFinding | None:
    """CN-20: a filed entity whose face recognition has stopped has a deregistration task with its deadline."""
    if not entity.filed or entity.fr_active > 0 or entity.fr_retired == 0:
        return None
    days = int(rule.params.get("working_days", 30))
    stopped = since or today
    deadline = add_working_days(stopped, days)
    return EntityFinding(rule.id, rule.severity, standing_key("filing_deregistration", entity.name),
                         MESSAGES["deregister_overdue" if today > deadline else "deregister_due"],
                         {"entity": entity.name, "deadline": deadline.isoformat()},
                         {"entity": entity.name, "task": "deregistration", "stopped_on": stopped.isoformat(),
                          "deadline": deadline.isoformat(), "overdue": today > deadline})


def standing_key(check: str, entity: str) -> str:
    """The finding key whose opening date starts a deadline: over the threshold (CN-19), FR stopped (CN-20)."""
    return f"entity:{entity}:{'over' if check == 'filing_threshold' else 'deregister'}"


ENTITY_RULES = {"filing_threshold": threshold_finding, "filing_deregistration": deregistration_finding}
