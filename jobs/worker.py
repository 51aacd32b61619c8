"""Run the Huey consumer for Sightline's job queue (`make worker`); start more processes to add workers."""

from __future__ import annotations

import threading


def _housekeeper(app, stop: threading.Event, every_s: float) -> None:  # type: ignore[no-untyped-def]
    """Run the registered housekeeping every few seconds until stopped."""
    from jobs.queue import run_housekeeping

    while not stop.is_set():
        run_housekeeping(app)
        stop.wait(every_s)


def main() -> int:
    """Consume jobs until interrupted: JOB_WORKERS jobs at once, plus housekeeping."""
    from app import create_app
    from jobs.queue import huey_for_app, set_worker_app
    from jobs.serve import freeze_loaded_objects

    app = create_app()
    set_worker_app(app)
    freeze_loaded_objects()
    huey = huey_for_app(app)
    stop = threading.Event()
    keeper = threading.Thread(target=_housekeeper, args=(app, stop, float(app.config["JOB_HOUSEKEEPING_SECONDS"])),
                              name="housekeeping", daemon=True)
    keeper.start()
    consumer = huey.create_consumer(workers=int(app.config["JOB_WORKERS"]), worker_type="thread", periodic=False)
    try:
        consumer.run()
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
