"""Independent verification of an inspection, from the state found on site and the stored geometry.

Per floor: the as-found floor (the stored walls and zones with the terminals the inspector found, where they were
found) is re-checked by the solver-free verifier (planner.verify) for coverage and privacy, and the optimizer
(planner.plan) is re-run on it to check that no smaller set of the found cameras would do. It runs as a queue job,
like plan runs, with its own time limit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from accounts.models import User, utcnow
from extensions import db
from inspection.models import Expected, Found, Inspection, InspectionItem, InspectionStatus
from inspection.service import (
    Conflict,
    answers_digest,
    found_counts,
    inspection_floors,
    require_editable,
    unanswered,
)
from inventory.choices import N_
from inventory.fields import ValidationError
from inventory.floorio import floor_model, has_outline
from inventory.models import Floor
from jobs.queue import enqueue, housekeeping, job
from planner import floor as pf
from planner.coverage import COVERING_TYPES
from planner.plan import PlanOptions, plan
from planner.verify import verify_plan
from plans.models import Plan

DEFAULT_TIME_LIMIT_S = 30.0
# Optics assumed for a terminal found on site that no inventory describes, unless the inspector gave them.
UNDECLARED_HFOV_DEG = 90.0
UNDECLARED_RANGE_M = 10.0
# Slack on top of the solver time before a queued or running verification counts as lost.
STALE_AFTER_S = 300.0


def request_verification(user: User, inspection: Inspection) -> None:
    """Queue the verification of the answers as they are now (the caller commits, then calls queue_verification)."""
    require_editable(user, inspection)
    missing = unanswered(inspection)
    if missing:
        raise Conflict(_("answer every checklist item first (%(count)s left: %(items)s)", count=len(missing),
                         items=", ".join(i.code for i in missing[:8])))
    if (inspection.verification or {}).get("state") in ("queued", "running"):
        raise Conflict(_("a verification of this inspection is already running"))
    inspection.verification = {"state": "queued", "requested_at": utcnow().isoformat(),
                               "answers_digest": answers_digest(inspection)}
    db.session.flush()


def queue_verification(inspection: Inspection) -> None:
    """Put a committed, queued verification on the job queue."""
    enqueue("verify_inspection", inspection.id)


def _found_terminal(item: InspectionItem, inventory: dict[str, pf.Terminal]) -> pf.Terminal | None:
    """The terminal as found (None when found removed): declared optics, found position and heading."""
    if item.found in (None, Found.REMOVED):
        return None
    pose = dict(item.expected_pose or {})
    base = inventory.get(item.code) if item.terminal_id is not None else None
    x = item.found_x if item.found_x is not None else pose.get("x")
    y = item.found_y if item.found_y is not None else pose.get("y")
    heading = item.found_heading_deg
    if heading is None and item.found == Found.RE_AIMED:
        heading = item.expected_heading_deg
    if heading is None:
        heading = pose.get("heading_deg", 0.0)
    if base is not None:
        return replace(base, x=float(x), y=float(y), heading_deg=pf.normalise_heading(float(heading)))
    hpx, range_m = pose.get("hpx"), pose.get("range_m")
    if hpx is None and range_m is None:
        range_m = UNDECLARED_RANGE_M
    return pf.Terminal(id=item.code, type=item.kind, x=float(x), y=float(y),
                       heading_deg=pf.normalise_heading(float(heading)),
                       hfov_deg=float(pose.get("hfov_deg") or UNDECLARED_HFOV_DEG), range_m=range_m, hpx=hpx,
                       face_recognition=item.face_recognition)


def as_found_floor(floor: Floor, items: list[InspectionItem]) -> pf.Floor:
    """The stored floor geometry with the terminals as the inspector found them."""
    model = floor_model(floor, include_removed=True)
    inventory = {t.id: t for t in model.terminals}
    found = [t for t in (_found_terminal(i, inventory) for i in items) if t is not None]
    return replace(model, terminals=tuple(found))


def _poses(terminals: list[pf.Terminal]) -> list[dict[str, Any]]:
    return [{"id": t.id, "x": t.x, "y": t.y, "heading_deg": t.heading_deg, "hfov_deg": t.hfov_deg, "change": "keep"}
            for t in terminals]


def verify_floor(found: pf.Floor, parameters: dict[str, Any], infeasible: list[dict[str, Any]],
                 time_limit: float, workers: int) -> dict[str, Any]:
    """Coverage and privacy of the found terminals (no solver), then the optimizer's minimum on the same floor."""
    allow_face = bool(parameters.get("allow_face_recognition", False))
    viewing = [t for t in found.terminals if t.type in COVERING_TYPES]
    covering = [t for t in viewing if allow_face or not (t.face_recognition or t.type == "face_terminal")]
    coverage = verify_plan(found, {"cameras": _poses(covering), "infeasible": infeasible})
    privacy = verify_plan(found, {"cameras": _poses(viewing), "infeasible": infeasible})
    coverage_issues = [i for i in coverage.issues if "required area" in i]
    privacy_issues = [i for i in privacy.issues if "private zone" in i]
    result = plan(found, PlanOptions(mode="reduce", allow_face=allow_face, time_limit=time_limit, workers=workers,
                                     explain=False))
    optimum = result.objective
    if optimum is not None and optimum < len(covering):
        minimal = "no"
    elif optimum is not None and result.provably_minimal and optimum == len(covering):
        minimal = "yes"
    else:
        minimal = "unproven"
    return {
        "coverage_ok": not coverage_issues, "privacy_ok": not privacy_issues,
        "uncovered_m2": coverage.uncovered_m2, "privacy_overlap_m2": privacy.privacy_overlap_m2,
        "issues": coverage_issues + privacy_issues, "found_covering": len(covering),
        "optimum": optimum, "bound": result.bound, "solver_status": result.status, "minimal": minimal,
        "removable": sorted(result.removed) if minimal == "no" else [],
        "seconds": round(result.seconds, 2),
    }


