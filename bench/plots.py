"""Plots for the venue-scale and load reports in docs/: what the tables say, at a glance.

    .venv/bin/python -m bench.plots mall bench/results/mall-s5.csv --out docs/img/mall.png
    .venv/bin/python -m bench.plots load bench/results/load/before.csv bench/results/load/after.csv --out docs/img/load.png

``mall`` reads the CSV rows of ``bench.bench_mall`` (one bar pair per case: the plan's cameras against the bound,
"at least N cameras are needed", with the gap or the coverable area still unseen; and the wall time against the
limit). ``load`` reads the CSVs of ``python -m bench.load`` (one line per file and database: p95 and requests per
second for each step, with the issue's targets drawn in).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

P95_TARGET_MS = 300.0  # issue 14: p95 under 300 ms at 50 users on PostgreSQL
PEAK_TARGET_RPS = 135.0  # issue 14: at least 3x the probe's 45 req/s


def _rows(paths: list[Path]) -> list[dict[str, str]]:
    """Every row of the CSV files, each tagged with its file's stem."""
    rows = []
    for path in paths:
        with path.open(newline="") as fh:
            rows += [{**row, "file": path.stem} for row in csv.DictReader(fh)]
    return rows


def _number(value: str | None) -> float | None:
    """A CSV cell as a number, or None when empty."""
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _case(row: dict[str, str]) -> str:
    """A short label for one mall case."""
    reaim = _number(row.get("reaim")) or 0
    what = f"re-aim {reaim:g}°" if row["mode"] == "reduce" and reaim else row["mode"]
    k = f" k={row['k']}" if row["mode"] == "design" else ""
    side = f" ({row['side']})" if row.get("side") else ""
    # The load average beside every figure: on the shared machine it decides what a 60 s run gets.
    load = _number(row.get("load"))
    at = f", load {load:.1f}" if load is not None else ""
    return f"{int(float(row['segments'])):,} seg {what}{k}{side}{at}"


def mall_plot(paths: list[Path], out: Path) -> None:
    """Cameras against the bound, and wall time against the limit, for each mall case."""
    rows = [r for r in _rows(paths) if r.get("mode")]
    labels = [_case(r) for r in rows]
    cameras = [_number(r["cameras"]) or 0 for r in rows]
    bounds = [_number(r["bound"]) or 0 for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.55 * len(rows) + 2.2), sharey=True,
                                      gridspec_kw={"width_ratios": [3, 2]})
    ys = range(len(rows))
    left.barh([y + 0.2 for y in ys], cameras, height=0.4, label="cameras in the plan", color="#4477aa")
    left.barh([y - 0.2 for y in ys], bounds, height=0.4, label="at least (bound)", color="#bbbbbb")
    for y, row, n in zip(ys, rows, cameras, strict=True):
        unseen = _number(row.get("coverable_unseen_m2")) or 0
        gap = _number(row.get("gap"))
        note = f"{row['status']}, {unseen:,.0f} m² unseen" if unseen > 0.5 else (
            f"{row['status']}, gap {gap:.1%}" if gap is not None else row["status"])
        left.text(n, y + 0.2, f"  {note}", va="center", fontsize=8)
    left.set_yticks(list(ys), labels)
    left.invert_yaxis()
    left.set_xlim(0, 1.9 * max(cameras + bounds + [1]))  # room for the notes
    left.set_xlabel("cameras")
    left.legend(loc="upper right", fontsize=8)
    walls = [_number(r["wall_s"]) or 0 for r in rows]
    limits = [_number(r["limit_s"]) or 0 for r in rows]
    right.barh(list(ys), walls, height=0.5, color=["#cc6677" if w > 1.05 * lim else "#228833"
                                                   for w, lim in zip(walls, limits, strict=True)])
    right.scatter([1.05 * lim for lim in limits], list(ys), marker="|", s=200, color="black", label="limit + 5 %")
    right.set_xlim(0, 1.25 * max(walls + limits + [1]))
    right.set_xlabel("wall time (s)")
    right.legend(loc="upper right", fontsize=8)
    fig.suptitle("Malls at venue scale: plan against bound, time against limit")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def load_plot(paths: list[Path], out: Path) -> None:
    """p95 latency and throughput per load step, one line per file and database, with the targets."""
    rows = _rows(paths)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    steps: list[str] = []
    for row in rows:
        if row["step"] not in steps:
            steps.append(row["step"])
    for (name, database) in dict.fromkeys((r["file"], r["database"]) for r in rows):
        mine = {r["step"]: r for r in rows if r["file"] == name and r["database"] == database}
        xs = [i for i, step in enumerate(steps) if step in mine]
        label = f"{name} · {database}"
        top.plot(xs, [_number(mine[steps[i]]["p95_ms"]) for i in xs], marker="o", label=label)
        bottom.plot(xs, [_number(mine[steps[i]]["rps"]) for i in xs], marker="o", label=label)
    top.axhline(P95_TARGET_MS, color="black", linestyle="--", linewidth=1, label="target p95 (50 users, PostgreSQL)")
    bottom.axhline(PEAK_TARGET_RPS, color="black", linestyle="--", linewidth=1, label="target peak req/s")
    top.set_yscale("log")
    top.set_ylabel("p95 (ms, log)")
    bottom.set_ylabel("requests per second")
    bottom.set_xticks(range(len(steps)), steps, rotation=15, fontsize=8)
    top.legend(fontsize=7)
    bottom.legend(fontsize=7)
    fig.suptitle("Load: p95 and throughput per step")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    """Command line: which plot, its CSV files, and the PNG to write."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["mall", "load"])
    parser.add_argument("csv", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    missing = [str(p) for p in args.csv if not p.is_file()]
    if missing:
        parser.error(f"no such CSV file: {', '.join(missing)}")
    (mall_plot if args.kind == "mall" else load_plot)(args.csv, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
