"""Draw an imported floor as a PNG a person can check: outline, walls, glass, openings and named zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shapely.geometry import shape


def render_floor(floor: dict[str, Any], path: Path, title: str = "") -> Path:
    """Write `floor` (a sightline-floor/1 FeatureCollection) to `path` as a PNG and return the path."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 10), dpi=90)
    ax = fig.add_subplot(1, 1, 1)
    colours = {"private": "#e4572e", "required": "#4daf4a", "general": "#9ecae1"}
    for f in floor["features"]:
        p, g = f["properties"], shape(f["geometry"])
        if p["kind"] == "zone":
            for part in getattr(g, "geoms", [g]):
                ax.fill(*part.exterior.xy, color=colours.get(p["zone"], "#cccccc"), alpha=0.45, lw=0)
            c = g.representative_point()
            ax.text(c.x, c.y, p["name"], fontsize=6, ha="center", va="center")
    for f in floor["features"]:
        p, g = f["properties"], shape(f["geometry"])
        edge = g.exterior if g.geom_type == "Polygon" else g
        if p["kind"] == "outline":
            ax.plot(*edge.xy, color="#555555", lw=1.0, ls="--")
        elif p["kind"] == "wall":
            ax.plot(*edge.xy, color="#1f78b4" if p.get("see_through") else "black", lw=1.2)
        elif p["kind"] == "opening":
            ax.plot(*edge.xy, color="#33a02c", lw=2.5)
    ax.set_aspect("equal")
    ax.set_title(title or floor.get("name") or "", fontsize=10)
    fig.savefig(path, bbox_inches="tight")
    return path
