"""Audit events that are not row changes of an audited model: sign-ins, API tokens, plan runs, administration."""

from __future__ import annotations

from typing import Any

from accounts import signals
from accounts.models import ApiToken, User
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


# ---------------------------------------------------------------- account events, recorded as they are sent


@signals.signed_in.connect
def _signed_in(user: User, **_extra: Any) -> None:
    record(SIGN_IN, "user", user_id=user.id, object_id=user.id, organisation_id=user.organisation_id,
           after={"email": user.email})


@signals.sign_in_failed.connect
def _sign_in_failed(_sender: None, email: str, **_extra: Any) -> None:
    record(SIGN_IN_FAILED, "user", user_id=None, after={"email": email})


@signals.signed_out.connect
def _signed_out(user: User, **_extra: Any) -> None:
    record(SIGN_OUT, "user", user_id=user.id, object_id=user.id, organisation_id=user.organisation_id)


@signals.token_issued.connect
def _token_issued(user: User, token: ApiToken, **_extra: Any) -> None:
    record(TOKEN_ISSUE, "api_token", user_id=user.id, object_id=token.id, organisation_id=user.organisation_id,
           after={"name": token.name, "scope": token.scope.value, "expires_at": token.expires_at.isoformat()})


@signals.token_revoked.connect
def _token_revoked(user: User, token: ApiToken, **_extra: Any) -> None:
    record(TOKEN_REVOKE, "api_token", user_id=user.id, object_id=token.id, organisation_id=user.organisation_id,
           before={"name": token.name})


@signals.password_changed.connect
def _password_changed(user: User, **_extra: Any) -> None:
    record(PASSWORD_CHANGE, "user", user_id=user.id, object_id=user.id, organisation_id=user.organisation_id)