def _combine(floors: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [f for f in floors if "error" not in f]
    minimal = "yes" if ok and all(f["minimal"] == "yes" for f in ok) else \
        ("no" if any(f["minimal"] == "no" for f in ok) else "unproven")
    return {"coverage_ok": bool(ok) and len(ok) == len(floors) and all(f["coverage_ok"] for f in ok),
            "privacy_ok": bool(ok) and len(ok) == len(floors) and all(f["privacy_ok"] for f in ok),
            "minimal": minimal, "found_covering": sum(f["found_covering"] for f in ok),
            "optimum": sum(f["optimum"] or 0 for f in ok) if ok else None}


@job("verify_inspection")
def run_verification(inspection_id: int) -> None:
    """The queue job: verify every floor of the inspection from its as-found state and store the result."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None or inspection.signed_off or (inspection.verification or {}).get("state") != "queued":
        return
    digest = answers_digest(inspection)
    state = dict(inspection.verification or {}, state="running", started_at=utcnow().isoformat())
    inspection.verification = state
    db.session.commit()
    config = current_app.config
    time_limit = float(config.get("INSPECTION_VERIFY_TIME_LIMIT") or DEFAULT_TIME_LIMIT_S)
    workers = int(config.get("SOLVER_WORKERS") or 2)
    plans = {p.id: p for p in db.session.query(Plan).filter(Plan.id.in_((inspection.declared or {}).get("plans")
                                                                         or [-1]))}
    floors: list[dict[str, Any]] = []
    try:
        for floor in inspection_floors(inspection):
            items = [i for i in inspection.items if i.floor_id == floor.id]
            entry: dict[str, Any] = {"floor_id": floor.id, "floor": floor.name}
            if not has_outline(floor):
                floors.append({**entry, "error": N_("the floor has no outline, so its coverage cannot be checked")})
                continue
            approved = next((p for p in plans.values() if p.floor_id == floor.id), None)
            parameters = dict(approved.parameters) if approved else {}
            infeasible = list((approved.result or {}).get("infeasible") or []) if approved else []
            found = as_found_floor(floor, items)
            floors.append({**entry, **verify_floor(found, parameters, infeasible, time_limit, workers)})
        outcome = {"state": "done", **_combine(floors), "floors": floors}
    except (ValidationError, ValueError) as exc:
        outcome = {"state": "failed", "error": str(exc), "floors": floors}
    except Exception as exc:  # a bug must still end the verification visibly rather than leave it "running"
        _store(inspection_id, {**state, "state": "failed", "error": f"internal error: {type(exc).__name__}"})
        raise
    db.session.rollback()
    inspection = db.session.get(Inspection, inspection_id)
    assert inspection is not None
    if inspection.signed_off:
        return
    inspection.verification = {**state, **outcome, "finished_at": utcnow().isoformat(), "answers_digest": digest,
                               "found": found_counts(inspection), "declared": (inspection.declared or {}).get("after")}
    db.session.commit()


def _store(inspection_id: int, verification: dict[str, Any]) -> None:
    db.session.rollback()
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is not None and not inspection.signed_off:
        inspection.verification = verification
        db.session.commit()


def _reap_if_lost(inspection: Inspection, cutoff: datetime) -> bool:
    """Mark a verification queued or running since before the cutoff as failed; whether it was."""
    state = inspection.verification or {}
    since = state.get("started_at") or state.get("requested_at")
    if state.get("state") not in ("queued", "running") or not since or datetime.fromisoformat(since) >= cutoff:
        return False
    inspection.verification = {**state, "state": "failed",
                               "error": N_("the verification stopped without a result; run it again")}
    return True


def _lost_before() -> datetime:
    """Verifications queued or started before this have lost their worker."""
    limit = float(current_app.config.get("INSPECTION_VERIFY_TIME_LIMIT") or DEFAULT_TIME_LIMIT_S)
    return utcnow() - timedelta(seconds=limit * 4 + STALE_AFTER_S)


@housekeeping
def reap_stale_verifications() -> int:
    """Fail verifications queued or running far longer than their time limit allows (their worker died)."""
    cutoff = _lost_before()
    reaped = sum(_reap_if_lost(inspection, cutoff) for inspection in db.session.scalars(sa.select(Inspection).where(
        Inspection.status == InspectionStatus.IN_PROGRESS, Inspection.verification.is_not(None))))
    db.session.commit()
    return reaped


def reap_if_lost(inspection: Inspection) -> bool:
    """Fail this inspection's verification if its worker is gone (the polling page does it, with no worker up)."""
    if inspection.signed_off or not _reap_if_lost(inspection, _lost_before()):
        return False
    db.session.commit()
    return True


def expected_label(item: InspectionItem) -> str:
    """What the checklist expects of an item, in words (heading included for a re-aim)."""
    if item.expected == Expected.RE_AIMED and item.expected_heading_deg is not None:
        return f"re-aimed to {item.expected_heading_deg:.0f}°"
    return item.expected.label if item.expected else "not declared"
