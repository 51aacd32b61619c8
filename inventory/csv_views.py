"""Bulk CSV import (with a row-level preview) and export of a floor's terminals."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("csv", __name__)
