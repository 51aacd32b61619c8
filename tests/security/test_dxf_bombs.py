"""Block bombs in DXF are refused from their counts, before anything is expanded: the probe's 16 KB file with one
MINSERT of 10,000 x 10,000 placements is refused in well under a second and a few megabytes."""

from __future__ import annotations

import io
import time
import tracemalloc

import ezdxf
import pytest
from ezdxf.entities import Insert

from inventory.importers import ImportFailed, ImportOptions, Limits, import_bytes

OPTS = ImportOptions(render_background=False)


def _minsert(rows: int, cols: int, *, nested: bool = False) -> bytes:
    """A room outline and one MINSERT of a one-line block (or of a block placing that block 10 times)."""
    doc = ezdxf.new("R2018")
    doc.header["$INSUNITS"] = 6
    doc.layers.add("A-WALL")
    doc.blocks.new("LINE").add_line((0, 0), (0.5, 0))
    name = "LINE"
    if nested:
        ten = doc.blocks.new("TEN")
        for i in range(10):
            ten.add_blockref("LINE", (i, 0))
        name = "TEN"
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (20, 0), (20, 20), (0, 20)], close=True, dxfattribs={"layer": "A-WALL"})
    msp.add_blockref(name, (1, 1), dxfattribs={"layer": "A-WALL"}).grid(size=(rows, cols), spacing=(1, 1))
    buf = io.StringIO()
    doc.write(buf)
    return buf.getvalue().encode()


def test_the_minsert_bomb_is_refused_fast_and_small() -> None:
    data = _minsert(10_000, 10_000)
    assert len(data) < 20_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImportFailed, match=r"bomb\.dxf: drawing expands to more than 200000 entities .*"
                                                r"placed 100,000,000 times"):
            import_bytes(data, "bomb.dxf", options=OPTS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5.0
    assert peak < 64 * 1024 * 1024


def test_nothing_is_expanded_before_the_count_refuses(monkeypatch) -> None:
    def expanded(self):  # type: ignore[no-untyped-def]
        raise AssertionError("a MINSERT was expanded before its size was checked")

    monkeypatch.setattr(Insert, "multi_insert", expanded)
    for data in (_minsert(300, 300), _minsert(50, 50, nested=True)):  # 90,000 and 25,000 entities
        with pytest.raises(ImportFailed, match="drawing expands to more than 10000 entities"):
            import_bytes(data, "bomb.dxf", options=OPTS, limits=Limits(max_dxf_entities=10_000))


def test_a_modest_minsert_is_still_read() -> None:
    result = import_bytes(_minsert(3, 2), "grid.dxf", options=ImportOptions(render_background=False, units="m"))
    assert result.levels and result.levels[0].floor["features"]
