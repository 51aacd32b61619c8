"""JSON API of findings: /api/v1/venues/<id>/findings (list, filter) and accepting one."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from accounts.models import iso_utc
from api.blueprint import bp
from api.floors import conditional
from api.openapi import document, text_schema
from compliance.models import FINDING_SEVERITIES, FINDING_STATUSES
from extensions import db
from findings import service
from i18n import current_language
from inventory import floor_overlays, services
from inventory.errors import NotFound
from inventory.fields import ValidationError

FINDING_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"}, "venue_id": {"type": "integer"}, "floor_id": {"type": ["integer", "null"]},
    "rule_id": {"type": "string"}, "statement": {"type": ["string", "null"]}, "source": {"type": ["string", "null"]},
    "severity": {"type": "string", "enum": list(FINDING_SEVERITIES)},
    "status": {"type": "string", "enum": list(FINDING_STATUSES)},
    "terminal_id": {"type": ["integer", "null"]}, "zone_id": {"type": ["integer", "null"]},
    "subject": {"type": "string"},
    "message": {"type": "string", "description": "The finding in the response's language (Accept-Language)"},
    "message_en": {"type": "string", "description": "The finding in English, as the audit trail keeps it"},
    "msgid": {"type": ["string", "null"], "description": "The message's catalogue id: English with %(name)s "
                                                         "placeholders (null for a row whose text cannot be read)"},
    "params": {"type": ["object", "null"], "description": "The placeholders' values: numbers as numbers, ids and "
                                                          "names as strings"},
    "detail": {"type": "object"},
    "opened_at": {"type": "string"}, "fixed_at": {"type": ["string", "null"]},
    "fixed_reason": {"type": ["string", "null"]}, "accepted_by_id": {"type": ["integer", "null"]},
    "accepted_at": {"type": ["string", "null"]}, "justification": {"type": ["string", "null"]}}}


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ValidationError(name, _("'%(value)s' is not one of: %(allowed)s", value=value, allowed=", ".join(allowed)))
    return value


@bp.get("/venues/<int:venue_id>/findings")
@document(parameters=[
    {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": list(FINDING_STATUSES)}},
    {"name": "severity", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(FINDING_SEVERITIES)}},
    {"name": "rule", "in": "query", "required": False, "schema": {"type": "string"}, "description": "Rule id, e.g. CN-03"}],
    responses={"200": {"description": "The venue's findings", "content": {"application/json": {"schema": {
        "type": "object", "properties": {
            "items": {"type": "array", "items": FINDING_SCHEMA}, "count": {"type": "integer"},
            "rechecking_since": {"type": ["string", "null"], "description": "Set while a queued re-check brings "
                                 "the findings up to date after a large change: they are from before it"},
            "recheck_error": {"type": ["string", "null"], "description": "Why the last re-check failed (the "
                              "findings may be out of date until the next change queues it again)"}}}}}}})
def venue_findings(venue_id: int) -> Response:
    """A venue's compliance findings: open, fixed and accepted, filterable by status, severity and rule."""
    venue = services.get_venue(current_user, venue_id)
    found = service.venue_findings(venue, status=_choice("status", FINDING_STATUSES),
                                   severity=_choice("severity", FINDING_SEVERITIES),
                                   rule_id=request.args.get("rule") or None)
    state = service.recheck_state(venue.id)
    items = [service.finding_to_dict(f) for f in found]
    return jsonify(items=items, count=len(items), rechecking_since=iso_utc(state["since"]),
                   recheck_error=state["failed"].error if state["failed"] else None)


@bp.post("/venues/<int:venue_id>/findings/<int:finding_id>/accept")
@document(requestBody={"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["justification"],
    "properties": {"justification": text_schema(service.MAX_JUSTIFICATION, required=True)}}}}},
    responses={"200": {"description": "The accepted finding",
                       "content": {"application/json": {"schema": FINDING_SCHEMA}}}})
def finding_accept(venue_id: int, finding_id: int) -> Response:
    """Accept an open finding with a justification (the venue's managers and administrators)."""
    venue = services.get_venue(current_user, venue_id)
    finding = service.get_finding(venue, finding_id)
    if finding is None:
        raise NotFound(f"finding {finding_id}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("body", _("must be a JSON object"))
    service.accept(current_user, venue, finding, body.get("justification"))
    db.session.commit()
    return jsonify(service.finding_to_dict(finding))


@bp.get("/floors/<int:floor_id>/findings")
@document(responses={"200": {"description": "GeoJSON FeatureCollection of the floor's open and accepted findings: "
                                            "the intruding area where there is one, else the offending terminal's "
                                            "point or the zone's polygon; properties name the rule and the offender",
                             "content": {"application/geo+json": {"schema": {"type": "object"}}}}})
def floor_findings_geojson(floor_id: int) -> Response:
    """The floor's standing findings as map features (what the floor map draws and labels)."""
    floor = services.get_floor(current_user, floor_id)
    # Writing a finding of the floor gives the floor a new version (inventory.floor_overlays.install), as does
    # writing its terminals and zones; a version whose write changed none of what the map shows (findings, zones,
    # terminal points and codes: a serial edit) carries the previous one's findings generation. The generation and
    # the language name the body. Its ETag hashes the bytes: a new generation with the same findings answers 304.
    key = f"findings:{floor.id}:{floor_overlays.findings_generation(floor)}:{current_language()}"

    def body() -> bytes:
        return floor_overlays.cached_json(key, lambda: service.floor_findings_geojson(floor))

    return conditional(body, floor_overlays.body_etag(key, body), "application/geo+json")
