"""Run the Huey consumer for Sightline's job queue (`make worker`)."""

from __future__ import annotations


def main() -> int:
    """Consume jobs until interrupted."""
    from app import create_app
    from jobs.queue import huey_for_app, set_worker_app

    app = create_app()
    set_worker_app(app)
    huey = huey_for_app(app)
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    consumer.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
