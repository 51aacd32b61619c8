"""Hostile archives and inputs: zip bombs, traversal, encrypted entries, deep JSON, and no Flask or XML."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from inventory.importers import ImportFailed, Limits, import_bytes, import_path
from inventory.importers.safety import read_zip

ROOT = Path(__file__).resolve().parents[2]
IMDF = ROOT / "tests" / "data" / "imdf" / "pool-venue.zip"


def _zip(entries: dict[str, bytes], *, encrypted: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    out = bytearray(buf.getvalue())
    if encrypted:
        # zipfile cannot write encrypted entries: set the "encrypted" flag bit in both headers by hand.
        for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = out.index(sig) + offset
            out[at] |= 0x1
    return bytes(out)


def test_too_many_entries() -> None:
    data = _zip({f"f{i}.json": b"{}" for i in range(30)})
    with pytest.raises(ImportFailed, match=r"venue\.zip: zip has 30 entries, more than the 20 allowed"):
        import_bytes(data, "venue.zip", limits=Limits(max_zip_entries=20))


def test_compression_ratio_bomb() -> None:
    data = _zip({"manifest.json": b"{}", "unit.geojson": b" " * (20 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(ImportFailed, match=r"venue\.zip:unit\.geojson: compression ratio \d+:1 exceeds 100:1"):
        import_bytes(data, "venue.zip")


def test_total_expanded_size() -> None:
    data = _zip({f"part{i}.json": bytes(range(256)) * 4096 for i in range(3)})  # 3 x 1 MB, incompressible-ish
    with pytest.raises(ImportFailed, match=r"zip expands to 3\.0 MB, more than the 2\.0 MB allowed"):
        import_bytes(data, "venue.zip", limits=Limits(max_zip_total_bytes=2 * 1024 * 1024))


def test_traversal_and_encrypted_entries() -> None:
    with pytest.raises(ImportFailed, match=r"venue\.zip:\.\./\.\./etc/passwd: unsafe path"):
        read_zip(_zip({"../../etc/passwd": b"x"}), "venue.zip", Limits())
    with pytest.raises(ImportFailed, match=r"venue\.zip:manifest\.json: encrypted zip entries are not supported"):
        read_zip(_zip({"manifest.json": b"{}"}, encrypted=True), "venue.zip", Limits())


def test_corrupt_and_truncated_zip() -> None:
    data = IMDF.read_bytes()
    with pytest.raises(ImportFailed, match=r"pool\.zip: not a readable zip archive"):
        import_bytes(data[: len(data) // 2], "pool.zip")
    flipped = bytearray(data)
    start = data.index(b"unit.geojson") + 40  # inside the deflated stream of an entry
    flipped[start:start + 64] = bytes(64)
    with pytest.raises(ImportFailed, match=r"pool\.zip:.*(corrupt zip entry|invalid JSON|not UTF-8)"):
        import_bytes(bytes(flipped), "pool.zip")


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.dxf"
    with big.open("wb") as fh:
        fh.truncate(60 * 1024 * 1024)  # sparse: nothing is read
    with pytest.raises(ImportFailed, match=r"huge\.dxf: file is 60\.0 MB, above the 50\.0 MB upload limit"):
        import_path(big)


def test_deeply_nested_json() -> None:
    with pytest.raises(ImportFailed, match=r"deep\.json: JSON nested too deeply"):
        import_bytes(b"[" * 100_000 + b"]" * 100_000, "deep.json")


def test_empty_and_unknown_files() -> None:
    with pytest.raises(ImportFailed, match=r"empty\.png: file is empty"):
        import_bytes(b"", "empty.png")
    with pytest.raises(ImportFailed, match=r"notes\.txt: not a recognised plan file"):
        import_bytes(b"hello", "notes.txt")


def test_no_xml_parser_is_used() -> None:
    # docs/formats.md states that no importer parses XML; keep that claim true.
    for path in (ROOT / "inventory" / "importers").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(xml|lxml|defusedxml)\b", text, re.M), path.name
        assert "getxmp" not in text, path.name


def test_importers_import_without_flask() -> None:
    code = (
        "import sys; sys.modules['flask'] = None\n"
        "import inventory.importers, inventory.convert\n"
        "for m in ('base', 'safety', 'projection', 'features', 'zones', 'geojson', 'imdf', 'wrld', 'osm', 'plan', 'dxf', 'raster'):\n"
        "    __import__('inventory.importers.' + m)\n"
        "assert sys.modules['flask'] is None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
