"""Job work in a clean child process, so a job-queue worker's runs can use both cores.

A queue worker has threads (Huey's, the heartbeat), and a process with threads must not fork its geometry workers
(a child forked while another thread holds a lock waits for it forever; see ``planner.parallel``).  The work
therefore runs in a *spawned* process: a fresh interpreter with one thread, which may fork its own workers.  The
parent keeps the heartbeat and the cancel flag; the child's progress events come back over a pipe and are handed
to the parent's callback in order, and the child's result (or exception) is returned (or raised) in the parent.
The child dies with the process that started it (Linux ``PR_SET_PDEATHSIG``), so a killed worker leaves no
engine running.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

POLL_S = 0.2  # how often the parent relays a cancel request while it waits for the child's messages
PR_SET_PDEATHSIG = 1


class ChildError(RuntimeError):
    """The child process ended without a result (killed, or crashed outside Python)."""


def run_in_child(fn: Callable[..., Any], kwargs: dict[str, Any], *, progress: Callable[[dict], None] | None = None,
                 cancel: threading.Event | None = None, stats: dict[str, Any] | None = None) -> Any:
    """fn(**kwargs, progress=..., cancel=...) in a spawned process; returns its result or raises its exception.

    ``fn`` must be a module-level function.  ``progress`` (when given) is called in this process with every event
    the child's ``progress`` got; ``cancel`` (when given) is relayed to the child's own cancel flag.  ``stats``
    (when given) receives how the child's geometry ran (``forked_maps``: parallel maps that used forked workers).
    """
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    proc = ctx.Process(target=_child_main, args=(fn, kwargs, theirs, stop, progress is not None,
                                                 cancel is not None, os.getpid()),
                       name=f"engine-{getattr(fn, '__name__', 'job')}")
    proc.start()
    theirs.close()
    done, value = False, None
    try:
        while True:
            if cancel is not None and cancel.is_set() and not stop.is_set():
                stop.set()
            if not mine.poll(POLL_S):
                if proc.is_alive() or mine.poll(0):
                    continue
                break
            try:
                kind, payload, extra = mine.recv()
            except EOFError:
                break
            if kind == "progress":
                if progress is not None:
                    progress(payload)
                continue
            if stats is not None:
                stats.update(extra)
            if kind == "error":
                raise payload
            done, value = True, payload
            break
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=10)
        mine.close()
    if not done:
        raise ChildError(f"the engine process ended without a result (exit code {proc.exitcode})")
    return value


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); exit if the parent is already gone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's kill on exit is all there is
        pass
    if os.getppid() != parent:
        os._exit(1)


def _child_main(fn: Callable[..., Any], kwargs: dict[str, Any], conn: Any, stop: Any, relay: bool,
                with_cancel: bool, parent: int) -> None:
    """The child: run fn, sending ("progress", event, {}) while it works and ("result" | "error", value, stats)."""
    _die_with_parent(parent)
    # Ctrl-C and a graceful stop are the parent's: it ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from planner import parallel

    lock = threading.Lock()  # the solver reports progress from its own threads

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    call = dict(kwargs)
    if relay:
        call["progress"] = lambda info: send(("progress", info, {}))
    if with_cancel:
        call["cancel"] = stop
    try:
        result = fn(**call)
    except Exception as exc:
        send(("error", _picklable(exc), {"forked_maps": parallel.forked_maps()}))
    else:
        send(("result", result, {"forked_maps": parallel.forked_maps()}))
    conn.close()


def _picklable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling, else a RuntimeError naming it."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
