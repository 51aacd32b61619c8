"""Optimizer pages: run a plan on a floor, watch its progress, read the certificate, compare before and after."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from htmx_flask import make_response

from extensions import db
from inventory.fields import ValidationError
from inventory.services import get_floor
from jobs.queue import enqueue_plan
from plans import service

bp = Blueprint("plans", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every plan page needs a signed-in user."""


@bp.get("/floors/<int:floor_id>/plans")
def floor_plans(floor_id: int):  # type: ignore[no-untyped-def]
    """A floor's optimizer runs and the form to start one."""
    floor = get_floor(current_user, floor_id)
    return render_template("plans/floor_plans.html", floor=floor, plans=service.floor_plans(floor),
                           fields=service.PLAN_FIELDS, values={}, error=None,
                           can_run=service.can_run_plans(current_user, floor))


@bp.post("/floors/<int:floor_id>/plans")
def plan_create(floor_id: int):  # type: ignore[no-untyped-def]
    """Queue an optimizer run for the floor as it is now."""
    floor = get_floor(current_user, floor_id)
    try:
        plan = service.create_plan(current_user, floor, request.form.to_dict())
    except ValidationError as error:
        db.session.rollback()
        return render_template("plans/floor_plans.html", floor=floor, plans=service.floor_plans(floor),
                               fields=service.PLAN_FIELDS, values=request.form.to_dict(), error=error,
                               can_run=service.can_run_plans(current_user, floor)), 422
    db.session.commit()
    enqueue_plan(plan.id)
    return redirect(url_for("plans.plan_detail", plan_id=plan.id))


@bp.get("/plans/<int:plan_id>")
def plan_detail(plan_id: int):  # type: ignore[no-untyped-def]
    """A plan: progress while it runs, then the certificate, before/after maps and decisions."""
    plan = service.get_plan(current_user, plan_id)
    return render_template("plans/plan_detail.html", plan=plan, drawings=plan.drawings, plan_totals=service.totals(plan),
                           can_run=service.can_run_plans(current_user, plan.floor))


@bp.get("/plans/<int:plan_id>/progress")
def plan_progress(plan_id: int):  # type: ignore[no-untyped-def]
    """htmx: the progress bar; once the run has stopped, reload the page to show the result."""
    plan = service.get_plan(current_user, plan_id)
    if plan.finished:
        return make_response("", refresh=True)
    return render_template("plans/_progress.html", plan=plan)


@bp.post("/plans/<int:plan_id>/cancel")
def plan_cancel(plan_id: int):  # type: ignore[no-untyped-def]
    """Ask a running plan to stop."""
    plan = service.get_plan(current_user, plan_id)
    service.request_cancel(current_user, plan)
    db.session.commit()
    return redirect(url_for("plans.plan_detail", plan_id=plan.id))
