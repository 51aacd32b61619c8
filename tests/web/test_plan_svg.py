"""The plan drawings style themselves, so the PDF report (which ignores the page's CSS inside SVG) is not black."""

from __future__ import annotations

import re

from inventory.demo_plans import supermarket_floor
from plans.svg import STYLE, render_floor


def test_every_class_drawn_has_a_rule_in_the_drawing_itself() -> None:
    svg = render_floor(supermarket_floor(), marks={"C-01": "kept", "C-05": "removed"}, added=[("N1", 3.0, 4.0)])
    assert svg.count("<style>") == 1 and STYLE in svg
    drawn = {c for attr in re.findall(r'class="([^"]+)"', svg) for c in attr.split()} - {"floor-svg"}
    styled = set(re.findall(r"\.([a-z][a-z_-]*)", STYLE)) - {"floor-svg"}
    # Type classes only refine a terminal's dot; every other class must change how its shape is painted.
    unstyled = {c for c in drawn - styled if not c.startswith("type-")}
    assert not unstyled, unstyled
    for shape_class in ("outline", "wall", "opening", "zone-required", "zone-private", "terminal", "kept", "removed",
                        "added", "scale-bar", "north-arrow"):
        assert shape_class in styled


def test_meaning_is_not_carried_by_colour_alone() -> None:
    svg = render_floor(supermarket_floor(), [({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                                              "intrusion", "C-01 sees into toilet")],
                       marks={"C-01": "kept", "C-05": "removed"}, added=[("N1", 3.0, 4.0)])
    # Intrusions and uncovered areas are filled with patterns the drawing defines itself.
    assert 'id="sl-private"' in svg and 'id="sl-intrusion"' in svg and 'id="sl-uncovered"' in svg
    assert ".zone-private { fill:url(#sl-private)" in STYLE
    assert ".intrusion { fill:url(#sl-intrusion)" in STYLE and ".uncovered { fill:url(#sl-uncovered)" in STYLE
    # A removed terminal is crossed out, a new one ringed, a kept one neither.
    groups = dict(re.findall(r'<g class="terminal [^"]*">(.*?)<title>([^:<]+)', svg)[i][::-1] for i in range(
        len(re.findall(r'<g class="terminal ', svg))))
    assert 'class="cross"' in groups["C-05"] and 'class="cross"' not in groups["C-01"]
    assert 'class="ring"' in groups["N1"] and 'class="ring"' not in groups["C-01"]
