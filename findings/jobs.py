"""Compliance re-checks on the job queue: queue (coalesced per venue), claim, evaluate with a heartbeat, reap.

A change too costly to evaluate in its save (``findings.service.venue_cost`` over COMPLIANCE_INLINE_LIMIT) is
committed at once with a ComplianceCheck naming its floors and the reason findings it fixes are fixed by; the
commit hook sends it to the queue after the commit. One queued check per venue gathers the floors of every later
change until a worker claims it, so a burst of edits costs one evaluation. A running check writes a heartbeat
every PLAN_HEARTBEAT_SECONDS (the queue's heartbeat settings, shared with plan runs); one silent for
PLAN_HEARTBEAT_TIMEOUT lost its worker and is queued again, or failed after PLAN_MAX_ATTEMPTS, by the reaper
(every worker's housekeeping, and the status views), so no venue stays "re-checking". A failed check stays
visible until the venue's next change takes its floors over.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from compliance.models import CHECK_PENDING, ComplianceCheck, utcnow
from extensions import db
from inventory.models import Venue
from jobs.queue import enqueue, housekeeping, job


def _union(a: list[int] | set[int] | None, b: list[int] | set[int] | None) -> list[int] | None:
    return None if a is None or b is None else sorted(set(a) | set(b))


def pending_on(venue_id: int, floor_ids: set[int] | None) -> bool:
    """Whether a queued or running check of the venue re-evaluates any of these floors (None: any floor)."""
    for check in db.session.scalars(sa.select(ComplianceCheck).where(ComplianceCheck.venue_id == venue_id,
                                                                     ComplianceCheck.state.in_(CHECK_PENDING))):
        if floor_ids is None or check.floor_ids is None or set(check.floor_ids) & floor_ids:
            return True
    return False


def queue_check(venue: Venue, floor_ids: set[int] | None, reason: str) -> int | None:
    """Add these floors to the venue's queued check, or create it (taking over failed ones); returns the id of a
    new check, to send to the queue after the commit, or None when a check already on the queue took them.

    The latest change's reason is kept: the evaluation sees the inventory as that change left it.
    """
    rows = list(db.session.scalars(sa.select(ComplianceCheck).where(
        ComplianceCheck.venue_id == venue.id, ComplianceCheck.state.in_(("queued", "failed")))
        .order_by(ComplianceCheck.id)))
    floors: list[int] | None = sorted(floor_ids) if floor_ids is not None else None
    for failed in (c for c in rows if c.state == "failed"):
        floors = _union(floors, failed.floor_ids)
        db.session.delete(failed)
    for queued in (c for c in rows if c.state == "queued"):
        # Conditional: a worker that claimed it meanwhile reads the inventory from before this change.
        if db.session.execute(sa.update(ComplianceCheck).where(
                ComplianceCheck.id == queued.id, ComplianceCheck.state == "queued").values(
                floor_ids=_union(queued.floor_ids, floors), reason=reason[:200])).rowcount == 1:
            return None
    now = utcnow()
    check = ComplianceCheck(venue_id=venue.id, floor_ids=floors, reason=reason[:200], state="queued",
                            queued_at=now, heartbeat_at=now, attempts=0)
    db.session.add(check)
    db.session.flush()
    return check.id


def enqueue_checks(check_ids: list[int]) -> None:
    """Send committed checks to the queue; one that cannot be sent now is sent again by the reaper."""
    for check_id in check_ids:
        try:
            enqueue("compliance_check", check_id)
        except Exception:  # the save is committed; a queue outage must not turn it into an error
            current_app.logger.exception("compliance check %s not queued; the reaper sends it again", check_id)


def venue_checks(venue_id: int) -> list[ComplianceCheck]:
    """The venue's checks not yet done (queued, running or failed), oldest first."""
    return list(db.session.scalars(sa.select(ComplianceCheck).where(ComplianceCheck.venue_id == venue_id)
                                   .order_by(ComplianceCheck.id)))


def recheck_state(venue_id: int, floor_id: int | None = None) -> dict[str, Any]:
    """What the venue's (or one floor's) findings are waiting for: since when they are being re-checked, and
    the error of a re-check that failed ({"since": None, "failed": None} when the findings are current)."""
    since: datetime | None = None
    failed: ComplianceCheck | None = None
    for check in venue_checks(venue_id):
        if floor_id is not None and not check.covers(floor_id):
            continue
        if check.state in CHECK_PENDING:
            since = check.queued_at if since is None else min(since, check.queued_at)
        else:
            failed = check
    return {"since": since, "failed": failed}


