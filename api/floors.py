"""API endpoints for floor geometry: sightline-floor/1 export/import and coverage overlays."""
