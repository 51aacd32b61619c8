"""DXF plans built with ezdxf for each failure mode of issue 11: layer 0, mirrored blocks, units, labels, drawings."""

from __future__ import annotations

import io

import ezdxf
import pytest
from shapely.geometry import shape

from inventory.importers import ImportFailed, ImportOptions, Limits, import_bytes
from planner.floor import parse_floor

OPTS = ImportOptions(render_background=False)


def _bytes(doc: ezdxf.document.Drawing) -> bytes:
    buf = io.StringIO()
    doc.write(buf)
    return buf.getvalue().encode("utf-8")


def _kinds(result, kind: str, level: int = 0) -> list[dict]:
    return [f for f in result.levels[level].floor["features"] if f["properties"]["kind"] == kind]


def two_rooms(layer: str = "0", door_layer: str | None = None, labels: tuple[str, str] = ("WC", "Office"),
              k: float = 1000.0, insunits: int = 4, dx: float = 0.0) -> ezdxf.document.Drawing:
    """A 10 m x 6 m box split at x = 4 m into two rooms, a 0.9 m door in the split and one in the front wall.

    Everything sits on `layer` (walls, door swings, labels) unless `door_layer` is given. Door swings are arcs
    whose hinge sits on a wall end, the way a door drawn on the wall layer spans the gap between wall ends.
    """
    doc = ezdxf.new("R2018")
    doc.header["$INSUNITS"] = insunits
    msp = doc.modelspace()
    a = {"layer": layer}
    d = {"layer": door_layer or layer}

    def p(x: float, y: float) -> tuple[float, float]:
        return ((x + dx) * k, y * k)

    # Outer walls, with a door gap in the front wall from x = 6 m to 6.9 m.
    msp.add_lwpolyline([p(6, 0), p(0, 0), p(0, 6), p(10, 6), p(10, 0), p(6.9, 0)], dxfattribs=a)
    # The split wall at x = 4 m, with a door gap from y = 2 m to 2.9 m.
    msp.add_line(p(4, 0), p(4, 2), dxfattribs=a)
    msp.add_line(p(4, 2.9), p(4, 6), dxfattribs=a)
    # Door in the split: hinge (4, 2), leaf drawn open into the WC, swing from the closed end (4, 2.9).
    msp.add_line(p(4, 2), p(3.1, 2), dxfattribs=d)
    msp.add_arc(p(4, 2), 0.9 * k, 90, 180, dxfattribs=d)
    # Front door: hinge (6, 0), leaf open into the office, swing to the closed end (6.9, 0).
    msp.add_line(p(6, 0), p(6, 0.9), dxfattribs=d)
    msp.add_arc(p(6, 0), 0.9 * k, 0, 90, dxfattribs=d)
    msp.add_text(labels[0], height=0.25 * k, dxfattribs=a).set_placement(p(1.5, 4))
    msp.add_mtext(labels[1], dxfattribs={**a, "char_height": 0.25 * k}).set_location(p(7, 3))
    return doc


def test_layer_0_plan_with_labels_gets_named_private_rooms() -> None:
    r = import_bytes(_bytes(two_rooms()), "hackerspace.dxf", options=OPTS)
    parse_floor(r.levels[0].floor)
    zones = {z["properties"]["name"]: z["properties"] for z in _kinds(r, "zone")}
    assert set(zones) == {"WC", "Office"}
    assert zones["WC"]["zone"] == "private" and zones["WC"]["use"] == "toilet"
    assert zones["Office"]["zone"] == "general"
    wc = next(shape(z["geometry"]) for z in _kinds(r, "zone") if z["properties"]["name"] == "WC")
    assert wc.area == pytest.approx(4 * 6, rel=0.02)
    # The arcs on the wall layer are doors across their gaps, 0.9 m wide, not curved walls.
    doors = sorted(round(shape(o["geometry"]).length, 3) for o in _kinds(r, "opening"))
    assert doors == [0.9, 0.9]
    assert {m["source"]: m["to"] for m in r.mapping} == {"layer 0": "wall"}
    outline = shape(_kinds(r, "outline")[0]["geometry"])
    assert outline.area == pytest.approx(60, rel=1e-3)


