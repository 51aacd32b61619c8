"""Server-side SVG of a floor with coverage layers: before/after views without any JavaScript."""

from __future__ import annotations

import itertools
from html import escape
from typing import Any

from shapely import affinity
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from plans.labels import FONT, Box, Label, Placed, advances, place_labels

Layer = tuple[dict[str, Any], str, str]  # (GeoJSON geometry, CSS class, tooltip)

# The drawing carries its own style: a PDF renderer (WeasyPrint) draws inline SVG without the page's stylesheets,
# so rules kept in static CSS left every shape black in the report. Selectors stay under .floor-svg because a
# browser applies an inline SVG's <style> to the whole page.
STYLE = (
    ".floor-svg .outline { fill:#fafbfc; stroke:#333; stroke-width:0.15;} "
    ".floor-svg .zone { stroke-width:0.05;} "
    ".floor-svg .zone-required { fill:rgba(31,111,235,0.10); stroke:#1f6feb;} "
    ".floor-svg .zone-private { fill:url(#sl-private); stroke:#c62828;} "
    ".floor-svg .zone-general { fill:rgba(0,0,0,0.03); stroke:#bbb;} "
    ".floor-svg .wall { fill:#555; stroke:#222; stroke-width:0.2;} "
    ".floor-svg .wall.glass { stroke:#7fb3d5; stroke-dasharray:0.4 0.2; fill:none;} "
    ".floor-svg .opening { stroke:#2e7d32; stroke-width:0.12; stroke-dasharray:0.3 0.15; fill:none;} "
    ".floor-svg .view { fill:rgba(255,193,7,0.28); stroke:rgba(178,106,0,0.6); stroke-width:0.04;} "
    ".floor-svg .view.removed { fill:rgba(120,120,120,0.12); stroke:rgba(120,120,120,0.4); stroke-dasharray:0.2 0.2;} "
    ".floor-svg .intrusion { fill:url(#sl-intrusion); stroke:#c62828; stroke-width:0.08;} "
    ".floor-svg .uncovered { fill:url(#sl-uncovered); stroke:#c62828; stroke-width:0.05; stroke-dasharray:0.2 0.1;} "
    ".floor-svg .terminal circle { fill:#1d2733;} "
    ".floor-svg .terminal.type-face_terminal circle { fill:#b26a00;} "
    ".floor-svg .label { fill:#1d2733;} "
    ".floor-svg .halo { fill:#fff; stroke:#fff; stroke-width:0.15px; stroke-linejoin:round;} "
    ".floor-svg .label.zone-name { fill:#555;} "
    ".floor-svg .labels { pointer-events:none;} "
    ".floor-svg .leader { stroke:#1d2733; stroke-width:0.05; fill:none;} "
    ".floor-svg .terminal.added circle { fill: #1565c0;} "
    ".floor-svg .terminal.kept circle { fill: #2e7d32;} "
    ".floor-svg .terminal.removed circle { fill: #9e9e9e;} "
    ".floor-svg .terminal .cross { stroke: #1d2733; stroke-width: 0.12;} "
    ".floor-svg .terminal circle.ring { fill: none; stroke: #1565c0; stroke-width: 0.12;} "
    ".floor-svg .scale-bar path { stroke: #222; stroke-width: 0.25; fill: none;} "
    ".floor-svg .north-arrow path { fill: #222;} "
    ".floor-svg .scale-bar text, .floor-svg .north-arrow text { font-size: 1.1px; fill: #222;} "
    f".floor-svg .label, .floor-svg .halo {{ font-family: {FONT};}} "
)


# Colour is not the only sign: private zones are hatched, intrusions cross-hatched and uncovered areas dotted (sizes
# in floor metres); removed terminals are crossed out and new ones ringed.
DEFS = (
    '<defs><pattern id="sl-private" width="0.8" height="0.8" patternUnits="userSpaceOnUse">'
    '<rect width="0.8" height="0.8" fill="rgba(198,40,40,0.10)"/>'
    '<path d="M0,0.8 L0.8,0" stroke="rgba(198,40,40,0.35)" stroke-width="0.08"/></pattern>'
    '<pattern id="sl-intrusion" width="0.6" height="0.6" patternUnits="userSpaceOnUse">'
    '<rect width="0.6" height="0.6" fill="rgba(198,40,40,0.5)"/>'
    '<path d="M0,0 L0.6,0.6 M0.6,0 L0,0.6" stroke="#7f0000" stroke-width="0.07"/></pattern>'
    '<pattern id="sl-uncovered" width="0.5" height="0.5" patternUnits="userSpaceOnUse">'
    '<rect width="0.5" height="0.5" fill="rgba(198,40,40,0.12)"/><circle cx="0.25" cy="0.25" r="0.08" fill="#c62828"/>'
    "</pattern></defs>"
)


