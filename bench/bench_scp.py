"""OR-Library set-cover benchmark: our solver next to greedy, SCIP, plain HiGHS, CP-SAT defaults and our MIP back end.

One command runs everything and writes CSV results, a Markdown summary and plots:

    .venv/bin/python -m bench.bench_scp all --time-limit 60 --unicost-time-limit 10

Baselines (``greedy``, ``scip``, ``highs``) come from ``bench.baselines`` and get the same instance and limit.
``--stop-at-reference`` ends a run of ours as soon as its incumbent reaches the best-known value and records
that moment (``time_to_reference``): the value a full-length run returns is never worse, so this measures
"best known within the limit" without waiting out the limit.

Sub-commands: ``weighted`` (4.x, 5.x, 6.x, A–E: optimum must be reached with status OPTIMAL; NRE–NRH against
best-known values), ``unicost``
(4.x–E, NRE–NRH, CYC/CLR: objective, bound and gap against the best-known values), ``report`` (tables and
plots from existing CSVs), ``all`` (the three in turn). Rows are appended as they finish, so an interrupted
run resumes where it stopped. Data: ``--data`` or ``$SIGHTLINE_ORLIB`` (default ``../shared/benchmarks/orlib-scp``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench import baselines
from planner.research.orlib import OrlibInstance, read_orlib_scp
from planner.setcover import CoverResult, SolveOptions, solve

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "orlib-scp"
RESULTS = ROOT / "bench" / "results"
IMAGES = ROOT / "docs" / "img"

WEIGHTED = (
    [f"scp4{i}" for i in range(1, 11)]
    + [f"scp5{i}" for i in range(1, 11)]
    + [f"scp6{i}" for i in range(1, 6)]
)
WEIGHTED += [f"scp{c}{i}" for c in "abcde" for i in range(1, 6)]
# NRE–NRH with their costs: best-known references only (not proven optima).
WEIGHTED += [f"scpnr{c}{i}" for c in "efgh" for i in range(1, 6)]
UNICOST = WEIGHTED[:25] + [f"scp{c}{i}" for c in "abcde" for i in range(1, 6)]
UNICOST += [f"scpnr{c}{i}" for c in "efgh" for i in range(1, 6)]
UNICOST += [f"scpcyc{i:02d}" for i in range(6, 12)] + [f"scpclr{i}" for i in range(10, 14)]

FIELDS = [
    "set", "instance", "solver", "time_limit", "objective", "bound", "status", "seconds",
    "reference", "reference_kind", "matches_reference", "gap_to_reference", "rows", "columns",
    "time_to_reference",
]  # fmt: skip

WEIGHTED_SOLVERS = ["ours", "ours_mip", "cpsat_default", "greedy"]
UNICOST_SOLVERS = ["ours", "greedy"]


def load_optima(data: Path) -> dict[str, tuple[int, str]]:
    """Reference values from optima.csv: instance name -> (value, kind)."""
    out: dict[str, tuple[int, str]] = {}
    with open(data / "optima.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            out[row["instance"]] = (int(row["optimum"]), row["kind"])
    return out


def instance_path(data: Path, name: str) -> Path:
    """The file of an instance, plain or gzip."""
    for suffix in (".txt", ".txt.gz"):
        path = data / "instances" / f"{name}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"{name} not found under {data / 'instances'}")


def run_ours(
    instance: OrlibInstance, unicost: bool, limit: float, backend: str, reference: int | None = None
) -> dict:
    """Our full pipeline (reductions, warm start, local search, LP bound, exact engine).

    With a reference, the run stops once its incumbent reaches it and records when that happened.
    """
    reached: list[float] = []
    cancel = threading.Event() if reference is not None else None

    def progress(incumbent: int | None, bound: int, seconds: float) -> None:
        if reference is not None and incumbent is not None and incumbent <= reference and not reached:
            reached.append(seconds)
            cancel.set()  # type: ignore[union-attr]

    options = SolveOptions(time_limit=limit, backend=backend, cancel=cancel, progress=progress)
    result = solve(instance.to_problem(unicost=unicost), options)
    record = _record(result)
    if reached:
        record["time_to_reference"] = round(reached[0], 3)
    return record


def run_greedy(instance: OrlibInstance, unicost: bool, limit: float) -> dict:
    """Greedy + redundancy removal only (no reductions, local search or exact engine): the floor."""
    return baselines.run_greedy(instance.to_problem(unicost=unicost), limit)


def run_cpsat_default(instance: OrlibInstance, unicost: bool, limit: float) -> dict:
    """Plain CP-SAT: one Boolean per column, one clause per row, 2 workers, default parameters, no hint."""
    from ortools.sat.python import cp_model

    start = time.perf_counter()
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(instance.n_columns)]
    rows: list[list[int]] = [[] for _ in range(instance.n_rows)]
    for j, column in enumerate(instance.columns):
        for r in column:
            rows[r].append(j)
    for members in rows:
        model.add_bool_or([x[j] for j in members])
    costs = [1] * instance.n_columns if unicost else instance.costs
    model.minimize(cp_model.LinearExpr.weighted_sum(x, costs))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = limit
    status = solver.solve(model)
    seconds = time.perf_counter() - start
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return {
        "objective": int(round(solver.objective_value)) if found else None,
        "bound": int(round(solver.best_objective_bound)) if found else None,
        "status": "OPTIMAL" if status == cp_model.OPTIMAL else ("FEASIBLE" if found else "UNKNOWN"),
        "seconds": round(seconds, 3),
    }


def _record(result: CoverResult) -> dict:
    return {
        "objective": result.objective,
        "bound": result.bound,
        "status": str(result.status),
        "seconds": round(result.seconds, 3),
    }


SOLVERS: dict[str, Callable[[OrlibInstance, bool, float], dict]] = {
    "ours": lambda inst, uni, limit: run_ours(inst, uni, limit, "cpsat"),
    "ours_mip": lambda inst, uni, limit: run_ours(inst, uni, limit, "mip"),
    "cpsat_default": run_cpsat_default,
    "greedy": run_greedy,
    "scip": lambda inst, uni, limit: baselines.run_scip(inst.to_problem(unicost=uni), limit),
    "highs": lambda inst, uni, limit: baselines.run_highs(inst.to_problem(unicost=uni), limit),
}


def done_keys(path: Path) -> set[tuple[str, str, str]]:
    """(set, instance, solver) triples already in a results CSV."""
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {(r["set"], r["instance"], r["solver"]) for r in csv.DictReader(handle)}


def run_set(
    kind: str,
    names: Iterable[str],
    solvers: list[str],
    limit: float,
    data: Path,
    out: Path,
    only: str | None,
    stop_at_reference: bool = False,
) -> None:
    """Run every solver on every instance of one set, appending rows to `out`."""
    optima = load_optima(data)
    unicost = kind == "unicost"
    out.parent.mkdir(parents=True, exist_ok=True)
    seen = done_keys(out)
    new_file = not out.exists()
    if not new_file:
        with open(out, newline="") as handle:
            header = next(csv.reader(handle), [])
        if header != FIELDS:
            raise SystemExit(f"error: {out} has other columns than this version writes; use another --out")
    with open(out, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        for name in names:
            if only and not re.search(only, name):
                continue
            instance = read_orlib_scp(instance_path(data, name))
            ref_key = f"{name}_unicost" if unicost else name
            # Set E has unit costs already, so its weighted optimum is the unicost reference.
            reference, ref_kind = optima.get(
                ref_key, optima.get(name, (None, "")) if unicost and name.startswith("scpe") else (None, "")
            )
            for solver in solvers:
                if (kind, name, solver) in seen:
                    continue
                if solver == "ours" and stop_at_reference:
                    record = run_ours(instance, unicost, limit, "cpsat", reference)
                else:
                    record = SOLVERS[solver](instance, unicost, limit)
                objective = record["objective"]
                row = {
                    "set": kind,
                    "instance": name,
                    "solver": solver,
                    "time_limit": limit,
                    **record,
                    "reference": reference,
                    "reference_kind": ref_kind,
                    "matches_reference": None
                    if reference is None or objective is None
                    else objective == reference,
                    "gap_to_reference": None
                    if reference is None or objective is None
                    else round((objective - reference) / reference, 6),
                    "rows": instance.n_rows,
                    "columns": instance.n_columns,
                }
                writer.writerow(row)
                handle.flush()
                print(
                    f"{kind:8} {name:9} {solver:14} obj={objective} bound={record['bound']} "
                    f"{record['status']:9} {record['seconds']:7.2f}s ref={reference}",
                    flush=True,
                )


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _num(value: str) -> float | None:
    return None if value in ("", "None") else float(value)


def report(out_dir: Path) -> str:
    """Markdown tables (and PNG plots) from the CSV results."""
    lines: list[str] = []
    # The committed full runs keep their plot names; other result folders get their own.
    suffix = "" if out_dir.resolve() == RESULTS.resolve() else f"-{out_dir.name}"
    weighted = _read(out_dir / "scp_weighted.csv")
    if weighted:
        by_inst: dict[str, dict[str, dict]] = {}
        for row in weighted:
            by_inst.setdefault(row["instance"], {})[row["solver"]] = row
        solvers = [s for s in [*WEIGHTED_SOLVERS, "scip", "highs"] if any(s in v for v in by_inst.values())]
        limit = weighted[0]["time_limit"]
        lines.append(f"Weighted, {limit} s limit per run; seconds (objective, * = not proven optimal):\n")
        lines.append("| instance | optimum | " + " | ".join(solvers) + " |")
        lines.append("|---|---|" + "---|" * len(solvers))
        totals = dict.fromkeys(solvers, 0.0)
        optimal = dict.fromkeys(solvers, 0)
        for name in [n for n in WEIGHTED if n in by_inst]:
            cells = []
            ref = next(iter(by_inst[name].values()))["reference"]
            for s in solvers:
                row = by_inst[name].get(s)
                if row is None:
                    cells.append("—")
                    continue
                secs = float(row["seconds"])
                totals[s] += secs
                ok = row["status"] == "OPTIMAL" and row["objective"] == ref
                optimal[s] += ok
                mark = "" if row["status"] == "OPTIMAL" else "*"
                cells.append(f"{secs:.2f} ({row['objective']}{mark})")
            lines.append(f"| {name} | {ref} | " + " | ".join(cells) + " |")
        n = len(by_inst)
        lines.append("| **total s** | | " + " | ".join(f"**{totals[s]:.1f}**" for s in solvers) + " |")
        lines.append("| **OPTIMAL = optimum** | | " + " | ".join(f"{optimal[s]}/{n}" for s in solvers) + " |")
        if totals.get("ours"):
            ratios = ", ".join(
                f"{s} / ours = {totals[s] / totals['ours']:.2f}" for s in solvers if s != "ours"
            )
            lines.append(f"\nRatio of total times: {ratios}.\n")
            present = [s for s in ("scip", "highs") if s in totals]
            if present:
                best = min(present, key=lambda s: totals[s])
                lines.append(
                    f"ours / better of SCIP and HiGHS ({best}) = {totals['ours'] / totals[best]:.2f} "
                    "(total time; the target is at most 0.5).\n"
                )
        _plot_weighted(by_inst, solvers, IMAGES / f"scp-weighted{suffix}.png")
        lines.append(f"![weighted OR-Library times](img/scp-weighted{suffix}.png)\n")
    unicost = _read(out_dir / "scp_unicost.csv")
    if unicost:
        by_inst = {}
        for row in unicost:
            by_inst.setdefault(row["instance"], {})[row["solver"]] = row
        limit = unicost[0]["time_limit"]
        others = [s for s in ("scip", "highs") if any(s in v for v in by_inst.values())]
        stopped = any((r.get("time_to_reference") or "") not in ("", "None") for r in unicost)
        lines.append(f"Unicost, {limit} s limit; gap = (objective − best known) / best known:\n")
        head = ["instance", "best known", "ours", "bound", "status"]
        head += ["s to best known"] if stopped else []
        head += ["gap to best known", "greedy"] + others
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        matched = worse = 0
        for name in [n for n in UNICOST if n in by_inst]:
            ours = by_inst[name].get("ours")
            greedy = by_inst[name].get("greedy")
            if ours is None:
                continue
            ref = ours["reference"]
            gap = _num(ours["gap_to_reference"])
            matched += ours["matches_reference"] == "True" or (gap is not None and gap <= 0)
            if greedy and greedy["objective"] and int(ours["objective"]) > int(greedy["objective"]):
                worse += 1
            reached = ours.get("time_to_reference") or ""
            hit = reached not in ("", "None")
            # A run stopped at the best-known value is reported as CANCELLED by the solver: say why.
            status = "stopped at best known" if hit and ours["status"] == "CANCELLED" else ours["status"]
            cells = [name, ref, ours["objective"], ours["bound"], status]
            if stopped:
                cells.append(f"{float(reached):.2f}" if hit else "—")
            cells += ["" if gap is None else f"{100 * gap:.1f} %", greedy["objective"] if greedy else "—"]
            for other in others:
                row = by_inst[name].get(other)
                mark = "" if row is None or row["status"] == "OPTIMAL" else "*"
                cells.append("—" if row is None else f"{row['objective']}{mark} ({float(row['seconds']):.0f} s)")
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        n = sum(1 for v in by_inst.values() if "ours" in v)
        lines.append(f"\nBest known matched (or beaten): {matched}/{n}; worse than greedy: {worse}/{n}.\n")
        image = f"scp-unicost{suffix}.png"
        _plot_unicost(by_inst, IMAGES / image)
        lines.append(f"![unicost gaps](img/{image})\n")
    return "\n".join(lines)


def _plot_weighted(by_inst: dict, solvers: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in WEIGHTED if n in by_inst]
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / max(1, len(solvers))
    for k, s in enumerate(solvers):
        ys = [float(by_inst[n][s]["seconds"]) if s in by_inst[n] else 0.0 for n in names]
        ax.bar([i + k * width for i in range(len(names))], ys, width, label=s)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names, rotation=90, fontsize=7)
    ax.set_ylabel("seconds (log)")
    ax.set_yscale("log")
    ax.set_title("OR-Library weighted set cover: time to finish (limit = timeout)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_unicost(by_inst: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in UNICOST if n in by_inst and "ours" in by_inst[n]]
    fig, ax = plt.subplots(figsize=(12, 4))
    for s, marker in (("ours", "o"), ("greedy", "x")):
        ys = []
        for n in names:
            row = by_inst[n].get(s)
            ys.append(
                100 * float(row["gap_to_reference"])
                if row and row["gap_to_reference"] not in ("", "None")
                else None
            )
        ax.plot(range(len(names)), [y if y is not None else float("nan") for y in ys], marker, label=s)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_ylabel("% above best known")
    ax.set_title("OR-Library unicost set cover: gap to best-known value")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_scp", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["weighted", "unicost", "report", "all"])
    parser.add_argument("--time-limit", type=float, default=60.0, help="weighted runs, seconds (default 60)")
    parser.add_argument("--unicost-time-limit", type=float, default=10.0, help="unicost runs (default 10)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SIGHTLINE_ORLIB", DEFAULT_DATA)))
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--only", help="regular expression on instance names")
    parser.add_argument("--solvers", help="comma-separated subset of " + ",".join(SOLVERS))
    parser.add_argument(
        "--stop-at-reference", action="store_true", help="stop ours when it reaches the best-known value"
    )
    args = parser.parse_args(argv)
    chosen = args.solvers.split(",") if args.solvers else None
    if args.what in ("weighted", "all"):
        run_set(
            "weighted", WEIGHTED, chosen or WEIGHTED_SOLVERS, args.time_limit, args.data,
            args.out / "scp_weighted.csv", args.only, args.stop_at_reference,
        )  # fmt: skip
    if args.what in ("unicost", "all"):
        run_set(
            "unicost", UNICOST, chosen or UNICOST_SOLVERS, args.unicost_time_limit, args.data,
            args.out / "scp_unicost.csv", args.only, args.stop_at_reference,
        )  # fmt: skip
    if args.what in ("report", "all"):
        text = report(args.out)
        (args.out / "scp.md").write_text(text + "\n")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