@pytest.mark.parametrize(("labels", "use"), [(("卫生间", "办公室"), "toilet"), (("Vestiaire", "Bureau"), "changing_room"),
                                             (("Dusche", "Büro"), "shower"), (("Guest Room 12", "Lobby"), "guest_room")])
def test_room_labels_in_other_languages(labels: tuple[str, str], use: str) -> None:
    r = import_bytes(_bytes(two_rooms(labels=labels)), "plan.dxf", options=OPTS)
    zones = {z["properties"]["name"]: z["properties"] for z in _kinds(r, "zone")}
    assert zones[labels[0]]["zone"] == "private" and zones[labels[0]]["use"] == use
    assert zones[labels[1]]["zone"] == "general"


def test_room_use_can_be_overridden_in_the_preview() -> None:
    r = import_bytes(_bytes(two_rooms()), "plan.dxf",
                     options=ImportOptions(render_background=False, category_map={"room:Office": "required"}))
    zones = {z["properties"]["name"]: z["properties"]["zone"] for z in _kinds(r, "zone")}
    assert zones == {"WC": "private", "Office": "required"}


def mirrored_door_plan() -> ezdxf.document.Drawing:
    """A 6 m wall with two 0.9 m gaps, each closed by the same door block: one placed plainly, one mirrored."""
    doc = ezdxf.new("R2018")
    doc.header["$INSUNITS"] = 4
    for name in ("A-WALL", "A-DOOR"):
        doc.layers.add(name)
    blk = doc.blocks.new("DOOR900")
    blk.add_line((0, 0), (0, 900))  # leaf, drawn open
    blk.add_arc((0, 0), 900, 0, 90)  # swing, from the closed position (900, 0)
    msp = doc.modelspace()
    w = {"layer": "A-WALL"}
    msp.add_line((0, 0), (1000, 0), dxfattribs=w)
    msp.add_line((1900, 0), (4000, 0), dxfattribs=w)
    msp.add_line((4900, 0), (6000, 0), dxfattribs=w)
    msp.add_lwpolyline([(6000, 0), (6000, 4000), (0, 4000), (0, 0)], dxfattribs=w)
    msp.add_blockref("DOOR900", (1000, 0), dxfattribs={"layer": "A-DOOR"})
    # Mirrored about the y axis: hinge at (4900, 0), swinging to the closed end (4000, 0).
    msp.add_blockref("DOOR900", (4900, 0), dxfattribs={"layer": "A-DOOR", "xscale": -1})
    return doc


def test_mirrored_door_block_arc_centre_is_in_world_coordinates() -> None:
    doc = mirrored_door_plan()
    arcs = [e for ins in doc.modelspace().query("INSERT") for e in ins.virtual_entities() if e.dxftype() == "ARC"]
    assert [tuple(a.dxf.extrusion) for a in arcs] == [(0, 0, 1), (0, 0, -1)]  # the OCS case of the bug
    r = import_bytes(_bytes(doc), "mirror.dxf", options=OPTS)
    ox, oy = r.georef["drawing_origin"]
    spans = sorted(tuple(sorted(round(x + ox / 1000, 3) for x, _ in shape(o["geometry"]).coords))
                   for o in _kinds(r, "opening"))
    assert spans == [(1.0, 1.9), (4.0, 4.9)]


def test_windows_on_the_door_layer_are_walls_and_glass_is_marked() -> None:
    doc = mirrored_door_plan()
    win = doc.blocks.new("WIN1400")
    win.add_lwpolyline([(0, -100), (1400, -100), (1400, 100), (0, 100)], close=True)
    win.add_line((0, 0), (1400, 0))
    doc.modelspace().add_blockref("WIN1400", (2200, 4000), dxfattribs={"layer": "A-DOOR"})
    doc.layers.add("A-GLAZ")
    doc.modelspace().add_line((6000, 1000), (6000, 2000), dxfattribs={"layer": "A-GLAZ"})
    r = import_bytes(_bytes(doc), "mirror.dxf", options=OPTS)
    assert len(_kinds(r, "opening")) == 2
    walls = _kinds(r, "wall")
    window = [w for w in walls if w["properties"].get("source") == "dxf:block WIN1400"]
    assert len(window) == 1 and shape(window[0]["geometry"]).length == pytest.approx(1.4, abs=0.01)
    assert not window[0]["properties"].get("see_through")
    assert sum(1 for w in walls if w["properties"].get("see_through")) == 1


