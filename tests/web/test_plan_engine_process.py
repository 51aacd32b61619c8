"""A web run's engine runs in a clean child process forked by the worker's forkserver: its geometry forks workers,
its plan is the CLI's and the in-process one's, and no engine outlives a killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from jobs import child
from jobs.child import ChildError, run_in_child
from plans.engine import EngineError, run_optimizer
from tests.workers import alive, descendants

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _mall() -> dict:
    """The 120-terminal seeded mall floor the worker tests use (about 30 zones: the exact check has 4+ chunks)."""
    from planner.research.floorgen import generate_mall_floor

    return generate_mall_floor(3, 440, camera_spacing=6)


def _same_plan(a: dict, b: dict) -> None:
    for key in ("status", "objective", "bound", "kept", "removed", "added"):
        assert a.get(key) == b.get(key), key


@pytest.mark.slow
def test_a_web_run_forks_geometry_workers_and_returns_the_cli_plan(tmp_path):
    floor = _mall()
    # A thread in this process, as in a job-queue worker (its heartbeat): this process itself must not fork.
    beat = threading.Event()
    heartbeat = threading.Thread(target=beat.wait, daemon=True)
    heartbeat.start()
    try:
        events: list[dict] = []
        stats: dict = {}
        web = run_in_child(run_optimizer, {"snapshot": floor, "parameters": {"mode": "reduce", "time_limit": 60},
                                           "locks": {}, "workers": 2}, progress=events.append,
                           cancel=threading.Event(), stats=stats)
    finally:
        beat.set()
    assert stats["forked_maps"] > 0, "the child's geometry ran serially"
    assert [e["phase"] for e in events][:2] == ["candidates", "witnesses"] and events[-1]["phase"] == "done"
    path = tmp_path / "mall.geojson"
    path.write_text(json.dumps(floor))
    cli = subprocess.run([sys.executable, "-m", "planner", "plan", str(path), "--time-limit", "60", "--workers", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=180, check=True)
    assert web["status"] == "OPTIMAL"
    _same_plan(web, json.loads(cli.stdout))


def _raises_input_error(**_kwargs) -> None:
    run_optimizer({"type": "FeatureCollection", "features": []}, {}, progress=None, cancel=None)


def _waits_for_cancel(progress, cancel) -> str:
    progress({"phase": "candidates"})
    deadline = time.monotonic() + 30
    while not cancel.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    return "cancelled" if cancel.is_set() else "timed out"


def _dies(**_kwargs) -> None:
    os._exit(3)


def test_the_childs_exception_is_raised_in_the_parent():
    with pytest.raises(EngineError):
        run_in_child(_raises_input_error, {})


def test_cancel_reaches_the_child_and_its_events_reach_the_parent():
    cancel = threading.Event()
    events: list[dict] = []

    def progress(info: dict) -> None:
        events.append(info)
        cancel.set()  # as the heartbeat does when the user asks

    assert run_in_child(_waits_for_cancel, {}, progress=progress, cancel=cancel) == "cancelled"
    assert events == [{"phase": "candidates"}]


def test_a_child_that_dies_is_an_error_not_a_hang():
    with pytest.raises(ChildError, match="exit code 3"):
        run_in_child(_dies, {})


def _hotel_snapshot(app) -> dict:  # type: ignore[no-untyped-def]
    from extensions import db
    from inventory.floorio import export_floor
    from inventory.models import Floor, Venue

    with app.app_context():
        floor = db.session.scalar(sa.select(Floor).join(Venue).where(Venue.name == "Bund View Hotel")
                                  .order_by(Floor.id))
        return export_floor(floor)


def test_the_childs_plan_is_the_in_process_plan(demo_app):
    snapshot = _hotel_snapshot(demo_app)
    kwargs = {"snapshot": snapshot, "parameters": {"mode": "reduce", "time_limit": 30, "seed": 0}, "locks": {},
              "workers": 2}
    here = run_optimizer(**kwargs, progress=None, cancel=None)
    there = run_in_child(run_optimizer, kwargs, progress=lambda _info: None, cancel=threading.Event())
    assert here["status"] == "OPTIMAL"
    _same_plan(there, here)
    assert there["decisions"] == here["decisions"]


def _whoami(**_kwargs) -> dict:
    import sys as child_sys

    return {"pid": os.getpid(), "parent": os.getppid(), "planner_loaded": "plans.engine" in child_sys.modules}


@pytest.mark.skipif(child.START_METHOD != "forkserver", reason="no forkserver on this platform")
def test_one_forkserver_with_the_engine_loaded_forks_every_run():
    first, second = run_in_child(_whoami, {}), run_in_child(_whoami, {})
    assert first["pid"] != second["pid"]
    # Both runs forked by the same server, itself this process's child: started once, not per run.
    assert first["parent"] == second["parent"] != os.getpid()
    assert child._parent_of(first["parent"]) == os.getpid()
    assert first["planner_loaded"] and second["planner_loaded"]


def test_without_a_forkserver_the_child_is_spawned_by_this_process(monkeypatch):
    monkeypatch.setattr(child, "START_METHOD", "spawn")
    spawned = run_in_child(_whoami, {})
    assert spawned["parent"] == os.getpid() and spawned["pid"] != os.getpid()


def _reports_and_waits(progress, cancel) -> str:
    progress({"pid": os.getpid()})
    deadline = time.monotonic() + 120
    while not cancel.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    return "cancelled" if cancel.is_set() else "timed out"


def fake_worker() -> None:
    """A worker's shape: threads running jobs that each run an engine; prints one JSON line per engine event."""
    import plans.execution  # noqa: F401  (registers the preload, as a real worker does)

    def one(job: int, fn) -> None:  # type: ignore[no-untyped-def]
        result = run_in_child(fn, {}, progress=lambda info: print(json.dumps({"job": job, **info}), flush=True),
                              cancel=threading.Event())
        print(json.dumps({"job": job, "result": result}), flush=True)

    one(0, _whoami_with_progress)
    one(1, _whoami_with_progress)
    jobs = [threading.Thread(target=one, args=(n, _reports_and_waits)) for n in (2, 3)]
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join()


