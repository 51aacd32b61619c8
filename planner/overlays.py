"""Coverage overlays for the floor page (GeoJSON) and for reports (PNG, matplotlib Agg).

Public API (stable):

- ``coverage_overlays(floor_or_engine, poses=None, tolerance=0.01, heat_max=4) -> dict``: a GeoJSON
  FeatureCollection whose features carry ``properties.layer``:
  ``view`` (one per terminal/pose: polygon, ``terminal``, ``view_m2``, ``forbidden``),
  ``uncovered`` (one per piece of a required zone covered by fewer than k cameras: ``zone``, ``area_m2``),
  ``private_intrusion`` (view inside a private zone: ``terminal``, ``zone``, ``area_m2``, ``over_tolerance``),
  ``inside_private`` (Point of a terminal mounted inside a private zone: ``terminal``, ``zones``),
  ``heat`` (area seen by exactly ``count`` cameras, or by ``count`` or more for the last level,
  with ``at_least`` true).
- ``write_geojson(fc, path)`` and ``render_png(floor_or_engine, path, overlays=None, dpi=110)``.

With ``poses=None`` the floor's installed terminals are used; views are measured to each terminal's
range_m or, without one, its detect-tier range (as in the coverage command).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from os import PathLike
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from planner.coverage import (
    COVERING_TYPES,
    PRIVACY_TOLERANCE_M2,
    CameraPose,
    Engine,
    coverage_levels,
    engine_for,
)
from planner.floor import Floor
from planner.geometry import polygon_parts, polygonal


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    return json.loads(shapely.to_geojson(geom))


def _feature(layer: str, geom: BaseGeometry, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"layer": layer, **props}, "geometry": _geojson(geom)}


def coverage_overlays(
    floor: Floor | Engine,
    poses: Sequence[CameraPose] | None = None,
    tolerance: float = PRIVACY_TOLERANCE_M2,
    heat_max: int = 4,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of views, uncovered pieces, private intrusions and the k-coverage heat."""
    eng = engine_for(floor)
    fl = eng.floor
    if poses is None:
        poses = [CameraPose.from_terminal(t) for t in fl.terminals]
        covering = [p for p, t in zip(poses, fl.terminals, strict=True) if t.type in COVERING_TYPES]
    else:
        covering = list(poses)
    features: list[dict[str, Any]] = []
    views = []
    for pose in poses:
        view = eng.view_polygon(pose)
        views.append(view)
        overlaps = eng.private_overlap(pose)
        forbidden = bool(eng.inside_private(pose.x, pose.y)) or any(g.area > tolerance for g in overlaps.values())
        name = pose.terminal_id or pose.mount
        if not view.is_empty:
            features.append(_feature("view", view, terminal=name, heading_deg=pose.heading_deg,
                                     view_m2=round(view.area, 6), forbidden=forbidden))
        for zone, g in overlaps.items():
            if not g.is_empty:
                features.append(_feature("private_intrusion", g, terminal=name, zone=zone,
                                         area_m2=round(g.area, 6), over_tolerance=g.area > tolerance))
        inside = eng.inside_private(pose.x, pose.y)
        if inside:
            features.append(_feature("inside_private", shapely.Point(pose.x, pose.y), terminal=name, zones=inside))
    for name, piece in eng.uncovered_pieces(covering).items():
        for part in polygon_parts(piece):
            features.append(_feature("uncovered", part, zone=name, area_m2=round(part.area, 6)))
    covering_ids = {id(p) for p in covering}
    heat_views = [v for p, v in zip(poses, views, strict=True) if id(p) in covering_ids]
    levels = coverage_levels(eng.occ.free, heat_views, heat_max)
    for j in range(1, heat_max + 1):
        band = levels[j] if j == heat_max else polygonal(levels[j].difference(levels[j + 1]))
        if not band.is_empty:
            features.append(_feature("heat", band, count=j, at_least=j == heat_max, area_m2=round(band.area, 6)))
    return {"type": "FeatureCollection", "name": f"coverage overlays: {fl.name or 'floor'}", "features": features}


