"""Which rooms are private: name and category rules shared by the vector importers."""

from __future__ import annotations

from compliance import vocabulary


def private_use(name: str | None) -> str | None:
    """The private `use` a room name implies (e.g. "Men's WC" -> "toilet"), or None."""
    return vocabulary.private_use_for_label(name)


def unique_name(name: str, taken: set[str], suffix: str) -> str:
    """Name made unique within a floor by appending the source id, since zone names key coverage reports."""
    out = name if name not in taken else f"{name} ({suffix})"
    n = 2
    while out in taken:
        out = f"{name} ({suffix}-{n})"
        n += 1
    taken.add(out)
    return out
