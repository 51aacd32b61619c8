"""Row-weighting local search (RWLS, Gao, Weise & Li, EJOR 2015) for unicost k=1 cores, in compiled code.

The search keeps a selection S and a weight per row. While S is a cover it is recorded and its least useful
column dropped, so the search always works one column below the best cover found. Each step then swaps:
remove the selected column whose removal uncovers the least weight (never one of the two last added), pick
a random uncovered row and add the column covering it that covers the most uncovered weight, among those
allowed by configuration checking (a removed column may come back only after a neighbour changed), then
add 1 to the weight of every row still uncovered. Ties go to the column that changed least recently.

The kernel is the C extension ``sightline_rwls`` (``native/rwls``, built by ``pip install`` from
requirements.txt). It runs a given number of steps and keeps its whole state in the numpy arrays of
:class:`RowWeightingSearch`, so the caller slices the search by time without changing the sequence of
moves: for one seed and one step count the answer is always the same. It releases the GIL, so several
searches (one per worker, different seeds) run side by side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from planner.setcover.core import Core

# ctl indices: the search's scalar state, kept in one int64 array between kernel calls (as in native/rwls).
N_UNCOV, N_SEL, BEST_SIZE, STEP, TABU, RNG, OP, TABU2 = range(8)

def _kernel():
    """The compiled kernel's run(steps, target, arrays)."""
    try:
        import sightline_rwls
    except ImportError as exc:  # pragma: no cover - an installation problem, not a code path
        raise ImportError(
            "the compiled local search is missing: run `make install` (pip install ./native/rwls)"
        ) from exc
    return sightline_rwls.run


class RowWeightingSearch:
    """State of one RWLS run on a core, advanced in slices of steps by :meth:`run`."""

    def __init__(self, core: Core, selected: np.ndarray, *, seed: int = 0) -> None:
        n, m = core.n_cols, core.n_rows
        sizes = np.asarray([len(c) for c in core.cols], dtype=np.int64)
        self.col_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.col_rows = (np.concatenate(core.cols) if n else np.zeros(0)).astype(np.int64)
        col_of = np.repeat(np.arange(n, dtype=np.int64), sizes)
        order = np.argsort(self.col_rows, kind="stable")
        self.row_cols = col_of[order]
        self.row_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.col_rows, minlength=m))]).astype(
            np.int64
        )
        self.sel = selected.astype(np.uint8).copy()
        self.cover = np.bincount(self.col_rows[self.sel[col_of] == 1], minlength=m).astype(np.int64)
        self.weight = np.ones(m, dtype=np.int64)
        unique = (self.cover == 1)[self.col_rows]
        uncovered = (self.cover == 0)[self.col_rows]
        loss = np.bincount(col_of, weights=unique, minlength=n).astype(np.int64)
        gain = np.bincount(col_of, weights=uncovered, minlength=n).astype(np.int64)
        self.score = np.where(self.sel == 1, -loss, gain).astype(np.int64)
        self.rowx = np.zeros(m, dtype=np.int64)
        np.bitwise_xor.at(self.rowx, self.col_rows[self.sel[col_of] == 1], col_of[self.sel[col_of] == 1])
        self.row_op = np.zeros(m, dtype=np.int64)
        self.removed_op = np.full(n, -1, dtype=np.int64)
        self.stamp = np.zeros(n, dtype=np.int64)
        self.uncov = np.zeros(m, dtype=np.int64)
        self.upos = np.full(m, -1, dtype=np.int64)
        open_rows = np.flatnonzero(self.cover == 0)
        self.uncov[: open_rows.size] = open_rows
        self.upos[open_rows] = np.arange(open_rows.size)
        self.sel_list = np.zeros(n, dtype=np.int64)
        self.spos = np.full(n, -1, dtype=np.int64)
        chosen = np.flatnonzero(self.sel)
        self.sel_list[: chosen.size] = chosen
        self.spos[chosen] = np.arange(chosen.size)
        self.best = self.sel.copy()
        # Swaps per slice from the work per swap (column size × row size), not from the clock, so that the
        # checks between slices, and with them the whole run, are the same for a seed.
        work = max(1.0, float(sizes.mean()) * float(np.diff(self.row_ptr).mean())) if n and m else 1.0
        self.chunk = int(min(65_536, max(16, 2e6 / work)))
        self.ctl = np.zeros(8, dtype=np.int64)
        self.ctl[N_UNCOV] = open_rows.size
        self.ctl[N_SEL] = chosen.size
        # A starting selection that is not a cover has no size to beat yet.
        self.ctl[BEST_SIZE] = chosen.size if open_rows.size == 0 else n + 1
        self.ctl[TABU] = self.ctl[TABU2] = -1
        # The generator's state must lie in 1 .. 2**31 - 2.
        self.ctl[RNG] = int(seed) % 2147483646 + 1

    @property
    def best_size(self) -> int:
        """Size of the best cover found so far (n_cols + 1 before the first)."""
        return int(self.ctl[BEST_SIZE])

    @property
    def steps(self) -> int:
        """Swap steps done so far."""
        return int(self.ctl[STEP])

    def run(self, steps: int, target: int = 0) -> None:
        """Advance by up to `steps` swaps, stopping early at a cover of `target` columns or fewer."""
        arrays = (
            self.col_ptr, self.col_rows, self.row_ptr, self.row_cols, self.sel, self.cover, self.rowx, self.score,
            self.weight, self.stamp, self.uncov, self.upos, self.sel_list, self.spos, self.row_op, self.removed_op,
            self.best, self.ctl,
        )  # fmt: skip
        _kernel()(int(steps), int(target), arrays)

    def best_selection(self) -> np.ndarray:
        """The best cover found, as a boolean mask."""
        return self.best.astype(bool)


