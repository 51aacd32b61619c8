"""Server-rendered SVG charts of a plan's trade-off curves: cameras against covered fraction, and against k."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from flask_babel import gettext as _

WIDTH, HEIGHT, PAD = 360, 220, 40


def curve_svg(points: list[dict[str, Any]], x_key: str, x_label: str, *, x_format: Callable[[float], str],
              link: Callable[[dict[str, Any]], str | None] | None = None, chart_id: str = "") -> str:
    """A small line chart of cameras (y) against x_key; points with a link are clickable."""
    usable = [p for p in points if p.get("cameras") is not None]
    aria, cameras = escape(_("cameras against %(axis)s", axis=x_label)), escape(_("cameras"))
    if not usable:
        return '<p class="muted">' + escape(_("No point of this curve was solved in the time given.")) + "</p>"
    xs = [float(p[x_key]) for p in usable]
    ys = [int(p["cameras"]) for p in usable]
    y1 = max(ys) + 1
    # The targets are a few discrete values (99 % and 100 % would collide on a linear axis): evenly spaced, in order.
    rank = {x: i for i, x in enumerate(sorted(set(xs)))}
    step = (WIDTH - 2 * PAD) / max(1, len(rank) - 1)

    def px(x: float) -> float:
        return PAD + rank[x] * step

    def py(y: float) -> float:
        return HEIGHT - PAD - y / y1 * (HEIGHT - 2 * PAD)

    order = sorted(range(len(usable)), key=lambda i: xs[i])
    line = " L".join(f"{px(xs[i]):.1f},{py(ys[i]):.1f}" for i in order)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="tradeoff-chart" id="{escape(chart_id)}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{aria}">',
             f'<path class="axis" d="M{PAD},{PAD / 2} L{PAD},{HEIGHT - PAD} L{WIDTH - PAD / 2},{HEIGHT - PAD}"/>',
             f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle">{escape(x_label)}</text>',
             f'<text x="12" y="{HEIGHT / 2}" transform="rotate(-90 12 {HEIGHT / 2})" text-anchor="middle">{cameras}</text>',
             f'<path class="curve" d="M{line}"/>']
    for y in range(0, y1 + 1, max(1, y1 // 4)):
        parts.append(f'<text class="tick" x="{PAD - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y}</text>')
    for i in order:
        p = usable[i]
        label = _("%(cameras)s cameras at %(x)s", cameras=ys[i], x=x_format(xs[i]))
        if p.get("status") != "OPTIMAL":
            label += _(" (%(status)s, not proven)", status=str(p.get("status", "")).lower())
        unseeable = float(p.get("infeasible_m2") or 0.0)
        if unseeable > 0:
            label += _("; %(area).1f m² no allowed cameras can see that often is left out of the target", area=unseeable)
        star = "*" if unseeable > 0 else ""
        dot = (f'<circle class="point{" proven" if p.get("status") == "OPTIMAL" else ""}" cx="{px(xs[i]):.1f}" '
               f'cy="{py(ys[i]):.1f}" r="5"><title>{escape(label)}</title></circle>'
               f'<text class="tick" x="{px(xs[i]):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">'
               f'{escape(x_format(xs[i]))}</text>'
               f'<text class="value" x="{px(xs[i]):.1f}" y="{py(ys[i]) - 9:.1f}" text-anchor="middle">{ys[i]}{star}</text>')
        href = link(p) if link else None
        parts.append(f'<a href="{escape(href)}" class="pick">{dot}</a>' if href else dot)
    parts.append("</svg>")
    return "".join(parts)