def write_geojson(fc: dict[str, Any], path: str | PathLike[str]) -> None:
    """Write a FeatureCollection as compact JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(fc, fh, separators=(",", ":"), allow_nan=False)


def render_png(
    floor: Floor | Engine, path: str | PathLike[str], overlays: dict[str, Any] | None = None, dpi: int = 110
) -> None:
    """Render the floor and its coverage overlays to a PNG (heat in blues, intrusions in red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from planner.fonts import cjk_family

    cjk_family()  # Chinese floor names draw as glyphs
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    eng = engine_for(floor)
    fl = eng.floor
    if overlays is None:
        overlays = coverage_overlays(eng)
    minx, miny, maxx, maxy = fl.bounds
    w, h = maxx - minx, maxy - miny
    scale = 10.0 / max(w, h, 1e-9)
    fig, ax = plt.subplots(figsize=(max(3.0, w * scale) + 1, max(3.0, h * scale) + 1))
    pending: list[PathPatch] = []

    def patch(geom: BaseGeometry, **kw: Any) -> None:
        for poly in polygon_parts(geom):
            verts, codes = [], []
            for r in (poly.exterior, *poly.interiors):
                c = list(r.coords)
                verts += c
                codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 2) + [MplPath.CLOSEPOLY]
            pending.append(PathPatch(MplPath(verts, codes), **kw))

    def flush() -> None:
        # One collection per layer: per-patch add_patch recomputes data limits and is quadratic-ish.
        if pending:
            ax.add_collection(PatchCollection(list(pending), match_original=True))
            pending.clear()

    def shape(f: dict[str, Any]) -> BaseGeometry:
        return shapely.geometry.shape(f["geometry"])

    patch(fl.outline.geometry, facecolor="white", edgecolor="black", linewidth=1.2)
    flush()
    blues = plt.get_cmap("Blues")
    for f in overlays["features"]:
        if f["properties"]["layer"] == "heat":
            patch(shape(f), facecolor=blues(0.2 + 0.18 * f["properties"]["count"]), edgecolor="none", alpha=0.8)
    flush()
    for z in fl.zones_of("required"):
        patch(z.geometry, facecolor="none", edgecolor="seagreen", linestyle="--", linewidth=0.8)
    flush()
    for z in fl.zones_of("private"):
        patch(z.geometry)
    if pending:  # hatching is a property of the whole collection
        ax.add_collection(PatchCollection(list(pending), facecolor="none", edgecolor="crimson", hatch="//",
                                          linewidth=0.8))
        pending.clear()
    for layer in ("uncovered", "view", "private_intrusion"):
        for f in overlays["features"]:
            if f["properties"]["layer"] != layer:
                continue
            if layer == "uncovered":
                patch(shape(f), facecolor="orange", edgecolor="darkorange", alpha=0.7)
            elif layer == "private_intrusion":
                patch(shape(f), facecolor="red", edgecolor="darkred", alpha=0.85)
            else:
                patch(shape(f), facecolor="none", edgecolor="red" if f["properties"]["forbidden"] else "steelblue",
                      linewidth=0.5)
        flush()
    for wall in fl.walls:
        if wall.closed:
            patch(wall.geometry, facecolor="dimgray", edgecolor="black", linewidth=0.5)
    flush()
    lines = [list(w.coords) for w in fl.walls if not w.closed]
    colors = ["skyblue" if w.see_through else "black" for w in fl.walls if not w.closed]
    if lines:
        ax.add_collection(LineCollection(lines, colors=colors, linewidths=1.2))
    if fl.openings:
        ax.add_collection(LineCollection([list(o.coords) for o in fl.openings], colors="white", linewidths=2.0,
                                         capstyle="butt"))
    if fl.terminals:
        r = 0.03 * max(w, h)
        colors = ["purple" if t.face_recognition else "navy" for t in fl.terminals]
        ax.scatter([t.x for t in fl.terminals], [t.y for t in fl.terminals], s=6, c=colors, zorder=5)
        aimed = [t for t in fl.terminals if t.hfov_deg < 360]
        ax.add_collection(LineCollection(
            [[(t.x, t.y), (t.x + r * math.cos(math.radians(t.heading_deg)),
                           t.y + r * math.sin(math.radians(t.heading_deg)))] for t in aimed],
            colors=["purple" if t.face_recognition else "navy" for t in aimed], linewidths=0.8, zorder=5))
    ax.set_xlim(minx - 0.02 * w, maxx + 0.02 * w)
    ax.set_ylim(miny - 0.02 * h, maxy + 0.02 * h)
    ax.set_aspect("equal")
    ax.set_title(fl.name or "floor", fontsize=9)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
