"""Fonts for matplotlib renders: a CJK fallback, so Chinese room, floor and venue names draw as glyphs, not boxes."""

from __future__ import annotations

from functools import cache

# Simplified Chinese faces first; any CJK face covers the hanzi of room names.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC", "Droid Sans Fallback")


@cache
def cjk_family() -> str | None:
    """Put the first installed CJK family after matplotlib's default sans-serif font (glyph fallback); return it.

    Fonts installed after matplotlib built its font cache are not in it, so system CJK fonts are added by path.
    """
    from matplotlib import font_manager, rcParams

    known = {f.name for f in font_manager.fontManager.ttflist}
    if not any(family in known for family in CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if "cjk" in path.lower() or "wqy" in path.lower() or "droidsansfallback" in path.lower():
                font_manager.fontManager.addfont(path)
        known = {f.name for f in font_manager.fontManager.ttflist}
    family = next((f for f in CJK_FAMILIES if f in known), None)
    if family is not None:
        # A list of families is matplotlib's per-glyph fallback: Latin from the usual font, hanzi from the CJK one.
        latin = next((name for name in rcParams["font.sans-serif"] if name in known), "DejaVu Sans")
        rcParams["font.family"] = [latin, family]
    return family
