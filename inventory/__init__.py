"""Inventory: venues, floors, zones and terminals (web blueprint in views.py; importers are Flask-free)."""
