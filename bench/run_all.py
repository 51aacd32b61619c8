"""`make bench`: a short pass over every benchmark (the full runs and their commands are in docs/benchmarks.md).

Data comes from shared/benchmarks beside the checkout (or beside a folder above it) by default, or from the folder given with --data. Results go to
bench/results/smoke/ so the committed full-run results are not touched.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(data: Path, out: Path) -> list[list[str]]:
    """The short benchmark commands, each a subprocess argument list."""
    py = sys.executable
    return [
        [py, "-m", "bench.bench_visibility", "--quick", "--json", str(out / "visibility.json")],
        [py, "-m", "bench.bench_coverage", "--quick", "--json", str(out / "coverage.json")],
        [py, "-m", "bench.bench_scp", "weighted", "--time-limit", "20", "--data", str(data / "orlib-scp"),
         "--only", "^scp4", "--solvers", "ours,ours_mip,cpsat_default,greedy,scip,highs", "--out", str(out / "scp")],
        [py, "-m", "bench.bench_scp", "unicost", "--unicost-time-limit", "10", "--data", str(data / "orlib-scp"),
         "--only", "^scp(4[1-5]|a1)$", "--solvers", "ours,greedy", "--stop-at-reference", "--out", str(out / "scp")],
        [py, "bench/bench_agp.py", "--root", str(data / "agp-unicamp"), "--only-reference", "--max-vertices", "40",
         "--time-limit", "20", "--out", str(out / "agp.csv")],
        [py, "bench/bench_reduction.py", "--time-limit", "30", "--out", str(out / "reduction.csv")],
        [py, "-m", "bench.bench_mall", "--quick", "--out", str(out / "mall.csv")],
    ]


def default_data() -> Path:
    """shared/benchmarks beside the checkout, or beside any folder above it (a worktree lives deeper)."""
    for parent in ROOT.parents:
        if (parent / "shared" / "benchmarks").is_dir():
            return parent / "shared" / "benchmarks"
    return ROOT.parent / "shared" / "benchmarks"


def main() -> int:
    """Run each short benchmark in turn; report which failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=default_data())
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"error: benchmark data folder {args.data} not found (give --data)", file=sys.stderr)
        return 2
    out = ROOT / "bench" / "results" / "smoke"
    # bench_scp resumes from its CSVs; a short pass starts afresh (and older CSVs may lack newer columns).
    shutil.rmtree(out / "scp", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for command in commands(args.data, out):
        print("$", " ".join(command), flush=True)
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            failed.append(command[2] if command[1] == "-m" else command[1])
    print("failed: " + ", ".join(failed) if failed else "all benchmarks ran")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