def _whoami_with_progress(progress, cancel) -> dict:
    return _whoami()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_no_engine_outlives_its_sigkilled_worker():
    worker = subprocess.Popen([sys.executable, "-c", "from tests.web.test_plan_engine_process import fake_worker; "
                               "fake_worker()"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        lines: list[dict] = []
        while len([line for line in lines if "pid" in line and line["job"] >= 2]) < 2:
            line = worker.stdout.readline()
            assert line, f"the worker ended early: {lines}"
            lines.append(json.loads(line))
        quick = [line["result"] for line in lines if "result" in line]
        assert len(quick) == 2 and quick[0]["parent"] == quick[1]["parent"], quick
        server = quick[0]["parent"]
        engines = {line["pid"] for line in lines if "pid" in line and line["job"] >= 2}
        everything = set(descendants(worker.pid))
        # The two running engines are the forkserver's children, and the forkserver is the worker's (started once).
        assert all(child._parent_of(pid) == server for pid in engines)
        assert server in everything and engines <= everything
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdout.close()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in everything if alive(pid)], "a process outlived its worker"


def test_a_cancelled_engine_in_the_child_stops_with_a_cancelled_plan(demo_app):
    cancel = threading.Event()
    phases: list[str] = []

    def progress(info: dict) -> None:
        phases.append(info.get("phase"))
        cancel.set()  # the user cancels as soon as the run reports anything

    result = run_in_child(run_optimizer, {"snapshot": _hotel_snapshot(demo_app), "locks": {}, "workers": 2,
                                          "parameters": {"mode": "reduce", "time_limit": 30, "seed": 0}},
                          progress=progress, cancel=cancel)
    assert phases and result["status"] == "CANCELLED"
