"""Plan services: create a run from a floor, review its decisions, approve it, carry it out, compare versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from accounts.access import Action, may
from accounts.models import User, utcnow
from audit.models import AuditEvent
from compliance.service import note_reason
from extensions import db
from inventory.choices import N_, Choice, TerminalStatus
from inventory.fields import Field, ValidationError, clean
from inventory.floorio import export_floor
from inventory.models import Floor, Venue
from inventory.services import (
    Forbidden,
    NotFound,
    create_terminal,
    get_floor,
    set_planned_removal,
    update_terminal,
)
from plans.models import Decision, Plan, PlanDecision, PlanState, Review, WorkItem, WorkKind


class Mode(Choice):
    REDUCE = "reduce"
    DESIGN = "design"


MODE_WORDS = {"reduce": N_("Keep fewer of the installed cameras"), "design": N_("Propose new camera positions")}

# One line of help per run option, shown under each field.
HELP = {
    "mode": N_("Keep fewer: choose the smallest subset of the installed cameras. Propose: place cameras from scratch."),
    "reaim": N_("Also consider turning each installed camera at its mount (in steps of the angle below)."),
    "reaim_step": N_("Angle between the headings tried when cameras may be turned."),
    "time_limit": N_("The solver stops after this long and reports how close to proven minimal it got."),
    "allow_face_recognition": N_("Face-recognition terminals may count towards coverage (they are avoided if not)."),
    "design_spacing": N_("Distance between candidate mounts along the walls when proposing new positions."),
}

PROGRESS_EVERY_S = 0.5


def plan_fields() -> tuple[Field, ...]:
    """The run form's fields, with defaults and the time-limit ceiling from the configuration."""
    config = current_app.config
    ceiling = float(config["SOLVER_TIME_LIMIT_MAX"])
    return (
        Field("mode", "choice", required=True, choices=Mode, default=Mode.REDUCE, label=N_("What to plan")),
        Field("reaim", "bool", label=N_("May turn cameras")),
        Field("reaim_step", "float", minimum=1, maximum=90, default=15.0, label=N_("Turning step (°)")),
        Field("time_limit", "float", minimum=1, maximum=ceiling,
              default=min(float(config["SOLVER_TIME_LIMIT"]), ceiling), label=N_("Time limit (s)")),
        Field("allow_face_recognition", "bool", label=N_("Face-recognition terminals may count")),
        Field("design_spacing", "float", minimum=0.5, maximum=20, default=2.0, label=N_("Candidate spacing (m)")),
    )


def form_defaults() -> dict[str, Any]:
    """Default values the run form shows."""
    return {f.name: (f.default.value if isinstance(f.default, Choice) else f.default)
            for f in plan_fields() if f.default is not None}


def _org(floor: Floor) -> int:
    return floor.venue.organisation_id


def can_run_plans(user: User, floor: Floor) -> bool:
    """Planners, managers and admins of the floor's organisation may run and review plans."""
    return may(user, Action.RUN_PLANS, _org(floor))


def can_approve(user: User, floor: Floor) -> bool:
    """Only planners and admins of the floor's organisation may approve a plan (managers carry it out)."""
    return may(user, Action.APPROVE_PLANS, _org(floor))


def can_carry_out(user: User, floor: Floor) -> bool:
    """Facility managers and admins tick work items done."""
    return may(user, Action.CARRY_OUT_WORK, _org(floor))


