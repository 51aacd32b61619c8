"""DXF drawings: a small gym reception/changing plan drawn with ezdxf the way CAD exports look."""

from __future__ import annotations

import io
from pathlib import Path

import ezdxf
import pytest
from PIL import Image
from shapely.geometry import shape

from inventory.importers import ImportFailed, ImportOptions, Limits, import_bytes
from inventory.importers.dxf import guess_role
from planner.floor import parse_floor

WALL_LAYERS = ("A-WALL", "S-COLS")


def gym_plan(insunits: int = 4, scale: float = 1.0) -> ezdxf.document.Drawing:
    """A 12 m x 8 m plan in millimetres (or another unit via `scale`): 4 rooms, 4 doors, a window."""
    doc = ezdxf.new("R2018", setup=True)
    doc.header["$INSUNITS"] = insunits
    for name in ("A-WALL", "S-COLS", "A-GLAZ", "A-DOOR", "A-AREA", "A-AREA-IDEN", "A-FURN", "DIMS"):
        doc.layers.add(name)
    door = doc.blocks.new("DOOR900")
    door.add_line((0, 0), (0, 900 * scale))  # leaf, drawn open
    door.add_arc((0, 0), 900 * scale, 0, 90)  # swing, from the closed position
    msp = doc.modelspace()

    def s(*pts: tuple[float, float]) -> list[tuple[float, float]]:
        return [(x * scale, y * scale) for x, y in pts]

    wall = {"layer": "A-WALL"}
    msp.add_lwpolyline(s((3000, 0), (12000, 0), (12000, 8000), (4000, 8000)), dxfattribs=wall)
    msp.add_lwpolyline(s((1000, 8000), (0, 8000), (0, 0), (2000, 0)), dxfattribs=wall)
    for a, b in (((6000, 0), (6000, 1000)), ((6000, 1900), (6000, 5000)), ((6000, 5900), (6000, 8000)),
                 ((6000, 4000), (10000, 4000)), ((10900, 4000), (12000, 4000))):
        msp.add_line(*s(a, b), dxfattribs=wall)
    msp.add_polyline2d(s((9000, 0), (9000, 4000)), dxfattribs=wall)  # old-style POLYLINE
    msp.add_arc(s((3000, 6500))[0], 500 * scale, 0, 180, dxfattribs=wall)  # curved screen
    msp.add_circle(s((1500, 5000))[0], 200 * scale, dxfattribs={"layer": "S-COLS"})  # column
    msp.add_line(*s((4000, 8000), (1000, 8000)), dxfattribs={"layer": "A-GLAZ"})
    for hinge, rot, k in (((6000, 1000), 90, 1), ((6000, 5000), 90, 1), ((10000, 4000), 0, 1), ((2000, 0), 0, 1000 / 900)):
        msp.add_blockref("DOOR900", s(hinge)[0], dxfattribs={"layer": "A-DOOR", "rotation": rot,
                                                              "xscale": k, "yscale": k})
    for label, (x0, y0, x1, y1) in (("Reception", (0, 0, 6000, 8000)), ("Office", (6000, 0, 9000, 4000)),
                                    ("WC", (9000, 0, 12000, 4000)), ("Men's Changing", (6000, 4000, 12000, 8000))):
        msp.add_lwpolyline(s((x0, y0), (x1, y0), (x1, y1), (x0, y1)), close=True, dxfattribs={"layer": "A-AREA"})
        msp.add_text(label, height=200 * scale, dxfattribs={"layer": "A-AREA-IDEN"}).set_placement(
            s(((x0 + x1) / 2 - 600, (y0 + y1) / 2))[0])
    msp.add_lwpolyline(s((500, 1500), (2500, 1500), (2500, 2200), (500, 2200)), close=True,
                       dxfattribs={"layer": "A-FURN"})
    msp.add_linear_dim(base=s((0, -800))[0], p1=s((0, 0))[0], p2=s((12000, 0))[0],
                       dxfattribs={"layer": "DIMS"}).render()
    return doc


def _bytes(doc: ezdxf.document.Drawing) -> bytes:
    buf = io.StringIO()
    doc.write(buf)
    return buf.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def plan_bytes() -> bytes:
    """The gym plan as ASCII DXF bytes."""
    return _bytes(gym_plan())


@pytest.fixture(scope="module")
def imported(plan_bytes: bytes):
    """The gym plan imported once, without a background."""
    return import_bytes(plan_bytes, "gym.dxf", options=ImportOptions(render_background=False))


def _kinds(result, kind: str) -> list[dict]:
    return [f for f in result.levels[0].floor["features"] if f["properties"]["kind"] == kind]


