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