def _path(geometry: BaseGeometry, height: float) -> str:
    """SVG path data for a (multi)polygon or (multi)linestring, flipping y so north is up."""
    parts: list[str] = []

    def ring(coords: Any, close: bool) -> None:
        points = [f"{x:.2f},{height - y:.2f}" for x, y, *_ in coords]
        if points:
            parts.append("M" + " L".join(points) + (" Z" if close else ""))

    def walk(geom: BaseGeometry) -> None:
        if geom.is_empty:
            return
        kind = geom.geom_type
        if kind == "Polygon":
            ring(geom.exterior.coords, True)
            for interior in geom.interiors:
                ring(interior.coords, True)
        elif kind in ("LineString", "LinearRing"):
            ring(geom.coords, False)
        elif hasattr(geom, "geoms"):
            for part in geom.geoms:
                walk(part)

    walk(geometry)
    return " ".join(parts)


def _scale_length(width_m: float) -> float:
    """A round scale-bar length near a fifth of the drawing's width."""
    target = max(width_m / 5.0, 0.5)
    for step in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500):
        if step >= target:
            return float(step)
    return 1000.0


def _furniture(min_x: float, top: float, view_w: float, view_h: float) -> tuple[str, list[Box]]:
    """Scale bar (bottom left) and north arrow (top right), in floor metres; north is +y; and the boxes they cover."""
    length = _scale_length(view_w)
    unit = max(view_w, view_h) / 60.0
    x0, y0 = min_x + unit, top + view_h - unit
    bar = (f'<g class="scale-bar"><path d="M{x0:.2f},{y0:.2f} L{x0 + length:.2f},{y0:.2f}"/>'
           f'<text x="{x0 + length / 2:.2f}" y="{y0 - unit / 2:.2f}" text-anchor="middle">{length:g} m</text></g>')
    nx, ny = min_x + view_w - 2 * unit, top + 3 * unit
    arrow = (f'<g class="north-arrow"><path d="M{nx:.2f},{ny - 2 * unit:.2f} L{nx + unit * 0.7:.2f},{ny:.2f} '
             f'L{nx - unit * 0.7:.2f},{ny:.2f} Z"/><text x="{nx:.2f}" y="{ny + 1.5 * unit:.2f}" '
             f'text-anchor="middle">N</text></g>')
    # The bar's text is 1.1 m high above it; the arrow's "N" hangs 1.5 units below its base.
    boxes = [Box(x0, y0 - unit / 2 - 1.2, x0 + length, y0 + 0.2),
             Box(nx - unit * 0.7 - 0.2, ny - 2 * unit, nx + unit * 0.7 + 0.2, ny + 1.5 * unit + 0.3)]
    return bar + arrow, boxes


def label_font_size(view_w: float, view_h: float) -> float:
    """The labels' font size in floor metres: 0.7 m, larger on big floors so text stays readable when scaled down."""
    return round(max(0.7, max(view_w, view_h) / 70.0), 3)  # as written in the drawing


def _label_svg(item: Placed, font_size: float) -> str:
    """One placed label (and its leader line back to the marker)."""
    label = item.label
    leader = ""
    if item.leader:
        # From the marker's rim towards the nearest point of the label's box.
        tx = min(max(label.x, item.box.x0), item.box.x1)
        ty = min(max(label.y, item.box.y0), item.box.y1)
        dist = ((tx - label.x) ** 2 + (ty - label.y) ** 2) ** 0.5 or 1.0
        sx, sy = label.x + (tx - label.x) * label.clearance / dist, label.y + (ty - label.y) * label.clearance / dist
        leader = f'<path class="leader" d="M{sx:.2f},{sy:.2f} L{tx:.2f},{ty:.2f}"/>'
    css = "label zone-name" if label.region is not None else "label"
    # Every character at its own x: a renderer that sets a space after a hanzi in the CJK font (WeasyPrint does)
    # would otherwise run the rest of the text wider than the metrics, and textLength does not correct it there.
    starts = list(itertools.accumulate(advances(label.text, font_size)[:-1], initial=item.text_x))
    xs = " ".join(f"{x:.3f}" for x in starts)
    place = f'x="{xs}" y="{item.baseline:.3f}" font-size="{font_size:.3f}"'
    # The white halo is a copy drawn underneath, not paint-order (which WeasyPrint, drawing the PDFs, ignores).
    return (f'{leader}<text class="halo" aria-hidden="true" {place}>{escape(label.text)}</text>'
            f'<text class="{css}" {place}>{escape(label.text)}</text>')