def test_layer_guesses() -> None:
    names = {
        "wall": ("A-WALL", "wall", "Walls", "S-COLS", "Mur", "Wand", "墙", "Structure", "Partition", "Existing Structure",
                 "Tole Blanche", "concr", "Plaster"),
        "door": ("doors", "A-DOOR", "Porte", "Tür", "门", "Doors/Windows"),
        "glass": ("A-GLAZ", "Crystal", "Cristal", "Glass", "Verre", "玻璃"),
        "window": ("Window", "Fenêtre", "Fenster", "窗"),
        "room": ("A-AREA", "rooms", "Space", "Area", "Raum", "房间"),
        "private": ("TOILET", "WC", "卫生间", "Sanitary", "Douches"),
        "text": ("A-AREA-IDEN", "Text", "Texte"),
        "ignore": ("A-FURN", "0", "DIMS", "Furniture", "Flooring", "Projection", "Hatch"),
    }
    assert {n: guess_role(n) for ns in names.values() for n in ns} == {n: r for r, ns in names.items() for n in ns}


def test_counts_match_the_drawing(plan_bytes: bytes, imported) -> None:
    doc = ezdxf.read(io.StringIO(plan_bytes.decode()))
    msp = doc.modelspace()
    n_walls = sum(len(msp.query(f'*[layer=="{ln}"]')) for ln in WALL_LAYERS)
    n_glass = len(msp.query('*[layer=="A-GLAZ"]'))
    n_doors = len(msp.query('INSERT[layer=="A-DOOR"]'))
    n_rooms = len(msp.query('LWPOLYLINE[layer=="A-AREA"]'))
    walls = _kinds(imported, "wall")
    assert len(walls) == n_walls + n_glass == 11
    assert sum(1 for w in walls if w["properties"].get("see_through")) == n_glass
    assert len(_kinds(imported, "opening")) == n_doors == 4
    zones = {z["properties"]["name"]: z["properties"] for z in _kinds(imported, "zone")}
    assert len(zones) == n_rooms == 4
    assert {n for n, p in zones.items() if p["zone"] == "private"} == {"WC", "Men's Changing"}
    assert zones["Men's Changing"]["use"] == "changing_room" and zones["WC"]["use"] == "toilet"
    parse_floor(imported.levels[0].floor)


def test_metric_scale_from_insunits(imported) -> None:
    doors = sorted(round(shape(f["geometry"]).length, 4) for f in _kinds(imported, "opening"))
    assert doors == [0.9, 0.9, 0.9, 1.0]  # three 900 mm doors and the scaled 1000 mm entrance
    office = next(z for z in _kinds(imported, "zone") if z["properties"]["name"] == "Office")
    assert shape(office["geometry"]).area == pytest.approx(3 * 4, rel=1e-6)
    outline = shape(_kinds(imported, "outline")[0]["geometry"])
    # Derived from the walls, doors and window enclosing the plan: the full 12 m x 8 m.
    assert outline.area == pytest.approx(96, rel=1e-3)
    assert any("outline derived" in w for w in imported.warnings)
    assert imported.georef["metres_per_unit"] == 0.001


def test_door_runs_along_the_wall_from_hinge(imported) -> None:
    lines = [shape(f["geometry"]) for f in _kinds(imported, "opening")]
    # Doors on the x = 6 m wall run from their hinges (y = 1 m and 5 m) 0.9 m up the wall, not into the room.
    # Floor coordinates start at the drawing's lower-left corner (the dimension below the plan).
    ox, oy = (v / 1000 for v in imported.georef["drawing_origin"])
    on_wall = [ln for ln in lines if abs(ln.bounds[0] + ox - 6.0) < 1e-3 and abs(ln.bounds[2] + ox - 6.0) < 1e-3]
    spans = sorted((round(ln.bounds[1] + oy, 3), round(ln.bounds[3] + oy, 3)) for ln in on_wall)
    assert spans == [(1.0, 1.9), (5.0, 5.9)]


def test_binary_dxf_reads_like_ascii(imported, tmp_path: Path) -> None:
    path = tmp_path / "gym.dxf"
    gym_plan().saveas(path, fmt="bin")
    data = path.read_bytes()
    assert data.startswith(b"AutoCAD Binary DXF")
    r = import_bytes(data, "gym.dxf", options=ImportOptions(render_background=False))
    assert r.levels[0].floor == imported.levels[0].floor
    with pytest.raises(ImportFailed, match=r"gym\.dxf: truncated DXF"):
        import_bytes(data[:-200], "gym.dxf")


@pytest.mark.parametrize(("insunits", "scale"), [(6, 0.001), (5, 0.1), (1, 1 / 25.4)])
def test_other_units_give_the_same_metres(insunits: int, scale: float, imported) -> None:
    r = import_bytes(_bytes(gym_plan(insunits, scale)), "gym.dxf", options=ImportOptions(render_background=False))
    office = next(z for z in _kinds(r, "zone") if z["properties"]["name"] == "Office")
    assert shape(office["geometry"]).area == pytest.approx(12.0, rel=1e-3)
    assert len(_kinds(r, "wall")) == len(_kinds(imported, "wall"))


def test_unknown_units_need_a_choice() -> None:
    data = _bytes(gym_plan(insunits=0))
    with pytest.raises(ImportFailed, match=r"gym\.dxf: drawing units unknown \(\$INSUNITS is 0"):
        import_bytes(data, "gym.dxf")
    r = import_bytes(data, "gym.dxf", options=ImportOptions(units="mm", render_background=False))
    assert len(_kinds(r, "opening")) == 4
    with pytest.raises(ImportFailed, match="not a floor-plan unit"):
        import_bytes(_bytes(gym_plan(insunits=3)), "gym.dxf")  # miles


