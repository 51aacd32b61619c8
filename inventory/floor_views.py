"""Floor plan pages: upload, scale calibration and the Leaflet floor editor."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("floors", __name__)
