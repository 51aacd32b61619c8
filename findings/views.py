"""Compliance pages: a venue's findings (filterable, each linked to its offender on the floor map) and accepting
a finding with a justification; template globals for the venue-list badge and the floor page's findings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from compliance import citation, rules
from compliance.models import FINDING_SEVERITIES, FINDING_STATUSES, STANDING, Finding
from compliance.service import open_finding_counts
from extensions import db
from findings import service, wording
from i18n import current_language
from inventory import services
from inventory.fields import ValidationError
from inventory.models import Floor, Venue, Zone

bp = Blueprint("compliance", __name__)


@bp.app_template_global("compliance_counts")
def compliance_counts(venue_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open findings per venue and severity (the venue list's badge)."""
    return open_finding_counts(list(venue_ids))


FLOOR_PAGE_FINDINGS = 50  # findings listed under a floor's map; the venue's compliance page lists them all


@bp.app_template_global("floor_findings")
def floor_findings(floor: Floor) -> tuple[list[Finding], int]:
    """The first standing findings of a floor (the floor page's list under the map), and how many there are."""
    return service.floor_findings(floor, FLOOR_PAGE_FINDINGS), service.floor_finding_count(floor)


@bp.app_template_global("finding_message")
def finding_message(finding: Finding) -> str:
    """The finding's message in the request's language."""
    return wording.message(finding)


@bp.app_template_global("rule_why_not")
def rule_why_not(rule: rules.Rule) -> str:
    """Why a rule is left out, in the request's language."""
    return citation.rule_why_not(rule, current_language())


bp.add_app_template_global(wording.reason, "finding_reason")
bp.add_app_template_global(wording.issue, "verification_issue")
bp.add_app_template_global(wording.severity, "severity_label")
bp.add_app_template_global(wording.status, "status_label")


@bp.app_template_global("finding_link")
def finding_link(finding: Finding) -> str | None:
    """Where the offender shows on the floor map: the floor page with the terminal (or zone) selected."""
    if finding.floor_id is None:
        return None
    select = None
    if finding.terminal_id:
        select = finding.subject
    elif finding.zone_id:
        zone = db.session.get(Zone, finding.zone_id)
        select = zone.key if zone else None
    args: dict[str, Any] = {"floor_id": finding.floor_id, "_anchor": "floor-editor"}
    if select:
        args["select"] = select
    return url_for("inventory.floor_detail", **args)


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
    html = render_template("compliance/venue.html", venue=venue, findings=findings, filters=filters, rules=all_rules,
                           profile_rules=profile_rules, counts=counts, can_accept=service.can_accept(current_user, venue),
                           error=error, error_id=error_id, statuses=FINDING_STATUSES, severities=FINDING_SEVERITIES,
                           standing=STANDING, entity=service.entity_of(venue))
    return html, status


@bp.get("/venues/<int:venue_id>/compliance")
@login_required
def venue_compliance(venue_id: int):  # type: ignore[no-untyped-def]
    """All findings of a venue, filterable by status, severity and rule."""
    return _page(services.get_venue(current_user, venue_id))


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
