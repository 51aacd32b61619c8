"""`python -m planner plan`: the JSON contract of PRODUCT.md and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import main

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "plan-floors"
FIELDS = {"kept", "removed", "added", "objective", "bound", "status", "uncovered_m2", "privacy_overlap_m2", "seconds"}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict | None, str]:
    code = main(args)
    cap = capsys.readouterr()
    return code, (json.loads(cap.out) if cap.out.strip() else None), cap.err


def test_plan_prints_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["plan", str(DATA / "privacy.geojson"), "--time-limit", "10"], capsys)
    assert code == 0 and FIELDS <= set(out)
    assert out["status"] == "OPTIMAL" and out["objective"] == 4 == out["bound"]
    assert out["removed"] == ["A"] and sorted(out["kept"]) == ["B", "C", "D", "E"] and out["added"] == []
    assert out["uncovered_m2"] == {"Hall": 0.0, "total": 0.0}
    assert out["privacy_overlap_m2"] == 0.0 and out["privacy_overlap_by_zone_m2"] == {"Changing room": 0.0}


def test_plan_reaim_flag_default_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["plan", str(DATA / "reaim.geojson"), "--reaim", "--time-limit", "10"], capsys)
    assert code == 0 and out["kept"] == ["R1"] and out["reaimed"][0]["heading_deg"] == 90.0
    code, out, _ = _run(["plan", str(DATA / "reaim.geojson"), "--time-limit", "10"], capsys)
    assert out["kept"] == [] and out["uncovered_m2"]["total"] == pytest.approx(100.0) and out["infeasible"]


def test_plan_design_mode_adds_poses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["plan", str(DATA / "sliver.geojson"), "--mode", "design", "--spacing", "3",
                         "--headings", "4", "--time-limit", "20"], capsys)
    assert code == 0 and out["added"] and all({"x", "y", "heading_deg", "hfov_deg"} <= set(a) for a in out["added"])
    assert out["removed"] == ["W", "L", "R"] and out["uncovered_m2"]["total"] == 0.0


@pytest.mark.parametrize("args,needle", [
    (["--time-limit", "0"], "time-limit"),
    (["--time-limit", "-3"], "time-limit"),
    (["--reaim", "0"], "reaim"),
])
def test_plan_bad_options(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["plan", str(DATA / "corners.geojson"), *args], capsys)
    assert code != 0 and out is None and needle in err and err.count("\n") == 1


def test_plan_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    code, _, err = _run(["plan", str(broken)], capsys)
    assert code != 0 and "not valid JSON" in err
    empty = tmp_path / "empty.geojson"
    empty.write_text(json.dumps({"type": "FeatureCollection", "format": "sightline-floor/1", "features": []}))
    code, _, err = _run(["plan", str(empty)], capsys)
    assert code != 0 and "outline" in err
    nozones = json.loads((DATA / "corners.geojson").read_text())
    nozones["features"] = [f for f in nozones["features"] if f["properties"]["kind"] != "zone"]
    path = tmp_path / "nozones.geojson"
    path.write_text(json.dumps(nozones))
    code, _, err = _run(["plan", str(path)], capsys)
    assert code != 0 and "no required zone" in err


def test_plan_conflicting_lock_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    obj = json.loads((DATA / "privacy.geojson").read_text())
    for f in obj["features"]:
        if f["properties"].get("id") == "A":
            f["properties"]["locked"] = "keep"
    path = tmp_path / "lock.geojson"
    path.write_text(json.dumps(obj))
    code, _, err = _run(["plan", str(path)], capsys)
    assert code != 0 and "conflicting lock" in err and err.count("\n") == 1


@pytest.mark.slow
def test_plan_as_a_subprocess() -> None:
    proc = subprocess.run([sys.executable, "-m", "planner", "plan", str(DATA / "corners.geojson"), "--time-limit", "10"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["objective"] == 1 and len(out["kept"]) == 1
