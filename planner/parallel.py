"""Geometry on both cores: an ordered map over forked worker processes that inherit the parent's state.

The workers are forked after the parent has built what they read (the engine, its caches, the view index), so
nothing is pickled on the way in but the chunk; results come back in chunk order, and the caller merges them in
that order, so a parallel run produces exactly what a serial one does.  A deadline ends the map: the results of
the chunks finished by then (in order, up to the first unfinished one) are returned and the workers are
killed at once, so no process outlives its phase.  Where forking is not safe or possible (a process with other
threads, a daemonic worker process, a platform without fork) the map runs serially.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing import connection
from typing import Any

# What the workers read: set by `ordered_map` in the parent just before it forks.
_CONTEXT: dict[str, Any] = {}
MIN_CHUNKS = 4  # fewer chunks than this run serially: forking costs more than it saves
POLL_S = 0.2  # how often the parent checks the deadline and the stop callback while it waits
_FORKED = [0]  # maps of this process that ran on forked workers (a web run's engine reports it)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel kill this process when the process that forked it dies (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's kill at the end of the map is all there is
        pass


def context() -> dict[str, Any]:
    """The state the parent handed to this map's workers (its own, in a serial run)."""
    return _CONTEXT


def can_fork() -> bool:
    """Fork only a single-threaded process: a child forked while another thread holds a lock (stdout, logging)
    waits for it forever.  A job-queue worker with its heartbeat thread therefore runs serially."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return not multiprocessing.current_process().daemon and threading.active_count() == 1


def forked_maps() -> int:
    """How many maps of this process have run on forked workers (0: all its geometry ran serially)."""
    return _FORKED[0]


def in_worker() -> bool:
    """True inside a forked worker of `ordered_map` (results must then travel back pickled)."""
    return _CONTEXT.get("_parent") not in (None, os.getpid())


def ordered_map(fn: Callable[[Any], Any], chunks: Sequence[Any], workers: int, deadline: float | None = None,
                shared: dict[str, Any] | None = None, stop: Callable[[], bool] | None = None,
                partial: bool = False, on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """[fn(c) for c in chunks], in order, on up to `workers` forked processes; stops at `deadline` or `stop()`.

    ``fn`` must be a module-level function; it reads ``shared`` through :func:`context`.  Returns the results of
    the longest prefix of chunks finished before ``deadline`` (``time.perf_counter()`` seconds), or with
    ``partial`` one entry per chunk, None for those not finished.  ``on_result(index, result)`` is called in
    this process as each chunk's result arrives.
    """
    _CONTEXT.clear()
    _CONTEXT.update(shared or {})
    _CONTEXT["_parent"] = os.getpid()
    try:
        if workers <= 1 or len(chunks) < MIN_CHUNKS or not can_fork():
            results = _serial(fn, chunks, deadline, stop, on_result)
        else:
            results = _forked(fn, chunks, workers, deadline, stop, on_result)
    finally:
        _CONTEXT.clear()
    if partial:
        return [results.get(i) for i in range(len(chunks))]
    out = []
    for index in range(len(chunks)):
        if index not in results:
            break
        out.append(results[index])
    return out


def _worker_init(parent: int) -> None:
    """A worker dies on the pool's SIGTERM (the parent's handlers, a job queue's graceful stop, are not its own)
    and with its parent: an engine killed mid-chunk must not leave its workers finishing the chunk."""
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    die_with_parent()
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the death signal was set


def _serial(fn: Callable[[Any], Any], chunks: Sequence[Any], deadline: float | None,
            stop: Callable[[], bool] | None, on_result: Callable[[int, Any], None] | None) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for index, c in enumerate(chunks):
        if (deadline is not None and time.perf_counter() >= deadline) or (stop is not None and stop()):
            break
        out[index] = fn(c)
        if on_result is not None:
            on_result(index, out[index])
    return out


def _forked(fn: Callable[[Any], Any], chunks: Sequence[Any], workers: int, deadline: float | None,
            stop: Callable[[], bool] | None, on_result: Callable[[int, Any], None] | None) -> dict[int, Any]:
    # Plain processes and pipes, no pool: a pool's helper threads would fork replacements from a threaded parent.
    ctx = multiprocessing.get_context("fork")
    _FORKED[0] += 1
    procs, busy = [], {}
    results: dict[int, Any] = {}
    todo = iter(range(len(chunks)))
    try:
        for _ in range(min(workers, len(chunks), os.cpu_count() or 1)):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_loop, args=(fn, theirs, mine, os.getpid()), daemon=True)
            proc.start()
            theirs.close()
            procs.append(proc)
            _feed(mine, chunks, todo, busy)
        while busy:
            wait = POLL_S if deadline is None else min(POLL_S, deadline - time.perf_counter())
            if wait <= 0 or (stop is not None and stop()):
                break
            for conn in connection.wait(list(busy), timeout=wait):
                busy.pop(conn)
                index, ok, value = conn.recv()
                if not ok:
                    raise value
                results[index] = value
                _feed(conn, chunks, todo, busy)
                if on_result is not None:
                    on_result(index, value)
    except (OSError, EOFError):
        # A worker could not start or died: the rest here (those done already are kept).
        rest = [i for i in range(len(chunks)) if i not in results]
        done = _serial(fn, [chunks[i] for i in rest], deadline, stop, None)
        for k, value in done.items():
            results[rest[k]] = value
            if on_result is not None:
                on_result(rest[k], value)
        return results
    finally:
        # Kill, not ask: a chunk still running past the deadline must not hold a core.
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.join(timeout=1.0)
    return results


def _feed(conn: Any, chunks: Sequence[Any], todo: Any, busy: dict) -> None:
    index = next(todo, None)
    if index is not None:
        conn.send((index, chunks[index]))
        busy[conn] = index


def _worker_loop(fn: Callable[[Any], Any], conn: Any, parents_end: Any, parent: int) -> None:
    """A worker: run the chunks the parent sends, send back (index, ok, result or exception)."""
    _worker_init(parent)
    parents_end.close()
    while True:
        index, chunk = conn.recv()
        try:
            conn.send((index, True, fn(chunk)))
        except Exception as exc:  # the parent re-raises it
            conn.send((index, False, exc))
