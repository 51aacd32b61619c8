"""Background jobs (Huey) and the local development server that runs a worker beside Flask."""
