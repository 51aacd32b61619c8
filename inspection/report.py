"""The inspection's drawings and its printable report (HTML, and PDF through the plan report's WeasyPrint path)."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from flask import render_template

from compliance.models import STANDING, Finding
from extensions import db
from inspection import evidence as photos
from inspection import service
from inspection.models import Expected, Found, Inspection
from inventory.floorio import export_floor, has_outline, outline_of
from plans.exports import pdf_from_html
from plans.svg import render_floor

# Map marks: the plan drawing's classes (its inline style colours them in the page and in the PDF alike).
_MARK = {Expected.KEPT: "kept", Expected.RE_AIMED: "kept", Expected.REMOVED: "removed"}


def floor_maps(inspection: Inspection, width_px: int = 640) -> list[dict[str, Any]]:
    """Per floor: the location map (declared terminals by expected state, installs and finds placed), and the
    numbers the page's tap-to-place script needs to turn a tap into floor metres."""
    maps = []
    for floor in service.inspection_floors(inspection):
        if not has_outline(floor):
            continue
        items = [i for i in inspection.items if i.floor_id == floor.id]
        marks = {i.code: _MARK[i.expected] for i in items if i.expected in _MARK}
        for i in items:
            if i.found == Found.REMOVED:
                marks[i.code] = "removed"
        placed = [(f"{i.code} ({'new' if i.expected == Expected.INSTALLED else 'not declared'})",
                   float(i.found_x if i.found_x is not None else (i.expected_pose or {}).get("x", 0.0)),
                   float(i.found_y if i.found_y is not None else (i.expected_pose or {}).get("y", 0.0)))
                  for i in items if i.expected == Expected.INSTALLED or i.found == Found.NOT_DECLARED]
        placed += [(f"{i.code} (moved)", float(i.found_x), float(i.found_y)) for i in items
                   if i.found == Found.MOVED and i.found_x is not None and i.found_y is not None]
        outline = outline_of(floor)
        min_x, min_y, max_x, max_y = outline.geometry.bounds if outline else (0.0, 0.0, 10.0, 10.0)
        maps.append({"floor": floor, "svg": render_floor(export_floor(floor, include_removed=True), marks=marks,
                                                         added=placed, width_px=width_px),
                     "flip": max_y + min_y, "bounds": [min_x, min_y, max_x, max_y]})
    return maps


def _thumbnail_uri(inspection: Inspection, relative: str) -> str:
    folder = photos.folder_of(inspection.venue.organisation_id, inspection.id)
    data = photos.resolve(folder, relative).read_bytes()
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def standing_findings(inspection: Inspection) -> list[Finding]:
    """The venue's findings that still hold (open or accepted), most severe first."""
    order = sa.case({"prohibited": 0, "must": 1, "should": 2}, value=Finding.severity, else_=3)
    return list(db.session.scalars(sa.select(Finding).where(Finding.venue_id == inspection.venue_id,
                                                            Finding.status.in_(STANDING))
                                   .order_by(order, Finding.rule_id, Finding.id)))


def report_html(inspection: Inspection, *, inline_images: bool = True) -> str:
    """The printable report: venue, declared and found counts, findings, photos, verification, inspector, date."""
    thumbs = {e.id: _thumbnail_uri(inspection, e.thumbnail_path) for e in inspection.evidence} if inline_images \
        else None
    return render_template("inspection/report.html", inspection=inspection, maps=floor_maps(inspection, 520),
                           found=inspection.found or service.found_counts(inspection),
                           declared=inspection.declared or {}, differences=service.differences(inspection),
                           findings=standing_findings(inspection), thumbs=thumbs,
                           verification=inspection.verification or {})


def report_pdf(inspection: Inspection, base_url: str) -> bytes:
    """The report as PDF, photos embedded (the renderer fetches nothing that needs a session)."""
    return pdf_from_html(report_html(inspection, inline_images=True), base_url=base_url)
