"""Plan services: create a run from a floor, execute it in a worker with progress and cancel, review it."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import sqlalchemy as sa

from accounts.access import ZONE_EDITORS, organisation_ids
from accounts.models import User, utcnow
from extensions import db
from inventory.choices import Choice
from inventory.fields import Field, ValidationError, clean
from inventory.floorio import export_floor
from inventory.models import Floor, Venue
from inventory.services import Forbidden, NotFound, get_floor
from plans.models import Decision, Plan, PlanDecision, PlanState


class Mode(Choice):
    REDUCE = "reduce"
    DESIGN = "design"


PLAN_FIELDS = (
    Field("mode", "choice", choices=Mode, default=Mode.REDUCE),
    Field("reaim", "bool"),
    Field("reaim_step", "float", minimum=1, maximum=90, default=15.0, label="Re-aim step (°)"),
    Field("time_limit", "float", minimum=1, maximum=3600, default=60.0, label="Time limit (s)"),
    Field("allow_face_recognition", "bool", label="Face-recognition terminals may count towards coverage"),
    Field("seed", "int", minimum=0, maximum=2**31 - 1, default=0),
)

PROGRESS_EVERY_S = 0.5


def can_run_plans(user: User, floor: Floor) -> bool:
    """Planners, managers and admins of the floor's organisation may run the optimizer."""
    allowed = organisation_ids(user)
    return user.role in ZONE_EDITORS and (allowed is None or floor.venue.organisation_id in allowed)


