"""Raster plans and PDFs: backgrounds, page choice with pypdfium2, calibration, and hostile images."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw
from shapely.geometry import shape

from inventory.importers import ImportFailed, ImportOptions, Limits, import_bytes
from inventory.importers.raster import calibrate


def plan_image(size: tuple[int, int] = (1200, 800)) -> Image.Image:
    """A scanned-looking plan: 100 px = 1 m, walls, a door swing, labels and a scale bar."""
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    d.rectangle((100, 100, 1100, 700), outline="black", width=8)
    d.line((600, 100, 600, 350), fill="black", width=6)
    d.line((600, 440, 600, 700), fill="black", width=6)
    d.arc((510, 350, 690, 530), 270, 360, fill="black", width=2)
    d.text((300, 400), "Lobby", fill="black")
    d.text((800, 400), "Changing room", fill="black")
    d.line((100, 750, 600, 750), fill="black", width=4)
    d.text((330, 760), "5 m", fill="black")
    return im


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def plan_pdf() -> bytes:
    """A two-page A4-landscape PDF drawn with matplotlib: a cover sheet, then the vector plan."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        for page in ("cover", "plan"):
            fig = Figure(figsize=(11.69, 8.27))
            ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
            ax.set_axis_off()
            if page == "cover":
                ax.text(0.5, 0.5, "Riverside Pool - Fire evacuation plan", ha="center")
            else:
                ax.plot([0, 20, 20, 0, 0], [0, 0, 12, 12, 0], color="black", linewidth=3)
                ax.plot([8, 8], [0, 5], color="black", linewidth=2)
                ax.text(3, 6, "Lobby")
            pdf.savefig(fig)
    return buf.getvalue()


def test_png_becomes_a_background_to_calibrate() -> None:
    r = import_bytes(_encode(plan_image(), "PNG"), "ground-floor.png")
    lv = r.levels[0]
    assert r.format == "raster" and lv.floor["features"] == []
    bg = lv.background
    assert (bg.width_px, bg.height_px) == (1200, 800) and bg.extent_m is None
    with Image.open(io.BytesIO(bg.png)) as im:
        assert im.format == "PNG" and im.getpixel((100, 400)) == (0, 0, 0)
    assert any("scale" in w for w in r.warnings)


def test_jpeg_photo_is_turned_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    data = _encode(plan_image(), "JPEG", quality=85, exif=exif.tobytes())
    bg = import_bytes(data, "photo.jpg").levels[0].background
    assert (bg.width_px, bg.height_px) == (800, 1200)


def test_pdf_page_is_chosen_and_rendered() -> None:
    data = plan_pdf()
    r = import_bytes(data, "evacuation.pdf", options=ImportOptions(page=1))
    bg = r.levels[0].background
    assert (bg.page, bg.page_count) == (1, 2)
    assert r.georef["page_size_pt"] == pytest.approx([841.68, 595.44], abs=0.5)
    # A4 landscape at 150 dpi would be 1754 px wide: scaled up so the long side is 2000 px.
    k = max(150 / 72, 2000 / 841.68)
    assert (bg.width_px, bg.height_px) == pytest.approx((841.68 * k, 595.44 * k), abs=1)
    with Image.open(io.BytesIO(bg.png)) as im:
        assert im.convert("L").getextrema()[0] < 64  # the plan's lines are there
    with pytest.raises(ImportFailed, match=r"evacuation\.pdf: page 3 requested but the PDF has 2 page\(s\)"):
        import_bytes(data, "evacuation.pdf", options=ImportOptions(page=2))


def test_tiny_pdf_page_is_rendered_large_enough_to_trace() -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buf = io.BytesIO()
    with PdfPages(buf) as pdf:
        fig = Figure(figsize=(118 / 72, 155 / 72))  # the 118 x 155 pt page of issue 11
        fig.add_axes((0, 0, 1, 1)).plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], color="black")
        pdf.savefig(fig)
    bg = import_bytes(buf.getvalue(), "tiny.pdf").levels[0].background
    assert bg.height_px == pytest.approx(2000, abs=1)  # at a fixed 150 dpi it was 323 px
    assert bg.width_px == pytest.approx(2000 * 118 / 155, abs=2)


def test_pdf_render_size_is_capped() -> None:
    bg = import_bytes(plan_pdf(), "plan.pdf", limits=Limits(max_render_pixels=100_000)).levels[0].background
    assert bg.width_px * bg.height_px <= 100_000 * 1.01
    assert bg.width_px / bg.height_px == pytest.approx(841.68 / 595.44, rel=0.01)