def test_exploded_door_symbol_gives_one_opening() -> None:
    doc = two_rooms(layer="A-WALL", door_layer="A-DOOR")
    # A frame line of each door symbol, exploded onto the door layer with its leaf and swing.
    doc.modelspace().add_line((6000, -100), (6900, -100), dxfattribs={"layer": "A-DOOR"})
    doc.modelspace().add_line((4100, 2000), (4100, 2900), dxfattribs={"layer": "A-DOOR"})
    r = import_bytes(_bytes(doc), "exploded.dxf", options=OPTS)
    assert sorted(round(shape(o["geometry"]).length, 3) for o in _kinds(r, "opening")) == [0.9, 0.9]
    assert not any("no layer looks like walls" in w for w in r.warnings)


@pytest.mark.parametrize(("k", "insunits", "suggest"), [(1.0, 4, "m"), (1000.0, 6, "mm"), (1.0, 1, "m")])
def test_wrong_units_are_flagged_with_a_suggestion(k: float, insunits: int, suggest: str) -> None:
    # Drawn in metres but labelled millimetres or inches; drawn in millimetres but labelled metres.
    r = import_bytes(_bytes(two_rooms(k=k, insunits=insunits)), "units.dxf", options=OPTS)
    note = next(w for w in r.warnings if "not building-sized" in w)
    assert f"in {suggest} it would be 10 m" in note


def test_scale_factor_and_two_point_calibration() -> None:
    data = _bytes(two_rooms(k=1.0, insunits=4))  # metres labelled millimetres
    scaled = import_bytes(data, "units.dxf", options=ImportOptions(render_background=False, scale=1.0))
    calibrated = import_bytes(data, "units.dxf", options=ImportOptions(
        render_background=False, calibration=((0.0, 0.0), (10.0, 0.0), 10.0)))
    for r in (scaled, calibrated):
        assert not any("not building-sized" in w for w in r.warnings)
        outline = shape(_kinds(r, "outline")[0]["geometry"])
        assert outline.area == pytest.approx(60, rel=1e-3)
    with pytest.raises(ImportFailed, match="calibration needs two distinct points"):
        import_bytes(data, "units.dxf", options=ImportOptions(calibration=((1.0, 1.0), (1.0, 1.0), 3.0)))
    with pytest.raises(ImportFailed, match="the scale must be a positive number"):
        import_bytes(data, "units.dxf", options=ImportOptions(scale=-2.0))


def test_unitless_drawing_is_refused_with_the_unit_that_fits() -> None:
    with pytest.raises(ImportFailed, match=r"drawing units unknown .*; in mm it would be 10 m"):
        import_bytes(_bytes(two_rooms(insunits=0)), "nounits.dxf", options=OPTS)


def test_several_drawings_in_model_space() -> None:
    doc = two_rooms(layer="A-WALL", door_layer="A-DOOR")
    msp = doc.modelspace()
    # An elevation 30 m to the right: the facade outline and two window rectangles.
    msp.add_lwpolyline([(40000, 0), (50000, 0), (50000, 4000), (40000, 4000)], close=True,
                       dxfattribs={"layer": "A-WALL"})
    for x in (42000, 46000):
        msp.add_lwpolyline([(x, 1000), (x + 1500, 1000), (x + 1500, 2500), (x, 2500)], close=True,
                           dxfattribs={"layer": "A-WALL"})
    r = import_bytes(_bytes(doc), "sheet.dxf", options=OPTS)
    assert [c["index"] for c in r.clusters] == [1, 2]
    assert any("2 separate drawings" in w for w in r.warnings)
    outline = shape(_kinds(r, "outline")[0]["geometry"])
    assert outline.area == pytest.approx(60, rel=1e-3)  # the plan, not plan plus elevation
    other = import_bytes(_bytes(doc), "sheet.dxf", options=ImportOptions(render_background=False, cluster=2))
    assert shape(_kinds(other, "outline")[0]["geometry"]).bounds[2] == pytest.approx(10, abs=0.01)
    assert not _kinds(other, "opening")
    with pytest.raises(ImportFailed, match="drawing 3 requested but model space holds 2"):
        import_bytes(_bytes(doc), "sheet.dxf", options=ImportOptions(cluster=3))


