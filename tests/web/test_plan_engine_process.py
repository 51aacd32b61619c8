"""A web run's engine runs in a clean child process: its geometry forks workers, and its plan is the CLI's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from jobs.child import ChildError, run_in_child
from plans.engine import EngineError, run_optimizer

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
