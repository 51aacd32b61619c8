"""The inventory's two access errors, shared by its services (both map to HTTP answers in the web layer)."""

from __future__ import annotations


class NotFound(LookupError):
    """The object does not exist or the user may not see it (both answer 404)."""


class Forbidden(PermissionError):
    """The user may see the object but not change it."""
