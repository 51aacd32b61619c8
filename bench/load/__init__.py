"""Load tests: locust workload (locustfile.py), seeding (seed.py) and the matrix runner (__main__.py)."""
