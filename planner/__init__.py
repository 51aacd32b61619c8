"""Sightline's framework-free engine: geometry, coverage, set cover and plans (no Flask imports)."""