def advance(
    search: RowWeightingSearch,
    *,
    seconds: float,
    target: int = 0,
    max_steps: int | None = None,
    patience: int | None = None,
    cancel: threading.Event | None = None,
    stop: threading.Event | None = None,
    on_improve: Callable[[int], None] | None = None,
) -> None:
    """Run the search for `seconds` in slices: until a cover of `target` columns, `max_steps` swaps, `patience`
    swaps without a better cover, the deadline, `cancel` or `stop`. Only the deadline and the events depend on
    time."""
    deadline = time.perf_counter() + seconds
    done = 0
    best, best_at = search.best_size, search.steps
    while search.best_size > target:
        if time.perf_counter() >= deadline or any(e is not None and e.is_set() for e in (cancel, stop)):
            break
        if max_steps is not None and done >= max_steps:
            break
        if patience is not None and search.steps - best_at >= patience:
            break
        chunk = search.chunk if max_steps is None else min(search.chunk, max_steps - done)
        search.run(chunk, target)
        done += chunk
        if search.best_size < best:
            best, best_at = search.best_size, search.steps
            if on_improve is not None:
                on_improve(best)


def advance_all(
    searches: list[RowWeightingSearch],
    *,
    seconds: float,
    target: int = 0,
    patience: int | None = None,
    cancel: threading.Event | None = None,
    on_improve: Callable[[int], None] | None = None,
) -> None:
    """Advance several searches (different seeds) side by side, one thread each: the kernel releases the GIL.

    All stop as soon as one reaches `target`.
    """
    if len(searches) == 1:
        advance(searches[0], seconds=seconds, target=target, patience=patience, cancel=cancel, on_improve=on_improve)
        return
    stop = threading.Event()

    def work(search: RowWeightingSearch) -> None:
        advance(
            search, seconds=seconds, target=target, patience=patience, cancel=cancel, stop=stop,
            on_improve=on_improve,
        )  # fmt: skip
        if search.best_size <= target:
            stop.set()

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in searches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
