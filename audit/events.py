"""Audit events that are not row changes of an audited model: sign-ins, API tokens, plan runs, administration."""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from extensions import db

# Actions recorded here, beside the recorder's create/update/delete of inventory rows.
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_OUT = "sign_out"
TOKEN_ISSUE = "token_issue"
TOKEN_REVOKE = "token_revoke"
PLAN_RUN = "run"
PLAN_CANCEL = "cancel"
PASSWORD_CHANGE = "password_change"
PASSWORD_RESET = "password_reset"
DEACTIVATE = "deactivate"
REACTIVATE = "reactivate"


def record(action: str, object_type: str, *, user_id: int | None, object_id: int | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           organisation_id: int | None = None, venue_id: int | None = None) -> AuditEvent:
    """Add one audit event to the current transaction (the caller commits it with the change it describes)."""
    event = AuditEvent(user_id=user_id, organisation_id=organisation_id, venue_id=venue_id, object_type=object_type,
                       object_id=object_id, action=action, before=before, after=after)
    db.session.add(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose values differ, as (before, after)."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