def inputs_hash(collection: dict[str, Any], parameters: dict[str, Any]) -> str:
    """SHA-256 of the floor snapshot and parameters, in canonical JSON."""
    canonical = json.dumps({"floor": collection, "parameters": parameters}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_plan(user: User, floor: Floor, data: dict[str, Any]) -> Plan:
    """Record a queued plan for the floor as it is now."""
    if not can_run_plans(user, floor):
        raise Forbidden("your role may not run the optimizer for this venue")
    values = clean(PLAN_FIELDS, data)
    parameters = {key: (value.value if isinstance(value, Choice) else value) for key, value in values.items()}
    snapshot = export_floor(floor)
    if not any(f["properties"]["kind"] == "zone" and f["properties"].get("zone") == "required"
               for f in snapshot["features"]):
        raise ValidationError("floor", "the floor has no required zone: state what must be covered first")
    plan = Plan(floor=floor, created_by_id=user.id, mode=parameters["mode"], parameters=parameters,
                floor_snapshot=snapshot, inputs_hash=inputs_hash(snapshot, parameters))
    db.session.add(plan)
    db.session.flush()
    return plan


def get_plan(user: User, plan_id: int) -> Plan:
    """A plan on a floor the user can see, or NotFound."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    get_floor(user, plan.floor_id)  # raises NotFound across organisations
    return plan


def floor_plans(floor: Floor) -> list[Plan]:
    """Plans of a floor, newest first."""
    return list(db.session.scalars(sa.select(Plan).where(Plan.floor_id == floor.id).order_by(Plan.id.desc())))


def request_cancel(user: User, plan: Plan) -> None:
    """Ask a queued or running plan to stop; the worker notices within a second."""
    if not can_run_plans(user, plan.floor):
        raise Forbidden("your role may not cancel this plan")
    if not plan.finished:
        plan.cancel_requested = True
        if plan.state == PlanState.QUEUED:
            plan.state = PlanState.CANCELLED
            plan.finished_at = utcnow()
        db.session.flush()


class _ProgressWriter:
    """Throttled progress updates and cancel polling in the worker's own short transactions."""

    def __init__(self, plan_id: int, cancel: threading.Event) -> None:
        self.plan_id = plan_id
        self.cancel = cancel
        self.last = 0.0

    def __call__(self, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S and info.get("phase") != "done":
            return
        self.last = now
        plan = db.session.get(Plan, self.plan_id)
        if plan is None:
            return
        db.session.refresh(plan)
        plan.progress = {
            "stage": STAGES.get(str(info.get("phase")), str(info.get("phase", "solving"))),
            "round": info.get("round"),
            "incumbent": info.get("weighted_objective"),
            "bound": info.get("weighted_bound"),
            "uncovered_m2": info.get("uncovered_m2"),
            "seconds": round(float(info.get("seconds", 0.0)), 1),
            "time_limit": plan.parameters.get("time_limit"),
        }
        if plan.cancel_requested:
            self.cancel.set()
        db.session.commit()


STAGES = {"candidates": "building candidate poses", "witnesses": "sampling witnesses",
          "solve": "solving the cover model", "refine": "refining witnesses in uncovered pieces",
          "done": "finishing"}


def execute_plan(plan_id: int, workers: int = 2) -> None:
    """Run the optimizer for a queued plan and store its certificate and decisions (worker entry point)."""
    from plans.engine import EngineError, run_optimizer

    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.state != PlanState.QUEUED:
        return
    plan.state, plan.started_at = PlanState.RUNNING, utcnow()
    plan.progress = {"stage": "building candidates", "seconds": 0}
    db.session.commit()
    cancel = threading.Event()
    try:
        result = run_optimizer(plan.floor_snapshot, plan.parameters, progress=_ProgressWriter(plan_id, cancel),
                               cancel=cancel, workers=workers)
    except EngineError as exc:
        _finish(plan_id, PlanState.FAILED, error=str(exc))
        return
    except Exception as exc:  # a bug must still end the run visibly rather than leave it "running"
        _finish(plan_id, PlanState.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
        raise
    state = PlanState.CANCELLED if result.get("status") == "CANCELLED" else PlanState.DONE
    _finish(plan_id, state, result=result)


def _finish(plan_id: int, state: PlanState, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    assert plan is not None
    plan.state, plan.finished_at, plan.error = state, utcnow(), error
    if result is not None:
        plan.result = result
        plan.solver_status = result.get("status")
        plan.objective = result.get("objective")
        plan.bound = result.get("bound")
        plan.seconds = result.get("seconds")
        plan.uncovered_m2 = (result.get("uncovered_m2") or {}).get("total")
        plan.privacy_overlap_m2 = _total(result.get("privacy_overlap_m2"))
        for decision in _decisions(result):
            plan.decisions.append(decision)
        if state == PlanState.DONE:
            from plans.compare import before_after

            plan.drawings = before_after(plan)
    db.session.commit()


def _total(value: Any) -> float | None:
    if isinstance(value, dict):
        return value.get("total", sum(v for v in value.values() if isinstance(v, int | float)))
    return value


def _decisions(result: dict[str, Any]) -> list[PlanDecision]:
    """Decision rows from the optimizer's per-terminal decisions, with the explanation in the reason."""
    explained = result.get("explanations", {}) or {}
    rows = []
    for number, item in enumerate(result.get("decisions", []), start=1):
        decision = Decision(item["decision"])
        code = item.get("id") or f"new-{number}"
        reason = item.get("reason", "")
        detail = _explanation(explained, decision, str(code))
        pose = {key: item[key] for key in ("x", "y", "heading_deg", "hfov_deg", "from_heading_deg", "hpx",
                                           "range_m", "model") if key in item} or None
        rows.append(PlanDecision(terminal_code=str(code), decision=decision,
                                 reason=f"{reason}{': ' + detail if detail else ''}", pose=pose))
    return rows


def _explanation(explained: dict[str, Any], decision: Decision, code: str) -> str:
    """One sentence of why, from the optimizer's explanations."""
    if decision == Decision.REMOVE and code in explained.get("removed", {}):
        covered_by = explained["removed"][code].get("now_covered_by", {})
        if covered_by:
            return "its area is now seen by " + ", ".join(f"{c} ({m:.1f} m²)" for c, m in covered_by.items())
    if decision in (Decision.KEEP, Decision.REAIM) and code in explained.get("kept", {}):
        zones = explained["kept"][code].get("zones", [])
        needed = [z for z in zones if z.get("only_it_covers_m2", 0) > 0]
        if needed:
            return "; ".join(f"only it covers {z['only_it_covers_m2']:.1f} m² of {z['zone']}" for z in needed)
    return ""


def totals(plan: Plan) -> dict[str, int]:
    """Terminal counts before the plan (its floor snapshot) and after it (kept plus added)."""
    terminals = [f["properties"] for f in plan.floor_snapshot["features"] if f["properties"].get("kind") == "terminal"]
    result = plan.result or {}
    kept = {str(code) for code in result.get("kept", [])}
    after = [t for t in terminals if str(t.get("id")) in kept]
    added = len(result.get("added", []) or [])
    return {
        "before_total": len(terminals), "after_total": len(after) + added,
        "before_face": sum(1 for t in terminals if t.get("face_recognition")),
        "after_face": sum(1 for t in after if t.get("face_recognition")),
        "before_cameras": sum(1 for t in terminals if t.get("type") == "camera"),
        "after_cameras": sum(1 for t in after if t.get("type") == "camera") + added,
    }


def organisation_of(plan: Plan) -> int:
    """Organisation owning the plan's venue."""
    return db.session.scalar(sa.select(Venue.organisation_id).where(Venue.id == plan.floor.venue_id))
