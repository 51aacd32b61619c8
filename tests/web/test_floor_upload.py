"""Plan upload: backgrounds and calibration, vector import preview and apply, hostile files, isolation."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from extensions import db
from inventory import demo_plans
from inventory.models import Floor, Venue
from tests.conftest import INSPECTOR_CITY, MANAGER_A, MANAGER_B, make_app, seed

IMDF = Path(__file__).resolve().parents[1] / "data" / "imdf" / "pool-venue.zip"


def _png(width: int = 400, height: int = 300, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), "white").save(buf, format="PNG")
    return buf.getvalue()


def _pdf(pages: int) -> bytes:
    images = [Image.new("RGB", (300, 200), c) for c in ("white", "yellow", "cyan")[:pages]]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:])
    return buf.getvalue()


def _new_floor(app, client, venue: str = "Bund View Hotel", level: int = 8, name: str = "Spare") -> int:
    with app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == venue))
    assert client.post(f"/venues/{venue_id}/floors/new", data={"level": str(level), "name": name}).status_code == 302
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).where(Floor.venue_id == venue_id, Floor.level == level))


def _floor(app, floor_id: int) -> Floor:
    with app.app_context():
        floor = db.session.get(Floor, floor_id)
        _ = (floor.zones, floor.terminals)  # load before the session closes
        db.session.expunge(floor)
        return floor


def _upload(client, floor_id: int, name: str, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"/floors/{floor_id}/upload", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


@pytest.fixture
def manager(client, auth):
    auth.login(MANAGER_A)
    return client


@pytest.fixture
def spare(demo_app, manager) -> int:
    return _new_floor(demo_app, manager)


def _hotel(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel",
                                                                       Floor.level == 3))


def _snapshot(app, floor_id: int) -> tuple:
    """Everything an upload may change on a floor."""
    with app.app_context():
        floor = db.session.get(Floor, floor_id)
        return (json.dumps(floor.structure, sort_keys=True), floor.background_image, floor.background_meta,
                floor.original_upload, sorted((z.name, z.kind.value, json.dumps(z.geometry)) for z in floor.zones),
                sorted((t.code, t.x, t.y) for t in floor.terminals),
                db.session.scalar(sa.select(sa.func.count()).select_from(Floor)))


# ---------------------------------------------------------------- rasters and calibration


def test_png_becomes_background_and_is_calibrated(manager, demo_app, spare):
    response = _upload(manager, spare, "lobby plan.png", _png(400, 300))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/floors/{spare}/calibrate")
    floor = _floor(demo_app, spare)
    assert floor.background_meta["width_px"] == 400 and floor.background_meta["height_px"] == 300
    root = Path(demo_app.config["UPLOAD_FOLDER"])
    org = str(_org(demo_app, spare))
    stored = list((root / org / f"floor-{spare}" / "uploads").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("lobby_plan.png") and stored[0].read_bytes() == _png(400, 300)
    assert floor.original_upload.endswith("lobby_plan.png")
    image = manager.get(f"/floors/{spare}/background")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert Image.open(io.BytesIO(image.data)).size == (400, 300)
    assert "calibrate-map" in manager.get(f"/floors/{spare}/calibrate").get_data(as_text=True)

    response = manager.post(f"/floors/{spare}/calibrate", data={"x1": "0", "y1": "300", "x2": "400", "y2": "300",
                                                                "distance_m": "20", "rotation_deg": "90"})
    assert response.status_code == 303
    meta = _floor(demo_app, spare).background_meta
    assert meta["metres_per_px"] == pytest.approx(0.05)
    assert meta["origin_px"] == [0, 300] and meta["rotation_deg"] == 90
    state = manager.get(f"/api/v1/floors/{spare}/editor").get_json()
    corners = state["background"]["corners"]
    # Rotated 90° counter-clockwise about the bottom-left corner: the image's top-left lands at (-15, 0).
    assert corners[0] == pytest.approx([-15.0, 0.0], abs=1e-6)
    assert corners[2] == pytest.approx([0.0, 20.0], abs=1e-6)


def _org(app, floor_id: int) -> int:
    with app.app_context():
        return db.session.get(Floor, floor_id).venue.organisation_id


@pytest.mark.parametrize(("form", "field"), [
    ({"x1": "5", "y1": "5", "x2": "5", "y2": "5", "distance_m": "3"}, "distance_m"),  # the same point twice
    ({"x1": "0", "y1": "0", "x2": "10", "y2": "0", "distance_m": "-2"}, "distance_m"),
    ({"x1": "0", "y1": "0", "x2": "10", "y2": "0", "distance_m": "nan"}, "distance_m"),
    ({"x1": "a", "y1": "0", "x2": "10", "y2": "0", "distance_m": "2"}, "x1"),
])
def test_bad_calibration_is_refused(manager, demo_app, spare, form, field):
    _upload(manager, spare, "plan.png", _png())
    before = _snapshot(demo_app, spare)
    response = manager.post(f"/floors/{spare}/calibrate", data=form)
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    assert _snapshot(demo_app, spare) == before


def test_pdf_page_choice(manager, demo_app, spare):
    response = _upload(manager, spare, "evacuation.pdf", _pdf(3), page="2")
    assert response.status_code == 303
    meta = _floor(demo_app, spare).background_meta
    assert meta["page"] == 1 and meta["page_count"] == 3
    response = _upload(manager, spare, "evacuation.pdf", _pdf(2), page="5")
    assert response.status_code == 422
    assert "page 5 requested but the PDF has 2 page(s)" in response.get_data(as_text=True)
    assert _floor(demo_app, spare).background_meta["page_count"] == 3


def test_htmx_upload_redirects_with_header(manager, spare):
    response = manager.post(f"/floors/{spare}/upload", data={"file": (io.BytesIO(_png()), "p.png")},
                            content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(f"/floors/{spare}/calibrate")


# ---------------------------------------------------------------- hostile files


def _bomb_png() -> bytes:
    """A 30000 x 30000 1-bit PNG: about 110 kB on disk, 900 Mpixel decoded."""
    buf = io.BytesIO()
    Image.new("1", (30000, 30000), 0).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b'{"version": "1.0.0"}')
        zf.writestr("level.geojson", b" " * (20 * 1024 * 1024))
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "message"), [
    ("plan.dxf", _png(), "plan.dxf: named .dxf but the content is a PNG image"),
    ("plan.exe", b"MZ\x90\x00", "plan.exe: unsupported file type"),
    ("plan.png", _png()[:60], "plan.png: corrupt or truncated image"),
    ("plan.png", b"", "plan.png: file is empty"),
    ("bomb.png", _bomb_png(), "bomb.png: image too large to decode safely, decompression bomb?"),
    ("venue.zip", _zip_bomb(), "venue.zip:level.geojson: compression ratio"),
    ("drawing.dwg", b"AC1032" + b"\0" * 100, "unsupported file type"),
    ("empty.pdf", b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                  b"trailer<</Root 1 0 R>>\n%%EOF", "empty.pdf: PDF has no pages"),
    ("plain.geojson", json.dumps({"type": "FeatureCollection", "features": []}).encode(), "plain.geojson: GeoJSON without"),
])
def test_hostile_files_are_refused_and_floor_untouched(manager, demo_app, name, data, message):
    hotel = _hotel(demo_app)
    before = _snapshot(demo_app, hotel)
    response = _upload(manager, hotel, name, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _snapshot(demo_app, hotel) == before


def test_size_limits(template_database, tmp_path):
    app = make_app(template_database, tmp_path, UPLOAD_MAX_BYTES=50_000)
    seed(app)
    client = app.test_client()
    client.post("/login", data={"email": MANAGER_A, "password": "sightline-demo"})
    hotel = _hotel(app)
    buf = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(buf, format="PNG")
    payload = buf.getvalue()
    assert len(payload) > 50_000
    response = _upload(client, hotel, "big.png", payload)
    assert response.status_code == 422 and "big.png: file is 0.1 MB, above the" in response.get_data(as_text=True)
    # Past the request limit (upload limit + 1 MB) werkzeug refuses the body before it is read.
    response = _upload(client, hotel, "huge.png", b"\0" * (50_000 + 1024 * 1024 + 10))
    assert response.status_code == 413
    with app.app_context():
        assert db.session.get(Floor, hotel).background_image is None
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- vector imports


def test_geojson_preview_then_apply(manager, demo_app, spare):
    plan = demo_plans.supermarket_floor()
    plan["features"] = [f for f in plan["features"] if f["properties"]["kind"] != "terminal"]
    response = _upload(manager, spare, "market.geojson", json.dumps(plan).encode())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Preview: market.geojson" in page and "import-confirm" in page
    assert _floor(demo_app, spare).structure == []  # nothing changes before the user confirms
    token = _token_from(page)
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "level": "0"})
    assert response.status_code == 303
    exported = manager.get(f"/api/v1/floors/{spare}/geojson").get_json()
    for f in plan["features"]:  # the export spells out the format's defaults
        if f["properties"]["kind"] == "zone":
            f["properties"] = {"k": 1, "tier": "observe", **f["properties"]}
    assert all(f.get("id") for f in exported["features"] if f["properties"]["kind"] != "terminal")
    without_ids = [{k: v for k, v in f.items() if k != "id"} for f in exported["features"]]
    def canonical(features: list[dict]) -> list[str]:  # 36 and 36.0 are the same coordinate
        return sorted(json.dumps(json.loads(json.dumps(f), parse_int=float), sort_keys=True) for f in features)

    assert canonical(without_ids) == canonical(plan["features"])
    # Applying the same file again updates every feature in place: its ids stay, none is re-created.
    again = manager.post(f"/floors/{spare}/upload", data={"file": (io.BytesIO(json.dumps(exported).encode()),
                                                                   "market-export.geojson")},
                         content_type="multipart/form-data")
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": _token_from(again.get_data(as_text=True)),
                                                                   "level": "0"})
    assert response.status_code == 303
    assert manager.get(f"/api/v1/floors/{spare}/geojson").get_json()["features"] == exported["features"]


def _token_from(page: str) -> str:
    import re

    return re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)


def test_vector_apply_is_all_or_nothing(manager, demo_app):
    """A plan whose outline leaves the floor's terminals outside is refused, naming the terminal."""
    hotel = _hotel(demo_app)
    small = demo_plans.PlanBuilder("Small", 5.0, 5.0).collection()
    before = _snapshot(demo_app, hotel)
    page = _upload(manager, hotel, "small.geojson", json.dumps(small).encode()).get_data(as_text=True)
    assert "terminal(s) are kept" in page
    response = manager.post(f"/floors/{hotel}/upload/apply", data={"token": _token_from(page), "level": "0"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "small.geojson" in text and "outside the floor outline" in text and "C-30" in text
    assert _snapshot(demo_app, hotel) == before


def test_imdf_levels_choice_and_all_levels(manager, demo_app):
    spare = _new_floor(demo_app, manager, venue="Bund View Hotel", level=20, name="Annex")
    page = _upload(manager, spare, "pool-venue.zip", IMDF.read_bytes()).get_data(as_text=True)
    assert "Ground Floor" in page and "Level 1" in page and 'name="category:shower"' in page
    token = _token_from(page)
    # Re-read with the lobby mapped to a required zone, then import every level.
    page = manager.post(f"/floors/{spare}/upload/preview", data={"token": token, "category:lobby": "required"})
    assert page.status_code == 200
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "level": "all",
                                                                    "category:lobby": "required"})
    assert response.status_code == 303
    with demo_app.app_context():
        venue = db.session.get(Floor, spare).venue
        floors = {f.level: f for f in venue.floors}
        assert floors[20].name == "Annex" and floors[21].name == "Level 1"
        ground = {z.name: z.kind.value for z in floors[20].zones}
        assert sum(1 for k in ground.values() if k == "private") == 4
        assert "required" in ground.values()
        assert len(floors[21].zones) == 4
        assert floors[21].original_upload.endswith("pool-venue.zip")
        level1 = floors[21].id
    # The stored original can be imported again, with another mapping, from either floor.
    page = manager.get(f"/floors/{level1}/upload").get_data(as_text=True)
    assert 'id="reimport"' in page and f'value="{token}"' in page
    again = manager.post(f"/floors/{level1}/upload/preview", data={"token": token})
    assert again.status_code == 200 and "Preview: pool-venue.zip" in again.get_data(as_text=True)
    response = manager.post(f"/floors/{level1}/upload/apply", data={"token": token, "level": "1",
                                                                     "category:shower": "general"})
    assert response.status_code == 303


