"""Compliance knowledge as data: room uses, zone templates and (later) the rules, loaded from `compliance/data/`.

Framework-free. The engine (`planner/`) never imports this package: callers pass what it needs as plain data.
"""