def render_floor(collection: dict[str, Any], layers: list[Layer] = (), *,  # type: ignore[assignment]
                 marks: dict[str, str] | None = None, width_px: int = 640,
                 added: list[tuple[str, float, float]] | None = None) -> str:
    """An SVG drawing of the floor: zones, walls, openings, extra layers, then terminals styled by marks."""
    features = collection.get("features", [])
    outline = next((f for f in features if f["properties"].get("kind") == "outline"), None)
    bounds = shape(outline["geometry"]).bounds if outline else (0.0, 0.0, 10.0, 10.0)
    min_x, min_y, max_x, max_y = bounds
    height = max_y + min_y
    view_w, view_h = max_x - min_x, max_y - min_y
    body: list[str] = []
    for feature in features:
        kind = feature["properties"].get("kind")
        geom = shape(feature["geometry"])
        if kind == "outline":
            body.append(f'<path class="outline" d="{_path(geom, height)}"/>')
        elif kind == "zone":
            props = feature["properties"]
            title = escape(f"{props.get('name', '')} ({props.get('zone')})")
            body.append(f'<path class="zone zone-{escape(props.get("zone", "general"))}" d="{_path(geom, height)}">'
                        f"<title>{title}</title></path>")
    for geometry, css, tooltip in layers:
        geom = shape(geometry)
        if not geom.is_empty:
            body.append(f'<path class="{escape(css)}" d="{_path(geom, height)}"><title>{escape(tooltip)}</title></path>')
    for feature in features:
        kind = feature["properties"].get("kind")
        if kind in ("wall", "opening"):
            css = "wall glass" if feature["properties"].get("see_through") else kind
            body.append(f'<path class="{css}" d="{_path(shape(feature["geometry"]), height)}"/>')
    marks = marks or {}
    top = height - max_y
    font_size = label_font_size(view_w, view_h)
    labels: list[Label] = []
    for feature in features:
        props = feature["properties"]
        if props.get("kind") == "zone" and props.get("name"):
            region = affinity.scale(shape(feature["geometry"]), 1.0, -1.0, origin=(0.0, height / 2.0))
            point = region.representative_point()
            labels.append(Label(str(props["name"]), point.x, point.y, priority=2, region=region, centred=True))
    markers: list[Box] = []
    for feature in features:
        props = feature["properties"]
        if props.get("kind") != "terminal":
            continue
        x, y = feature["geometry"]["coordinates"][:2]
        code = str(props.get("id"))
        css = f"terminal type-{escape(props.get('type', 'other'))} {escape(marks.get(code, ''))}"
        cy = height - y
        cross = (f'<path class="cross" d="M{x - 0.5:.2f},{cy - 0.5:.2f} L{x + 0.5:.2f},{cy + 0.5:.2f} '
                 f'M{x + 0.5:.2f},{cy - 0.5:.2f} L{x - 0.5:.2f},{cy + 0.5:.2f}"/>') if marks.get(code) == "removed" else ""
        body.append(f'<g class="{css}"><circle cx="{x:.2f}" cy="{cy:.2f}" r="0.45"/>{cross}'
                    f"<title>{escape(code)}: {escape(marks.get(code, props.get('type', '')))}</title></g>")
        markers.append(Box(x - 0.5, cy - 0.5, x + 0.5, cy + 0.5))
        labels.append(Label(code, x, cy, clearance=0.5, priority=1 if marks.get(code) == "removed" else 0))
    for name, x, y in added or []:
        body.append(f'<g class="terminal added"><circle cx="{x:.2f}" cy="{height - y:.2f}" r="0.45"/>'
                    f'<circle class="ring" cx="{x:.2f}" cy="{height - y:.2f}" r="0.75"/>'
                    f"<title>{escape(name)}: new camera at ({x:.1f}, {y:.1f})</title></g>")
        markers.append(Box(x - 0.8, height - y - 0.8, x + 0.8, height - y + 0.8))
        labels.append(Label(name, x, height - y, clearance=0.8))
    furniture, furniture_boxes = _furniture(min_x, top, view_w, view_h)
    body.append(furniture)
    # Inset by the rounding of the numbers written below (3 decimals), so drawn labels stay inside the viewBox.
    placed, _dropped = place_labels(labels, Box(min_x + 1e-3, top + 1e-3, max_x - 1e-3, top + view_h - 1e-3), font_size,
                                    obstacles=markers + furniture_boxes)
    body.append('<g class="labels">' + "".join(_label_svg(item, font_size) for item in placed) + "</g>")
    ratio = view_h / view_w if view_w else 1.0
    # A group, not an img: assistive technology reads each terminal's and layer's title; the figure caption names it.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="floor-svg" viewBox="{min_x:.2f} {height - max_y:.2f} '
            f'{view_w:.2f} {view_h:.2f}" width="{width_px}" height="{int(width_px * ratio)}" role="group">'
            f"<style>{STYLE}</style>{DEFS}" + "".join(body) + "</svg>")
