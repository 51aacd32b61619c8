"""Labels on the server-drawn plans (plan pages, inspection reports, PDFs) stay inside the drawing and clear of
each other; boxes are computed from the metrics the drawing sets its text in, checked against the real fonts."""

from __future__ import annotations

import itertools
import random
import re
from html import unescape
from pathlib import Path

import pypdfium2
import pytest
from PIL import ImageFont

from inventory.demo_plans import supermarket_floor
from plans.exports import pdf_from_html
from plans.labels import Box, Label, advances, place_labels, text_box, text_width
from plans.svg import render_floor

FONTS = {"latin": Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
         "cjk": Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")}
LABEL = re.compile(r'<text class="label[^"]*" x="([-\d. ]+)" y="([-\d.]+)" font-size="([\d.]+)">([^<]*)</text>')


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


def _drawn_labels(svg: str) -> list[tuple[str, Box, list[float], float]]:
    """Each drawn label: text, box (from the drawing's own numbers and the metrics), its characters' x and font size."""
    out = []
    for xs, y, size, text in LABEL.findall(svg):
        text, starts, size = unescape(text), [float(x) for x in xs.split()], float(size)
        out.append((text, text_box(starts[0], float(y), text_width(text, size), size), starts, size))
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
    for text, box, starts, size in labels:
        # Each character is drawn where the metrics put it.
        assert starts == pytest.approx(list(itertools.accumulate(advances(text, size)[:-1], initial=starts[0])),
                                       abs=2e-3)
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


def test_in_the_pdf_every_glyph_lies_in_its_labels_box():
    """WeasyPrint (the PDF reports) draws each label's glyphs inside the box the placement computed for it."""
    width_px = 800
    svg = render_floor(crowded_floor(), width_px=width_px)
    view, labels = _view_box(svg), _drawn_labels(svg)
    html = (f"<html><head><style>@page {{ size: {width_px}px 600px; margin: 0 }} body {{ margin: 0 }} "
            f"svg {{ display: block }}</style></head><body>{svg}</body></html>")
    page = pypdfium2.PdfDocument(pdf_from_html(html, base_url="."))[0]
    text_page, height = page.get_textpage(), page.get_height()
    points_per_unit = width_px / (view.x1 - view.x0) * 0.75  # CSS px are 0.75 pt
    checked = 0
    for index in range(text_page.count_chars()):
        char = text_page.get_text_range(index, 1)
        if not char.strip():
            continue
        left, bottom, right, top = text_page.get_charbox(index)
        glyph = Box(view.x0 + left / points_per_unit, view.y0 + (height - top) / points_per_unit,
                    view.x0 + right / points_per_unit, view.y0 + (height - bottom) / points_per_unit)
        owners = [text for text, box, *_ in labels if glyph.inside(box)]
        if not owners:  # the scale bar's length and the north arrow's N are not placed labels
            assert char in "0123456789 mN", (char, glyph)
            continue
        assert all(char in text for text in owners), (char, owners)
        checked += 1
    # Every glyph of every label was found in its box (pdfium reads the halo and the text over it as one).
    assert checked == sum(len(text.replace(" ", "")) for text, *_ in labels)
