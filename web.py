"""Request helpers shared by the blueprints; imports nothing of Sightline, so any web module may use it."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from flask import current_app, request, url_for

V = TypeVar("V")


class FragmentCache(Protocol[V]):
    """What cached_fragment needs of a cache (inventory.lru.LRUCache)."""

    def get_or_set(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value under key, else compute() stored under it."""
        ...


def cached_fragment(cache: FragmentCache[V], key: Hashable, render: Callable[[], V]) -> V:
    """A rendered fragment, rendered once per key; `key` must name all the fragment shows. Rendered afresh while
    templates reload (development), as a changed template changes no key."""
    if current_app.jinja_env.auto_reload:
        return render()
    return cache.get_or_set(key, render)


def wants_json() -> bool:
    """Whether the client asked for JSON rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def safe_next(target: str | None) -> str:
    """Only follow relative redirect targets, never another host; the venue list otherwise."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("inventory.index")
