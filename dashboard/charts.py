"""Server-rendered SVG bar charts of the city overview: accessible (title, description, a text label on every
bar) and readable without colour (the "before" bar is outlined and hatched, the "after" bar solid)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

LABEL_W, BAR_W, VALUE_W, BAR_H, GAP, PAD = 130, 300, 110, 12, 10, 8


@dataclass(frozen=True)
class Bar:
    """One group of the chart: its label and one or two values (before, after)."""

    label: str
    before: int
    after: int | None = None


def _scale(bars: list[Bar]) -> float:
    top = max([b.before for b in bars] + [b.after or 0 for b in bars] + [1])
    return BAR_W / top


def bar_chart(chart_id: str, title: str, description: str, bars: list[Bar], *, before_label: str,
              after_label: str | None = None) -> Markup:
    """Horizontal bars per group; with after values, a hatched "before" bar above a solid "after" bar."""
    paired = after_label is not None
    rows = 2 if paired else 1
    group_h = rows * BAR_H + GAP
    legend_h = 22
    height = PAD * 2 + legend_h + max(1, len(bars)) * group_h
    width = LABEL_W + BAR_W + VALUE_W
    scale = _scale(bars)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dash-chart" id="{escape(chart_id)}" '
             f'viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
             f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
             f'<defs><pattern id="{escape(chart_id)}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/></pattern></defs>']
    hatch = f'fill="url(#{escape(chart_id)}-hatch)"'
    # Legend: the bar styles with their words, so the chart reads without colour.
    parts.append(f'<rect class="bar before" {hatch} x="{LABEL_W}" y="{PAD}" width="14" height="{BAR_H}"/>'
                 f'<text class="legend" x="{LABEL_W + 20}" y="{PAD + BAR_H - 2}">{escape(before_label)}</text>')
    if paired:
        parts.append(f'<rect class="bar after" x="{LABEL_W + 150}" y="{PAD}" width="14" height="{BAR_H}"/>'
                     f'<text class="legend" x="{LABEL_W + 170}" y="{PAD + BAR_H - 2}">{escape(after_label or "")}</text>')
    if not bars:
        parts.append(f'<text x="{PAD}" y="{PAD + legend_h + BAR_H}">—</text>')
    for n, bar in enumerate(bars):
        y = PAD + legend_h + n * group_h
        parts.append(f'<g class="group"><text class="label" x="{LABEL_W - 6}" y="{y + rows * BAR_H / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(bar.label)}</text>')
        values = [("before", bar.before, before_label)] + ([("after", bar.after or 0, after_label or "")]
                                                          if paired else [])
        for i, (style, value, word) in enumerate(values):
            by = y + i * BAR_H
            w = max(value * scale, 0.0)
            text = f"{value:,}"
            if paired and i == 1 and bar.before:
                change = value - bar.before
                text += f" ({'+' if change > 0 else '−' if change < 0 else '±'}{abs(change):,})"
            fill = hatch if style == "before" else ""
            parts.append(f'<rect class="bar {style}" {fill} x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR_H - 2}">'
                         f'<title>{escape(bar.label)}: {escape(word)} {value:,}</title></rect>'
                         f'<text class="value" x="{LABEL_W + w + 4:.1f}" y="{by + BAR_H - 3}">{escape(text)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
