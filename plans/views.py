"""Optimizer pages: run a plan, watch it, read the result, review, approve, carry out, compare, export."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from htmx_flask import make_response

from extensions import db
from inventory import csv_io
from inventory.csv_views import titled_header
from inventory.fields import ValidationError
from inventory.services import NotFound, get_floor
from plans import chart, exports, service, wording
from plans.execution import queue_plan, queue_tradeoff, reap_stale_runs

bp = Blueprint("plans", __name__)
bp.add_app_template_global(wording.area_of, "area_of")
bp.add_app_template_global(wording.planner_reason, "planner_reason")
bp.add_app_template_global(wording.drawing_counts, "drawing_counts")
bp.add_app_template_global(gettext, "stage_label")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every plan page needs a signed-in user."""


def _floor_page(floor, values=None, error=None, status=200):  # type: ignore[no-untyped-def]
    return render_template("plans/floor_plans.html", floor=floor, plans=service.floor_plans(floor),
                           fields=service.plan_fields(), values=values or service.form_defaults(), error=error,
                           help=service.HELP, mode_words=service.MODE_WORDS, wording=wording,
                           work=service.work_progress,
                           can_run=service.can_run_plans(current_user, floor)), status


@bp.get("/floors/<int:floor_id>/plans")
def floor_plans(floor_id: int):  # type: ignore[no-untyped-def]
    """A floor's optimizer runs (versions) and the form to start one."""
    floor = get_floor(current_user, floor_id)
    values = service.form_defaults()
    values.update({k: v for k, v in request.args.items() if k in {f.name for f in service.plan_fields()} | {"k_override"}})
    return _floor_page(floor, values)


@bp.post("/floors/<int:floor_id>/plans")
def plan_create(floor_id: int):  # type: ignore[no-untyped-def]
    """Queue an optimizer run for the floor as it is now."""
    floor = get_floor(current_user, floor_id)
    try:
        plan = service.create_plan(current_user, floor, request.form.to_dict())
    except ValidationError as error:
        db.session.rollback()
        return _floor_page(floor, request.form.to_dict(), error, 422)
    db.session.commit()
    queue_plan(plan)
    return redirect(url_for("plans.plan_detail", plan_id=plan.id))


def _detail(plan, error=None, status=200):  # type: ignore[no-untyped-def]
    counts = service.totals(plan)
    stale = service.stale_changes(plan) if plan.finished and plan.approved_at is None else []
    done, total = service.work_progress(plan)
    return render_template(
        "plans/plan_detail.html", plan=plan, drawings=wording.localized_drawings(plan.drawings), counts=counts, error=error,
        headline=wording.headline(plan.state.value, plan.result, counts),
        badge=wording.badge(plan.state.value, plan.result), stale=stale,
        reasons=wording.decision_reasons(plan.result, plan.necessity),
        refusal=service.approval_refusal(plan), locks=service.review_locks(plan) if plan.result else {},
        work_done=done, work_total=total, audit=service.audit_trail(plan), charts=_charts(plan),
        can_run=service.can_run_plans(current_user, plan.floor),
        can_approve=service.can_approve(current_user, plan.floor),
        can_carry_out=service.can_carry_out(current_user, plan.floor)), status


def _charts(plan) -> dict[str, str] | None:  # type: ignore[no-untyped-def]
    """The trade-off charts of a plan whose curves are computed; k points link to a run form with that k."""
    curves = plan.tradeoff or {}
    if curves.get("state") != "done":
        return None
    keep = {k: v for k, v in plan.parameters.items() if k in ("mode", "reaim", "reaim_step", "time_limit",
                                                                "allow_face_recognition", "design_spacing")}

    def run_with_k(point: dict) -> str:
        return url_for("plans.floor_plans", floor_id=plan.floor_id, k_override=int(point["k"]), **keep) + "#plan-form"

    return {"coverage": chart.curve_svg(curves.get("coverage", []), "fraction", _("required area covered"),
                                        x_format=lambda f: f"{f * 100:g} %", chart_id="chart-coverage"),
            "k": chart.curve_svg(curves.get("k", []), "k", _("cameras that must see each point (k)"),
                                 x_format=lambda k: f"k = {k:g}", link=run_with_k, chart_id="chart-k")}


@bp.post("/plans/<int:plan_id>/tradeoff")
def plan_tradeoff(plan_id: int):  # type: ignore[no-untyped-def]
    """Queue the trade-off curves of this plan's inputs."""
    plan = service.get_plan(current_user, plan_id)
    try:
        service.request_tradeoff(current_user, plan)
    except ValidationError as error:
        db.session.rollback()
        return _detail(plan, error, 422)
    db.session.commit()
    queue_tradeoff(plan)
    return redirect(url_for("plans.plan_detail", plan_id=plan.id) + "#tradeoff")


@bp.get("/plans/<int:plan_id>")
def plan_detail(plan_id: int):  # type: ignore[no-untyped-def]
    """A plan: progress while it runs, then the headline, certificate, maps, decisions, review and work."""
    return _detail(service.get_plan(current_user, plan_id))


