"""The fewest units of demand left unmet when columns are free but each group still allows one of them.

This is the conflict model's first phase: re-aimed mounts take one pose each, and some witnesses cannot all be
seen at once. Solved whole with one slack column per unit of demand, the 2,000-segment re-aim mall's model
(100,317 rows, 163,715 columns) took CP-SAT 7.7 s to prove 32 units, and in a round's 3.3 s it gave 198 against
a bound of 15. Almost all of its rows are seen by four or more mounts and are never the ones given up.

So the rows are generated lazily. The restricted model holds the rows few groups can see (and any the caller
names); its optimum is a lower bound for all rows, since dropping rows can only lower the shortfall. Its
columns are completed over every row by a best-response search that never gives up a restricted unit to gain
others. If that completion leaves no other row short, it is optimal; otherwise the rows it leaves short join
the restricted model, and the model is solved again from the completion.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from planner.setcover.pipeline import solve, validated_core
from planner.setcover.problem import CoverProblem, CoverResult, SolveOptions, Status

START_SPARE_GROUPS = 2  # rows seen by at most demand + this many groups start in the restricted model
BEST_RESPONSE_PASSES = 12
WHOLE_MODEL_SHARE = 0.2  # of the rows with demand: a restricted model starting larger is the whole model


def fewest_short(problem: CoverProblem, options: SolveOptions, rows: Iterable[int] = ()) -> CoverResult:
    """Columns (costs ignored, one per group, locks kept) leaving the fewest units of demand unmet, with a bound.

    The objective and bound count unmet units; ``selected`` holds real columns only and ``uncoverable_rows``
    the rows they leave short, each once per unit unmet. ``rows`` start in the restricted model with the rows few
    groups see.
    """
    start = time.perf_counter()
    deadline = start + float(options.time_limit)
    validated = validated_core(replace(problem, costs=None, hint=None), options, deadline)
    if validated is None:
        return CoverResult(Status.UNKNOWN, None, 0, [], time.perf_counter() - start, "rows on demand")
    core, forced_local = validated
    search = _BestResponse(core, forced_local)
    demand = core.demand
    restricted = (search.groups_seeing() <= demand + START_SPARE_GROUPS) & (demand > 0)
    restricted[[r for r in rows if 0 <= r < core.n_rows]] = True
    # Rows the hint, completed, leaves short are where the conflicts are.
    best = search.complete(list(problem.hint or []), restricted)
    best_short = search.short_rows(best)
    restricted |= best_short > 0
    if restricted.sum() > WHOLE_MODEL_SHARE * (demand > 0).sum():
        # Little to leave out: every row at once (the design mall at k = 2 starts with 24 % of its rows; there,
        # unproven restricted solves completed to 1,100 units given up where the whole model gave up ~700).
        restricted = demand > 0
    lower, status, solves = 0, Status.FEASIBLE, 0
    while True:
        left = deadline - time.perf_counter()
        if left <= 0.05 or _cancelled(options):
            status = _unproven(options, Status.FEASIBLE)
            break
        sub = _restricted_problem(problem, restricted, best_short, best, search)
        found = solve(sub, replace(options, time_limit=left, progress=None))
        solves += 1
        lower = max(lower, int(found.bound))
        if found.objective is None:
            status = _unproven(options, found.status)
            break
        chosen = search.complete([j for j in found.selected if j < problem.n_columns], restricted)
        chosen_short = search.short_rows(chosen)
        if chosen_short.sum() < best_short.sum():
            best, best_short = chosen, chosen_short
        if options.progress is not None:
            options.progress(int(best_short.sum()), lower, time.perf_counter() - start)
        if best_short.sum() <= lower:
            status = Status.OPTIMAL
            break
        fresh = (chosen_short > 0) & ~restricted
        if found.status != Status.OPTIMAL or not fresh.any():
            # Unproven on the restricted rows (out of time), or nothing new to add: the bound stands as it is.
            status = _unproven(options, found.status)
            break
        restricted |= fresh
    units = int(best_short.sum())
    # A row short by several units is named once per unit.
    short_units = np.repeat(core.row_ids, best_short)
    return CoverResult(status, units, min(lower, units), sorted(best), time.perf_counter() - start,
                       f"rows on demand ({int(restricted.sum())} of {int((demand > 0).sum())} rows, {solves} solves)",
                       uncoverable_rows=[int(r) for r in short_units])


def _cancelled(options: SolveOptions) -> bool:
    """Whether the caller has cancelled the run."""
    return options.cancel is not None and options.cancel.is_set()


def _unproven(options: SolveOptions, status: Status) -> Status:
    """The status of a run stopped short of a proof: CANCELLED if the caller or the last solve was, else FEASIBLE."""
    return Status.CANCELLED if _cancelled(options) or status == Status.CANCELLED else Status.FEASIBLE


def _restricted_problem(problem: CoverProblem, restricted: np.ndarray, hint_short: np.ndarray, hint: list[int],
                        search: _BestResponse) -> CoverProblem:
    """The slack model over the restricted rows: real columns cut to them, one slack column per unit of demand,
    and ``hint`` with the slack units it leaves short (``hint_short`` per row) as a complete hint."""
    core = search.core
    index = np.full(core.n_rows, -1, dtype=np.int64)
    kept = np.flatnonzero(restricted)
    index[kept] = np.arange(len(kept))
    inside = restricted[search.flat]
    cut_owner = core.col_ids[search.owner[inside]]
    cut_rows = index[search.flat[inside]]
    columns: list[list[int]] = [[] for _ in range(problem.n_columns)]
    bounds = np.searchsorted(cut_owner, np.arange(problem.n_columns + 1))
    for j in np.flatnonzero(np.diff(bounds)).tolist():
        columns[j] = cut_rows[bounds[j]:bounds[j + 1]].tolist()
    demand = core.demand[kept]
    # Variables: the real columns (free), and one slack column per unit of demand of each restricted row.
    slack_rows = np.repeat(np.arange(len(kept)), demand)
    n_real = problem.n_columns
    # The hint's shortfall on these rows, as slack units (the first units of each short row).
    short = hint_short[kept]
    unit_rank = np.arange(len(slack_rows)) - np.repeat(np.cumsum(demand) - demand, demand)
    slack_hint = (n_real + np.flatnonzero(unit_rank < short[slack_rows])).tolist()
    # Objective: the fewest slack units (unmet demand); real columns cost nothing.
    return CoverProblem(n_rows=len(kept), columns=columns + [[int(r)] for r in slack_rows],
                        costs=[0] * n_real + [1] * len(slack_rows), demand=demand.tolist(),
                        forced=problem.forced, forbidden=problem.forbidden, groups=problem.groups,
                        hint=sorted(hint) + slack_hint)


class _BestResponse:
    """One column per group, moved one group at a time to the member that meets the most unmet demand."""

    def __init__(self, core, forced_local: list[int]) -> None:
        self.core = core
        self.local_of = {int(c): j for j, c in enumerate(core.col_ids.tolist())}
        lens = np.fromiter((len(c) for c in core.cols), dtype=np.int64, count=core.n_cols)
        self.longest = int(lens.max()) if core.n_cols else 0
        self.flat = np.concatenate(core.cols) if core.n_cols else np.zeros(0, dtype=np.int64)
        self.owner = np.repeat(np.arange(core.n_cols, dtype=np.int64), lens)
        # Every column in a group of its own unless it shares one: ungrouped columns are groups of one.
        grouped = core.group_of >= 0
        _, group = np.unique(np.where(grouped, core.group_of, -1 - np.arange(core.n_cols)), return_inverse=True)
        self.group = group.astype(np.int64)
        self.n_groups = int(self.group.max()) + 1 if core.n_cols else 0
        order = np.argsort(self.group, kind="stable")
        self.members = np.split(order, np.searchsorted(self.group[order], np.arange(1, self.n_groups)))
        self.locked = np.zeros(self.n_groups, dtype=bool)
        self.locked[self.group[forced_local]] = True
        self.forced = [int(j) for j in forced_local]
        # Per group: its members' entries (rows) and each entry's member position, for one bincount a group.
        entry_group = self.group[self.owner]
        by_group = np.argsort(entry_group, kind="stable")
        cuts = np.searchsorted(entry_group[by_group], np.arange(self.n_groups + 1))
        position = np.empty(core.n_cols, dtype=np.int64)
        for members in self.members:
            position[members] = np.arange(len(members))
        self.g_rows = [self.flat[by_group[cuts[g]:cuts[g + 1]]] for g in range(self.n_groups)]
        self.g_pos = [position[self.owner[by_group[cuts[g]:cuts[g + 1]]]] for g in range(self.n_groups)]

    def groups_seeing(self) -> np.ndarray:
        """Per row: how many distinct groups have a column seeing it."""
        seen = [np.unique(rows) for rows in self.g_rows]
        flat = np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64)
        return np.bincount(flat, minlength=self.core.n_rows)

    def counts(self, chosen: list[int]) -> np.ndarray:
        """Per row: how many of the chosen (original) columns see it."""
        cnt = np.zeros(self.core.n_rows, dtype=np.int64)
        for j in chosen:
            cnt[self.core.cols[self.local_of[j]]] += 1
        return cnt

    def short_rows(self, chosen: list[int]) -> np.ndarray:
        """Per row: units of demand the chosen columns leave unmet."""
        return np.maximum(self.core.demand - self.counts(chosen), 0)

    def complete(self, start: list[int], heavy: np.ndarray) -> list[int]:
        """From ``start`` (one column per group kept), the best response of each group in turn until none moves;
        a unit of a ``heavy`` row outweighs every other row a column could meet, so none is traded away."""
        core, demand = self.core, self.core.demand
        weight = np.where(heavy, self.longest + 1, 1).astype(np.float64)
        cnt = np.zeros(core.n_rows, dtype=np.int64)
        current = np.full(self.n_groups, -1, dtype=np.int64)
        for local in [*self.forced, *(self.local_of[j] for j in start if j in self.local_of)]:
            if current[self.group[local]] < 0:
                current[self.group[local]] = local
                cnt[core.cols[local]] += 1
        free = np.flatnonzero(~self.locked).tolist()
        for _ in range(BEST_RESPONSE_PASSES):
            moved = False
            for g in free:
                rows, members, now = self.g_rows[g], self.members[g], int(current[g])
                if now >= 0:
                    cnt[core.cols[now]] -= 1
                gains = np.bincount(self.g_pos[g], weights=weight[rows] * (cnt[rows] < demand[rows]),
                                    minlength=len(members))
                best = int(np.argmax(gains))
                pick = -1 if gains[best] <= 0 else int(members[best])
                if now >= 0 and gains[np.searchsorted(members, now)] >= gains[best]:
                    pick = now
                if pick >= 0:
                    cnt[core.cols[pick]] += 1
                if pick != now:
                    current[g] = pick
                    moved = True
            if not moved:
                break
        return sorted(int(core.col_ids[j]) for j in current[current >= 0].tolist())
