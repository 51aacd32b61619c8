"""Both cores: forked workers give exactly the serial result (geometry, set-cover parts), and stop at their deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from planner import parallel
from planner.floor import parse_floor
from planner.plan import PlanOptions, prepare
from planner.plan import candidates as candidates_mod
from planner.plan import exact as exact_mod
from planner.plan import witnesses as witnesses_mod
from planner.plan.exact import ExactCheck
from planner.research.floorgen import generate_mall_floor
from planner.setcover import CoverProblem, SolveOptions, Status, is_cover, pipeline, solve
from tests.workers import children

FRESH = "SIGHTLINE_TEST_FRESH_PROCESS"


@pytest.fixture
def ran_in_fresh_process(request: pytest.FixtureRequest) -> bool:
    """Run the test in a fresh interpreter when this one has other threads (a whole-suite run keeps the browser's and
    live servers' threads alive): the engine forks only a single-threaded process, so here it would run serially.
    True when the test passed there, so the body is not run again here; a failure there fails the test."""
    if threading.active_count() == 1 or os.environ.get(FRESH):
        return False
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
                            cwd=root, env=dict(os.environ, **{FRESH: "1"}), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
    return True


def _sleepy(n: int) -> int:
    time.sleep(0.3 if n < 2 else 5.0)
    return n * n


def test_ordered_map_keeps_order_and_stops_at_the_deadline(ran_in_fresh_process: bool) -> None:
    if ran_in_fresh_process:
        return
    assert parallel.ordered_map(_square, list(range(10)), 2) == [n * n for n in range(10)]
    t0 = time.perf_counter()
    out = parallel.ordered_map(_sleepy, list(range(6)), 2, deadline=t0 + 1.5)
    elapsed = time.perf_counter() - t0
    # Chunks 0 and 1 finish; chunk 2 sleeps 5 s and is cut by terminating the pool, not waited for.
    assert out == [0, 1]
    assert elapsed < 3.0


def _square(n: int) -> int:
    return n * n


def _snapshot(workers: int) -> tuple:
    floor = parse_floor(generate_mall_floor(1, 100))
    prep = prepare(floor, PlanOptions(mode="reduce", reaim_step=45, workers=workers, time_limit=120))
    selected = list(range(0, len(prep.cols), 3))
    lefts = ExactCheck(prep).run(selected, workers=workers)
    m = prep.matrix
    vis = {q: shapely.to_wkb(poly) for q, (_r, poly) in sorted(prep.engine._vis.items())}
    return ([p.to_dict() for p in prep.cols], prep.candidates.excluded, prep.candidates.privacy_reason,
            m.columns, m.demand, m.wx, m.wy, vis, {zi: shapely.to_wkb(g) for zi, g in sorted(lefts.items())})


def test_parallel_geometry_is_identical_to_serial(ran_in_fresh_process: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if ran_in_fresh_process:
        return
    # Small chunks so this floor's 14 mounts, ~1,000 witnesses and 9 zones are spread over many workers' tasks.
    monkeypatch.setattr(candidates_mod, "MOUNTS_PER_CHUNK", 2)
    monkeypatch.setattr(witnesses_mod, "CHUNK", 150)
    monkeypatch.setattr(exact_mod, "ZONES_PER_CHUNK", 1)
    forked: list[int] = []
    real = parallel._forked

    def spy(fn, chunks, workers, *rest):
        forked.append(len(chunks))
        return real(fn, chunks, workers, *rest)

    monkeypatch.setattr(parallel, "_forked", spy)
    serial = _snapshot(1)
    assert forked == []
    both = _snapshot(2)
    # Privacy, the witness matrix and the exact check each ran on forked workers.
    assert len(forked) >= 3
    assert both == serial


_ORPHAN_SCRIPT = """
import os, sys, time
from pathlib import Path
from planner import parallel

out = Path(sys.argv[1])


def chunk(index):
    (out / f"worker-{os.getpid()}").write_text(str(index))
    time.sleep(60)
    return index


parallel.ordered_map(chunk, list(range(8)), workers=2)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_geometry_workers_die_with_the_process_that_forked_them(tmp_path: Path) -> None:
    """An engine killed in the middle of a map (its worker was killed) leaves no geometry worker finishing a chunk."""
    script = tmp_path / "engine.py"
    script.write_text(_ORPHAN_SCRIPT)
    root = Path(__file__).resolve().parents[2]
    engine = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    workers: list[int] = []
    try:
        for _ in range(200):
            workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
            if len(workers) == 2:
                break
            time.sleep(0.05)
        assert len(workers) == 2, "the map did not fork two workers"
        engine.kill()
        engine.wait()
        for _ in range(100):
            if not any(Path(f"/proc/{pid}").exists() for pid in workers):
                break
            time.sleep(0.05)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    finally:
        for pid in workers:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, 9)