def test_layer_mapping_overrides_guesses(plan_bytes: bytes) -> None:
    r = import_bytes(plan_bytes, "gym.dxf",
                     options=ImportOptions(layer_map={"A-FURN": "wall", "A-GLAZ": "ignore"}, render_background=False))
    walls = _kinds(r, "wall")
    assert len(walls) == 11  # +1 desk, -1 window
    assert not any(w["properties"].get("see_through") for w in walls)
    assert {m["source"]: m["to"] for m in r.mapping}["layer A-FURN"] == "wall"


def test_background_is_rendered_to_the_drawing_extent(plan_bytes: bytes) -> None:
    r = import_bytes(plan_bytes, "gym.dxf", limits=Limits(max_render_pixels=200_000))
    bg = r.levels[0].background
    assert bg is not None and bg.png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(bg.png)) as im:
        assert im.size == (bg.width_px, bg.height_px)
        assert bg.width_px * bg.height_px <= 200_000
        assert not im.convert("L").getextrema() == (255, 255)  # something was drawn
    x0, y0, x1, y1 = bg.extent_m
    assert (x1 - x0, y1 - y0) == pytest.approx((12.0, 8.8), rel=0.01)  # plan plus the dimension below it
    assert bg.width_px / bg.height_px == pytest.approx((x1 - x0) / (y1 - y0), rel=0.01)


def test_no_geometry_lists_the_layers() -> None:
    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 4
    doc.modelspace().add_lwpolyline([(0, 0), (1000, 0)], dxfattribs={"layer": "FURNITURE"})
    doc.modelspace().add_text("hello", dxfattribs={"layer": "NOTES"})
    with pytest.raises(ImportFailed, match=r"no geometry on wall.*layers found: FURNITURE \(ignore\), NOTES \(text\)"):
        import_bytes(_bytes(doc), "empty.dxf")
    empty = ezdxf.new()
    empty.header["$INSUNITS"] = 4
    with pytest.raises(ImportFailed, match="empty.dxf: drawing has no geometry in model space"):
        import_bytes(_bytes(empty), "empty.dxf")


def test_truncated_and_corrupt_dxf(plan_bytes: bytes) -> None:
    with pytest.raises(ImportFailed, match=r"gym\.dxf: truncated DXF"):
        import_bytes(plan_bytes[: len(plan_bytes) // 3], "gym.dxf")
    with pytest.raises(ImportFailed, match=r"gym\.dxf: (corrupt|unreadable) .*DXF"):
        import_bytes(b"0\nSECTION\n2\nHEADER\n9\n$INSUNITS\n70\n4\n0\nENDSEC\n0\nSECTION\n2\nENTITIES\n0\nLINE\n8\n"
                     b"A-WALL\n10\nnot-a-number\n20\n0\n11\n1\n21\n1\n0\nENDSEC\n0\nEOF\n", "gym.dxf")
    with pytest.raises(ImportFailed, match=r"gym\.dxf: named \.dxf but the content is a PNG image"):
        import_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "gym.dxf")
    with pytest.raises(ImportFailed, match="DWG drawings are not supported"):
        import_bytes(b"AC1032" + b"\0" * 100, "gym.dwg")


def test_nested_block_bomb_is_refused() -> None:
    doc = ezdxf.new()
    doc.header["$INSUNITS"] = 4
    doc.layers.add("A-WALL")
    doc.blocks.new("B0").add_line((0, 0), (1, 0))
    for i in range(1, 8):  # each level places the previous one 10 times: 10^7 lines
        blk = doc.blocks.new(f"B{i}")
        for j in range(10):
            blk.add_blockref(f"B{i - 1}", (j, 0))
    doc.modelspace().add_blockref("B7", (0, 0), dxfattribs={"layer": "A-WALL"})
    with pytest.raises(ImportFailed, match=r"bomb\.dxf: drawing expands to more than 1000 entities"):
        import_bytes(_bytes(doc), "bomb.dxf", limits=Limits(max_dxf_entities=1000))


def test_self_intersecting_room_is_located(tmp_path: Path) -> None:
    doc = gym_plan()
    doc.modelspace().add_lwpolyline([(100, 100), (900, 900), (900, 100), (100, 900)], close=True,
                                    dxfattribs={"layer": "A-AREA"})
    with pytest.raises(ImportFailed, match=r"gym\.dxf: layer A-AREA, entity \w+: invalid polygon: self-intersection") as err:
        import_bytes(_bytes(doc), "gym.dxf", options=ImportOptions(render_background=False))
    r = import_bytes(_bytes(doc), "gym.dxf", options=ImportOptions(render_background=False, repair=True))
    parse_floor(r.levels[0].floor)
    # The crossing is at (500, 500) mm in drawing coordinates, reported in floor metres.
    ox, oy = r.georef["drawing_origin"]
    assert f"at x={(500 - ox) / 1000:.3f} y={(500 - oy) / 1000:.3f} m" in str(err.value)
