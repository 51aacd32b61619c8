"""API endpoints for venues, floors, terminals and camera models (see docs/openapi.yaml)."""
