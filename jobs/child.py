"""Job work in a pre-warmed child process, so a job-queue worker's runs can use both cores.

A queue worker has threads (Huey's, the heartbeat), and a process with threads must not fork its geometry workers
(a child forked while another thread holds a lock waits for it forever; see ``planner.parallel``).  The work
therefore runs in a child forked by a *forkserver*: a single-threaded process the worker starts once, which has
imported the modules named with :func:`preload` (the planner, OR-Tools, shapely) before it forks anything, so a
run does not pay for those imports again (a spawned interpreter did, every run).  The child has one thread and
may fork its own workers.  The parent keeps the heartbeat and the cancel flag; the child's progress events come
back over a pipe and are handed to the parent's callback in order, and the child's result (or exception) is
returned (or raised) in the parent.

No engine outlives its worker.  The child dies with the forkserver (Linux ``PR_SET_PDEATHSIG``), and the
forkserver exits once every holder of its "alive" pipe has closed it: the worker (at its death, whatever kills
it) and its engine children, which inherit a copy and therefore close it first thing.  A child that finds its
worker already gone exits at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from planner.parallel import die_with_parent

POLL_S = 0.2  # how often the parent relays a cancel request while it waits for the child's messages
# "spawn" is the fallback where there is no forkserver (and what the benchmark compares against).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
_PRELOAD = ["jobs.child"]


class ChildError(RuntimeError):
    """The child process ended without a result (killed, or crashed outside Python)."""


def preload(*modules: str) -> None:
    """Have the forkserver import these modules before it forks a child (only before it first starts)."""
    for name in modules:
        if name not in _PRELOAD:
            _PRELOAD.append(name)


def _context() -> Any:
    """The multiprocessing context children start from (the forkserver's preload set while it is not running)."""
    ctx = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        ctx.set_forkserver_preload(list(_PRELOAD))
    return ctx


def run_in_child(fn: Callable[..., Any], kwargs: dict[str, Any], *, progress: Callable[[dict], None] | None = None,
                 cancel: threading.Event | None = None, stats: dict[str, Any] | None = None) -> Any:
    """fn(**kwargs, progress=..., cancel=...) in a child process; returns its result or raises its exception.

    ``fn`` must be a module-level function.  ``progress`` (when given) is called in this process with every event
    the child's ``progress`` got; ``cancel`` (when given) is relayed to the child's own cancel flag.  ``stats``
    (when given) receives how the child ran (``forked_maps``: parallel maps that used forked workers; ``pid`` and
    ``parent``: the child's process id and its parent's).
    """
    ctx = _context()
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


def _parent_of(pid: int) -> int | None:
    """The parent process id of `pid` (from /proc), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _die_with_worker(worker: int) -> None:
    """Be killed when the process that forked this one dies, and exit if the worker is already gone (Linux)."""
    die_with_parent()
    from multiprocessing import forkserver

    server = forkserver._forkserver
    alive = getattr(server, "_forkserver_alive_fd", None)  # None when spawned
    if alive is not None:
        # Every forkserver child inherits the worker's end of the forkserver's "alive" pipe; while an engine held
        # it, a killed worker's forkserver (and so the engine) would live on until the run ended.
        os.close(alive)
        server._forkserver_alive_fd = None
    parent = os.getppid()
    # Spawned, the worker is the parent; forked by the forkserver, the worker is the forkserver's parent.
    if parent != worker and _parent_of(parent) != worker:
        os._exit(1)


def _child_main(fn: Callable[..., Any], kwargs: dict[str, Any], conn: Any, stop: Any, relay: bool,
                with_cancel: bool, worker: int) -> None:
    """The child: run fn, sending ("progress", event, {}) while it works and ("result" | "error", value, stats)."""
    _die_with_worker(worker)
    # Ctrl-C and a graceful stop are the parent's: it ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from planner import parallel

    lock = threading.Lock()  # the solver reports progress from its own threads

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    def stats() -> dict[str, Any]:
        return {"forked_maps": parallel.forked_maps(), "pid": os.getpid(), "parent": os.getppid()}

    call = dict(kwargs)
    if relay:
        call["progress"] = lambda info: send(("progress", info, {}))
    if with_cancel:
        call["cancel"] = stop
    try:
        result = fn(**call)
    except Exception as exc:
        send(("error", _picklable(exc), stats()))
    else:
        send(("result", result, stats()))
    conn.close()


def _picklable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling, else a RuntimeError naming it."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
