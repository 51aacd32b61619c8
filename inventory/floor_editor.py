"""The map editor's server side: what it loads, and its saves (whole floor, zones only, one pose)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from flask_babel import gettext as _

from accounts.access import can_edit_inventory, can_edit_zones
from accounts.models import User
from compliance import vocabulary
from inventory import floor_overlays, floorio, services
from inventory.choices import VenueType
from inventory.errors import Forbidden, NotFound
from inventory.fields import ValidationError
from inventory.floor_calibration import background_corners
from inventory.models import Floor, Terminal
from planner import floor as pf
from planner.coverage import tier_range
from planner.errors import InputError


def zone_templates(venue_type: VenueType | str) -> dict[str, Any]:
    """Zone templates of a venue type for the editor: uses with their kind, k and tier, and the private uses."""
    templates = vocabulary.zone_templates(VenueType(venue_type).value)
    uses = [{"use": use, "kind": kind, "k": k, "tier": tier} for use, (kind, k, tier) in sorted(templates.items())]
    return {"uses": uses, "always_private": list(vocabulary.always_private_uses())}


def tier_ranges(t: pf.Terminal) -> dict[str, float]:
    """How far a terminal resolves each detail tier (the engine's tier_range; an explicit range_m wins)."""
    if t.range_m is not None:
        return {tier: t.range_m for tier in pf.TIERS}
    assert t.hpx is not None
    return {tier: round(tier_range(t.hfov_deg, t.hpx, tier), 6) for tier in pf.TIERS}


def _finite(value: Any) -> Any:
    """Stored JSON with any non-finite number replaced by null (the editor's JSON must stay valid)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def terminal_ranges(floor: Floor) -> dict[str, dict[str, float]]:
    """Tier ranges of the floor's terminals in service, by terminal ID (the editor draws its wedges with them)."""
    terminals = [floorio.terminal_model(t) for t in floor.terminals if t.status in floorio.IN_SERVICE]
    return {t.id: tier_ranges(t) for t in terminals if pf.terminal_value_problem(t) is None}


def editor_state_json(user: User, floor: Floor, background_url: str | None) -> tuple[Callable[[], bytes], str]:
    """Everything the floor editor loads (the floor, tier ranges, its background, zone templates, permissions):
    a function giving its JSON bytes, and an ETag naming them (known without building them, for a 304).

    The export and the ranges (most of the bytes) are spliced in as cached, not parsed and encoded again.
    """
    export_key, ranges_key = floor_overlays.export_key(floor), floor_overlays.ranges_key(floor)
    rest = floor_overlays.json_bytes({
        "background": {"url": background_url, "meta": _finite(floor.background_meta),
                       "corners": background_corners(floor)} if floor.background_image else None,
        "templates": zone_templates(floor.venue.type),
        "can_edit": can_edit_inventory(user, floor.venue.organisation_id),
        "can_edit_zones": can_edit_zones(user, floor.venue.organisation_id),
    })
    tag = floor_overlays.etag(export_key, ranges_key, rest.decode())

    def body() -> bytes:
        ranges = floor_overlays.cached_json(ranges_key, lambda: terminal_ranges(floor))
        return b'{"floor":' + floor_overlays.export_json(floor) + b',"ranges":' + ranges + b"," + rest[1:]

    return body, tag


def save_geometry(user: User, floor: Floor, collection: Any, *, replace_terminals: bool = False) -> dict[str, int]:
    """Apply a whole sightline-floor/1 collection as differences (all or nothing)."""
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not change floor plans"))  # before reading the body
    return floorio.import_floor(user, floor, collection, replace_terminals=replace_terminals)


def save_zones(user: User, floor: Floor, features: Any) -> dict[str, int]:
    """Upsert only the floor's zones by feature id (what planners may change), checked against the floor."""
    if not can_edit_zones(user, floor.venue.organisation_id):
        raise Forbidden(_("your role may not change zones"))
    if not isinstance(features, list) or any(
            not isinstance(f, dict) or not isinstance(f.get("properties"), dict)
            or f["properties"].get("kind") != "zone" for f in features):
        raise ValidationError("features", _("must be a list of zone features"))
    zones: list[pf.Zone] = []
    ids: set[Any] = set()
    for index, feature in enumerate(features):
        try:
            zone = pf.parse_feature(feature, index)
        except InputError as exc:
            raise ValidationError(exc.where or "features", exc.message) from exc
        assert isinstance(zone, pf.Zone)
        if zone.feature_id is not None:
            if zone.feature_id in ids:
                raise ValidationError(f"feature {index}", f"duplicate feature id {zone.feature_id!r}")
            ids.add(zone.feature_id)
        zones.append(zone)
    model = replace(floorio.floor_model(floor), zones=tuple(zones), terminals=())
    for problem in pf.floor_problems(model):
        raise ValidationError(f"zone {pf.short_label(problem.label)!r}", problem.message)
    counts = floorio.apply_zones(floor, zones)
    return {"zones": len(zones), **counts}


def _terminal(floor: Floor, code: str) -> Terminal:
    terminal = next((t for t in floor.terminals if t.code == code), None)
    if terminal is None:
        raise NotFound(f"terminal {code}")
    return terminal


def set_pose(user: User, floor: Floor, code: str, data: Mapping[str, Any]) -> Terminal:
    """Move or turn one terminal (x, y, heading_deg, hfov_deg, range_m, hpx); the form's rules and the outline apply."""
    terminal = _terminal(floor, code)
    pose = {k: data[k] for k in ("x", "y", "heading_deg", "hfov_deg", "range_m", "hpx") if k in data}
    try:
        return services.update_terminal(user, terminal, pose)
    except ValidationError as exc:
        raise ValidationError(f"terminal {pf.short_label(code)!r}: {exc.field}", exc.message) from exc


def delete_terminal(user: User, floor: Floor, code: str) -> None:
    """Delete one terminal record of the floor by its ID."""
    services.delete_object(user, _terminal(floor, code))
