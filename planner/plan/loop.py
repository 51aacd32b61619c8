"""The refinement loop: solve the k-cover model on witnesses, check the exact area, add witnesses, re-solve.

Sections as in the OR-Tools samples: data (``prepare``), variables, constraints and objective (``cover_problem``),
solve, refine (``refine``).  Witnesses only in round one: a grid in each required zone plus its boundary and
corners; each later round adds witnesses inside the pieces the chosen cameras still leave uncovered.  Pieces no
k candidate poses can see are split off as infeasible (with their polygon) and leave the target.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner.coverage import MIN_GAP_WIDTH_M, clip_views, drop_slivers, k_covered, robust_overlay
from planner.errors import InputError
from planner.floor import Floor
from planner.geometry import polygon_parts, polygonal
from planner.plan.certificate import Outcome, Plan, certify, given_up_split, views_near
from planner.plan.exact import ExactCheck
from planner.plan.options import Clock, PlanOptions, emit
from planner.plan.prepare import Prepared, prepare
from planner.plan.witnesses import WitnessMatrix
from planner.setcover import CoverProblem, CoverResult, SolveOptions, Status, lexicographic_costs, solve
from planner.setcover.shortfall import fewest_short

ROUND_SHARE = 0.15  # of the time left: the solve of a round more witnesses may follow
ROUND_MIN_S = 1.5
BOUND_SHARE = 0.08  # of the limit: kept for the slack-free bound once the slack model has given witnesses up
# Of a slack round's budget, for the fewest given-up witnesses (the rest: the fewest cameras); less once the
# previous round's count was not proven (k = 2 on the design mall: never within a round; that time is better
# spent on more rounds).
PHASE1_SHARE = 0.6
PHASE1_UNPROVEN_SHARE = 0.35
# At least, for each phase: 0.2 s, and 0.4 µs an entry of the model, up to 1.2 s.  On the 2,000-segment re-aim
# mall (2.5 million entries) phase 1's setup (reading the model, completing the hint) takes ~0.65 s and a
# restricted solve ~0.5 s more, and phase 2 reads and reduces its model in ~1 s; given less, phase 1 only
# completed the previous cameras (390-418 units given up where a solve had proven 155 needed) and phase 2
# returned no cover.
PHASE_MIN_S = 1.2
PHASE_S_PER_ENTRY = 4e-7
CLOSE_PASSES = 4  # of the closing step: check, witnesses in what is open, cameras added
LOCAL_REPAIR_S = 2.0  # at most, for one local re-solve of the closing step
CLOSE_MAX_SHORT = 2_000  # witnesses short: more is not a tail (the closing step leaves it to the status)
CLOSE_MAX_ENTRIES = 300_000  # matrix entries of the local re-solve (the design mall's whole model: ~62,000)
CLOSE_BOUND_S = 1.0  # kept after the closing step for the slack-free bound (0.4 s on the design mall)


@dataclass
class Rounds:
    """State of the refinement loop: the best answer so far and the slack rows of the conflict model."""

    result: CoverResult | None = None
    selected: list[int] = field(default_factory=list)
    rounds: int = 0
    # With several poses per mount, witnesses can be jointly uncoverable (one pose per mount): rows only just
    # coverable (seen by exactly k mounts) get a slack column from the start; more if the solver proves the
    # model infeasible.  A slack costs more than any camera set, so it is used only when unavoidable.
    slack: bool = False
    slack_set: set[int] = field(default_factory=set)
    slack_rows: list[int] = field(default_factory=list)  # problem row of each slack column
    slack_cost: int = 0  # a slack column's folded cost (more than any camera set)
    given: tuple[int, bool] | None = None  # slack units the last phase 1 gave up, and whether proven fewest
    row_witness: list[int] = field(default_factory=list)  # the witness each problem row stands for
    row_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # problem row of each witness
    sacrificed: set[int] = field(default_factory=set)  # witnesses the slack model gave up
    conflict_pts: list[tuple[int, float, float]] = field(default_factory=list)
    # The best weighted bound any round proved without slack columns: every round's witnesses are a subset of the
    # final ones, so each such bound is a lower bound of the whole problem, kept even when a later round times out.
    bound: int = 0
    # `_distinct_rows` of the matrix at this many witnesses (the warm start and round one share it).
    rows_cache: DistinctRows | None = None
    # The last solve stopped at its round's cap without a proof; the next solve of the same rows gets all the time.
    capped: bool = False
    final: bool = False
    # The last two-phase solve and its phase 2 (fewest cameras) weighted bound: a bound for covering every row but
    # those that solve gave up, proven or not the fewest (the target once they are reported infeasible).
    rest_bound: tuple[CoverResult, int] | None = None
    complete: _Snapshot | None = None  # the latest answer the exact check found with nothing coverable unseen
    solve_s: float = float("inf")  # the fastest solve of the full camera model so far (seconds)


@dataclass
class _Snapshot:
    """An answer of the loop with what it gave up: its cameras, solve, given-up witnesses and the zones' marks."""

    selected: list[int]
    result: CoverResult | None
    rest_bound: tuple[CoverResult, int] | None
    given: tuple[int, bool] | None
    sacrificed: set[int]
    conflict_pts: list[tuple[int, float, float]]
    marks: list[tuple[BaseGeometry, BaseGeometry]]  # each zone's (infeasible, conflict)

    @classmethod
    def of(cls, prep: Prepared, state: Rounds) -> _Snapshot:
        """The state's answer now."""
        return cls(list(state.selected), state.result, state.rest_bound, state.given, set(state.sacrificed),
                   list(state.conflict_pts), [(zd.infeasible, zd.conflict) for zd in prep.zones])

    def restore(self, prep: Prepared, state: Rounds) -> None:
        """Make this the state's answer again."""
        state.selected, state.result, state.rest_bound, state.given = \
            list(self.selected), self.result, self.rest_bound, self.given
        state.sacrificed, state.conflict_pts = set(self.sacrificed), list(self.conflict_pts)
        for zd, (infeasible, conflict) in zip(prep.zones, self.marks, strict=True):
            zd.infeasible, zd.conflict = infeasible, conflict


