"""PNG renders of floors with Chinese names draw the glyphs (a CJK font is configured), not empty boxes."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest
from PIL import Image

from planner.floor import load_floor
from planner.fonts import cjk_family

FLOOR = Path(__file__).resolve().parents[1] / "data" / "floors" / "two_rooms.json"


def _ink(path: Path, box: tuple[int, int, int, int]) -> int:
    """Dark pixels in a region of the image."""
    image = Image.open(path).convert("L").crop(box)
    return sum(1 for value in image.get_flattened_data() if value < 128)


def test_a_chinese_floor_name_renders_as_glyphs(tmp_path):
    from planner.overlays import render_png

    if cjk_family() is None:
        pytest.fail("no CJK font installed: `make pdf-libs` installs fonts-noto-cjk")
    floor = dataclasses.replace(load_floor(FLOOR), name="一楼大堂（东区）")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_png(floor, tmp_path / "zh.png", dpi=60)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    title_band = (0, 0, Image.open(tmp_path / "zh.png").width, 40)
    assert _ink(tmp_path / "zh.png", title_band) > 50  # the title was drawn in ink, not left blank