class _Heartbeat(threading.Thread):
    """Writes a running check's heartbeat in its own application context until stopped."""

    def __init__(self, app: Flask, check_id: int, attempt: int, every_s: float) -> None:
        super().__init__(name=f"compliance-check-{check_id}-heartbeat", daemon=True)
        self.app, self.check_id, self.attempt, self.every_s = app, check_id, attempt, every_s
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            try:
                with self.app.app_context():
                    db.session.execute(sa.update(ComplianceCheck).where(
                        ComplianceCheck.id == self.check_id, ComplianceCheck.state == "running",
                        ComplianceCheck.attempts == self.attempt).values(heartbeat_at=utcnow()))
                    db.session.commit()
            except Exception:  # a busy database must not silence the heartbeat for good (the check would be reaped)
                self.app.logger.exception("heartbeat of compliance check %s failed; trying again", self.check_id)


@job("compliance_check")
def run_check(check_id: int) -> None:
    """Claim a queued check, evaluate its floors and reconcile the findings, and remove it, in one transaction."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Its own context, hence its own session: with the immediate backend this runs from the saving session's
    # after_commit, where that session can emit no SQL.
    with app.app_context():
        _run(app, check_id)


def _run(app: Flask, check_id: int) -> None:
    from findings.service import evaluate_venue

    now = utcnow()
    claimed = db.session.execute(sa.update(ComplianceCheck).where(
        ComplianceCheck.id == check_id, ComplianceCheck.state == "queued").values(
        state="running", started_at=now, heartbeat_at=now, attempts=ComplianceCheck.attempts + 1)).rowcount
    db.session.commit()
    if claimed != 1:
        return
    check = db.session.get(ComplianceCheck, check_id)
    assert check is not None
    attempt, venue_id, reason = check.attempts, check.venue_id, check.reason
    floor_ids = None if check.floor_ids is None else set(check.floor_ids)
    mine = sa.and_(ComplianceCheck.id == check_id, ComplianceCheck.state == "running",
                   ComplianceCheck.attempts == attempt)
    heartbeat = _Heartbeat(app, check_id, attempt, float(app.config["PLAN_HEARTBEAT_SECONDS"]))
    heartbeat.start()
    try:
        venue = db.session.get(Venue, venue_id)
        if venue is not None:
            evaluate_venue(venue, floor_ids, reason)
        if db.session.execute(sa.delete(ComplianceCheck).where(mine)).rowcount == 1:
            db.session.commit()
        else:  # the reaper gave this attempt up and queued the check again: that attempt reconciles
            db.session.rollback()
            app.logger.warning("compliance check %s attempt %s finished after being given up", check_id, attempt)
    except Exception as exc:  # end the check visibly (the venue must not stay "re-checking"), then let Huey log it
        db.session.rollback()
        db.session.execute(sa.update(ComplianceCheck).where(mine).values(
            state="failed", error=f"{type(exc).__name__}: {exc}"[:1000]))
        db.session.commit()
        raise
    finally:
        heartbeat.stop.set()
        heartbeat.join(timeout=30)


@housekeeping
def reap_stale_checks() -> int:
    """Queue again (or fail, after PLAN_MAX_ATTEMPTS) checks whose worker died, and resend queued checks whose
    job was lost (a queue outage at commit); returns how many running checks were reaped."""
    config = current_app.config
    timeout = float(config["PLAN_HEARTBEAT_TIMEOUT"])
    now = utcnow()
    cutoff = now - timedelta(seconds=timeout)
    reaped = 0
    stale = ComplianceCheck.heartbeat_at < cutoff
    rows = db.session.execute(sa.select(ComplianceCheck.id, ComplianceCheck.state, ComplianceCheck.attempts)
                              .where(ComplianceCheck.state.in_(CHECK_PENDING), stale)).all()
    for check_id, state, attempts in rows:
        if state == "queued":
            values: dict[str, Any] = {"heartbeat_at": now}
        elif attempts < int(config["PLAN_MAX_ATTEMPTS"]):
            values = {"state": "queued", "heartbeat_at": now}
        else:
            values = {"state": "failed", "error": f"the worker running it stopped (no heartbeat for {timeout:.0f} s); "
                                                  f"gave up after {attempts} attempts"}
        # Conditional, so two reapers (or a late heartbeat) cannot both act on the same check.
        changed = db.session.execute(sa.update(ComplianceCheck).where(
            ComplianceCheck.id == check_id, ComplianceCheck.state == state, stale).values(**values)).rowcount
        db.session.commit()
        if changed and state == "running":
            reaped += 1
        if changed and values.get("state", "queued") == "queued":
            enqueue_checks([check_id])
    return reaped