def plan(floor: Floor, options: PlanOptions | None = None) -> Plan:
    """Plan the smallest set of cameras meeting every required zone of `floor`, with a certificate."""
    options = options or PlanOptions()
    clock = Clock.for_options(options)

    # Data: candidates (privacy first), zones, witnesses and their matrix, the objective.
    prep = prepare(floor, options, clock)
    state = Rounds(slack=bool(prep.candidates.groups))
    check = ExactCheck(prep)
    # Warm start: the best plan over the installed poses alone, as the hint of the freer model (re-aim, mixed).
    warm = _installed_only(prep, state, options, clock, _reserve(clock, check))
    state.selected = [] if warm is None else [j for j in warm.selected if j < len(prep.cols)]

    round_s = 0.0  # the last round's seconds (solve and refine)
    while True:
        state.rounds += 1
        round_start = time.perf_counter()
        # Time kept back for the certificate: the last exact check again (most zones come from its cache).
        reserve = _reserve(clock, check)
        if state.conflict_pts:
            # The slack model gave witnesses up: its bounds say nothing about the target, so the bound at the end
            # (over every witness but those) needs time of its own.
            reserve += BOUND_SHARE * clock.limit
        if state.rounds > 1 and (state.rounds > options.max_rounds or clock.out("solve", reserve=reserve + 0.05)):
            break
        if state.rounds > 1 and not state.final and state.given is not None and not state.given[1] and \
                clock.left() - reserve < 0.5 * round_s:
            # Less time than the last round took, and the plan cannot be proven (phase 1 unproven): a round now would
            # be cut short (its cameras unproven, its refinement unfinished); the closing step is cheaper.
            state.rounds -= 1
            break

        # Variables, constraints and objective: the k-cover model on the current witnesses.
        problem = cover_problem(prep, state, options)

        # Solve, warm-started from the previous round's cameras.  A round that new witnesses will follow gets a
        # share of the time (its proof would be thrown away); once no witness is added, the same model is solved
        # again with all the time left, from that answer.
        remaining = clock.left() - reserve
        budget = remaining if state.final else min(remaining, max(ROUND_MIN_S, ROUND_SHARE * remaining))
        if state.rounds == 1 and warm is not None and warm.objective is not None and \
                remaining < _read_floor(problem.columns):
            # Too little time left to even read and reduce the full model (a solve given 0.2 s took 10.5 s on the
            # 2,000-segment re-aim mall, 2.5 million entries): the cover over the installed poses is the answer.
            # (Against the time left, not the round's share: a round may overrun its share, never the limit.)
            clock.out("solve", reserve=clock.limit)
            _take(state, warm, len(prep.cols), prep.matrix)
            break
        slack_cost = problem.costs[len(prep.cols)] if state.slack_rows and problem.costs else None
        if state.slack_rows:
            attempt = _solve_lexicographic(problem, prep, state, options, budget, clock)
        else:
            attempt = solve(problem, _solve_options(options, budget, state.rounds, clock.start,
                                                    lambda b: _cameras(prep, state, options, b)))
            state.solve_s = min(state.solve_s, attempt.seconds)
        state.capped = budget < remaining - 1e-9 and attempt.status == Status.FEASIBLE
        state.final = False
        # With slack columns, a bound below one slack's cost still bounds every slack-free cover (the target).
        if attempt.status != Status.INFEASIBLE and (slack_cost is None or attempt.bound < slack_cost):
            state.bound = max(state.bound, int(attempt.bound))
        if attempt.status == Status.INFEASIBLE and _widen_slack(prep.matrix, state, attempt, remaining):
            state.rounds -= 1
            continue
        if attempt.objective is None and budget < remaining - 1e-9 and attempt.status != Status.CANCELLED \
                and not clock.out("solve", reserve=reserve + 0.05):
            # The round's share found no cover yet: the same model again, with all the time left.
            state.final = True
            state.rounds -= 1
            continue
        if attempt.objective is None:
            # Out of time (or cancelled) before a cover of the new witnesses: keep the previous round's answer,
            # or in round one the warm start's cover over the installed poses (same rows, same columns).
            clock.out("solve", reserve=clock.limit)
            if state.rounds == 1 and warm is not None and warm.objective is not None:
                _take(state, warm, len(prep.cols), prep.matrix)
            elif state.result is None or state.result.objective is None:
                # No cover at all yet: a plan that covers what a greedy choice can, so the user still gets one.
                _take(state, greedy_partial(problem), len(prep.cols), prep.matrix)
            break
        _take(state, attempt, len(prep.cols), prep.matrix)

        # Refine: witnesses inside every piece the chosen cameras leave uncovered.
        checked = len(check.run(state.selected, clock, reserve, workers=options.workers)) == len(prep.zones)
        new_rows, open_area = refine(prep, state, options, check, clock, reserve)
        if checked and open_area <= options.area_tolerance_m2:
            # Exactly checked: nothing coverable left unseen.  Kept in case later rounds end with gaps they cannot
            # close (a re-solve opens new ones where its cameras moved).
            state.complete = _Snapshot.of(prep, state)
        emit(options, phase="refine", round=state.rounds, uncovered_m2=open_area, new_witnesses=new_rows,
             objective=len(state.selected), needed_at_least=_cameras(prep, state, options, state.bound),
             seconds=clock.elapsed())
        round_s = time.perf_counter() - round_start
        if new_rows == 0:
            if state.capped and not clock.out("solve", reserve=reserve + 0.05):
                state.final = True
                continue
            break

    # Close the tail: what the last round left open gets witnesses and the fewest cameras added (or turned) to the
    # plan, without a re-solve, so a run cut short still ends with a full cover when the plan's mounts allow it.
    closed = close_gaps(prep, state, options, check, clock,
                        _reserve(clock, check) + (CLOSE_BOUND_S if state.conflict_pts else 0))
    if not closed and state.complete is not None and state.complete.selected != state.selected:
        # The last plan still leaves coverable area unseen: the latest one that saw all of it, with its given-up
        # witnesses and its own bound.
        state.complete.restore(prep, state)
    slack_bound = None
    if state.conflict_pts:
        slack_bound = max(_target_bound(prep, state, options), _rest_bound(prep, state, options))
        if state.result is None or state.result.status != Status.OPTIMAL:
            found = _bound_without(prep, state, options, clock, _reserve(clock, check))
            slack_bound = None if found is None else max(found, slack_bound)
    outcome = Outcome(state.result, state.selected, state.rounds, slack_bound, bool(state.conflict_pts), state.bound,
                      list(state.conflict_pts), set(state.sacrificed))
    return certify(floor, prep, outcome, options, clock, check)