class _CancelAt:
    """A cancel flag that is set from a given time on."""

    def __init__(self, at: float) -> None:
        self.at = at

    def is_set(self) -> bool:
        """Whether the time has come."""
        return time.perf_counter() >= self.at


def _blocks(n: int, rows: int, cols: int, per: int, weighted: bool, seed: int = 1) -> CoverProblem:
    """`n` independent random blocks (no column reaches two): at least `n` parts after the reductions."""
    rng = np.random.default_rng(seed)
    columns = [sorted({int(r) + b * rows for r in rng.choice(rows, size=per, replace=False)})
               for b in range(n) for _ in range(cols)]
    costs = rng.integers(1, 20, size=len(columns)).tolist() if weighted else None
    return CoverProblem(n_rows=n * rows, columns=columns, costs=costs)


def test_set_cover_parts_on_forked_workers_give_the_serial_answer(ran_in_fresh_process: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if ran_in_fresh_process:
        return
    problem = _blocks(8, 30, 60, 4, weighted=True)
    options = SolveOptions(time_limit=30, workers=2, deterministic=True)
    before = parallel.forked_maps()
    small = solve(problem, options)
    assert parallel.forked_maps() == before  # a small solve's parts run here, one after the other
    monkeypatch.setattr(pipeline, "_LANE_MIN_NNZ", 0)
    both = solve(problem, options)
    assert parallel.forked_maps() == before + 1  # the parts ran on forked workers
    assert (small.objective, small.selected) == (both.objective, both.selected)
    monkeypatch.setattr(pipeline, "lanes_for", lambda options, n: 1)
    serial = solve(problem, options)
    assert parallel.forked_maps() == before + 1
    assert both.status == serial.status == Status.OPTIMAL
    assert (both.objective, both.bound, both.selected, both.parts) == \
        (serial.objective, serial.bound, serial.selected, serial.parts)
    assert len(both.parts) >= 8


def test_set_cover_parts_on_forked_workers_keep_the_limit_and_the_cancel(ran_in_fresh_process: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if ran_in_fresh_process:
        return
    monkeypatch.setattr(pipeline, "_LANE_MIN_NNZ", 0)
    # Unicost blocks no part proves within seconds.
    problem = _blocks(6, 150, 300, 6, weighted=False)
    t0 = time.perf_counter()
    timed = solve(problem, SolveOptions(time_limit=2.0, workers=2, deterministic=True))
    # A guard, not a benchmark (+5 % is measured by bench_mall): the workers stop at the one deadline.
    assert time.perf_counter() - t0 < 2.0 + 1.0
    assert parallel.forked_maps() > 0
    assert timed.status == Status.FEASIBLE and is_cover(problem, timed.selected) and timed.bound > 0
    # A cancel that fires by itself (a timer thread would keep the solve from forking), like the web worker's
    # cross-process event.
    t0 = time.perf_counter()
    before = parallel.forked_maps()
    cancelled = solve(problem, SolveOptions(time_limit=30.0, workers=2, deterministic=True,
                                            cancel=_CancelAt(t0 + 0.8)))  # type: ignore[arg-type]
    assert parallel.forked_maps() == before + 1
    # Stopped within moments of the cancel, with a cover (each part's best so far), and no worker left behind.
    assert time.perf_counter() - t0 < 3.0
    assert cancelled.status == Status.CANCELLED and is_cover(problem, cancelled.selected)
    assert children(os.getpid()) == []
