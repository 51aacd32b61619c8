"""Record every create, update and delete of audited models in the same transaction.

A create or delete stores the whole row (evidence of what existed). An update stores, in both `before` and
`after`, only the columns that changed plus `id` and the naming fields. A changed JSON column holding a list of
features that all carry a unique `id` (Floor.structure) is stored as a feature diff, so a one-wall edit of a
20 MB floor is not stored twice whole:

    before[col] = {"removed": [old versions of the removed and the changed features]}
    after[col]  = {"added": [new versions of the added and the changed features]}
                  (+ "order": [every id, in the new order] when the kept features were reordered)

A feature whose id is in both lists changed; the new list is the old one without the removed ids, plus the
added features (placed by "order" when it is given). Lists whose items lack ids are stored whole.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from accounts.models import utcnow
from audit import chain
from audit.models import AuditEvent

_actor_lookup: Callable[[], int | None] = lambda: None  # noqa: E731 - replaced by the web app


def set_actor_lookup(lookup: Callable[[], int | None]) -> None:
    """Tell the recorder how to find the acting user's id (the web app passes Flask-Login's)."""
    global _actor_lookup
    _actor_lookup = lookup


def _jsonable(value: Any) -> Any:
    """Turn a column value into something JSON can hold."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """All column values of an ORM object, JSON-ready."""
    mapper = sa.inspect(obj).mapper
    return {col.key: _jsonable(getattr(obj, col.key)) for col in mapper.column_attrs}


def _snapshot_before(obj: Any) -> dict[str, Any]:
    """Column values as they were before this flush's pending changes."""
    state = sa.inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.deleted:
            values[attr.key] = _jsonable(history.deleted[0])
        elif history.unchanged:
            values[attr.key] = _jsonable(history.unchanged[0])
        else:
            values[attr.key] = _jsonable(getattr(obj, attr.key))
    return values


# Fields that say which object an event is about (the audit page names it by them); kept in every update.
NAMING_FIELDS = ("code", "name", "email", "level", "kind", "status", "model", "manufacturer", "role")
FEATURE_DIFF_KEYS = frozenset({"removed", "added", "order"})


def _feature_ids(value: Any) -> list[Any] | None:
    """The ids of a list of features, or None unless every item is a dict with a unique, non-null id."""
    if not isinstance(value, list) or not all(isinstance(f, dict) and f.get("id") is not None for f in value):
        return None
    ids = [f["id"] for f in value]
    return ids if len(set(map(repr, ids))) == len(ids) else None