@pytest.mark.slow
def test_dxf_mapping_is_confirmed_and_saved_per_organisation(manager, demo_app, spare):
    from tests.inventory.test_importers_dxf import gym_plan

    doc = gym_plan()
    doc.layers.add("MY-PARTITIONS")
    doc.modelspace().add_line((3000, 4000), (6000, 4000), dxfattribs={"layer": "MY-PARTITIONS"})
    buf = io.StringIO()
    doc.write(buf)
    data = buf.getvalue().encode()
    page = _upload(manager, spare, "gym.dxf", data).get_data(as_text=True)
    assert 'name="layer:A-WALL"' in page and 'name="layer:MY-PARTITIONS"' in page
    token = _token_from(page)
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "layer:MY-PARTITIONS": "wall"})
    assert response.status_code == 303
    floor = _floor(demo_app, spare)
    walls = [f for f in floor.structure if f["properties"]["kind"] == "wall"]
    # Metres from the drawing's extents corner: the first A-WALL vertex (3000, 0) mm fixes the offset.
    ox, oy = walls[0]["geometry"]["coordinates"][0][0] - 3.0, walls[0]["geometry"]["coordinates"][0][1]
    expected = [3.0 + ox, 4.0 + oy, 6.0 + ox, 4.0 + oy]
    assert any(sum(f["geometry"]["coordinates"], []) == pytest.approx(expected, abs=1e-3) for f in walls)
    assert floor.background_image and floor.background_meta["metres_per_px"] > 0
    saved = Path(demo_app.config["UPLOAD_FOLDER"]) / str(_org(demo_app, spare)) / "dxf-layer-map.json"
    assert json.loads(saved.read_text())["my-partitions"] == "wall"
    # The next upload in the same organisation starts from the saved mapping.
    page = _upload(manager, spare, "gym.dxf", data).get_data(as_text=True)
    assert '<option value="wall" selected>wall</option>' in page.split('name="layer:MY-PARTITIONS"')[1][:400]


