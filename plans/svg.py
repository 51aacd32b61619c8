"""Server-side SVG of a floor with coverage layers: before/after views without any JavaScript."""

from __future__ import annotations

from html import escape
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

Layer = tuple[dict[str, Any], str, str]  # (GeoJSON geometry, CSS class, tooltip)


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


def _furniture(min_x: float, top: float, view_w: float, view_h: float) -> str:
    """Scale bar (bottom left) and north arrow (top right), in floor metres; north is +y."""
    length = _scale_length(view_w)
    unit = max(view_w, view_h) / 60.0
    x0, y0 = min_x + unit, top + view_h - unit
    bar = (f'<g class="scale-bar"><path d="M{x0:.2f},{y0:.2f} L{x0 + length:.2f},{y0:.2f}"/>'
           f'<text x="{x0 + length / 2:.2f}" y="{y0 - unit / 2:.2f}" text-anchor="middle">{length:g} m</text></g>')
    nx, ny = min_x + view_w - 2 * unit, top + 3 * unit
    arrow = (f'<g class="north-arrow"><path d="M{nx:.2f},{ny - 2 * unit:.2f} L{nx + unit * 0.7:.2f},{ny:.2f} '
             f'L{nx - unit * 0.7:.2f},{ny:.2f} Z"/><text x="{nx:.2f}" y="{ny + 1.5 * unit:.2f}" '
             f'text-anchor="middle">N</text></g>')
    return bar + arrow


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
    for feature in features:
        props = feature["properties"]
        if props.get("kind") != "terminal":
            continue
        x, y = feature["geometry"]["coordinates"][:2]
        code = str(props.get("id"))
        css = f"terminal type-{escape(props.get('type', 'other'))} {escape(marks.get(code, ''))}"
        body.append(f'<g class="{css}"><circle cx="{x:.2f}" cy="{height - y:.2f}" r="0.45"/>'
                    f'<text x="{x + 0.6:.2f}" y="{height - y - 0.4:.2f}">{escape(code)}</text>'
                    f"<title>{escape(code)}: {escape(marks.get(code, props.get('type', '')))}</title></g>")
    for name, x, y in added or []:
        body.append(f'<g class="terminal added"><circle cx="{x:.2f}" cy="{height - y:.2f}" r="0.45"/>'
                    f'<text x="{x + 0.6:.2f}" y="{height - y - 0.4:.2f}">{escape(name)}</text>'
                    f"<title>{escape(name)}: new camera at ({x:.1f}, {y:.1f})</title></g>")
    body.append(_furniture(min_x, height - max_y, view_w, view_h))
    ratio = view_h / view_w if view_w else 1.0
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="floor-svg" viewBox="{min_x:.2f} {height - max_y:.2f} '
            f'{view_w:.2f} {view_h:.2f}" width="{width_px}" height="{int(width_px * ratio)}" role="img">'
            + "".join(body) + "</svg>")
