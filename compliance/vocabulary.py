"""The room-use vocabulary: which uses are private, how plans label them, and the zone templates per venue type."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data")

ZoneTemplate = tuple[str, int, str]  # (kind, k, tier)
# A Latin label is a whole word: not touching another Latin letter (digits and CJK may touch it: "WC2", "男WC").
_LATIN = r"[A-Za-z\u00C0-\u024F]"


@cache
def _load(name: str) -> dict[str, Any]:
    """One data file of this package, parsed once."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@cache
def _label_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(pattern, use) pairs in file order: Latin labels as whole words, Chinese labels as substrings."""
    out: list[tuple[re.Pattern[str], str]] = []
    for use, spec in _load("room_uses.json")["private"].items():
        latin = "|".join(spec.get("labels", ()))
        if latin:
            out.append((re.compile(rf"(?<!{_LATIN})(?:{latin})(?!{_LATIN})", re.I), use))
        chinese = "|".join(re.escape(term) for term in spec.get("labels_zh", ()))
        if chinese:
            out.append((re.compile(chinese), use))
    return tuple(out)


def private_uses() -> tuple[str, ...]:
    """Every private room use (regulation.md PRIVATE_EXT)."""
    return tuple(_load("room_uses.json")["private"])


def always_private_uses() -> tuple[str, ...]:
    """Uses that make a zone private whatever the user picks (Decree 799: no device in or seeing into them)."""
    return tuple(use for use, spec in _load("room_uses.json")["private"].items() if spec["always_private"])


def private_use_for_label(label: str | None) -> str | None:
    """The private use a room label implies ("Men's WC" -> "toilet", "女卫生间" -> "toilet"), or None."""
    if not label:
        return None
    for pattern, use in _label_patterns():
        if pattern.search(label):
            return use
    return None


def imdf_private_categories() -> dict[str, str]:
    """IMDF unit categories that are private rooms, with the use each implies."""
    return dict(_load("room_uses.json")["imdf_categories"])


def zone_templates(venue_type: str) -> dict[str, ZoneTemplate]:
    """Suggested zone uses of a venue type: use -> (kind, k, tier); unknown types get the common set."""
    data = _load("zone_templates.json")
    spec = data["venue_types"].get(str(venue_type), data["venue_types"]["other"])
    uses = dict(data["common"]) if spec["common"] else {}
    uses.update(spec["uses"])
    return {use: (kind, int(k), tier) for use, (kind, k, tier) in uses.items()}


def private_group(use: str | None) -> str | None:
    """The regulation group of a private use ("PRIVATE" or "PRIVATE_EXT"), or None for a use that is not private."""
    spec = _load("room_uses.json")["private"].get(str(use)) if use else None
    return spec["group"] if spec else None
