"""Hypothesis on every importer: random and mutated files give a result or a clean InputError (ImportFailed),
never another exception, and each one finishes within the example deadline (no hang).

Budget: SIGHTLINE_FUZZ_EXAMPLES examples per format (default 10, the CI pass); `bench/fuzz.sh` runs 1,000.
Seeds are small valid files of each format; Hypothesis mutates them (flips, cuts, splices, inserts) as well
as generating arbitrary bytes, and structured JSON for the GeoJSON-family readers.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import ezdxf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inventory import csv_io
from inventory.importers import ImportOptions, Limits, import_bytes
from planner.errors import InputError
from planner.research.orlib import parse_orlib_scp
from planner.research.polfile import parse_pol

DATA = Path(__file__).parents[1] / "data"
EXAMPLES = int(os.environ.get("SIGHTLINE_FUZZ_EXAMPLES", "10"))
FUZZ = settings(max_examples=EXAMPLES, deadline=60_000, database=None, derandomize=not os.environ.get("SIGHTLINE_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OPTIONS = ImportOptions(render_background=False)
LIMITS = Limits(max_seconds=8.0)

pytestmark = pytest.mark.fuzz


def _dxf() -> bytes:
    doc = ezdxf.new("R2018")
    doc.header["$INSUNITS"] = 6
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (10, 0), (10, 6), (0, 6)], close=True, dxfattribs={"layer": "A-WALL"})
    msp.add_line((4, 0), (4, 6), dxfattribs={"layer": "A-WALL"})
    msp.add_text("WC", height=0.3, dxfattribs={"layer": "A-AREA-IDEN"}).set_placement((1.5, 3))
    block = doc.blocks.new("DOOR")
    block.add_arc((0, 0), 0.9, 0, 90)
    msp.add_blockref("DOOR", (6, 0), dxfattribs={"layer": "A-DOOR"})
    buf = io.StringIO()
    doc.write(buf)
    return buf.getvalue().encode()


def _png() -> bytes:
    buf = io.BytesIO()
    image = Image.new("L", (64, 48), 255)
    for x in range(64):
        image.putpixel((x, 10), 0)
    image.save(buf, "PNG")
    return buf.getvalue()


def _osm() -> bytes:
    def poly(x0, y0, x1, y1):  # type: ignore[no-untyped-def]
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}
    features = [
        {"type": "Feature", "geometry": poly(11.0, 48.0, 11.0002, 48.0001), "properties": {"indoor": "level", "level": "0"}},
        {"type": "Feature", "geometry": poly(11.0, 48.0, 11.0001, 48.0001),
         "properties": {"indoor": "room", "level": "0", "name": "WC", "amenity": "toilets"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [11.0001, 48.00005]},
         "properties": {"door": "yes", "level": "0"}},
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


SEEDS = {
    "floor.geojson": (DATA / "floors" / "two_rooms.json").read_bytes(),
    "plan.dxf": _dxf(),
    "venue.zip": (DATA / "imdf" / "pool-venue.zip").read_bytes(),
    "osm.geojson": _osm(),
    "plan.png": _png(),
}


@st.composite
def mutated(draw, seed: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """The seed with a few random edits: byte flips, a cut, an inserted run, a duplicated slice."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        edit = draw(st.sampled_from(("flip", "cut", "insert", "dup", "digit")))
        if edit == "flip":
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif edit == "dup":
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
        else:  # numbers are where parsers overflow: put a huge or odd one in
            data[at:at] = draw(st.sampled_from((b"1e309", b"-0", b"NaN", b"9" * 40, b"1e-320", b"\x00")))
    return bytes(data)


def _import(data: bytes, name: str) -> None:
    try:
        import_bytes(data, name, options=OPTIONS, limits=LIMITS)
    except InputError:
        pass  # a clean, named refusal is the expected answer to junk


def _zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_mutated_files_fail_cleanly(name: str, data: st.DataObject) -> None:
    _import(data.draw(mutated(SEEDS[name])), name)


@pytest.mark.parametrize("name", ["x.geojson", "x.dxf", "x.zip", "x.png", "x.jpg", "x.pdf", "x.json", "x.bin"])
@FUZZ
@given(blob=st.binary(max_size=4096))
def test_arbitrary_bytes_fail_cleanly(name: str, blob: bytes) -> None:
    _import(blob, name)


JSON = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
                    max_leaves=40)
KEYS = st.sampled_from(["type", "features", "geometry", "coordinates", "properties", "kind", "zone", "indoor",
                        "level", "format", "id", "heading_deg", "hfov_deg", "name", "feature_type"])


@st.composite
def feature_collections(draw):  # type: ignore[no-untyped-def]
    """FeatureCollections whose features have plausible keys and arbitrary values."""
    features = draw(st.lists(st.dictionaries(KEYS, JSON, max_size=6), max_size=6))
    for feature in features:
        if draw(st.booleans()):
            feature["properties"] = draw(st.dictionaries(KEYS, JSON, max_size=6))
    collection = {"type": "FeatureCollection", "features": features}
    if draw(st.booleans()):
        collection["format"] = "sightline-floor/1"
    return collection


@FUZZ
@given(collection=feature_collections())
def test_structured_geojson_fails_cleanly(collection: dict) -> None:
    _import(json.dumps(collection).encode(), "floor.geojson")


@FUZZ
@given(files=st.dictionaries(st.sampled_from(["manifest.json", "venue.geojson", "level.geojson", "unit.geojson",
                                               "opening.geojson", "main.json", "building.json"]),
                             feature_collections().map(lambda c: json.dumps(c).encode()), min_size=1, max_size=4))
def test_structured_zip_packages_fail_cleanly(files: dict[str, bytes]) -> None:
    _import(_zip_of(files), "venue.zip")


CSV_SEED = b"code,kind,x,y,heading_deg,hfov_deg,hpx,serial\nC-1,camera,1,2,90,60,1920,S-1\nF-2,face_terminal,3,4,,,,\n"


@FUZZ
@given(data=st.data())
def test_terminal_csv_never_raises(data: st.DataObject) -> None:
    blob = data.draw(st.one_of(mutated(CSV_SEED), st.binary(max_size=2048)))
    parsed = csv_io.read(blob)
    assert parsed is not None  # problems are reported in the result, row by row, never raised


@FUZZ
@given(data=st.data())
def test_pol_and_orlib_readers_fail_cleanly(data: st.DataObject) -> None:
    pol = (DATA / "agp" / "random-40-3.pol").read_bytes()
    scp = (DATA / "orlib" / "scp41.txt").read_bytes()[:3000]
    for parse, seed in ((parse_pol, pol), (parse_orlib_scp, scp)):
        text = data.draw(mutated(seed)).decode("utf-8", "replace")
        try:
            parse(text)
        except InputError:
            pass


FOUND = [  # what the fuzzers found, kept as plain regression cases (each was a TypeError, i.e. a 500)
    {"type": "FeatureCollection", "features": [{"properties": {"type": []}}]},
    {"type": "FeatureCollection", "features": 5},
    {"type": "FeatureCollection", "features": [{"properties": [1]}]},
    {"features": 7, "feature_type": None},
]


@pytest.mark.parametrize("collection", FOUND, ids=range(len(FOUND)))
def test_what_the_fuzzers_found_fails_cleanly(collection: dict) -> None:
    with pytest.raises(InputError):
        import_bytes(json.dumps(collection).encode(), "floor.geojson", options=OPTIONS)
