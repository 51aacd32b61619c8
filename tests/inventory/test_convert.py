"""`python -m inventory.convert`: one JSON object on stdout, or a one-line error on stderr and exit != 0."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from inventory.convert import main
from inventory.importers import import_path
from planner.floor import parse_floor

ROOT = Path(__file__).resolve().parents[2]
WESTPORT = ROOT / "tests" / "data" / "westport-house"
IMDF = ROOT / "tests" / "data" / "imdf" / "pool-venue.zip"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inventory.convert", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_westport_main_json_as_a_process() -> None:
    done = _run(str(WESTPORT / "main.json"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    out = json.loads(done.stdout)
    assert list(out) == ["levels"]
    main_json = json.loads((WESTPORT / "main.json").read_text())
    assert [lv["name"] for lv in out["levels"]] == [lv["readable_name"] for lv in main_json["levels"]]
    for lv in out["levels"]:
        assert lv["floor"]["format"] == "sightline-floor/1"
        parse_floor(lv["floor"])
    assert out == import_path(WESTPORT / "main.json").to_json()  # the same importer as the web upload


def test_bad_input_as_a_process(tmp_path: Path) -> None:
    bad = tmp_path / "plan.dxf"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    done = _run(str(bad))
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: plan.dxf: named .dxf but the content is a PNG image")


@pytest.mark.slow
def test_directory_zip_and_single_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(WESTPORT)]) == 0
    as_dir = json.loads(capsys.readouterr().out)
    z = tmp_path / "westport.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in WESTPORT.iterdir():
            zf.write(p, p.name)
    assert main([str(z), "--format", "wrld"]) == 0
    assert json.loads(capsys.readouterr().out) == as_dir
    assert main([str(WESTPORT / "westport-house-floor-gf.geojson")]) == 0
    single = json.loads(capsys.readouterr().out)["levels"]
    assert len(single) == 1 and single[0]["floor"]["features"] == as_dir["levels"][0]["floor"]["features"]


def test_imdf_private_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(IMDF)]) == 0
    out = json.loads(capsys.readouterr().out)
    private = sorted(f["properties"]["name"] for lv in out["levels"] for f in lv["floor"]["features"]
                     if f["properties"]["kind"] == "zone" and f["properties"]["zone"] == "private")
    assert private == ["Accessible WC", "Changing Room", "Men's Restroom", "Mothers' Room", "Showers",
                       "Women's Restroom"]


def test_dxf_and_geojson_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.inventory.test_importers_dxf import gym_plan

    dxf = tmp_path / "gym.dxf"
    gym_plan().saveas(dxf)
    assert main([str(dxf)]) == 0
    first = json.loads(capsys.readouterr().out)
    floor = tmp_path / "gym.geojson"
    floor.write_text(json.dumps(first["levels"][0]["floor"]))
    assert main([str(floor)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["levels"][0]["floor"] == first["levels"][0]["floor"]
    # The whole convert output re-imports too.
    both = tmp_path / "levels.json"
    both.write_text(json.dumps(first))
    assert main([str(both), "--format", "geojson"]) == 0
    assert json.loads(capsys.readouterr().out) == first


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda p: p / "missing.dxf", [], "error: {p}/missing.dxf: cannot read file"),
        (lambda p: _png(p / "plan.png"), [], "error: plan.png: is an image or PDF"),
        (lambda p: _text(p / "floor.geojson", '{"type": "FeatureCollection", "features": []}'), [],
         "error: floor.geojson: GeoJSON without"),
        (lambda p: _text(p / "plan.dxf", "0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"), [],
         "error: plan.dxf: drawing units unknown"),
        (lambda p: _text(p / "plan.dxf", "0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"), ["--units", "mm"],
         "error: plan.dxf: drawing has no geometry"),
        (lambda p: _zip(p / "venue.zip", {"manifest.json": b'{"version": "1.0.0"}', "unit.geojson": b"{}"}), [],
         "error: venue.zip: IMDF archive is missing required file level.geojson"),
        (lambda p: _text(p / "floor.geojson", "{}"), ["--format", "dxf"], "error: floor.geojson: is JSON text, not a DXF drawing"),
    ],
)
def test_bad_inputs_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, args, message) -> None:
    path = make(tmp_path)
    assert main([str(path), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(message.format(p=tmp_path)), captured.err


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (10, 10), "white").save(path)
    return path


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    path.write_bytes(buf.getvalue())
    return path
