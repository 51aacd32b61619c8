"""Raster plans (PNG, JPEG) and PDF pages (rendered with pypdfium2): a background to calibrate and trace."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from inventory.importers.base import Background, ImportFailed, ImportOptions, ImportResult, Level, Limits
from inventory.importers.features import collection
from inventory.importers.safety import open_image, sniff

name = "raster"
extensions = (".png", ".jpg", ".jpeg", ".pdf")
PDF_DPI = 150.0
# A PDF page is rendered so its long side has at least this many pixels (a tiny page at 150 dpi is untraceable).
PDF_MIN_LONG_PX = 2000


def load(files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
    """A background image for one floor; the floor itself stays empty until the user calibrates and traces."""
    if len(files) != 1:
        raise ImportFailed("expected a single image or PDF", where=source)
    fname, data = next(iter(files.items()))
    kind = sniff(data)
    georef: dict[str, Any] = {}
    vectors: list[list[float]] = []
    if kind == "pdf":
        im, page_count, page_size, vectors = render_pdf(data, fname, options.page, limits, with_lines=True)
        georef = {"page": options.page, "page_count": page_count, "page_size_pt": page_size,
                  "vector_lines": len(vectors)}
        page: int | None = options.page
    elif kind in ("png", "jpeg"):
        im = open_image(data, fname, limits)
        im = ImageOps.exif_transpose(im)  # phone photos of plans carry their rotation in EXIF
        page_count, page = None, None
    else:
        raise ImportFailed("not a PNG, JPEG or PDF file", where=fname)
    png, size = _png(im)
    stem = fname.rsplit(".", 1)[0]
    level = Level(
        name=stem,
        floor=collection(stem, []),
        ordinal=0.0,
        background=Background(png=png, width_px=size[0], height_px=size[1], page=page, page_count=page_count,
                              vector_lines_px=vectors),
    )
    warnings = ["the plan has no scale yet: mark two points a known distance apart"]
    if vectors:
        warnings.append(f"{fname}: the page holds {len(vectors)} straight vector lines, walls to confirm once "
                        "the plan has a scale")
    return ImportResult(format=name, source=source, levels=[level], georef=georef or None, warnings=warnings)


def _png(im: Image.Image) -> tuple[bytes, tuple[int, int]]:
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if "A" in im.getbands() or im.mode == "P" else "RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue(), im.size


def render_pdf(data: bytes, where: str, page: int, limits: Limits,
               with_lines: bool = False) -> Any:
    """Render one page (0-based) at PDF_DPI, or larger to reach PDF_MIN_LONG_PX, within the pixel limit."""
    import pypdfium2 as pdfium

    if not data.rstrip().endswith(b"%%EOF") and b"%%EOF" not in data[-2048:]:
        raise ImportFailed("truncated PDF (no %%EOF trailer)", where=where)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc)
        if "password" in reason.lower() or "security" in reason.lower():
            raise ImportFailed("PDF is password-protected", where=where) from exc
        # PDFium refuses a document whose page tree is empty instead of loading zero pages.
        if re.search(rb"/Type\s*/Pages\b[^>]*/Count\s*0(?![0-9])|/Count\s*0(?![0-9])[^>]*/Type\s*/Pages\b", data):
            raise ImportFailed("PDF has no pages", where=where) from exc
        raise ImportFailed(f"corrupt PDF ({reason})", where=where) from exc
    try:
        n = len(pdf)
        if n == 0:
            raise ImportFailed("PDF has no pages", where=where)
        if not 0 <= page < n:
            raise ImportFailed(f"page {page + 1} requested but the PDF has {n} page(s)", where=where)
        pg = pdf[page]
        w_pt, h_pt = pg.get_size()
        if not (w_pt > 0 and h_pt > 0 and math.isfinite(w_pt * h_pt)):
            raise ImportFailed(f"page {page + 1} has no area", where=where)
        # Cap the bitmap: a page can declare a 200-inch media box.
        scale = max(PDF_DPI / 72.0, PDF_MIN_LONG_PX / max(w_pt, h_pt))
        scale = min(scale, math.sqrt(limits.max_render_pixels / (w_pt * h_pt)))
        try:
            bitmap = pg.render(scale=scale)
            im = bitmap.to_pil().copy()
        except pdfium.PdfiumError as exc:
            raise ImportFailed(f"cannot render page {page + 1} ({exc})", where=where) from exc
        if not with_lines:
            return im, n, [round(w_pt, 3), round(h_pt, 3)]
        lines = page_lines(pg, im.size[0] / w_pt, im.size[1] / h_pt, h_pt, w_pt, limits.max_features)
        return im, n, [round(w_pt, 3), round(h_pt, 3)], lines
    finally:
        pdf.close()


def page_lines(pg: Any, sx: float, sy: float, h_pt: float, w_pt: float, limit: int) -> list[list[float]]:
    """The straight segments of a page's stroked paths, in rendered pixels (y down); the page frame left out."""
    import ctypes

    import pypdfium2.raw as raw

    out: list[list[float]] = []
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    x, y = ctypes.c_float(), ctypes.c_float()
    for obj in pg.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=1):
        if not raw.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill), ctypes.byref(stroke)) or not stroke.value:
            continue  # filled shapes (backgrounds, hatching) are not lines
        a, b, c, d, e, f = obj.get_matrix().get()
        start = cur = None
        for i in range(raw.FPDFPath_CountSegments(obj.raw)):
            seg = raw.FPDFPath_GetPathSegment(obj.raw, i)
            raw.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y))
            pt = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
            kind = raw.FPDFPathSegment_GetType(seg)
            if kind == raw.FPDF_SEGMENT_LINETO and cur is not None and pt != cur:
                out.append([cur[0] * sx, (h_pt - cur[1]) * sy, pt[0] * sx, (h_pt - pt[1]) * sy])
            if kind == raw.FPDF_SEGMENT_MOVETO:
                start = pt
            cur = pt
            if raw.FPDFPathSegment_GetClose(seg) and start is not None and cur != start:
                out.append([cur[0] * sx, (h_pt - cur[1]) * sy, start[0] * sx, (h_pt - start[1]) * sy])
                cur = start
            if len(out) >= limit:
                return out
    # A segment along the page edge is the sheet's frame, not the plan.
    edge = 0.5 * sx
    return [s for s in out if not (
        (abs(s[0] - s[2]) < edge and (s[0] < edge or s[0] > w_pt * sx - edge))
        or (abs(s[1] - s[3]) < edge and (s[1] < edge or s[1] > h_pt * sy - edge)))]