def test_upload_tokens_are_per_floor_and_rasters_have_no_vectors(manager, demo_app, spare):
    _upload(manager, spare, "plan.png", _png())
    raster_token = _floor(demo_app, spare).original_upload.rsplit("/", 1)[-1][:32]
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": raster_token})
    assert response.status_code == 422 and "no vector geometry" in response.get_data(as_text=True)
    page = _upload(manager, _hotel(demo_app), "small.geojson",
                   json.dumps(demo_plans.PlanBuilder("S", 5, 5).collection()).encode()).get_data(as_text=True)
    token = _token_from(page)
    assert manager.post(f"/floors/{spare}/upload/apply", data={"token": token}).status_code == 404
    assert manager.post(f"/floors/{spare}/upload/apply", data={"token": "../../etc"}).status_code == 404


# ---------------------------------------------------------------- access


def test_other_organisation_and_read_only_roles(client, auth, demo_app):
    hotel = _hotel(demo_app)
    auth.login(MANAGER_A)
    _upload(client, hotel, "plan.png", _png())
    auth.logout()
    auth.login(MANAGER_B)
    assert client.get(f"/floors/{hotel}/background").status_code == 404
    assert client.get(f"/floors/{hotel}/upload").status_code == 404
    assert _upload(client, hotel, "plan.png", _png()).status_code == 404
    assert client.post(f"/floors/{hotel}/calibrate", data={"x1": "0"}).status_code == 404
    auth.logout()
    auth.login(INSPECTOR_CITY)
    assert client.get(f"/floors/{hotel}/background").status_code == 200  # may see the floor, so its plan
    assert client.get(f"/floors/{hotel}/upload").status_code == 403
    assert _upload(client, hotel, "plan.png", _png()).status_code == 403
    auth.logout()
    assert client.get(f"/floors/{hotel}/background").status_code == 302  # signed out: to the login page


