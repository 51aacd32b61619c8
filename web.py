"""Request helpers shared by the blueprints; imports nothing of Sightline, so any web module may use it."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for


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