def _solve_lexicographic(problem: CoverProblem, prep: Prepared, state: Rounds, options: PlanOptions,
                         budget: float, clock: Clock) -> CoverResult:
    """The slack model in two solves: the fewest witnesses given up (cameras free), then the fewest cameras (and
    changes) covering every other witness, from the first solve's cameras as a complete hint.

    One solve of the folded weights makes CP-SAT weigh slack against cameras with coefficients ~10⁴ apart; its
    bounds stay far from its covers (a 13 % gap after 60 s on the 500-segment design mall, 58 witnesses given
    up where 37 suffice). Apart, each is proven in seconds. The second solve's optimum is the minimum for the
    target the first one leaves (every witness but those given up); it is OPTIMAL only if both are.
    """
    n_cols = len(prep.cols)
    costs = list(problem.costs)
    n_slack = len(state.slack_rows)
    t0 = time.perf_counter()
    deadline = t0 + budget
    demand_of = list(problem.demand)
    floor = min(PHASE_MIN_S, 0.2 + PHASE_S_PER_ENTRY * sum(len(c) for c in problem.columns[:n_cols]))
    # Phase 1 again only if needed: new witnesses add rows, so the fewest given up never falls; when the previous
    # round's were proven fewest and the previous cameras, extended greedily, cover every other row, they still are.
    # (Unproven ones are not kept: as a hint they held CP-SAT at their count, 630 units at k = 2 where a solve
    # from the previous cameras alone gave up 340-600.)
    kept = {int(state.row_of[w]) for w in state.sacrificed if state.row_of[w] >= 0}
    first: CoverResult | None = None
    # The same rows again with all the time left (nothing new was open): an unproven count is kept unless phase 1,
    # solved once more, proves its own (solved again unproven, it gave up other witnesses and reopened 15-41 m² on
    # the design mall at k = 2, which the rounds left could not close; at k = 1 this is where it gets proven).
    kept_first: CoverResult | None = None
    if state.given is not None and (state.given[1] or state.final):
        rest = [0 if r in kept else d for r, d in enumerate(demand_of)]
        extended = greedy_partial(CoverProblem(n_rows=problem.n_rows, columns=problem.columns[:n_cols],
                                               costs=costs[:n_cols], demand=rest, forced=problem.forced,
                                               groups=problem.groups), start=state.selected)
        slack_units = [n_cols + q for q, r in enumerate(state.slack_rows) if r in kept]
        # (A proven count must be the same units; a kept unproven one is whatever the rows' units are.)
        if extended.status == Status.FEASIBLE and (len(slack_units) == state.given[0] or not state.given[1]):
            if state.given[1]:
                first = CoverResult(Status.OPTIMAL, len(slack_units), len(slack_units),
                                    extended.selected + slack_units, 0.0, "greedy")
            else:
                kept_first = CoverResult(Status.FEASIBLE, len(slack_units), 0, extended.selected + slack_units, 0.0,
                                         "greedy")
                if any(d >= 2 for d in demand_of):
                    # k ≥ 2: phase 1 was never proven in a round (sessions 5-8), so the time goes to the cameras.
                    first = kept_first
                # Else phase 1 once more (k = 1 proves it here); unless proven, its answer gives way to this one.
    if first is None:
        # Phase 1: fewest slack units; cameras cost nothing, so the previous cameras are a fine start.
        share = PHASE1_UNPROVEN_SHARE if state.given is not None and not state.given[1] else PHASE1_SHARE
        found = fewest_short(CoverProblem(n_rows=problem.n_rows, columns=problem.columns[:n_cols], demand=demand_of,
                                          forced=problem.forced, groups=problem.groups,
                                          hint=[j for j in problem.hint or [] if j < n_cols]),
                             _solve_options(options, min(max(floor, share * budget),
                                                         max(0.2, clock.left() - 0.5)), state.rounds, clock.start),
                             rows=kept)
        first = _with_slack_units(found, state, n_cols)
        if kept_first is not None and first.status not in (Status.OPTIMAL, Status.CANCELLED):
            first = kept_first
    if first.objective is None:
        return first
    state.given = (int(first.objective), first.status == Status.OPTIMAL)
    given_up = {state.slack_rows[j - n_cols] for j in first.selected if j >= n_cols}
    # The previous cameras, repaired greedily, are a complete hint; phase 1's are one too (with spares).
    hint = state.selected if given_up == kept and state.selected else [j for j in first.selected if j < n_cols]
    demand = [0 if r in given_up else d for r, d in enumerate(demand_of)]
    scale = prep.objective.camera_scale * max(1, options.costs.camera)
    second = solve(CoverProblem(n_rows=problem.n_rows, columns=problem.columns[:n_cols], costs=costs[:n_cols],
                                demand=demand, forced=problem.forced, groups=problem.groups, hint=hint),
                   _solve_options(options, min(max(floor, deadline - time.perf_counter()),
                                               max(0.2, clock.left() - 0.5)), state.rounds, clock.start,
                                  lambda b: b // scale))
    state.solve_s = min(state.solve_s, second.seconds)
    # The slack columns of the given-up rows, one per unit of demand (as the folded model would choose them).
    slack_cols = [n_cols + q for q, r in enumerate(state.slack_rows) if r in given_up]
    poses = second.selected if second.objective is not None else hint
    selected = sorted(poses) + slack_cols
    objective = sum(costs[j] for j in selected)
    proven = first.status == Status.OPTIMAL
    status = Status.OPTIMAL if proven and second.status == Status.OPTIMAL else (
        Status.CANCELLED if Status.CANCELLED in (first.status, second.status) else Status.FEASIBLE)
    # Folded: the fewest given-up units × a slack's cost, plus (once they are proven fewest) the second bound,
    # which `_target_bound` reads back out.
    slack_cost = costs[n_cols] if n_slack else 0
    bound = int(first.bound) * slack_cost
    if proven and second.objective is not None:
        bound += int(second.bound)
    out = CoverResult(status, objective, min(bound, objective), selected, time.perf_counter() - t0,
                      second.backend, lp_bound=second.lp_bound, reductions=second.reductions, parts=second.parts,
                      fixed_cost=second.fixed_cost)
    if second.status != Status.INFEASIBLE:
        state.rest_bound = (out, int(second.bound))
    return out


def _with_slack_units(found: CoverResult, state: Rounds, n_cols: int) -> CoverResult:
    """Phase 1's cameras with the slack columns of the demand they leave unmet (the first units of each row)."""
    if found.objective is None:
        return found
    short = Counter(found.uncoverable_rows)
    units = []
    for q, r in enumerate(state.slack_rows):
        if short[r] > 0:
            short[r] -= 1
            units.append(n_cols + q)
    return replace(found, selected=sorted(found.selected) + units)


def _target_bound(prep: Prepared, state: Rounds, options: PlanOptions) -> int:
    """Cameras needed for every witness but those the last slack solve gave up (0 unless their number was proven
    fewest): its folded bound less the given-up units' cost."""
    result = state.result
    if result is None or not state.slack_rows or result.objective is None:
        return 0
    n_cols = len(prep.cols)
    used = sum(1 for j in result.selected if j >= n_cols)
    slack_cost = state.slack_cost
    rest = int(result.bound) - used * slack_cost
    if rest < 0 or rest >= slack_cost:
        return 0
    return rest // (prep.objective.camera_scale * max(1, options.costs.camera))


def _rest_bound(prep: Prepared, state: Rounds, options: PlanOptions) -> int:
    """Cameras needed for every witness but those the kept answer gave up: its phase 2 bound (0 if none).

    Phase 2 of that solve covered exactly those rows, so its bound holds for that target whether or not phase 1
    proved the given-up witnesses fewest (the bound that `_target_bound` reads out of the folded one needs that).
    """
    if state.rest_bound is None or state.rest_bound[0] is not state.result or any(prep.objective.level_face):
        return 0
    return state.rest_bound[1] // (prep.objective.camera_scale * max(1, options.costs.camera))


def _installed_only(prep: Prepared, state: Rounds, options: PlanOptions, clock: Clock,
                    reserve: float) -> CoverResult | None:
    """The best cover over the installed poses alone, in the full model's columns (None in design/reduce-only).

    Rows no k installed poses can see are left out, so this always has a cover (one installed pose per mount:
    no group can conflict); its bound is not a bound of the freer model and is reported as 0.
    """
    changes = [p.change for p in prep.cols]
    if "keep" not in changes or all(c == "keep" for c in changes):
        return None
    full = cover_problem(prep, state, options)
    keep = [j for j, c in enumerate(changes) if c == "keep"]
    # Variables: the installed poses only.
    columns = [full.columns[j] for j in keep]
    # Every row k installed poses can see is seen by k of the chosen ones; the others are left to the freer model.
    counts = np.zeros(full.n_rows, dtype=np.int64)
    for rows in columns:
        counts[np.asarray(rows, dtype=np.int64)] += 1
    demand = [d if counts[r] >= d else 0 for r, d in enumerate(full.demand)]
    # Must-keep terminals stay.
    forced = [n for n, j in enumerate(keep) if j in set(full.forced)]
    # Objective: the full model's costs of those columns.
    costs = [full.costs[j] for j in keep]
    result = solve(CoverProblem(n_rows=full.n_rows, columns=columns, costs=costs, demand=demand, forced=forced),
                   _solve_options(options, 0.25 * (clock.left() - reserve), 0, clock.start))
    if result.objective is None:
        return None
    return CoverResult(Status.FEASIBLE, result.objective, 0, sorted(keep[n] for n in result.selected),
                       result.seconds, "installed poses")


def greedy_partial(problem: CoverProblem, start: list[int] | None = None) -> CoverResult:
    """A greedy choice (most unmet demand per cost, after the ``start`` columns) that respects locks and mount
    groups, leaving rows it can no longer meet; status UNKNOWN, or FEASIBLE when it is a full cover; bound 0."""
    n = problem.n_columns
    cols = [np.unique(np.asarray(c, dtype=np.int64)) for c in problem.columns]
    need = np.asarray(problem.demand if not isinstance(problem.demand, int) else [problem.demand] * problem.n_rows,
                      dtype=np.int64).copy()
    costs = np.ones(n) if problem.costs is None else np.asarray(problem.costs, dtype=float)
    blocked = np.zeros(n, dtype=bool)
    blocked[list(problem.forbidden)] = True
    group_of: dict[int, list[int]] = {j: list(g) for g in problem.groups for j in g}
    chosen: list[int] = []

    def take(j: int) -> None:
        chosen.append(j)
        blocked[j] = True
        blocked[group_of.get(j, [])] = True
        need[cols[j]] -= 1

    for j in [*problem.forced, *(start or [])]:
        if not blocked[j]:
            take(int(j))
    # Lazy greedy: a column's gain only falls as others are taken.
    heap = [(-len(cols[j]) / max(costs[j], 1e-9), j) for j in range(n) if not blocked[j] and len(cols[j])]
    heapq.heapify(heap)
    while heap:
        _, j = heapq.heappop(heap)
        if blocked[j]:
            continue
        gain = int(np.count_nonzero(need[cols[j]] > 0))
        if gain == 0:
            continue
        score = -gain / max(costs[j], 1e-9)
        if heap and score > heap[0][0]:
            heapq.heappush(heap, (score, j))
            continue
        take(j)
    status = Status.FEASIBLE if not np.any(need > 0) else Status.UNKNOWN
    return CoverResult(status, int(costs[chosen].sum()) if chosen else 0, 0, sorted(chosen), 0.0, "greedy",
                       uncoverable_rows=np.flatnonzero(need > 0).tolist())


def _cameras(prep: Prepared, state: Rounds, options: PlanOptions, weighted: int,
             slack_cost: int | None = None) -> int | None:
    """A weighted bound as "at least N cameras" (None where it says nothing: poses left unchecked, face levels)."""
    if prep.candidates.unchecked or any(prep.objective.level_face):
        return None
    if slack_cost is not None and weighted >= slack_cost:
        weighted = 0  # the bound may count given-up witnesses: only the rounds' earlier bounds hold
    return max(weighted, state.bound) // (prep.objective.camera_scale * max(1, options.costs.camera))


def _read_floor(columns: list) -> float:
    """Seconds a set-cover solve of a model with these columns needs before it can stop: reading, checking and
    reducing it: ~2 µs an entry (0.6-1.3 µs measured on the 2,000-segment re-aim mall's 2.5-million-entry models
    with the compiled reductions, solves given 0.2 s; ~5 µs before them)."""
    return 0.1 + 2e-6 * sum(len(c) for c in columns)


def _reserve(clock: Clock, check: ExactCheck) -> float:
    """Seconds to keep for the certificate: 1.5 × an exact check of every zone (20 % of the limit before one)."""
    estimate = check.estimate()
    if estimate is None:
        return 0.2 * clock.limit
    return min(0.4 * clock.limit, max(0.03 * clock.limit, 1.5 * estimate))


def cover_problem(prep: Prepared, state: Rounds, options: PlanOptions) -> CoverProblem:
    """The k-cover model of this round: columns, demands, groups, locks, costs and the previous cameras as hint."""
    m, n_cols = prep.matrix, len(prep.cols)
    # Rows: one per distinct (poses that see it, demand); a witness seen by exactly the same poses as another
    # adds nothing, and witnesses with demand 0 are left to the infeasibility analysis.
    if state.rows_cache is None or state.rows_cache.n_witnesses != len(m.wx):
        state.rows_cache = _distinct_rows(m, state.rows_cache)
    rows = state.rows_cache
    state.row_of, state.row_witness, row_columns = rows.row_of, rows.firsts, rows.columns
    row_of = state.row_of
    # Variables: one column per candidate pose, and with slack one column per unit of demand of each slack row.
    if state.slack:
        state.slack_set |= {i for i, d in enumerate(m.demand) if 0 < d and m.n_mounts[i] <= d}
    demand = [m.demand[w] for w in state.row_witness]
    # Once any row needs one, every row gets slack: the fewest given-up witnesses are found over all of them
    # (`_solve_lexicographic`), so the model is never infeasible and no round is spent proving that it is.
    needs = state.slack and any(row_of[i] >= 0 for i in state.slack_set)
    slack = [r for r, d in enumerate(demand) if d > 0] if needs else []
    state.slack_rows = [r for r in slack for _ in range(demand[r])]
    columns = row_columns + [[r] for r in state.slack_rows]
    # Every witness is seen by at least k chosen poses (k of its zone).
    # At most one pose per physical mount.
    groups = prep.candidates.groups
    # Must-keep terminals stay, at their installed pose.
    forced = prep.candidates.forced
    # Objective: fewest given-up witnesses (slack), then face terminals, then cameras, then changes.
    obj = prep.objective
    if state.slack_rows:
        n_slack = len(state.slack_rows)
        costs = lexicographic_costs([[0] * n_cols + [1] * n_slack, obj.level_face + [0] * n_slack,
                                     [options.costs.camera] * n_cols + [0] * n_slack, obj.level_change + [0] * n_slack])
        state.slack_cost = costs[n_cols]
    else:
        costs = obj.weights
    return CoverProblem(n_rows=len(demand), columns=columns, costs=costs, demand=demand, forced=forced,
                        groups=groups, hint=state.selected or None)


@dataclass
class DistinctRows:
    """The model's rows: witnesses seen by exactly the same poses, with the same demand, share one."""

    n_witnesses: int  # of the matrix these rows were read from
    row_of: np.ndarray  # problem row of each witness, or -1 (demand 0)
    firsts: list[int]  # first witness of each row (rows in order of it)
    columns: list[list[int]]  # each column's rows
    keys: dict[tuple[int, int, int, int], int]  # (demand, poses, two hash sums) of each row -> row
    poses: list[np.ndarray]  # each row's poses, sorted (to check a key match entry by entry)


def _row_keys(n_cols: int) -> np.ndarray:
    """Two fixed random 64-bit keys per pose (same input, same rows)."""
    return np.random.default_rng(20261202).integers(0, np.iinfo(np.int64).max, size=(2, max(1, n_cols)),
                                                    dtype=np.int64).astype(np.uint64)


def _hash_sums(seen_by: np.ndarray, bounds: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per witness (its poses ``seen_by[bounds[i]:bounds[i + 1]]``): the two sums of its poses' keys, mod 2^64."""
    with np.errstate(over="ignore"):
        sums = [np.r_[np.uint64(0), np.cumsum(keys[h][seen_by], dtype=np.uint64)] for h in range(2)]
        h1, h2 = (s[bounds[1:]] - s[bounds[:-1]] for s in sums)
    return h1, h2


def _distinct_rows(m: WitnessMatrix, previous: DistinctRows | None = None) -> DistinctRows:
    """The distinct rows of the matrix; from ``previous`` (rows of its first witnesses) only the new ones are read.

    A witness seen by exactly the same poses as an earlier one, with the same demand, shares its row.  Witnesses
    are grouped by (demand, how many poses see it, two 64-bit sums of per-pose random keys), and every group is
    then checked entry by entry, so the rows are exact; rows are numbered in order of their first witness.
    Witnesses only ever get added and keep their poses, so the rows of earlier ones stay as they were (a full
    read took ~1 s a round on the 2,000-segment re-aim mall's 270,000 witnesses).
    """
    if previous is not None and previous.n_witnesses <= len(m.wx):
        grown = _grown_rows(m, previous)
        if grown is not None:
            return grown
    n_w, n_cols = len(m.wx), len(m.columns)
    col_of, wit = m.pairs()
    order = np.lexsort((col_of, wit))
    seen_by, wit_sorted = col_of[order], wit[order]
    bounds = np.searchsorted(wit_sorted, np.arange(n_w + 1))
    lens = np.diff(bounds)
    demand = np.asarray(m.demand, dtype=np.int64)
    keys = _row_keys(n_cols)
    h1, h2 = _hash_sums(seen_by, bounds, keys)
    live = np.flatnonzero(demand > 0)
    by_key = live[np.lexsort((live, h2[live], h1[live], lens[live], demand[live]))]
    same = np.zeros(len(by_key), dtype=bool)
    if len(by_key) > 1:
        a, b = by_key[1:], by_key[:-1]
        same[1:] = (demand[a] == demand[b]) & (lens[a] == lens[b]) & (h1[a] == h1[b]) & (h2[a] == h2[b])
    group = np.cumsum(~same) - 1
    leader_of_group = by_key[~same]
    leader = leader_of_group[group]  # the first (smallest) witness of each one's group
    # Exact check of every grouped witness against its group's first: equal pose lists, entry by entry.
    f, lead = by_key[same], leader[same]
    if len(f):
        n = lens[f]
        offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        if not np.array_equal(seen_by[np.repeat(bounds[f], n) + offset], seen_by[np.repeat(bounds[lead], n) + offset]):
            return _distinct_rows_exact(m, seen_by, bounds, demand)
    first = np.sort(leader_of_group)
    row_of = np.full(n_w, -1, dtype=np.int64)
    row_of[by_key] = np.searchsorted(first, leader)
    # Each column's rows: the columns seeing each row's first witness (the others' are the same).
    is_first = np.zeros(n_w, dtype=bool)
    is_first[first] = True
    mask = is_first[wit_sorted]
    cols, rows = seen_by[mask], row_of[wit_sorted[mask]]
    o = np.lexsort((rows, cols))
    cols, rows = cols[o], rows[o]
    cuts = np.searchsorted(cols, np.arange(n_cols + 1))
    row_columns = [rows[cuts[j]:cuts[j + 1]].tolist() for j in range(n_cols)]
    row_keys = dict(zip(zip(demand[first].tolist(), lens[first].tolist(), h1[first].tolist(), h2[first].tolist(),
                            strict=True), range(len(first)), strict=True))
    poses = [seen_by[bounds[w]:bounds[w + 1]] for w in first.tolist()]
    return DistinctRows(n_w, row_of, first.tolist(), row_columns, row_keys, poses)


def _grown_rows(m: WitnessMatrix, previous: DistinctRows) -> DistinctRows | None:
    """``previous`` with the witnesses added since: each joins the row of the same poses, or starts one (None when
    two different pose sets share a key: the full read sorts that out)."""
    n0, n_w, n_cols = previous.n_witnesses, len(m.wx), len(m.columns)
    if previous.firsts and not previous.keys:
        return None  # read one witness at a time: no keys to join
    col_of, wit = m.pairs()
    new = wit >= n0
    order = np.lexsort((col_of[new], wit[new]))
    seen_by, wit_sorted = col_of[new][order], wit[new][order]
    bounds = np.searchsorted(wit_sorted, np.arange(n0, n_w + 1))
    demand = np.asarray(m.demand[n0:], dtype=np.int64)
    lens = np.diff(bounds)
    h1, h2 = _hash_sums(seen_by, bounds, _row_keys(n_cols))
    keys, poses, firsts = dict(previous.keys), list(previous.poses), list(previous.firsts)
    row_of = np.full(n_w - n0, -1, dtype=np.int64)
    n_old = len(firsts)
    for i in np.flatnonzero(demand > 0).tolist():
        key = (int(demand[i]), int(lens[i]), int(h1[i]), int(h2[i]))
        mine = seen_by[bounds[i]:bounds[i + 1]]
        r = keys.setdefault(key, len(firsts))
        if r == len(firsts):
            firsts.append(n0 + i)
            poses.append(mine)
        elif not np.array_equal(poses[r], mine):
            return None
        row_of[i] = r
    columns = list(previous.columns)
    if len(firsts) > n_old:
        # The new rows' columns: appended, in row order, so every column's rows stay sorted.
        cols = np.concatenate(poses[n_old:])
        rows = np.repeat(np.arange(n_old, len(firsts)), [len(p) for p in poses[n_old:]])
        o = np.lexsort((rows, cols))
        cols, rows = cols[o], rows[o]
        cuts = np.searchsorted(cols, np.arange(n_cols + 1))
        for j in np.flatnonzero(np.diff(cuts)).tolist():
            columns[j] = columns[j] + rows[cuts[j]:cuts[j + 1]].tolist()
    return DistinctRows(n_w, np.concatenate([previous.row_of, row_of]), firsts, columns, keys, poses)


def _distinct_rows_exact(m: WitnessMatrix, seen_by: np.ndarray, bounds: np.ndarray,
                         demand: np.ndarray) -> DistinctRows:
    """`_distinct_rows` by byte keys, one witness at a time (only when two different pose sets share a key)."""
    n_w, n_cols = len(m.wx), len(m.columns)
    col_of, wit = m.pairs()
    row_of = np.full(n_w, -1, dtype=np.int64)
    first: dict[bytes, int] = {}
    witness_of: list[int] = []
    seen32 = seen_by.astype(np.int32)
    for i in np.flatnonzero(demand > 0).tolist():
        key = int(demand[i]).to_bytes(4, "little") + seen32[bounds[i]:bounds[i + 1]].tobytes()
        r = first.setdefault(key, len(witness_of))
        if r == len(witness_of):
            witness_of.append(i)
        row_of[i] = r
    rows = row_of[wit]
    keep = rows >= 0
    pairs = np.unique(col_of[keep] * max(1, len(witness_of)) + rows[keep])
    pair_col, pair_row = np.divmod(pairs, max(1, len(witness_of)))
    cuts = np.searchsorted(pair_col, np.arange(n_cols + 1))
    row_columns = [pair_row[cuts[j]:cuts[j + 1]].tolist() for j in range(n_cols)]
    # No keys: a later read starts afresh (`_grown_rows` finds no row to join and the full read runs again).
    return DistinctRows(n_w, row_of, witness_of, row_columns, {}, [])


def _solve_options(options: PlanOptions, remaining: float, round_no: int, start: float,
                   bound_of: Callable[[int], int | None] | None = None) -> SolveOptions:
    """The set-cover solver's options for one round (time left, workers, progress events).

    ``bound_of`` turns the solver's weighted bound into "at least N cameras" for the events (None: no valid one).
    """

    def report(incumbent: int | None, bound: int, seconds: float) -> None:
        at_least = None if bound_of is None else bound_of(bound)
        emit(options, phase="solve", round=round_no, weighted_objective=incumbent, weighted_bound=bound,
             needed_at_least=at_least, seconds=time.perf_counter() - start)

    return SolveOptions(time_limit=max(0.2, remaining), workers=options.workers, seed=options.seed,
                        backend=options.backend, deterministic=options.deterministic, cancel=options.cancel,
                        progress=report)


def _widen_slack(m: WitnessMatrix, state: Rounds, attempt: CoverResult, remaining: float) -> bool:
    """After an infeasible model, give slack to the rows that cause it; False when nothing is left to widen."""
    # Slack first for the rows only just coverable (seen by exactly k mounts) and those the solver names as the
    # cause; if that is not enough, for every row.
    named = {state.row_witness[r] for r in attempt.uncoverable_rows if r < len(state.row_witness)} | {
        i for i, d in enumerate(m.demand) if 0 < d and m.n_mounts[i] <= d}
    named -= state.slack_set
    if not named:
        named = {i for i, d in enumerate(m.demand) if d > 0} - state.slack_set
    if not named or remaining <= 0.3:
        return False
    state.slack = True
    state.slack_set |= named
    return True


def _take(state: Rounds, attempt: CoverResult, n_cols: int, m: WitnessMatrix) -> None:
    """Keep a round's answer: the chosen cameras, and the witnesses its slack columns gave up."""
    state.result = attempt
    state.selected = [j for j in attempt.selected if j < n_cols]
    rows_given_up = {state.slack_rows[j - n_cols] for j in attempt.selected if j >= n_cols}
    given_up = [int(i) for i in np.flatnonzero(np.isin(state.row_of, list(rows_given_up)))] if rows_given_up else []
    state.conflict_pts = [(m.wzone[i], m.wx[i], m.wy[i]) for i in given_up]
    state.sacrificed = set(given_up)


def refine(prep: Prepared, state: Rounds, options: PlanOptions, check: ExactCheck, clock: Clock,
           reserve: float) -> tuple[int, float]:
    """Exact check of every zone's target (zone minus proven-infeasible parts); returns (new witnesses, m² open).

    Stops adding witnesses when only ``reserve`` s are left (the certificate finishes the check).
    """
    todo: list[tuple[int, BaseGeometry]] = []
    open_area = 0.0
    left = check.run(state.selected, clock, reserve, workers=options.workers)
    for zi, zd in enumerate(prep.zones):
        if zi not in left:
            break
        open_part = drop_slivers(polygonal(robust_overlay("difference", left[zi], zd.infeasible))) \
            if not zd.infeasible.is_empty and not left[zi].is_empty else left[zi]
        given, rest = given_up_split(prep, zi, open_part, state.conflict_pts,
                                     time.perf_counter() + clock.left() - reserve)
        if given:
            # Left uncovered on purpose by the slack model: part of the unavoidable conflict.  Marked whatever the
            # clock says (past the time left, whole pieces): a refinement cut short must not count them as open.
            zd.conflict = polygonal(shapely.union_all([zd.conflict, *given]))
            zd.infeasible = polygonal(shapely.union_all([zd.infeasible, *given]))
        for piece in rest:
            if piece.area <= options.area_tolerance_m2 * 1e-3:
                continue
            open_area += piece.area
            if not clock.out("refine", reserve=reserve):
                todo.append((zi, piece))
    return _refine_pieces(prep, todo, state.selected, options, clock, reserve), open_area


def _witness_points(piece: BaseGeometry, options: PlanOptions) -> list[tuple[float, float]]:
    """One point well inside each part of the piece (opened first: zero-width spikes left by the overlay
    would otherwise attract the representative point onto a covered edge)."""
    opened = polygonal(piece.buffer(-MIN_GAP_WIDTH_M / 2).buffer(MIN_GAP_WIDTH_M / 2))
    out: list[tuple[float, float]] = []
    for part in polygon_parts(opened):
        if part.area <= options.area_tolerance_m2 * 1e-3:
            continue
        rp = part.representative_point()
        out.append((rp.x, rp.y))
        c = part.centroid
        if part.contains(c):
            out.append((c.x, c.y))
    return out


def _extra_points(piece: BaseGeometry, options: PlanOptions, per_part: int = 4) -> list[tuple[float, float]]:
    """A few more points per part, pulled from its vertices halfway towards its representative point."""
    out: list[tuple[float, float]] = []
    for part in polygon_parts(piece):
        if part.area <= options.area_tolerance_m2 or not isinstance(part, shapely.Polygon):
            continue
        rp = part.representative_point()
        ring = np.asarray(part.exterior.coords)[:-1]
        step = max(1, len(ring) // per_part)
        for vx, vy in ring[::step][:per_part]:
            x, y = 0.5 * (vx + rp.x), 0.5 * (vy + rp.y)
            if part.contains(shapely.Point(x, y)):
                out.append((x, y))
    return out


class _Seen:
    """How many chosen cameras see a point at a zone's tier (one STRtree of the chosen views per tier)."""

    def __init__(self, prep: Prepared, selected: list[int]) -> None:
        self.prep, self.selected = prep, selected
        self._trees: dict[str, tuple[list[BaseGeometry], shapely.STRtree]] = {}

    def __call__(self, zi: int, x: float, y: float) -> int:
        tier = self.prep.zones[zi].zone.tier
        if tier not in self._trees:
            views = [self.prep.engine.view(self.prep.cols[j], tier) for j in self.selected]
            self._trees[tier] = (views, shapely.STRtree(views))
        views, tree = self._trees[tier]
        if not views:
            return 0
        return sum(1 for i in tree.query(shapely.Point(x, y)) if shapely.contains_xy(views[i], x, y))


def _refine_pieces(prep: Prepared, todo: list[tuple[int, BaseGeometry]], selected: list[int],
                   options: PlanOptions, clock: Clock, reserve: float) -> int:
    """Witnesses inside the uncovered pieces, added to the live matrix in two batches; returns how many count.

    A piece whose first witness fewer than k mounts can see is split: its part no k candidates can cover is
    reported infeasible, and a witness goes into the rest.
    """
    m = prep.matrix
    seen = _Seen(prep, selected)
    first: list[tuple[int, BaseGeometry, float, float]] = []
    for zi, piece in todo:
        for x, y in _witness_points(piece, options):
            # A point already seen k times by the selection is round-off, not a gap: try the next one.
            if seen(zi, x, y) < prep.zones[zi].k:
                first.append((zi, piece, x, y))
                break
    if not first:
        return 0
    rows = m.add_witnesses(np.array([f[0] for f in first]), np.array([f[2] for f in first]),
                           np.array([f[3] for f in first]))
    counted = 0
    more: list[tuple[int, float, float]] = []
    for (zi, piece, _x, _y), row in zip(first, rows, strict=True):
        if m.demand[row] > 0:
            counted += 1
            # More cuts per round (fewer re-solves): points spread over the piece, if the selection misses them.
            more.extend((zi, px, py) for px, py in _extra_points(piece, options) if seen(zi, px, py) < prep.zones[zi].k)
        elif not clock.out("refine", reserve=reserve):
            coverable = _split_infeasible(prep, zi, piece, options)
            more.extend((zi, x, y) for x, y in _witness_points(coverable, options)[:1])
    if more:
        m.add_witnesses(np.array([z for z, _, _ in more]), np.array([x for _, x, _ in more]),
                        np.array([y for _, _, y in more]))
    return counted + len(more)


def _split_infeasible(prep: Prepared, zi: int, piece: BaseGeometry, options: PlanOptions) -> BaseGeometry:
    """Report the part of the piece no k candidate poses can see as infeasible; return the coverable rest."""
    zd = prep.zones[zi]
    # The witness cannot be seen by k mounts: compute exactly which part of the piece no candidates can cover.
    mount_views: dict[str, list[BaseGeometry]] = {}
    near = views_near(prep, zd.zone.tier, piece)
    for (j, _), v in zip(near, clip_views(piece, [v for _, v in near]), strict=True):
        if not v.is_empty:
            mount_views.setdefault(prep.cols[j].mount, []).append(v)
    unions = [shapely.union_all(vs) if len(vs) > 1 else vs[0] for vs in mount_views.values()]
    coverable = drop_slivers(k_covered(piece, unions, zd.k))
    dead = drop_slivers(polygonal(robust_overlay("difference", piece, coverable))) if not coverable.is_empty \
        else piece
    if dead.area > options.area_tolerance_m2 * 1e-3:
        zd.infeasible = polygonal(shapely.union_all([zd.infeasible, dead])) if not zd.infeasible.is_empty else dead
    return coverable


def _bound_without(prep: Prepared, state: Rounds, options: PlanOptions, clock: Clock, reserve: float) -> int | None:
    """Lower bound on the camera count for covering every witness except those the slack model gave up
    (the target once the reported infeasible area is excluded): LP bound, unicost, same locks and groups."""
    m = prep.matrix
    # Only witnesses the plan sees k times: they lie in its target whatever it gave up (a given-up witness, or one
    # added after the plan in the area it gave up, is not seen; the plan may be an earlier round's).
    pose_of, wit = m.pairs()
    chosen = np.zeros(len(prep.cols), dtype=bool)
    chosen[state.selected] = True
    seen = np.bincount(wit[chosen[pose_of]].astype(np.int64), minlength=len(m.wx))
    if state.rows_cache is not None:
        # The last model's distinct rows (a subset of the witnesses, so still a bound; a row given up is given
        # up with every witness it stands for).
        firsts, columns = state.rows_cache.firsts, state.rows_cache.columns
        demand = [0 if w in state.sacrificed or seen[w] < m.demand[w] else m.demand[w] for w in firsts]
    else:
        columns = m.columns
        demand = [0 if i in state.sacrificed or seen[i] < d else d for i, d in enumerate(m.demand)]
    if clock.left() - reserve < min(_read_floor(columns), state.solve_s):
        # Not the time to read the model (5.4 s for a 0.9 s limit on the 2,000-segment re-aim mall, 63.4 s for 60):
        # the bounds at hand stand.  (The round's fastest solve of the full model, if quicker, is the estimate.)
        return 0
    limit = max(0.1, min(10.0, clock.left() - reserve))
    try:
        res = solve(CoverProblem(n_rows=len(demand), columns=columns, demand=demand, forced=prep.candidates.forced,
                                 groups=prep.candidates.groups),
                    SolveOptions(time_limit=limit, backend="greedy", seed=options.seed))
    except InputError:
        return None
    if res.status == Status.INFEASIBLE:
        return None
    return int(res.bound)


def close_gaps(prep: Prepared, state: Rounds, options: PlanOptions, check: ExactCheck, clock: Clock,
               reserve: float) -> bool:
    """After the last round: witnesses in the pieces still open, and cameras added to the plan (at free mounts, or
    a chosen pose turned at its mount where nothing it sees falls short) until they are seen; True once the exact
    check finds nothing coverable unseen.

    The given-up witnesses stay given up and the solver's bound stays the bound (new witnesses only add rows); new
    witnesses a proven local re-solve cannot see without leaving others short are given up too.  A plan changed
    here is FEASIBLE at best.  Stops ``reserve`` s before the limit (the certificate re-checks).
    """
    if state.result is None or state.result.objective is None or state.result.backend == "installed poses":
        # (No cover, or the installed poses' cover kept because the model could not be read in the time: not a tail.)
        return 0
    n_cols = len(prep.cols)
    changes = gave = 0
    complete = False
    for _ in range(CLOSE_PASSES):
        if clock.left() <= reserve:
            break
        left = check.run(state.selected, clock, reserve, phase="close", workers=options.workers)
        if len(left) < len(prep.zones):
            break
        todo: list[tuple[int, BaseGeometry]] = []
        for zi, zd in enumerate(prep.zones):
            open_part = drop_slivers(polygonal(robust_overlay("difference", left[zi], zd.infeasible))) \
                if not zd.infeasible.is_empty and not left[zi].is_empty else left[zi]
            if open_part.is_empty:
                continue
            given, rest = given_up_split(prep, zi, open_part, state.conflict_pts,
                                         time.perf_counter() + clock.left() - reserve)
            if given:
                zd.conflict = polygonal(shapely.union_all([zd.conflict, *given]))
                zd.infeasible = polygonal(shapely.union_all([zd.infeasible, *given]))
            todo.extend((zi, piece) for piece in rest if piece.area > options.area_tolerance_m2 * 1e-3)
        if sum(piece.area for _, piece in todo) <= options.area_tolerance_m2:
            complete = True
            break
        if todo:
            _refine_pieces(prep, todo, state.selected, options, clock, reserve)
        moved = repair_cover(prep, state, time.perf_counter() + clock.left() - reserve)
        unavoidable: list[int] = []
        if not moved:
            moved, unavoidable = local_repair(prep, state, options, min(LOCAL_REPAIR_S, clock.left() - reserve))
        if unavoidable:
            # Short only because each mount takes one pose (no free mount sees them and no turn spares them,
            # proven for the mounts around them): given up, as phase 1 gives up its witnesses.  They are new
            # rows, so the last solve's bound still holds for every other one; the next pass splits their pieces.
            give_up(prep, state, unavoidable)
            changes += moved
            gave += len(unavoidable)
            continue
        if not moved:
            break
        changes += moved
    if changes or gave:
        old = state.result
        slack_cols = [j for j in old.selected if j >= n_cols]
        weights = prep.objective.weights
        objective = int(old.objective) + sum(weights[j] for j in state.selected) - \
            sum(weights[j] for j in old.selected if j < n_cols)
        fixed = CoverResult(Status.FEASIBLE, objective, min(int(old.bound), objective),
                            sorted(state.selected) + slack_cols, old.seconds, old.backend, lp_bound=old.lp_bound,
                            reductions=old.reductions, parts=old.parts, fixed_cost=old.fixed_cost)
        if state.rest_bound is not None and state.rest_bound[0] is old:
            state.rest_bound = (fixed, state.rest_bound[1])
        state.result = fixed
        emit(options, phase="close", changes=changes, given_up=gave, objective=len(state.selected),
             seconds=clock.elapsed())
    return complete


def _shortfall(prep: Prepared, state: Rounds) -> tuple[np.ndarray, ...] | None:
    """Where the chosen poses fall short: (demand, pose and witness of every pair, chosen mask, times seen, short
    mask), the given-up witnesses demanding nothing; None when nothing is short or more than CLOSE_MAX_SHORT are."""
    m = prep.matrix
    n_w = len(m.wx)
    need = np.asarray(m.demand, dtype=np.int64).copy()
    if state.sacrificed:
        need[[i for i in state.sacrificed if i < n_w]] = 0
    pose_of, wit = (a.astype(np.int64) for a in m.pairs())
    chosen = np.zeros(len(prep.cols), dtype=bool)
    chosen[state.selected] = True
    seen = np.bincount(wit[chosen[pose_of]], minlength=n_w)
    short = seen < need
    if not short.any() or np.count_nonzero(short) > CLOSE_MAX_SHORT:
        return None
    return need, pose_of, wit, chosen, seen, short


def repair_cover(prep: Prepared, state: Rounds, until: float | None = None) -> int:
    """Make the chosen poses see every witness k times (but those given up), greedily: a chosen pose turned at its
    mount (nothing it sees falls below its demand) or a pose at a free mount, the one seeing most that are
    short first; returns the poses turned or added.  Witnesses no such move reaches (or past ``until``,
    ``time.perf_counter()`` seconds) stay short."""
    shortfall = _shortfall(prep, state)
    if shortfall is None:
        return 0
    m, cols = prep.matrix, prep.cols
    need, pose_of, wit, chosen, seen, short = shortfall
    sees = [np.asarray(c, dtype=np.int64) for c in m.columns]
    mount_of: dict[str, list[int]] = {}
    for j, c in enumerate(cols):
        mount_of.setdefault(c.mount, []).append(j)
    at_mount = {c.mount: j for j, c in enumerate(cols) if chosen[j]}
    forced = set(prep.candidates.forced)
    moves = 0
    while short.any() and (until is None or time.perf_counter() < until):
        # Poses that see a short witness, with how many they see.
        mask = short[wit]
        gain = np.bincount(pose_of[mask], minlength=len(cols))
        best: tuple[int, int, int] | None = None
        for j in np.flatnonzero(gain > 0).tolist():
            if chosen[j]:
                continue
            q = at_mount.get(cols[j].mount)
            cost = 0 if q is not None else 1
            if q is not None:
                if q in forced:
                    continue
                # Turning q to j: every witness q sees and j does not must keep its demand without q.
                lost = np.setdiff1d(sees[q], sees[j], assume_unique=False)
                if np.any(seen[lost] - 1 < need[lost]):
                    continue
            key = (-cost, int(gain[j]), -j)  # a turn (no camera more) before an added camera
            if best is None or key > best:
                best = key
        if best is None:
            break
        j = -best[2]
        q = at_mount.get(cols[j].mount)
        if q is not None:
            chosen[q] = False
            seen[sees[q]] -= 1
        chosen[j] = True
        seen[sees[j]] += 1
        at_mount[cols[j].mount] = j
        short = seen < need
        moves += 1
    state.selected = np.flatnonzero(chosen).tolist()
    return moves


def give_up(prep: Prepared, state: Rounds, witnesses: list[int]) -> None:
    """Report these witnesses given up with the slack model's (their count is then not proven fewest)."""
    m = prep.matrix
    fresh = [w for w in witnesses if w not in state.sacrificed]
    state.sacrificed.update(fresh)
    state.conflict_pts.extend((m.wzone[w], m.wx[w], m.wy[w]) for w in fresh)
    if state.given is not None:
        state.given = (state.given[0] + len(fresh), False)


def local_repair(prep: Prepared, state: Rounds, options: PlanOptions, seconds: float) -> tuple[int, list[int]]:
    """The poses at the mounts near the short witnesses solved again, every other chosen pose fixed: fewest
    witnesses short, then fewest poses moved, then the plan's weights; returns the poses changed (0: none helps)
    and, when that local solve is proven optimal, the witnesses still short (no choice of those mounts sees them
    without leaving another short).

    Near: the mounts that see a short witness, and the mounts that see what any pose of those mounts sees (so a
    turned pose's witnesses can be seen from elsewhere, and a pose made redundant dropped).  Every witness those
    mounts see keeps its demand.  Moves come before cameras: each pose turned or added leaves its old view to be
    checked again, and every one of them may open a new gap.
    """
    if seconds < 0.2:
        return 0, []
    shortfall = _shortfall(prep, state)
    if shortfall is None:
        return 0, []
    m, cols = prep.matrix, prep.cols
    n_w = len(m.wx)
    need, pose_of, wit, chosen, seen, short = shortfall
    mount_ids = {c.mount: g for g, c in enumerate({c.mount: c for c in cols}.values())}
    mount = np.array([mount_ids[c.mount] for c in cols], dtype=np.int64)
    forced_mounts = {int(mount[j]) for j in prep.candidates.forced}
    near = np.zeros(len(mount_ids), dtype=bool)
    near[mount[pose_of[short[wit]]]] = True
    # Second ring: the mounts seeing what any pose of the near mounts sees.
    theirs = np.zeros(n_w, dtype=bool)
    theirs[wit[near[mount[pose_of]]]] = True
    near[mount[pose_of[theirs[wit]]]] = True
    near[list(forced_mounts)] = False
    free = near[mount]  # poses whose choice is open again
    fixed_seen = np.bincount(wit[chosen[pose_of] & ~free[pose_of]], minlength=n_w)
    residual = np.maximum(need - fixed_seen, 0)
    # Rows: the witnesses the open poses see that still need them.
    reach = np.zeros(n_w, dtype=bool)
    reach[wit[free[pose_of]]] = True
    rows = np.flatnonzero(reach & (residual > 0))
    if not len(rows):
        return 0, []
    row_of = np.full(n_w, -1, dtype=np.int64)
    row_of[rows] = np.arange(len(rows))
    open_poses = np.flatnonzero(free)
    local = {int(j): n for n, j in enumerate(open_poses)}
    keep = free[pose_of] & (row_of[wit] >= 0)
    if np.count_nonzero(keep) > CLOSE_MAX_ENTRIES:
        return 0, []  # not a tail: a re-solve of most of the floor
    columns: list[list[int]] = [[] for _ in open_poses]
    for j, w in zip(pose_of[keep].tolist(), wit[keep].tolist(), strict=True):
        columns[local[j]].append(int(row_of[w]))
    # Objective: fewest witness units left short, then the fewest poses moved (each pose not chosen now: every
    # one turned or added leaves its old view to check again, and may open new gaps), then the plan's weights.
    weights = prep.objective.weights
    n_open = len(open_poses)
    n_slack = int(sum(int(residual[w]) for w in rows.tolist() if short[w]))
    moved_level = [0 if chosen[j] else 1 for j in open_poses] + [0] * n_slack
    costs = lexicographic_costs([[0] * n_open + [1] * n_slack, moved_level,
                                 [int(weights[j]) for j in open_poses] + [0] * n_slack])
    # (Every other row is met by the chosen poses already.)
    for r, w in enumerate(rows.tolist()):
        for _ in range(int(residual[w]) if short[w] else 0):
            columns.append([r])
    groups: dict[int, list[int]] = {}
    for n, j in enumerate(open_poses.tolist()):
        groups.setdefault(int(mount[j]), []).append(n)
    hint = [local[int(j)] for j in np.flatnonzero(chosen & free)]
    hint_seen = np.bincount([r for n in hint for r in columns[n]], minlength=len(rows))
    slack_of: dict[int, list[int]] = {}
    for n in range(len(open_poses), len(columns)):
        slack_of.setdefault(columns[n][0], []).append(n)
    for r, units in slack_of.items():
        hint.extend(units[:max(0, int(residual[rows[r]]) - int(hint_seen[r]))])
    res = solve(CoverProblem(n_rows=len(rows), columns=columns, costs=costs, demand=residual[rows].tolist(),
                             groups=[g for g in groups.values() if len(g) > 1], hint=hint),
                SolveOptions(time_limit=max(0.2, seconds), workers=options.workers, seed=options.seed,
                             deterministic=options.deterministic, cancel=options.cancel))
    if res.objective is None:
        return 0, []
    picked = [int(open_poses[n]) for n in res.selected if n < len(open_poses)]
    after = chosen & ~free
    after[picked] = True
    seen_after = np.bincount(wit[after[pose_of]], minlength=n_w)
    proven = res.status == Status.OPTIMAL
    if np.count_nonzero(seen_after < need) >= np.count_nonzero(short):
        # No better than the plan.  Proven, with as few units short as the plan: the plan's short witnesses are
        # unavoidable around it as it is.
        units = np.maximum(need - seen, 0).sum() == np.maximum(need - seen_after, 0).sum()
        return 0, np.flatnonzero(short).tolist() if proven and units else []
    moved = int(np.count_nonzero(after != chosen))
    state.selected = np.flatnonzero(after).tolist()
    return moved, np.flatnonzero(seen_after < need).tolist() if proven else []
