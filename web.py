"""Request helpers shared by the blueprints; imports nothing of Sightline, so any web module may use it."""

from __future__ import annotations

from flask import request


def wants_json() -> bool:
    """Whether the client asked for JSON rather than a page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
