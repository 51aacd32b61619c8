"""Compliance re-checks on the job queue: queue (coalesced per venue), claim, evaluate with a heartbeat, reap.

A change too costly to evaluate in its save (``findings.service.venue_cost`` over COMPLIANCE_INLINE_LIMIT) is
committed at once with a ComplianceCheck naming its floors and the reason findings it fixes are fixed by
(``findings.service.queue_check``); the commit hook sends it here after the commit. One queued check per venue
gathers the floors of every later change until a worker claims it, so a burst of edits costs one evaluation. A running check writes a heartbeat
every PLAN_HEARTBEAT_SECONDS (the queue's heartbeat settings, shared with plan runs); one silent for
PLAN_HEARTBEAT_TIMEOUT lost its worker and is queued again, or failed after PLAN_MAX_ATTEMPTS, by the reaper
(every worker's housekeeping, and the status views), so no venue stays "re-checking". A failed check stays
visible until the venue's next change takes its floors over.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from compliance.models import CHECK_PENDING, ComplianceCheck, utcnow
from extensions import db
from findings import service
from findings.service import enqueue_checks
from inventory.models import Venue
from jobs.queue import housekeeping, job


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
    terminals = check.terminals
    mine = sa.and_(ComplianceCheck.id == check_id, ComplianceCheck.state == "running",
                   ComplianceCheck.attempts == attempt)
    heartbeat = _Heartbeat(app, check_id, attempt, float(app.config["PLAN_HEARTBEAT_SECONDS"]))
    heartbeat.start()
    try:
        venue = db.session.get(Venue, venue_id)
        if venue is not None and terminals is not None:  # only terminals changed: their rules, as in a save
            service.evaluate_terminals(venue, {int(f): set(codes) for f, codes in terminals.items()}, reason)
        elif venue is not None:
            service.evaluate_venue(venue, floor_ids, reason)
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
