"""Plan execution, its one home: claim a queued run, solve with a heartbeat, store the result, reap dead runs.

The solver calls `progress` from its own threads, so that callback only records the latest figures in memory;
a heartbeat thread with its own application context writes them (and notices cancel requests) every
PLAN_HEARTBEAT_SECONDS. The engine itself runs in a clean child process (`jobs.child`, when PLAN_ENGINE_PROCESS
is on): this worker has threads, so it must not fork, but the child may fork its geometry workers and so use both
cores; its progress events come back to the heartbeat's callback. The children are forked by a forkserver that has
imported the engine once per worker, so a run does not import the planner, OR-Tools and shapely again. A run whose
heartbeat stops (its worker was killed) is retried or failed by the reaper that every worker runs as housekeeping
and that the progress page calls too, so no run stays "running".
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from accounts.models import utcnow
from extensions import db
from inventory.choices import N_
from jobs.child import preload, run_in_child
from jobs.queue import enqueue, housekeeping, job
from plans import wording
from plans.engine import EngineError, run_optimizer, tradeoff_curves
from plans.models import Decision, Plan, PlanDecision, PlanState

# What the engine children import (run_optimizer's lazy imports and the trade-off curves'), once per worker.
preload("plans.engine", "planner.plan.explain", "planner.tradeoff")

# Stored in English (the worker has no request); pages translate them with gettext, these being the msgids.
STAGES = {"candidates": N_("building candidate poses"), "witnesses": N_("sampling witnesses"),
          "solve": N_("solving the cover model"), "refine": N_("checking the exact coverage"),
          "done": N_("finishing")}
# The stage a run shows once the reaper queued it again (a msgid, so the progress page shows it translated).
REQUEUED = N_("queued again: the worker running it stopped")


def queue_plan(plan: Plan) -> None:
    """Put a committed, queued plan on the job queue."""
    enqueue("run_plan", plan.id)


class _Heartbeat(threading.Thread):
    """Writes the latest progress and a heartbeat for one plan, and relays cancel requests to the solver."""

    def __init__(self, app: Flask, plan_id: int, attempt: int, cancel: threading.Event, every_s: float) -> None:
        super().__init__(name=f"plan-{plan_id}-heartbeat", daemon=True)
        self.app, self.plan_id, self.attempt, self.cancel, self.every_s = app, plan_id, attempt, cancel, every_s
        self.latest: dict[str, Any] = {}
        self.cameras: int | None = None
        self.at_least: int | None = None
        self.stop = threading.Event()

    def record(self, info: dict[str, Any]) -> None:
        """Solver callback (any thread): remember the latest figures; no database work here."""
        if info.get("phase") == "refine" and info.get("objective") is not None:
            self.cameras = int(info["objective"])
        if info.get("needed_at_least") is not None:
            self.at_least = max(self.at_least or 0, int(info["needed_at_least"]))
        self.latest = dict(info)

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            try:
                self.beat()
            except Exception:  # a busy database must not silence the heartbeat for good (the run would be reaped)
                self.app.logger.exception("heartbeat of plan %s failed; trying again", self.plan_id)

    def beat(self) -> None:
        """One heartbeat in its own application context and transaction."""
        info = self.latest
        with self.app.app_context():
            plan = db.session.get(Plan, self.plan_id)
            if plan is None or plan.state != PlanState.RUNNING or plan.attempts != self.attempt:
                return
            phase = str(info.get("phase", "candidates"))
            plan.progress = {
                "stage": STAGES.get(phase, phase),
                "round": info.get("round"),
                # Counts of terminals in the best cover found so far, never the solver's folded objective.
                "terminals": self.cameras,
                "at_least": self.at_least,  # the solver's proven bound in cameras, kept once a round proved it
                "uncovered_m2": info.get("uncovered_m2"),
                "seconds": round(float(info.get("seconds", 0.0)), 1),
                "time_limit": plan.parameters.get("time_limit"),
            }
            plan.heartbeat_at = utcnow()
            if plan.cancel_requested:
                self.cancel.set()
            db.session.commit()


def _claim(plan_id: int) -> bool:
    """Move a queued plan to running, atomically, so two workers never run the same plan."""
    claimed = db.session.execute(
        sa.update(Plan).where(Plan.id == plan_id, Plan.state == PlanState.QUEUED)
        .values(state=PlanState.RUNNING, started_at=utcnow(), heartbeat_at=utcnow(), attempts=Plan.attempts + 1,
                progress={"stage": "building candidate poses", "seconds": 0})).rowcount
    db.session.commit()
    return claimed == 1


@job("run_plan")
def execute_plan(plan_id: int) -> None:
    """Run the optimizer for a queued plan and store its certificate and decisions (the worker's job)."""
    if not _claim(plan_id):
        return
    plan = db.session.get(Plan, plan_id)
    assert plan is not None
    snapshot, parameters, locks = plan.floor_snapshot, dict(plan.parameters), dict(plan.locks or {})
    attempt = plan.attempts
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cancel = threading.Event()
    heartbeat = _Heartbeat(app, plan_id, attempt, cancel, float(app.config["PLAN_HEARTBEAT_SECONDS"]))
    heartbeat.start()
    try:
        result = run_engine(app, run_optimizer, {"snapshot": snapshot, "parameters": parameters, "locks": locks,
                                                 "workers": int(app.config["SOLVER_WORKERS"])},
                            progress=heartbeat.record, cancel=cancel)
    except EngineError as exc:
        _stop(heartbeat)
        _finish(plan_id, attempt, PlanState.FAILED, error=str(exc))
        return
    except Exception as exc:  # a bug must still end the run visibly rather than leave it "running"
        _stop(heartbeat)
        _finish(plan_id, attempt, PlanState.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
        raise
    state = PlanState.CANCELLED if result.get("status") == "CANCELLED" else PlanState.DONE
    # The drawings and necessity are analysed while the heartbeat still beats: on a large floor they take seconds.
    analysis = None
    if state == PlanState.DONE:
        from plans.compare import analyse

        analysis = analyse(snapshot, result)
    _stop(heartbeat)
    _finish(plan_id, attempt, state, result=result, analysis=analysis)


def run_engine(app: Flask, fn: Any, kwargs: dict[str, Any], *, progress: Any = None, cancel: Any = None) -> Any:
    """fn(**kwargs, progress=, cancel=) in a child process when PLAN_ENGINE_PROCESS is on (both cores), else here."""
    extra = {k: v for k, v in (("progress", progress), ("cancel", cancel)) if v is not None}
    if not app.config.get("PLAN_ENGINE_PROCESS", True):
        return fn(**kwargs, **extra)
    return run_in_child(fn, kwargs, **extra)


def _stop(heartbeat: _Heartbeat) -> None:
    heartbeat.stop.set()
    heartbeat.join(timeout=30)


def _finish(plan_id: int, attempt: int, state: PlanState, *, result: dict[str, Any] | None = None,
            error: str | None = None, analysis: dict[str, Any] | None = None) -> None:
    """Store the outcome, decisions and drawings of a run in one transaction (only if this attempt still owns it)."""
    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    assert plan is not None
    if plan.state != PlanState.RUNNING or plan.attempts != attempt:
        # The reaper gave this attempt up (its heartbeat was late) and the run was retried or ended: drop ours.
        current_app.logger.warning("plan %s attempt %s finished after being given up; result dropped", plan_id, attempt)
        return
    plan.state, plan.finished_at, plan.error = state, utcnow(), error
    if result is not None:
        plan.result = result
        plan.solver_status = result.get("status")
        plan.objective = result.get("objective")
        plan.bound = result.get("bound")
        plan.seconds = result.get("seconds")
        plan.uncovered_m2 = (result.get("uncovered_m2") or {}).get("total")
        plan.privacy_overlap_m2 = _total(result.get("privacy_overlap_m2"))
        if state == PlanState.DONE:
            if analysis is None:
                from plans.compare import analyse

                analysis = analyse(plan.floor_snapshot, result)
            plan.drawings = analysis["drawings"]
            plan.necessity = analysis["necessity"]
            for decision in _decisions(result, analysis["necessity"]):
                plan.decisions.append(decision)
        else:
            for decision in _decisions(result, {}):
                plan.decisions.append(decision)
    db.session.commit()


def _total(value: Any) -> float | None:
    if isinstance(value, dict):
        return value.get("total", sum(v for v in value.values() if isinstance(v, int | float)))
    return value


def _decisions(result: dict[str, Any], necessity: dict[str, list[dict]]) -> list[PlanDecision]:
    """Decision rows from the optimizer's per-terminal decisions, each with a reason true of that terminal alone."""
    reasons = wording.decision_reasons(result, necessity)
    rows = []
    added = 0
    for item in result.get("decisions", []):
        decision = Decision(item["decision"])
        if decision == Decision.ADD:
            added += 1
            code = wording.added_name(added)
        else:
            code = str(item.get("id"))
        pose = {key: item[key] for key in ("x", "y", "heading_deg", "hfov_deg", "from_heading_deg", "hpx",
                                           "range_m", "model") if key in item} or None
        rows.append(PlanDecision(terminal_code=code, decision=decision, pose=pose, reason=reasons[code]))
    return rows


def queue_tradeoff(plan: Plan) -> None:
    """Mark a finished plan's trade-off curves as requested and queue their computation (the caller commits first)."""
    enqueue("plan_tradeoff", plan.id)


@job("plan_tradeoff")
def compute_tradeoff(plan_id: int) -> None:
    """Compute and store the trade-off curves of a plan's inputs (cameras against covered fraction and k)."""
    plan = db.session.get(Plan, plan_id)
    if plan is None or (plan.tradeoff or {}).get("state") != "queued":
        return
    plan.tradeoff = {"state": "running"}
    snapshot, parameters, locks = plan.floor_snapshot, dict(plan.parameters), dict(plan.locks or {})
    db.session.commit()
    config = current_app.config
    per_point = min(float(parameters.get("time_limit", 60.0)), float(config["PLAN_TRADEOFF_SECONDS_PER_POINT"]))
    try:
        curves: dict[str, Any] = {"state": "done", **run_engine(current_app, tradeoff_curves, {
            "snapshot": snapshot, "parameters": parameters, "locks": locks, "workers": int(config["SOLVER_WORKERS"]),
            "seconds_per_point": per_point})}
    except EngineError as exc:
        curves = {"state": "failed", "error": str(exc)}
    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    assert plan is not None
    plan.tradeoff = curves
    db.session.commit()


@housekeeping
def reap_stale_runs() -> int:
    """Retry (or fail, after PLAN_MAX_ATTEMPTS) running plans whose heartbeat stopped; return how many."""
    config = current_app.config
    timeout = float(config["PLAN_HEARTBEAT_TIMEOUT"])
    cutoff = utcnow() - timedelta(seconds=timeout)
    stale = list(db.session.scalars(sa.select(Plan.id).where(Plan.state == PlanState.RUNNING,
                                                             Plan.heartbeat_at < cutoff)))
    reaped = 0
    for plan_id in stale:
        plan = db.session.get(Plan, plan_id)
        assert plan is not None
        why = f"the worker running it stopped (no heartbeat for {timeout:.0f} s)"
        if plan.cancel_requested:
            values: dict[str, Any] = {"state": PlanState.CANCELLED, "finished_at": utcnow(), "error": why}
        elif plan.attempts < int(config["PLAN_MAX_ATTEMPTS"]):
            values = {"state": PlanState.QUEUED, "progress": {"stage": REQUEUED, "seconds": 0}}
        else:
            values = {"state": PlanState.FAILED, "finished_at": utcnow(),
                      "error": f"{why}; gave up after {plan.attempts} attempts"}
        # Conditional, so two reapers (or a late heartbeat) cannot both act on the same run.
        changed = db.session.execute(sa.update(Plan).where(Plan.id == plan_id, Plan.state == PlanState.RUNNING,
                                                           Plan.heartbeat_at < cutoff).values(**values)).rowcount
        db.session.commit()
        if changed and values["state"] == PlanState.QUEUED:
            enqueue("run_plan", plan_id)
        reaped += changed
    return reaped
