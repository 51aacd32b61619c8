"""JSON API under /api/v1 over the same services as the pages."""

from api import floors, routes  # noqa: F401  (register the endpoints on bp)
from api.blueprint import bp

__all__ = ["bp"]
