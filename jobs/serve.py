"""Development server for `make run` (Flask's server plus a Huey worker in a child process), and the production
gunicorn settings: `gunicorn -c python:jobs.serve 'app:create_app()'` reads the module-level names below.

The app is CPU-bound (rendering, geometry) with short database waits: one process per core plus one, each with
a few threads to overlap those waits (bench/load measured this on 2 cores; docs/reliability.md "Load").
WEB_CONCURRENCY and GUNICORN_THREADS override the counts.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import subprocess
import sys

workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
keepalive = 5  # seconds an idle keep-alive connection (behind the proxy) stays open
timeout = 60  # a request still running after this long restarts its worker (plan runs go to the queue)


def post_worker_init(_worker: object) -> None:
    """Once a worker has loaded the app, keep its ~250,000 objects out of the garbage collector's passes."""
    freeze_loaded_objects()


def freeze_loaded_objects() -> None:
    """Move every object alive now (the app, its models, templates and translations) to the collector's permanent
    generation: a full collection then takes about 1 ms instead of about 160 ms in the middle of a request."""
    gc.collect()
    gc.freeze()


def main() -> int:
    """Start the queue worker, then serve the app until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    # A plain `kill` (SIGTERM) would end the server without its `finally` and leave the worker running on.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    worker = subprocess.Popen([sys.executable, "-m", "jobs.worker"])
    try:
        from app import create_app

        create_app().run(host=args.host, port=args.port, debug=False, use_reloader=False)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
