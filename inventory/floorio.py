"""Floors to and from sightline-floor/1 GeoJSON: export, and all-or-nothing import."""

from __future__ import annotations

from typing import Any

from accounts.access import can_edit_inventory
from accounts.models import User
from extensions import db
from inventory.choices import Lock, TerminalKind, TerminalStatus, Tier, ZoneKind
from inventory.fields import ValidationError
from inventory.models import Floor, Terminal, Zone
from inventory.services import Forbidden

FORMAT = "sightline-floor/1"
STRUCTURE_KINDS = ("outline", "wall", "opening")
IN_SERVICE = (TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL)


def terminal_feature(t: Terminal) -> dict[str, Any]:
    """A terminal as a sightline-floor/1 Point feature."""
    properties: dict[str, Any] = {"kind": "terminal", "id": t.code, "type": t.kind.value,
                                  "heading_deg": t.heading_deg, "hfov_deg": t.hfov_deg}
    hpx = t.hpx if t.hpx is not None else (t.camera_model.hpx if t.camera_model else None)
    if t.range_m is not None:
        properties["range_m"] = t.range_m
    if hpx is not None:
        properties["hpx"] = hpx
    if t.range_m is None and hpx is None:
        properties["range_m"] = 10.0  # no optics recorded: a conservative 10 m view
    properties["height_m"] = t.height_m
    if t.tilt_deg:
        properties["tilt_deg"] = t.tilt_deg
    properties["face_recognition"] = t.face_recognition
    properties["audio"] = t.audio
    if t.locked is not None:
        properties["locked"] = t.locked.value
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [t.x, t.y]}, "properties": properties}


def zone_feature(z: Zone) -> dict[str, Any]:
    """A zone as a sightline-floor/1 Polygon feature."""
    properties: dict[str, Any] = {"kind": "zone", "zone": z.kind.value, "name": z.name, "k": z.k,
                                  "tier": z.tier.value}
    if z.use:
        properties["use"] = z.use
    return {"type": "Feature", "geometry": z.geometry, "properties": properties}


def export_floor(floor: Floor, *, include_removed: bool = False) -> dict[str, Any]:
    """The floor as one sightline-floor/1 FeatureCollection (terminals in service unless asked otherwise)."""
    terminals = [t for t in floor.terminals if include_removed or t.status in IN_SERVICE]
    features = list(floor.structure) + [zone_feature(z) for z in floor.zones] + [terminal_feature(t) for t in terminals]
    return {"type": "FeatureCollection", "format": FORMAT, "name": f"{floor.venue.name} · {floor.name}",
            "features": features}


def validate_collection(collection: Any) -> Any:
    """Check a FeatureCollection with the engine's parser; raise ValidationError naming the feature."""
    from planner.errors import InputError
    from planner.floor import parse_floor

    try:
        return parse_floor(collection)
    except InputError as exc:
        raise ValidationError(exc.where or "floor", exc.message) from exc


def replace_zones(floor: Floor, features: list[dict[str, Any]]) -> None:
    """Replace the floor's zone rows with already validated zone features."""
    for zone in list(floor.zones):
        db.session.delete(zone)
    db.session.flush()
    for feature in features:
        props = feature["properties"]
        db.session.add(Zone(floor=floor, name=props["name"], kind=ZoneKind(props["zone"]), use=props.get("use"),
                            k=int(props.get("k", 1)), tier=Tier(props.get("tier", "observe")),
                            geometry=feature["geometry"]))
    db.session.flush()


def import_floor(user: User, floor: Floor, collection: dict[str, Any], *, replace_terminals: bool = False) -> dict[str, int]:
    """Replace the floor's structure and zones and upsert its terminals by ID, all or nothing."""
    if not can_edit_inventory(user, floor.venue.organisation_id):
        raise Forbidden("your role may not import plans")
    validate_collection(collection)
    structure, zones, terminals = [], [], []
    for feature in collection["features"]:
        kind = feature["properties"]["kind"]
        if kind in STRUCTURE_KINDS:
            structure.append({"type": "Feature", "geometry": feature["geometry"],
                              "properties": dict(feature["properties"])})
        elif kind == "zone":
            zones.append(feature)
        elif kind == "terminal":
            terminals.append(feature)
    counts = {"structure": len(structure), "zones": len(zones), "terminals_created": 0, "terminals_updated": 0,
              "terminals_deleted": 0}
    floor.structure = structure
    replace_zones(floor, zones)
    existing = {t.code: t for t in floor.terminals}
    seen = set()
    for feature in terminals:
        props = feature["properties"]
        code = str(props["id"])
        seen.add(code)
        terminal = existing.get(code)
        if terminal is None:
            terminal = Terminal(floor=floor, venue_id=floor.venue_id, code=code)
            db.session.add(terminal)
            counts["terminals_created"] += 1
        else:
            counts["terminals_updated"] += 1
        _apply_terminal(terminal, feature)
    if replace_terminals:
        for code, terminal in existing.items():
            if code not in seen:
                db.session.delete(terminal)
                counts["terminals_deleted"] += 1
    db.session.flush()
    return counts


def _apply_terminal(terminal: Terminal, feature: dict[str, Any]) -> None:
    """Copy pose, optics and capabilities from a feature onto a terminal row."""
    props = feature["properties"]
    x, y = feature["geometry"]["coordinates"][:2]
    terminal.x, terminal.y = float(x), float(y)
    terminal.kind = TerminalKind(props["type"])
    terminal.heading_deg = float(props["heading_deg"]) % 360.0
    terminal.hfov_deg = float(props["hfov_deg"])
    terminal.range_m = float(props["range_m"]) if props.get("range_m") is not None else None
    hpx = int(props["hpx"]) if props.get("hpx") is not None else None
    model_hpx = terminal.camera_model.hpx if terminal.camera_model is not None else None
    # The export fills hpx in from the camera model; keep it on the model, not copied onto the terminal.
    terminal.hpx = None if terminal.hpx is None and hpx is not None and hpx == model_hpx else hpx
    terminal.height_m = float(props.get("height_m", terminal.height_m or 2.5))
    terminal.tilt_deg = float(props.get("tilt_deg", 0.0))
    terminal.face_recognition = bool(props.get("face_recognition", False))
    terminal.audio = bool(props.get("audio", False))
    terminal.locked = Lock(props["locked"]) if props.get("locked") else None
    for extra in ("purpose", "serial"):
        if props.get(extra) is not None:
            setattr(terminal, extra, str(props[extra]))