def test_geojson_with_terminals_updates_them(manager, demo_app):
    """Re-uploading the floor's own export (a camera turned) updates that terminal and keeps the others."""
    hotel = _hotel(demo_app)
    fc = manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()
    for f in fc["features"]:
        if f["properties"].get("id") == "C-301":
            f["properties"]["heading_deg"] = 15
    fc["features"] = [f for f in fc["features"] if f["properties"].get("id") != "C-302"]
    page = _upload(manager, hotel, "hotel.geojson", json.dumps(fc).encode()).get_data(as_text=True)
    assert manager.post(f"/floors/{hotel}/upload/apply", data={"token": _token_from(page)}).status_code == 303
    terminals = {f["properties"]["id"]: f for f in manager.get(f"/api/v1/floors/{hotel}/geojson").get_json()["features"]
                 if f["properties"]["kind"] == "terminal"}
    assert terminals["C-301"]["properties"]["heading_deg"] == 15 and "C-302" in terminals


def test_self_intersecting_zone_is_located_or_repaired_with_consent(manager, demo_app, spare):
    plan = demo_plans.PlanBuilder("Bow", 10.0, 10.0).collection()
    plan["features"].append({"type": "Feature", "properties": {"kind": "zone", "zone": "private", "name": "Bow tie"},
                             "geometry": {"type": "Polygon", "coordinates": [[[1, 1], [4, 4], [4, 1], [1, 4], [1, 1]]]}})
    data = json.dumps(plan).encode()
    refused = _upload(manager, spare, "bow.geojson", data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "bow.geojson: feature 1" in text and "2.5" in text  # the self-intersection's location
    consented = _upload(manager, spare, "bow.geojson", data, repair="1")
    assert consented.status_code == 200 and 'name="repair" value="1"' in consented.get_data(as_text=True)
    token = _token_from(consented.get_data(as_text=True))
    assert manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "repair": "1"}).status_code == 303
    zones = [f for f in manager.get(f"/api/v1/floors/{spare}/geojson").get_json()["features"]
             if f["properties"]["kind"] == "zone"]
    assert [z["properties"]["name"] for z in zones] == ["Bow tie"]


