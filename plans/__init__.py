"""Optimizer runs from the web: plan records, background jobs, progress, results and decisions."""