def feature_diff(old: Any, new: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(before, after) of a feature list's change as removed/added features; None when the lists lack ids."""
    old_ids, new_ids = _feature_ids(old), _feature_ids(new)
    if old_ids is None or new_ids is None:
        return None
    old_by = {repr(f["id"]): f for f in old}
    new_by = {repr(f["id"]): f for f in new}
    removed = [f for key, f in old_by.items() if new_by.get(key) != f]
    added = [f for key, f in new_by.items() if old_by.get(key) != f]
    after: dict[str, Any] = {"added": added}
    kept_old = [key for key in old_by if key in new_by]
    kept_new = [key for key in new_by if key in old_by]
    if kept_old != kept_new:
        after["order"] = new_ids
    return {"removed": removed}, after


def is_feature_diff(value: Any) -> bool:
    """Whether a stored before/after value is a feature diff (see the module docstring) rather than a value."""
    return isinstance(value, dict) and bool(value) and set(value) <= FEATURE_DIFF_KEYS


def update_delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reduce an update's full snapshots to the changed columns (feature lists diffed) plus id and naming fields."""
    old, new = {}, {}
    for key in after:
        if key == "id" or key in NAMING_FIELDS:
            old[key], new[key] = before.get(key), after[key]
        elif before.get(key) != after[key]:
            diff = feature_diff(before.get(key), after[key])
            old[key], new[key] = diff if diff is not None else (before.get(key), after[key])
    return old, new


def _scope(obj: Any) -> tuple[int | None, int | None]:
    """(organisation id, venue id) that an audited object belongs to."""
    from inventory.models import Floor, Terminal, Venue, Zone

    if isinstance(obj, Venue):
        return obj.organisation_id, obj.id
    if type(obj).__name__ == "CameraModel":
        return obj.organisation_id, None
    if isinstance(obj, Floor | Terminal):
        venue = obj.venue
        return (venue.organisation_id if venue else None), obj.venue_id
    if isinstance(obj, Zone):
        floor = obj.floor
        venue = floor.venue if floor else None
        return (venue.organisation_id if venue else None), (venue.id if venue else None)
    return None, None


AUDITED_TYPES: dict[str, str] = {"Venue": "venue", "Floor": "floor", "Zone": "zone", "Terminal": "terminal",
                                 "CameraModel": "camera_model"}


def _audited_name(obj: Any) -> str | None:
    return AUDITED_TYPES.get(type(obj).__name__)


UNSEALED_KEY = "audit_unsealed"  # session.info: ids of this transaction's audit events, to seal before commit
SEALING_KEY = "audit_sealing"  # session.info: the commit has sealed; a later flush seals its events at once


def _seal(session: Session) -> None:
    ids = session.info.pop(UNSEALED_KEY, None)
    if not ids:
        return
    for event_id, seq, prev, digest in chain.seal_events(session.connection(), ids):
        obj = session.identity_map.get(identity_key(AuditEvent, event_id))
        if obj is not None:  # the ORM object shows its seal without becoming dirty (an update would be refused)
            for name, value in (("seq", seq), ("prev_hash", prev), ("record_hash", digest)):
                set_committed_value(obj, name, value)


def _forget(session: Session) -> None:
    session.info.pop(UNSEALED_KEY, None)
    session.info.pop(SEALING_KEY, None)


def install_sealing(session_factory: Any) -> None:
    """Seal each transaction's audit events just before it commits; install after every other before_commit
    listener (theirs may write audited rows, and the chain lock must not be held through their work)."""

    @event.listens_for(session_factory, "before_commit")
    def _seal_at_commit(session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint's release: the outer commit seals
            return
        session.flush()
        session.info[SEALING_KEY] = True
        _seal(session)


def install(session_factory: Any) -> None:
    """Attach the recorder and the append-only guard to a session class or factory."""

    @event.listens_for(session_factory, "before_flush")
    def _capture(session: Session, _context: Any, _instances: Any) -> None:
        pending = session.info.setdefault("audit_pending", [])
        for obj in session.dirty:
            if _audited_name(obj) and session.is_modified(obj, include_collections=False):
                pending.append(("update", obj, _snapshot_before(obj), _scope(obj)))
        for obj in session.deleted:
            if _audited_name(obj):
                pending.append(("delete", obj, _snapshot_before(obj), _scope(obj)))
        for obj in session.new:
            if _audited_name(obj):
                pending.append(("create", obj, None, None))

    @event.listens_for(session_factory, "after_flush")
    def _record(session: Session, _context: Any) -> None:
        pending = session.info.pop("audit_pending", [])
        if not pending:
            return
        actor = _actor_lookup()
        connection = session.connection()
        unsealed = session.info.setdefault(UNSEALED_KEY, [])
        for action, obj, before, scope in pending:
            after = None if action == "delete" else snapshot(obj)
            if action == "update":
                before, after = update_delta(before, after)
            organisation_id, venue_id = scope if scope is not None else _scope(obj)
            row = {
                "at": utcnow(), "user_id": actor, "organisation_id": organisation_id, "venue_id": venue_id,
                "object_type": _audited_name(obj), "object_id": (before or after or {}).get("id"),
                "action": action, "before": before, "after": after,
            }
            unsealed.append(connection.execute(sa.insert(AuditEvent), row).inserted_primary_key[0])

    @event.listens_for(AuditEvent, "before_insert")
    def _stamp_orm_event(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
        target.at = target.at or utcnow()

    @event.listens_for(AuditEvent, "after_insert")
    def _note_orm_event(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
        # Events added with session.add() (plan runs, sign-ins, ...) join the same chain as the recorder's.
        session = sa.orm.object_session(target)
        if session is not None:
            session.info.setdefault(UNSEALED_KEY, []).append(target.id)

    @event.listens_for(session_factory, "after_flush_postexec")
    def _seal_late(session: Session, _context: Any) -> None:
        # A flush after the commit's sealing (the commit's own final flush): seal its events at once (the lock is
        # held already), so nothing commits unsealed.
        if session.info.get(SEALING_KEY):
            _seal(session)

    @event.listens_for(session_factory, "after_commit")
    def _forget_committed(session: Session) -> None:
        if not session.in_nested_transaction():  # a released savepoint's events are the outer transaction's
            _forget(session)

    @event.listens_for(session_factory, "after_soft_rollback")
    def _forget_rolled_back(session: Session, previous: Any) -> None:
        if previous.parent is None:  # the whole transaction; a savepoint's rows are skipped at sealing
            _forget(session)

    @event.listens_for(AuditEvent, "before_update")
    @event.listens_for(AuditEvent, "before_delete")
    def _refuse_change(_mapper: Any, _connection: Any, _target: Any) -> None:
        raise PermissionError("the audit trail is append-only")
