"""Development server for `make run`: Flask's server plus a Huey worker in a child process."""

from __future__ import annotations

import argparse
import subprocess
import sys


def main() -> int:
    """Start the queue worker, then serve the app until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
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