def walls_from_lines(lines_px: list[list[float]], cal: Calibration) -> list[dict[str, Any]]:
    """A vector PDF's lines as sightline-floor/1 walls in floor metres, once the background is calibrated."""
    from shapely.geometry import LineString

    from inventory.importers.features import feature, lines

    out = []
    for x0, y0, x1, y1 in lines_px:
        for ln in lines(LineString([cal.to_floor(x0, y0), cal.to_floor(x1, y1)])):
            out.append(feature(ln, kind="wall", source="pdf:vector"))
    return out


@dataclass(frozen=True)
class Calibration:
    """Image pixels (y down) to floor metres (y up): scale, origin and rotation set by the user."""

    metres_per_px: float
    origin_px: tuple[float, float]
    rotation_deg: float = 0.0

    def to_floor(self, x_px: float, y_px: float) -> tuple[float, float]:
        """A pixel position in floor metres."""
        dx = (x_px - self.origin_px[0]) * self.metres_per_px
        dy = (self.origin_px[1] - y_px) * self.metres_per_px
        c, s = math.cos(math.radians(self.rotation_deg)), math.sin(math.radians(self.rotation_deg))
        return dx * c - dy * s, dx * s + dy * c

    def to_image(self, x_m: float, y_m: float) -> tuple[float, float]:
        """A floor position in image pixels."""
        c, s = math.cos(math.radians(self.rotation_deg)), math.sin(math.radians(self.rotation_deg))
        dx, dy = x_m * c + y_m * s, -x_m * s + y_m * c
        return self.origin_px[0] + dx / self.metres_per_px, self.origin_px[1] - dy / self.metres_per_px

    def corners_m(self, width_px: int, height_px: int) -> list[tuple[float, float]]:
        """The image's corners in floor metres (top-left, top-right, bottom-right, bottom-left)."""
        return [self.to_floor(x, y) for x, y in ((0, 0), (width_px, 0), (width_px, height_px), (0, height_px))]


def calibrate(
    p1_px: tuple[float, float],
    p2_px: tuple[float, float],
    distance_m: float,
    *,
    origin_px: tuple[float, float] | None = None,
    rotation_deg: float = 0.0,
) -> Calibration:
    """Scale from two clicked points a known distance apart; origin defaults to the first point."""
    px = math.dist(p1_px, p2_px)
    if not (math.isfinite(distance_m) and distance_m > 0):
        raise ImportFailed(f"the distance must be a positive number of metres, got {distance_m!r}")
    if px < 1.0:
        raise ImportFailed("the two calibration points must be at least a pixel apart")
    return Calibration(distance_m / px, origin_px if origin_px is not None else p1_px, rotation_deg)