def inputs_hash(collection: dict[str, Any], parameters: dict[str, Any]) -> str:
    """SHA-256 of the floor snapshot and parameters, in canonical JSON."""
    canonical = json.dumps({"floor": collection, "parameters": parameters}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def active_runs(organisation_id: int) -> int:
    """Runs queued or running for an organisation."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Plan).join(Floor, Plan.floor_id == Floor.id)
        .join(Venue, Floor.venue_id == Venue.id)
        .where(Venue.organisation_id == organisation_id, Plan.state.in_((PlanState.QUEUED, PlanState.RUNNING)))) or 0


def create_plan(user: User, floor: Floor, data: dict[str, Any], *, parent: Plan | None = None,
                locks: dict[str, str] | None = None, rejected_adds: list[dict[str, Any]] | None = None) -> Plan:
    """Record a queued plan for the floor as it is now (the caller commits, then queues it)."""
    if not can_run_plans(user, floor):
        raise Forbidden(_("your role may not run the optimizer for this venue"))
    values = clean(plan_fields(), data)
    parameters = {key: (value.value if isinstance(value, Choice) else value) for key, value in values.items()}
    if not parameters.get("reaim"):
        parameters.pop("reaim_step", None)
    if parameters["mode"] != Mode.DESIGN:
        parameters.pop("design_spacing", None)
    parameters["seed"] = int(current_app.config["SOLVER_SEED"])
    if rejected_adds:
        # Recorded, not enforced: the optimizer has no way to leave out one candidate position (see the notice).
        parameters["rejected_additions"] = rejected_adds
    if data.get("k_override"):
        parameters["k_override"] = clean((Field("k_override", "int", minimum=1, maximum=10),),
                                         {"k_override": data["k_override"]})["k_override"]
    cap = int(current_app.config["PLAN_MAX_ACTIVE_PER_ORGANISATION"])
    if active_runs(_org(floor)) >= cap:
        raise ValidationError(None, _("your organisation already has %(cap)s runs queued or running (the most allowed "
                                      "at once); wait for one to finish or cancel one", cap=cap))
    snapshot = export_floor(floor)
    if not any(f["properties"]["kind"] == "zone" and f["properties"].get("zone") == "required"
               for f in snapshot["features"]):
        raise ValidationError(None, _("the floor has no required zone: mark what must be covered first"))
    version = (db.session.scalar(sa.select(sa.func.max(Plan.version)).where(Plan.floor_id == floor.id)) or 0) + 1
    plan = Plan(floor=floor, created_by_id=user.id, mode=parameters["mode"], parameters=parameters,
                floor_snapshot=snapshot, inputs_hash=inputs_hash(snapshot, {**parameters, "locks": locks or {}}),
                version=version, parent_id=parent.id if parent else None, locks=locks or None)
    db.session.add(plan)
    db.session.flush()
    _audit(user, plan, "run", {"version": version, "mode": parameters["mode"],
                               "parent": parent.id if parent else None})
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
    """Ask a queued or running plan to stop; the worker notices at its next heartbeat."""
    if not can_run_plans(user, plan.floor):
        raise Forbidden(_("your role may not cancel this plan"))
    if not plan.finished:
        plan.cancel_requested = True
        if plan.state == PlanState.QUEUED:
            plan.state = PlanState.CANCELLED
            plan.finished_at = utcnow()
        _audit(user, plan, "cancel", {"version": plan.version, "state": plan.state.value})
        db.session.flush()


def request_tradeoff(user: User, plan: Plan) -> None:
    """Ask for the trade-off curves of a finished plan's inputs (computed by a worker)."""
    if not can_run_plans(user, plan.floor):
        raise Forbidden(_("your role may not run the optimizer for this venue"))
    if plan.state != PlanState.DONE:
        raise ValidationError("tradeoff", _("trade-off curves need a finished plan"))
    if (plan.tradeoff or {}).get("state") in ("queued", "running"):
        raise ValidationError("tradeoff", _("the trade-off curves are already being computed"))
    plan.tradeoff = {"state": "queued"}
    db.session.flush()


# ---------------------------------------------------------------- counts and staleness


def _terminals(collection: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(f["properties"].get("id")): f for f in collection["features"] if f["properties"].get("kind") == "terminal"}


def totals(plan: Plan) -> dict[str, int]:
    """Cameras and face-recognition terminals before the plan (its snapshot) and after it (kept plus added)."""
    terminals = {code: f["properties"] for code, f in _terminals(plan.floor_snapshot).items()}
    result = plan.result or {}
    kept = {str(code) for code in result.get("kept", [])}
    after = [t for code, t in terminals.items() if code in kept]
    added = len(result.get("added", []) or [])
    return {
        "before_cameras": sum(1 for t in terminals.values() if t.get("type") == "camera"),
        "after_cameras": sum(1 for t in after if t.get("type") == "camera") + added,
        "before_face": sum(1 for t in terminals.values() if t.get("type") == "face_terminal"),
        "after_face": sum(1 for t in after if t.get("type") == "face_terminal"),
        "before_other": sum(1 for t in terminals.values() if t.get("type") not in ("camera", "face_terminal")),
        "after_other": sum(1 for t in after if t.get("type") not in ("camera", "face_terminal")),
    }


def _named(collection: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    features = [f for f in collection["features"] if f["properties"].get("kind") == kind]
    if kind == "zone":
        return {str(f["properties"].get("name")): f for f in features}
    return {json.dumps(f, sort_keys=True): f for f in features}


def _keyed_changes(old: dict[str, Any], new: dict[str, Any], added: Callable[[str], str],
                   removed: Callable[[str], str], changed: Callable[[str], str]) -> list[str]:
    """Sentences for the keys added, removed and changed between two keyed snapshots, each group sorted."""
    same = sorted(set(old) & set(new))
    return ([added(k) for k in sorted(set(new) - set(old))] + [removed(k) for k in sorted(set(old) - set(new))]
            + [changed(k) for k in same if json.dumps(old[k], sort_keys=True) != json.dumps(new[k], sort_keys=True)])


def stale_changes(plan: Plan) -> list[str]:
    """What changed on the floor since the plan's snapshot (terminals, zones, walls); empty when still current."""
    now = export_floor(plan.floor)
    changes: list[str] = []
    changes += _keyed_changes(_terminals(plan.floor_snapshot), _terminals(now),
                              lambda code: _("terminal %(code)s added", code=code),
                              lambda code: _("terminal %(code)s removed", code=code),
                              lambda code: _("terminal %(code)s moved, turned or changed", code=code))
    changes += _keyed_changes(_named(plan.floor_snapshot, "zone"), _named(now, "zone"),
                              lambda name: _("zone %(name)s added", name=name),
                              lambda name: _("zone %(name)s removed", name=name),
                              lambda name: _("zone %(name)s redrawn or its requirement changed", name=name))
    for kind, word in (("wall", N_("walls")), ("opening", N_("doors and openings")), ("outline", N_("floor outline"))):
        before, after = _named(plan.floor_snapshot, kind), _named(now, kind)
        if set(before) != set(after):
            changes.append(_("%(what)s changed (%(before)s before, %(after)s now)", what=_(word), before=len(before),
                             after=len(after)))
    return changes


# ---------------------------------------------------------------- review


def review_decision(user: User, plan: Plan, decision_id: int, verdict: str, comment: str = "") -> PlanDecision:
    """Accept or reject one decision of a finished, unapproved plan, with an optional comment."""
    if not can_run_plans(user, plan.floor):
        raise Forbidden(_("your role may not review plans of this venue"))
    decision = next((d for d in plan.decisions if d.id == decision_id), None)
    if decision is None:
        raise NotFound(f"decision {decision_id}")
    if plan.approved_at is not None:
        raise ValidationError("review", _("this version is approved and locked; re-run to change decisions"))
    if plan.state != PlanState.DONE:
        raise ValidationError("review", _("only a finished plan can be reviewed"))
    try:
        decision.review = Review(verdict)
    except ValueError:
        raise ValidationError("review", _("'%(value)s' is not one of accepted, rejected", value=verdict)) from None
    if len(comment) > 2000:
        raise ValidationError("comment", _("must be at most %(count)s characters", count=2000))
    decision.review_comment = comment.strip()
    decision.reviewed_by_id, decision.reviewed_at = user.id, utcnow()
    db.session.flush()
    return decision


def review_locks(plan: Plan) -> dict[str, str]:
    """The locks a re-run honours: this version's own locks plus its rejected decisions."""
    locks = dict(plan.locks or {})
    for d in plan.decisions:
        if d.lock is not None:
            locks[d.terminal_code] = d.lock
    return locks


def rejected_additions(plan: Plan) -> list[dict[str, Any]]:
    """Proposed new cameras rejected in this version or an earlier one: name, version and position."""
    rejected = list(plan.parameters.get("rejected_additions") or [])
    for d in plan.decisions:
        if d.decision == Decision.ADD and d.review == Review.REJECTED:
            pose = d.pose or {}
            rejected.append({"name": d.terminal_code, "version": plan.version, "x": pose.get("x"),
                             "y": pose.get("y"), "heading_deg": pose.get("heading_deg")})
    return rejected


def rerun(user: User, plan: Plan) -> Plan:
    """A new version of the plan on the floor as it is now, honouring the review's locks."""
    data = dict(plan.parameters)
    data.pop("seed", None)
    data.pop("rejected_additions", None)
    if not data.get("reaim"):
        data.pop("reaim_step", None)
    return create_plan(user, plan.floor, data, parent=plan, locks=review_locks(plan),
                       rejected_adds=rejected_additions(plan))


# ---------------------------------------------------------------- approval and work


def _audit(user: User, plan: Plan, action: str, after: dict[str, Any]) -> None:
    db.session.add(AuditEvent(user_id=user.id, organisation_id=_org(plan.floor), venue_id=plan.floor.venue_id,
                              object_type="plan", object_id=plan.id, action=action, after=after))


def approval_refusal(plan: Plan) -> str | None:
    """Why this plan cannot be approved now, or None."""
    if plan.superseded_at is not None:
        return _("version %(version)s was superseded; approve the newer version instead", version=plan.version)
    if plan.approved_at is not None:
        return _("version %(version)s is already approved", version=plan.version)
    if plan.state in (PlanState.QUEUED, PlanState.RUNNING):
        return _("the run has not finished yet")
    if plan.state == PlanState.FAILED:
        return _("the run failed; there is no plan to approve")
    if plan.state == PlanState.CANCELLED:
        return _("the run was cancelled; run it again to get a complete plan")
    if plan.solver_status not in ("OPTIMAL", "FEASIBLE"):
        return _("the plan does not cover every coverable required area; run it again with more time")
    changes = stale_changes(plan)
    if changes:
        return _("the floor changed since this plan was made (%(changes)s); run it again",
                 changes=_("; ").join(changes[:5]) + (_("; …") if len(changes) > 5 else ""))
    return None


def approve(user: User, plan: Plan) -> Plan:
    """Approve a version: lock it, supersede the plan in force, mark removals and create work items, audit it."""
    if not can_approve(user, plan.floor):
        raise Forbidden(_("only planners and administrators may approve plans"))
    refusal = approval_refusal(plan)
    if refusal:
        raise ValidationError("approve", refusal)
    now = utcnow()
    previous = db.session.scalar(sa.select(Plan).where(Plan.in_force_floor_id == plan.floor_id))
    if previous is not None:
        previous.in_force_floor_id, previous.superseded_at, previous.superseded_by_id = None, now, plan.id
        for item in previous.work_items:
            if item.done_at is None:
                item.cancelled = True
        _audit(user, previous, "supersede", {"superseded_by": plan.id, "version": previous.version})
        db.session.flush()
    plan.approved_at, plan.approved_by_id, plan.in_force_floor_id = now, user.id, plan.floor_id
    by_code = {t.code: t for t in plan.floor.terminals}
    removing = set()
    for d in plan.decisions:
        terminal = by_code.get(d.terminal_code)
        if d.decision == Decision.REMOVE and terminal is not None and terminal.status == TerminalStatus.ACTIVE:
            removing.add(terminal.code)
            set_planned_removal(terminal, True)
            plan.work_items.append(WorkItem(kind=WorkKind.REMOVE, terminal=terminal, label=terminal.code))
        elif d.decision == Decision.REAIM and terminal is not None:
            plan.work_items.append(WorkItem(kind=WorkKind.REAIM, terminal=terminal, label=terminal.code,
                                            heading_deg=(d.pose or {}).get("heading_deg"), pose=d.pose))
        elif d.decision == Decision.ADD:
            plan.work_items.append(WorkItem(kind=WorkKind.INSTALL, label=d.terminal_code,
                                            heading_deg=(d.pose or {}).get("heading_deg"), pose=d.pose))
    if previous is not None:
        # The superseded plan's removals not carried into this one go back into service.
        for item in previous.work_items:
            if item.kind == WorkKind.REMOVE and item.cancelled and item.terminal is not None \
                    and item.terminal.code not in removing:
                set_planned_removal(item.terminal, False)
    note_reason(f"plan {plan.id} approved (version {plan.version})")  # what the findings re-evaluation names
    _audit(user, plan, "approve", {"version": plan.version, "work_items": len(plan.work_items),
                                   "planned_removals": sorted(removing),
                                   "supersedes": previous.id if previous is not None else None})
    db.session.flush()  # the unique in_force_floor_id refuses a second plan in force here or at commit
    return plan


def work_progress(plan: Plan) -> tuple[int, int]:
    """(done, total) work items of an approved plan, cancelled ones not counted."""
    items = [i for i in plan.work_items if not i.cancelled]
    return sum(1 for i in items if i.done_at is not None), len(items)


def complete_work_item(user: User, plan: Plan, item_id: int) -> WorkItem:
    """Tick one change done; the terminal moves on in its lifecycle (removed, re-aimed, or installed)."""
    if not can_carry_out(user, plan.floor):
        raise Forbidden(_("only the venue's facility manager (or an administrator) ticks work done"))
    item = next((i for i in plan.work_items if i.id == item_id), None)
    if item is None:
        raise NotFound(f"work item {item_id}")
    if not plan.in_force or item.cancelled:
        raise ValidationError("work", _("this plan is no longer in force"))
    if item.done_at is not None:
        return item
    if item.kind == WorkKind.REMOVE and item.terminal is not None:
        update_terminal(user, item.terminal, {"status": TerminalStatus.REMOVED.value})
    elif item.kind == WorkKind.REAIM and item.terminal is not None and item.heading_deg is not None:
        update_terminal(user, item.terminal, {"heading_deg": item.heading_deg})
    elif item.kind == WorkKind.INSTALL:
        pose = item.pose or {}
        data: dict[str, Any] = {"code": _free_code(plan.floor, item.label), "kind": "camera", "x": pose.get("x"),
                                "y": pose.get("y"), "heading_deg": pose.get("heading_deg"),
                                "hfov_deg": pose.get("hfov_deg"), "purpose": f"installed for plan {plan.id}"}
        for key in ("hpx", "range_m"):
            if pose.get(key) is not None:
                data[key] = pose[key]
        item.terminal = create_terminal(user, plan.floor, data)
    item.done_at, item.done_by_id = utcnow(), user.id
    note_reason(f"plan {plan.id}: {item.kind.value} {item.label} done")
    _audit(user, plan, "work_done", {"item": item.id, "kind": item.kind.value, "terminal": item.label})
    db.session.flush()
    return item


def _free_code(floor: Floor, label: str) -> str:
    """A terminal ID for an installed camera: its plan name, suffixed if the floor already uses it."""
    used = {t.code for t in floor.terminals}
    code, n = label, 1
    while code in used:
        n += 1
        code = f"{label}-{n}"
    return code


def audit_trail(plan: Plan) -> list[AuditEvent]:
    """Audit events of a plan: approval, supersession and work done."""
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "plan",
                                                               AuditEvent.object_id == plan.id)
                                   .order_by(AuditEvent.id)))