@pytest.mark.slow
def test_dxf_without_units_needs_the_users_choice(manager, demo_app, spare):
    from tests.inventory.test_importers_dxf import gym_plan

    buf = io.StringIO()
    gym_plan(insunits=0).write(buf)
    data = buf.getvalue().encode()
    refused = _upload(manager, spare, "gym.dxf", data)
    assert refused.status_code == 422 and "gym.dxf: drawing units unknown" in refused.get_data(as_text=True)
    page = _upload(manager, spare, "gym.dxf", data, units="mm").get_data(as_text=True)
    assert '<option value="mm" selected>' in page
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": _token_from(page), "units": "mm"})
    assert response.status_code == 303
    outline = next(f for f in _floor(demo_app, spare).structure if f["properties"]["kind"] == "outline")
    xs = [p[0] for p in outline["geometry"]["coordinates"][0]]
    assert max(xs) - min(xs) == pytest.approx(12.0, abs=0.05)  # the 12 m plan, read in millimetres


@pytest.mark.slow
def test_wrld_building_zip_preview_and_one_level(manager, demo_app):
    """Westport House (WRLD indoor maps, CC BY 4.0, credit WRLD Ltd) zipped: seven levels, import one."""
    source = Path(__file__).resolve().parents[1] / "data" / "westport-house"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.glob("*.json")) + sorted(source.glob("*.geojson")):
            zf.write(path, f"westport-house/{path.name}")
    spare = _new_floor(demo_app, manager, venue="Bund View Hotel", level=40, name="Westport")
    response = _upload(manager, spare, "westport-house.zip", buf.getvalue())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count(">Only ") == 7 and 'value="all"' in page  # one choice per level, or all of them
    assert manager.post(f"/floors/{spare}/upload/apply", data={"token": _token_from(page), "level": "2"}).status_code == 303
    floor = _floor(demo_app, spare)
    kinds = {f["properties"]["kind"] for f in floor.structure}
    assert kinds == {"outline", "wall", "opening"} and floor.zones
