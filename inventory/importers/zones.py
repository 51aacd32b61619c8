"""Which rooms are private: name and category rules shared by the vector importers."""

from __future__ import annotations

import re

# Decree 799 / FR Measures Art 13 (reference/regulation.md, zone taxonomy PRIVATE and PRIVATE_EXT).
_PRIVATE_NAMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(toilets?|wcs?|w\.c\.|rest ?rooms?|lavator(y|ies)|washrooms?|bathrooms?|loos?)\b", re.I), "toilet"),
    (re.compile(r"\bshowers?\b", re.I), "shower"),
    (re.compile(r"\b(changing|locker ?rooms?|dressing ?rooms?)\b", re.I), "changing_room"),
    (re.compile(r"\bfitting ?rooms?\b", re.I), "fitting_room"),
    (re.compile(r"\b(nursing|lactation|mothers'? ?rooms?|mother's ?rooms?|baby ?care)\b", re.I), "nursing_room"),
    (re.compile(r"\bguest ?rooms?\b", re.I), "guest_room"),
    (re.compile(r"\b(dorm|dormitory|dormitories)\b", re.I), "dorm_room"),
    (re.compile(r"\bstaff ?rest\b", re.I), "staff_rest_room"),
]


def private_use(name: str | None) -> str | None:
    """The private `use` a room name implies (e.g. "Men's WC" -> "toilet"), or None."""
    if not name:
        return None
    for pattern, use in _PRIVATE_NAMES:
        if pattern.search(name):
            return use
    return None


def unique_name(name: str, taken: set[str], suffix: str) -> str:
    """Name made unique within a floor by appending the source id, since zone names key coverage reports."""
    out = name if name not in taken else f"{name} ({suffix})"
    n = 2
    while out in taken:
        out = f"{name} ({suffix}-{n})"
        n += 1
    taken.add(out)
    return out
