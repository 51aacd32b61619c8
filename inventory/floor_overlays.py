"""Coverage overlays of a stored floor, built from its rows; a terminal that breaks a rule is listed, not fatal."""

from __future__ import annotations

from typing import Any

from inventory import floorio
from inventory.models import Floor
from planner import floor as pf


def overlays(floor: Floor, tolerance: float | None = None) -> dict[str, Any]:
    """Coverage overlays (planner.overlays) as GeoJSON, plus the problems that kept a terminal out of them."""
    from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
    from planner.overlays import coverage_overlays

    if not floorio.has_outline(floor):
        return {"type": "FeatureCollection", "features": [], "problems": [], "note": "the floor has no outline yet"}
    usable, problems = pf.without_bad_terminals(floorio.floor_model(floor))
    out = coverage_overlays(Engine(usable), tolerance=PRIVACY_TOLERANCE_M2 if tolerance is None else tolerance)
    out["problems"] = [{"kind": p.kind, p.kind: p.label, "error": p.message} for p in problems]
    return out