@bp.get("/plans/<int:plan_id>/progress")
def plan_progress(plan_id: int):  # type: ignore[no-untyped-def]
    """htmx: the progress bar; once the run has stopped, reload the page to show the result."""
    plan = service.get_plan(current_user, plan_id)
    if not plan.finished and reap_stale_runs():
        db.session.refresh(plan)
    if plan.finished:
        return make_response("", refresh=True)
    return render_template("plans/_progress.html", plan=plan)


def _act(plan_id: int, action):  # type: ignore[no-untyped-def]
    """Run a state-changing service on a plan; commit and go back to the plan, or show the error on it."""
    plan = service.get_plan(current_user, plan_id)
    try:
        target = action(plan)
    except ValidationError as error:
        db.session.rollback()
        return _detail(service.get_plan(current_user, plan_id), error, 422)
    db.session.commit()
    return redirect(url_for("plans.plan_detail", plan_id=(target or plan).id) + request.form.get("anchor", ""))


@bp.post("/plans/<int:plan_id>/cancel")
def plan_cancel(plan_id: int):  # type: ignore[no-untyped-def]
    """Ask a running plan to stop."""
    return _act(plan_id, lambda plan: service.request_cancel(current_user, plan))


@bp.post("/plans/<int:plan_id>/decisions/<int:decision_id>/review")
def decision_review(plan_id: int, decision_id: int):  # type: ignore[no-untyped-def]
    """Accept or reject one decision, with an optional comment."""
    return _act(plan_id, lambda plan: service.review_decision(current_user, plan, decision_id,
                                                               request.form.get("review", ""),
                                                               request.form.get("comment", "")) and None)


@bp.post("/plans/<int:plan_id>/rerun")
def plan_rerun(plan_id: int):  # type: ignore[no-untyped-def]
    """Start a new version honouring this version's review."""
    plan = service.get_plan(current_user, plan_id)
    try:
        new = service.rerun(current_user, plan)
    except ValidationError as error:
        db.session.rollback()
        return _detail(plan, error, 422)
    db.session.commit()
    queue_plan(new)
    return redirect(url_for("plans.plan_detail", plan_id=new.id))


@bp.post("/plans/<int:plan_id>/approve")
def plan_approve(plan_id: int):  # type: ignore[no-untyped-def]
    """Approve this version: it becomes the floor's plan in force."""
    return _act(plan_id, lambda plan: service.approve(current_user, plan))


@bp.post("/plans/<int:plan_id>/work-items/<int:item_id>/done")
def work_done(plan_id: int, item_id: int):  # type: ignore[no-untyped-def]
    """The facility manager ticks one planned change done."""
    return _act(plan_id, lambda plan: service.complete_work_item(current_user, plan, item_id) and None)


@bp.get("/floors/<int:floor_id>/plans/compare")
def plan_compare(floor_id: int):  # type: ignore[no-untyped-def]
    """Two versions of a floor's plans side by side."""
    floor = get_floor(current_user, floor_id)
    plans = {p.id: p for p in service.floor_plans(floor)}
    try:
        a, b = plans[int(request.args["a"])], plans[int(request.args["b"])]
    except (KeyError, ValueError):
        raise NotFound("choose two versions of this floor's plans") from None
    return render_template("plans/compare.html", floor=floor, a=a, b=b, diff=service.diff(a, b))


@bp.get("/plans/<int:plan_id>/plan.csv")
def export_csv(plan_id: int):  # type: ignore[no-untyped-def]
    """The plan as CSV: terminal, decision, reason, new heading."""
    plan = service.get_plan(current_user, plan_id)
    titles = titled_header()
    body = exports.plan_csv(plan, titles=titles)
    # Titled files are for spreadsheets (Excel needs the byte-order mark for CJK); the machine header stays plain.
    return Response(csv_io.encode(body) if titles else body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.id}-v{plan.version}.csv"'})


@bp.get("/plans/<int:plan_id>/after.geojson")
def export_geojson(plan_id: int):  # type: ignore[no-untyped-def]
    """The floor after the plan, as a floor file."""
    plan = service.get_plan(current_user, plan_id)
    return Response(exports.after_geojson(plan), mimetype="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.id}-after.geojson"'})


def _report_html(plan) -> str:  # type: ignore[no-untyped-def]
    counts = service.totals(plan)
    done, total = service.work_progress(plan)
    return render_template("plans/report.html", plan=plan, drawings=wording.localized_drawings(plan.drawings), counts=counts,
                           headline=wording.headline(plan.state.value, plan.result, counts),
                           badge=wording.badge(plan.state.value, plan.result), work_done=done, work_total=total,
                           reasons=wording.decision_reasons(plan.result, plan.necessity),
                           audit=service.audit_trail(plan))


@bp.get("/plans/<int:plan_id>/report")
def report(plan_id: int):  # type: ignore[no-untyped-def]
    """A printable report of the plan (print CSS)."""
    return _report_html(service.get_plan(current_user, plan_id))


@bp.get("/plans/<int:plan_id>/report.pdf")
def report_pdf(plan_id: int):  # type: ignore[no-untyped-def]
    """The report as PDF."""
    plan = service.get_plan(current_user, plan_id)
    pdf = exports.pdf_from_html(_report_html(plan), base_url=request.url_root)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.id}-v{plan.version}.pdf"'})
