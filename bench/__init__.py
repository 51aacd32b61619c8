"""Benchmarks: one module per suite, each runnable with `python -m bench.<name>`."""