# ---------------------------------------------------------------- versions


def diff(a: Plan, b: Plan) -> dict[str, Any]:
    """Two versions side by side: decisions terminal by terminal, counts, and uncovered area per zone."""
    da = {d.terminal_code: d for d in a.decisions}
    db_ = {d.terminal_code: d for d in b.decisions}
    rows = []
    for code in sorted(set(da) | set(db_)):
        left, right = da.get(code), db_.get(code)
        rows.append({"terminal": code, "a": left.decision.label if left else "—",
                     "b": right.decision.label if right else "—",
                     "changed": (left.decision if left else None) != (right.decision if right else None)})
    zones = sorted(set((a.result or {}).get("uncovered_m2", {})) | set((b.result or {}).get("uncovered_m2", {})))
    coverage = [{"zone": z, "a": (a.result or {}).get("uncovered_m2", {}).get(z),
                 "b": (b.result or {}).get("uncovered_m2", {}).get(z)} for z in zones if z != "total"]
    return {"rows": rows, "totals": {"a": totals(a), "b": totals(b)}, "coverage": coverage}


def organisation_of(plan: Plan) -> int:
    """Organisation owning the plan's venue."""
    return db.session.scalar(sa.select(Venue.organisation_id).where(Venue.id == plan.floor.venue_id))



