"""Stored compliance findings in the web app: evaluation on every inventory change, pages and API.

Kept apart from ``compliance`` (rules as data, pure evaluator, the Finding model) because it reads the inventory,
and the inventory reads ``compliance``'s vocabulary: one package each way would import in a loop.
"""
