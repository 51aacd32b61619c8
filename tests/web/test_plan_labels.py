"""Labels on the server-drawn plans (plan pages, inspection reports, PDFs) stay inside the drawing and clear of
each other; boxes are computed from the metrics the drawing sets its text in, checked against the real fonts."""

from __future__ import annotations

import itertools
import random
import re
from html import unescape
from pathlib import Path

import pytest
from PIL import ImageFont

from inventory.demo_plans import supermarket_floor
from plans.labels import Box, Label, place_labels, text_box, text_width
from plans.svg import render_floor

FONTS = {"latin": Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
         "cjk": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")}
LABEL = re.compile(r'<text class="label[^"]*" x="([-\d.]+)" y="([-\d.]+)" font-size="([\d.]+)" '
                   r'textLength="([\d.]+)" lengthAdjust="spacingAndGlyphs">([^<]*)</text>')


def _terminal(code: str, x: float, y: float) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"kind": "terminal", "id": code, "type": "camera", "heading_deg": 0, "hfov_deg": 90}}


def crowded_floor() -> dict:
    """The demo supermarket with a tight cluster in a corner, a row along each edge and long zone names."""
    floor = supermarket_floor()
    rng = random.Random(13)
    extra = [_terminal(f"K-{i:02d}", 47 + rng.uniform(0, 3), 29 + rng.uniform(0, 3)) for i in range(12)]
    extra += [_terminal(f"E-{i:02d}", 4.0 * i, 0.1) for i in range(13)]
    extra += [_terminal(f"W-{i:02d}", 0.1, 2.5 * i) for i in range(13)]
    extra += [_terminal(f"摄像机{i}", 50.0, 3.0 + 2.0 * i) for i in range(12)]
    for feature in floor["features"]:
        if feature["properties"].get("kind") == "zone":
            feature["properties"]["name"] = feature["properties"]["name"] + " (东区 staff only)"
    floor["features"] += extra
    return floor


def _drawn_labels(svg: str) -> list[tuple[str, Box, float, float]]:
    """Each drawn label: text, box (from the drawing's own numbers), textLength and font size."""
    out = []
    for x, y, size, length, text in LABEL.findall(svg):
        out.append((unescape(text), text_box(float(x), float(y), float(length), float(size)), float(length),
                    float(size)))
    return out


def _view_box(svg: str) -> Box:
    x, y, w, h = map(float, re.search(r'viewBox="([^"]+)"', svg).group(1).split())
    return Box(x, y, x + w, y + h)


@pytest.mark.parametrize("floor", [supermarket_floor(), crowded_floor()], ids=["demo", "crowded"])
def test_labels_lie_inside_the_drawing_and_never_overlap(floor):
    svg = render_floor(floor, marks={"C-01": "kept", "C-05": "removed"}, added=[("N1", 3.0, 4.0), ("N2", 49.9, 31.9)])
    labels = _drawn_labels(svg)
    assert len(labels) == svg.count('<text class="label')  # every label matched the pattern
    view = _view_box(svg)
    for text, box, length, size in labels:
        assert length == pytest.approx(text_width(text, size), abs=1e-3)  # the drawn length is the metric width
        assert box.inside(view), (text, box, view)
    for (a, box_a, *_), (b, box_b, *_) in itertools.combinations(labels, 2):
        assert not box_a.overlaps(box_b), (a, b)
    # No label covers a terminal's dot.
    dots = [Box(float(cx) - 0.45, float(cy) - 0.45, float(cx) + 0.45, float(cy) + 0.45)
            for cx, cy in re.findall(r'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="0.45"/>', svg)]
    for (text, box, *_), dot in itertools.product(labels, dots):
        assert not box.overlaps(dot), text


def test_the_demo_floor_labels_every_terminal_and_the_crowded_one_most():
    demo = {text for text, *_ in _drawn_labels(render_floor(supermarket_floor()))}
    codes = {f["properties"]["id"] for f in supermarket_floor()["features"] if f["properties"]["kind"] == "terminal"}
    # The two terminals under the scale bar in the bottom-left corner may lose theirs; everything else is labelled.
    assert len(codes - demo) <= 2, codes - demo
    crowded = crowded_floor()
    drawn = {text for text, *_ in _drawn_labels(render_floor(crowded))}
    codes = {f["properties"]["id"] for f in crowded["features"] if f["properties"]["kind"] == "terminal"}
    assert len(codes & drawn) >= 0.75 * len(codes), sorted(codes - drawn)
    assert {"摄像机0", "E-06", "W-06"} <= drawn  # along the edges, flipped or shifted inwards


def test_a_terminal_at_the_right_edge_gets_its_label_on_the_left():
    placed, dropped = place_labels([Label("C-99", 10.0, 5.0, clearance=0.5)], Box(0, 0, 10, 10), 0.7)
    assert not dropped and placed[0].box.x1 <= 10.0 and placed[0].box.x1 <= 10.0 - 0.5


def test_labels_that_cannot_be_placed_are_dropped_not_overlapped():
    labels = [Label(f"T-{i}", 5.0, 5.0, clearance=0.5) for i in range(60)]
    placed, dropped = place_labels(labels, Box(0, 0, 10, 10), 0.7)
    assert placed and dropped and len(placed) + len(dropped) == 60
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.overlaps(b.box)
    assert any(p.leader for p in placed)  # the outer rings are used, with leader lines


def test_the_metrics_match_the_fonts_the_drawing_names():
    missing = [str(path) for path in FONTS.values() if not path.exists()]
    if missing:
        pytest.fail(f"fonts missing ({missing}): `make pdf-libs` installs fonts-noto-cjk; DejaVu comes with it")
    latin = ImageFont.truetype(str(FONTS["latin"]), 1000)
    cjk = ImageFont.truetype(str(FONTS["cjk"]), 1000)
    for text in ("C-01", "FACE-ENTRANCE-12", "N1"):
        assert text_width(text, 1000) == pytest.approx(latin.getlength(text), rel=0.005)
    assert text_width("收银台", 1000) == pytest.approx(cjk.getlength("收银台"), rel=0.005)