def test_pdf_without_pages_truncated_or_corrupt() -> None:
    empty = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")
    with pytest.raises(ImportFailed, match=r"^empty\.pdf: PDF has no pages$"):
        import_bytes(empty, "empty.pdf")
    data = plan_pdf()
    with pytest.raises(ImportFailed, match=r"plan\.pdf: truncated PDF"):
        import_bytes(data[: len(data) // 2], "plan.pdf")
    with pytest.raises(ImportFailed, match=r"plan\.pdf: corrupt PDF"):
        import_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n", "plan.pdf")


def test_wrong_extension_and_truncated_image() -> None:
    with pytest.raises(ImportFailed, match=r"plan\.png: named \.png but the content is a PDF"):
        import_bytes(plan_pdf(), "plan.png")
    with pytest.raises(ImportFailed, match=r"plan\.jpg: named \.jpg but the content is a PNG image"):
        import_bytes(_encode(plan_image(), "PNG"), "plan.jpg")
    png = _encode(plan_image(), "PNG")
    with pytest.raises(ImportFailed, match=r"plan\.png: corrupt or truncated image"):
        import_bytes(png[: len(png) // 2], "plan.png")
    with pytest.raises(ImportFailed, match=r"scan\.gif: a GIF image is not supported"):
        import_bytes(_encode(plan_image((50, 50)), "GIF"), "scan.gif")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 100k x 100k pixels declared in a file of a few dozen bytes.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b"")
    assert len(bomb) < 200
    with pytest.raises(ImportFailed, match=r"bomb\.png: image .*decompression bomb"):
        import_bytes(bomb, "bomb.png")
    with pytest.raises(ImportFailed, match="Mpixel limit"):
        import_bytes(_encode(plan_image(), "PNG"), "plan.png", limits=Limits(max_image_pixels=500_000))


def test_upload_size_limit() -> None:
    data = _encode(plan_image(), "PNG")
    with pytest.raises(ImportFailed, match=r"plan\.png: file is .* MB, above the 0\.0 MB upload limit"):
        import_bytes(data, "plan.png", limits=Limits(max_upload_bytes=1000))
    assert Limits().max_upload_bytes == 50 * 1024 * 1024


def test_calibration_two_points_origin_rotation() -> None:
    # The scale bar: 500 px = 5 m, origin at the plan's bottom-left corner (100, 700).
    cal = calibrate((100, 750), (600, 750), 5.0, origin_px=(100, 700))
    assert cal.metres_per_px == pytest.approx(0.01)
    assert cal.to_floor(1100, 100) == pytest.approx((10.0, 6.0))  # y up
    assert cal.to_image(*cal.to_floor(333, 444)) == pytest.approx((333, 444))
    turned = calibrate((100, 750), (600, 750), 5.0, origin_px=(100, 700), rotation_deg=90)
    assert turned.to_floor(1100, 700) == pytest.approx((0.0, 10.0), abs=1e-9)
    assert turned.to_image(*turned.to_floor(50, 60)) == pytest.approx((50, 60))
    assert cal.corners_m(1200, 800)[3] == pytest.approx((-1.0, -1.0))
    with pytest.raises(ImportFailed, match="positive"):
        calibrate((0, 0), (10, 0), 0.0)
    with pytest.raises(ImportFailed, match="a pixel apart"):
        calibrate((5, 5), (5, 5), 3.0)


def test_vector_pdf_lines_become_walls_after_calibration() -> None:
    from inventory.importers.raster import walls_from_lines

    r = import_bytes(plan_pdf(), "plan.pdf", options=ImportOptions(page=1))
    bg = r.levels[0].background
    # The plan page draws a 20 x 12 rectangle (4 sides) and one 5-unit wall: 5 straight stroked segments. The
    # filled white page background is not a line.
    assert len(bg.vector_lines_px) == r.georef["vector_lines"] == 5
    assert any("5 straight vector lines" in w for w in r.warnings)
    # Calibrate on the rectangle's bottom side (the longest segment): it is 20 m.
    bottom = max(bg.vector_lines_px, key=lambda s: (round(s[1]), abs(s[2] - s[0])))
    cal = calibrate((bottom[0], bottom[1]), (bottom[2], bottom[3]), 20.0)
    walls = [shape(w["geometry"]) for w in walls_from_lines(bg.vector_lines_px, cal)]
    horizontal = sorted(w.length for w in walls if abs(w.coords[0][1] - w.coords[1][1]) < 1e-6)
    vertical = sorted(w.length for w in walls if abs(w.coords[0][0] - w.coords[1][0]) < 1e-6)
    assert horizontal == pytest.approx([20.0, 20.0], abs=0.05)
    # matplotlib stretches y differently from x on this page; the plan's own ratios survive: 5 / 12.
    assert len(vertical) == 3 and vertical[1] == pytest.approx(vertical[2], rel=1e-3)
    assert vertical[0] / vertical[2] == pytest.approx(5 / 12, rel=0.01)
