"""Compliance pages: a venue's findings (filterable, each linked to its offender on the floor map) and accepting
a finding with a justification; template globals for the venue-list badge and the floor page's findings."""

from __future__ import annotations

import json
from collections.abc import Hashable
from functools import partial
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required
from markupsafe import Markup

from compliance import citation, rules
from compliance.models import FINDING_SEVERITIES, FINDING_STATUSES, STANDING, Finding
from compliance.service import open_finding_counts, rechecking_since
from extensions import db
from findings import jobs as checks
from findings import service, wording
from i18n import current_language
from inventory import floor_overlays, services
from inventory.fields import ValidationError
from inventory.lru import LRUCache
from inventory.models import Floor, Venue, Zone
from web import cached_fragment

bp = Blueprint("compliance", __name__)
# The accept form's fields by the name a ValidationError gives, with the label the form shows.
ACCEPT_FIELDS = {"justification": lazy_gettext("Justification"), "status": lazy_gettext("Status")}


@bp.app_template_global("compliance_counts")
def compliance_counts(venue_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Open findings per venue and severity, and since when a re-check runs (the venue list's badge)."""
    ids = list(venue_ids)
    since = rechecking_since(ids)
    return {vid: {**counts, "rechecking": since.get(vid)} for vid, counts in open_finding_counts(ids).items()}


FLOOR_PAGE_FINDINGS = 50  # findings listed under a floor's map; the venue's compliance page lists them all
_floor_items: LRUCache[Hashable, Markup] = LRUCache(20_000)  # an item is about 300 bytes
_floor_lists: LRUCache[Hashable, tuple[Markup, int, int]] = LRUCache(16 << 20, weigh=lambda v: len(v[0]) + 100)


@bp.app_template_global("floor_findings")
def floor_findings(floor: Floor) -> tuple[Markup, int, int]:
    """The floor page's list under the map: its first standing findings' items, how many it shows and how many
    there are.

    The list is kept per findings generation (what names the cached findings map: a new one whenever a finding of
    the floor, one of its zones or a terminal's code, point or presence is written), language and script root.
    Within it each item is rendered once per content (the whole row, the zone key its link selects), from plain
    rows rather than ORM objects: 50 of those, with their JSON, were most of the list's cost.
    """
    key = (floor.id, floor_overlays.findings_generation(floor), current_language(), request.script_root)
    return cached_fragment(_floor_lists, key, partial(_floor_list, floor))


def _floor_list(floor: Floor) -> tuple[Markup, int, int]:
    rows = service.floor_finding_rows(floor, FLOOR_PAGE_FINDINGS)
    shared = (current_language(), request.script_root)
    items = Markup("").join(cached_fragment(_floor_items, (*shared, *row), partial(_render_floor_item, row))
                            for row in rows)
    return items, len(rows), service.floor_finding_count(floor)


def _render_floor_item(row: sa.Row[Any]) -> Markup:
    """One item of the floor page's findings list (compliance/_floor_finding.html)."""
    finding = SimpleNamespace(**row._asdict(), detail=json.loads(row.detail_json) if row.detail_json else {})
    link = floor_link(finding.floor_id, finding.subject if finding.terminal_id else finding.zone_key)
    return Markup(render_template("compliance/_floor_finding.html", f=finding, link=link,
                                  message=wording.message(finding)))


@bp.app_template_global("finding_message")
def finding_message(finding: Finding) -> str:
    """The finding's message in the request's language."""
    return wording.message(finding)


@bp.app_template_global("rule_why_not")
def rule_why_not(rule: rules.Rule) -> str:
    """Why a rule is left out, in the request's language."""
    return citation.rule_why_not(rule, current_language())


bp.add_app_template_global(rechecking_since, "compliance_rechecking_since")  # e.g. the inspection report's notice
bp.add_app_template_global(wording.reason, "finding_reason")
bp.add_app_template_global(wording.issue, "verification_issue")
bp.add_app_template_global(wording.severity, "severity_label")
bp.add_app_template_global(wording.status, "status_label")


@bp.app_template_global("finding_link")
def finding_link(finding: Finding) -> str | None:
    """Where the offender shows on the floor map: the floor page with the terminal (or zone) selected."""
    select = None
    if finding.terminal_id:
        select = finding.subject
    elif finding.zone_id:
        zone = db.session.get(Zone, finding.zone_id)
        select = zone.key if zone else None
    return floor_link(finding.floor_id, select)


def floor_link(floor_id: int | None, select: str | None) -> str | None:
    """The floor page at its map with `select` (a terminal ID or a zone key) selected; None without a floor."""
    if floor_id is None:
        return None
    args: dict[str, Any] = {"floor_id": floor_id, "_anchor": "floor-editor"}
    if select:
        args["select"] = select
    return url_for("inventory.floor_detail", **args)


@bp.app_template_global("recheck_context")
def recheck_context(venue_id: int, floor_id: int | None = None, *, done: bool = False) -> dict[str, Any]:
    """What the re-checking notice shows (findings.jobs.recheck_state) and where it polls."""
    args: dict[str, Any] = {"venue_id": venue_id}
    if floor_id is not None:
        args["floor"] = floor_id
    reload_url = (url_for("inventory.floor_detail", floor_id=floor_id, _anchor="floor-findings") if floor_id
                  else url_for("compliance.venue_compliance", venue_id=venue_id))
    return {"state": service.recheck_state(venue_id, floor_id), "status_url": url_for("compliance.recheck_status", **args),
            "box_id": "recheck-floor" if floor_id else "recheck-venue", "done": done, "reload_url": reload_url}


def _filters() -> dict[str, str]:
    """The page's filters, each checked against its allowed values (400 naming the filter otherwise)."""
    out = {}
    for name, allowed in (("status", FINDING_STATUSES), ("severity", FINDING_SEVERITIES)):
        value = request.args.get(name, "").strip()
        if value and value not in allowed:
            abort(400, _("filter %(name)s: '%(value)s' is not one of %(allowed)s", name=name, value=value,
                         allowed=", ".join(allowed)))
        out[name] = value
    rule_id = request.args.get("rule", "").strip()
    if rule_id and rule_id not in {r.id for r in rules.load_rules()}:
        abort(400, _("filter rule: no rule %(rule)s", rule=rule_id))
    out["rule"] = rule_id
    return out


def _page(venue: Venue, error: ValidationError | None = None, error_id: int | None = None, status: int = 200):
    filters = _filters()
    findings = service.venue_findings(venue, status=filters["status"] or None, severity=filters["severity"] or None,
                                      rule_id=filters["rule"] or None)
    all_rules = {r.id: r for r in rules.load_rules()}
    profile_rules = rules.rules_for(venue.compliance_profile.value)
    counts = {s: 0 for s in FINDING_STATUSES}
    for f in service.venue_findings(venue):
        counts[f.status] += 1
    html = render_template("compliance/venue.html", venue=venue, recheck=recheck_context(venue.id),
                           error_title=ACCEPT_FIELDS.get(error.field or "") if error else None, findings=findings, filters=filters, rules=all_rules,
                           profile_rules=profile_rules, counts=counts, can_accept=service.can_accept(current_user, venue),
                           error=error, error_id=error_id, statuses=FINDING_STATUSES, severities=FINDING_SEVERITIES,
                           standing=STANDING, entity=service.entity_of(venue))
    return html, status


@bp.get("/venues/<int:venue_id>/compliance")
@login_required
def venue_compliance(venue_id: int):  # type: ignore[no-untyped-def]
    """All findings of a venue, filterable by status, severity and rule."""
    return _page(services.get_venue(current_user, venue_id))


@bp.get("/venues/<int:venue_id>/compliance/status")
@login_required
def recheck_status(venue_id: int):  # type: ignore[no-untyped-def]
    """The re-checking notice of a venue (or of one floor, ?floor=): htmx polls it until the re-check ends."""
    venue = services.get_venue(current_user, venue_id)
    floor_id = request.args.get("floor", type=int)
    if floor_id is not None and services.get_floor(current_user, floor_id).venue_id != venue.id:
        abort(404)
    checks.reap_stale_checks()  # a check whose worker died is queued again (or failed) even with no worker left
    return render_template("compliance/_rechecking.html", recheck=recheck_context(venue.id, floor_id, done=True))


@bp.post("/venues/<int:venue_id>/findings/<int:finding_id>/accept")
@login_required
def accept_finding(venue_id: int, finding_id: int):  # type: ignore[no-untyped-def]
    """Accept an open finding with a justification (the venue's managers and administrators)."""
    venue = services.get_venue(current_user, venue_id)
    finding = service.get_finding(venue, finding_id)
    if finding is None:
        abort(404)
    try:
        service.accept(current_user, venue, finding, request.form.get("justification"))
    except ValidationError as error:
        db.session.rollback()
        return _page(venue, error, finding_id, 422)
    db.session.commit()
    flash(_("Finding %(rule)s on %(subject)s accepted.", rule=finding.rule_id, subject=finding.subject), "ok")
    return redirect(url_for("compliance.venue_compliance", venue_id=venue.id, _anchor=f"finding-{finding.id}"))
