"""Plan exports: CSV of decisions, the after-state floor file, and the PDF of the printable report."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any

from flask_babel import gettext as _

from inventory.choices import N_
from planner.floor import Terminal as FloorTerminal
from planner.floor import floor_to_geojson, parse_floor
from plans import wording
from plans.models import Decision, Plan

PLAN_CSV_COLUMNS = ("terminal", "decision", "reason", "new_heading_deg", "x", "y", "review", "review_comment")
PLAN_CSV_TITLES = (N_("Terminal"), N_("Decision"), N_("Why"), N_("New heading (°)"), N_("X (m)"), N_("Y (m)"),
                   N_("Review"), N_("Review comment"))


def plan_csv(plan: Plan, *, titles: bool = False) -> str:
    """One row per decision: terminal, decision, reason, new heading, review.

    By default the header is the stable column names and the cells the stored values; with titles, the header,
    decisions, reasons and reviews are in the request's language (for people, not for scripts).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_(t) for t in PLAN_CSV_TITLES] if titles else PLAN_CSV_COLUMNS)
    reasons = wording.decision_reasons(plan.result, plan.necessity) if titles else {}
    for d in plan.decisions:
        pose = d.pose or {}
        heading = pose.get("heading_deg") if d.decision in (Decision.REAIM, Decision.ADD) else ""
        review = (d.review.label if titles else d.review.value) if d.review else ""
        writer.writerow([d.terminal_code, d.decision.label if titles else d.decision.value,
                         reasons.get(d.terminal_code, d.reason), heading,
                         pose.get("x", "") if d.decision == Decision.ADD else "",
                         pose.get("y", "") if d.decision == Decision.ADD else "",
                         review, d.review_comment or ""])
    return out.getvalue()


def after_floor(plan: Plan) -> dict[str, Any]:
    """The floor after the plan: removed terminals gone, re-aimed ones turned, new ones added (N1, N2, ...)."""
    floor = parse_floor(plan.floor_snapshot)
    by_code = {d.terminal_code: d for d in plan.decisions}
    terminals = []
    for t in floor.terminals:
        d = by_code.get(t.id)
        if d is not None and d.decision == Decision.REMOVE:
            continue
        if d is not None and d.decision == Decision.REAIM and (d.pose or {}).get("heading_deg") is not None:
            t = replace(t, heading_deg=float(d.pose["heading_deg"]))
        terminals.append(t)
    for d in plan.decisions:
        if d.decision == Decision.ADD and d.pose:
            terminals.append(FloorTerminal(id=d.terminal_code, type="camera", x=float(d.pose["x"]),
                                           y=float(d.pose["y"]), heading_deg=float(d.pose["heading_deg"]),
                                           hfov_deg=float(d.pose["hfov_deg"]), hpx=d.pose.get("hpx"),
                                           range_m=d.pose.get("range_m")))
    collection = floor_to_geojson(replace(floor, terminals=tuple(terminals)))
    collection["name"] = f"{collection.get('name') or 'floor'} · after plan {plan.id} (version {plan.version})"
    return collection


def after_geojson(plan: Plan) -> str:
    """The after-state floor file as JSON text."""
    return json.dumps(after_floor(plan), ensure_ascii=False, indent=1)


def pdf_from_html(html: str, base_url: str) -> bytes:
    """Render the printable report to PDF with WeasyPrint (Pango fonts, so CJK text renders with system fonts)."""
    from PIL import ImageFile

    # Importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which would make the upload
    # importers accept truncated images; the report embeds no raster images, so put the flag back.
    strict = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        from weasyprint import HTML
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = strict
    return HTML(string=html, base_url=base_url).write_pdf()