def test_malformed_layer_name_is_a_warning() -> None:
    data = _bytes(two_rooms(layer="A-WALL", door_layer="DOORSX")).replace(b"DOORSX", b"Doors/Windows")
    r = import_bytes(data, "slash.dxf", options=OPTS)
    assert any("'Doors/Windows'" in w and "read anyway" in w for w in r.warnings)
    assert {m["source"]: m["to"] for m in r.mapping}["layer Doors/Windows"] == "door"
    assert len(_kinds(r, "opening")) == 2


def test_content_guess_and_private_role() -> None:
    doc = two_rooms(layer="Base", door_layer="7")
    doc.modelspace().add_lwpolyline([(500, 500), (3500, 500), (3500, 1500), (500, 1500)], close=True,
                                    dxfattribs={"layer": "TOILET"})
    r = import_bytes(_bytes(doc), "content.dxf", options=OPTS)
    how = {m["source"]: (m["to"], m["how"]) for m in r.mapping}
    assert how["layer Base"] == ("wall", "content")
    assert how["layer 7"] == ("door", "content")
    assert how["layer TOILET"] == ("private", "name")
    private = [z for z in _kinds(r, "zone") if z["properties"]["zone"] == "private"]
    assert any(shape(z["geometry"]).area == pytest.approx(3.0, rel=1e-3) for z in private)


def test_room_layer_of_open_lines_still_bounds_rooms() -> None:
    doc = two_rooms(layer="A-WALL", door_layer="A-DOOR")
    # A room divider drawn as an open line on a room layer splits the office in two.
    doc.modelspace().add_line((7000, 0), (7000, 6000), dxfattribs={"layer": "A-AREA"})
    r = import_bytes(_bytes(doc), "rooms.dxf", options=OPTS)
    assert len(_kinds(r, "zone")) == 3


def test_busiest_layer_is_proposed_as_walls_instead_of_refusing() -> None:
    doc = ezdxf.new("R2018")
    doc.header["$INSUNITS"] = 6
    msp = doc.modelspace()
    # A 4 m x 3 m room traced in 0.5 m strokes on a layer whose name says nothing.
    corners = [(0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (0.0, 3.0), (0.0, 0.0)]
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        n = int(max(abs(x1 - x0), abs(y1 - y0)) / 0.5)
        for i in range(n):
            msp.add_line((x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n),
                         (x0 + (x1 - x0) * (i + 1) / n, y0 + (y1 - y0) * (i + 1) / n), dxfattribs={"layer": "X1"})
    msp.add_circle((1, 1), 0.2, dxfattribs={"layer": "X2"})
    r = import_bytes(_bytes(doc), "strokes.dxf", options=OPTS)
    assert {m["source"]: (m["to"], m["how"]) for m in r.mapping}["layer X1"] == ("wall", "busiest")
    assert any("proposed layer 'X1'" in w for w in r.warnings)
    assert len(_kinds(r, "zone")) == 1
    assert any("no doors found" in w for w in r.warnings)


def test_an_import_past_its_time_limit_is_refused_naming_the_step() -> None:
    data = _bytes(two_rooms())
    with pytest.raises(ImportFailed, match=r"plan\.dxf: import took longer than 0 s \(reading the layers\); "
                                           "nothing was imported"):
        import_bytes(data, "plan.dxf", options=OPTS, limits=Limits(max_seconds=0.0))
    assert import_bytes(data, "plan.dxf", options=OPTS, limits=Limits(max_seconds=None)).levels
