"""The upload preview lists the rooms a DXF's walls enclose with their guessed uses; the user's answers apply."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.inventory.test_dxf_failure_modes import two_rooms
from tests.web.test_floor_upload import (
    _floor,
    _new_floor,
    _token_from,
    _upload,
    manager,  # noqa: F401  (fixture)
)

DATA_TUM = Path(__file__).resolve().parents[1] / "data" / "real-plans" / "osm-indoor-tum-data.geojson"


def _dxf(**kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    two_rooms(**kw).write(buf)
    return buf.getvalue().encode()


def test_rooms_are_listed_and_confirmed(manager, demo_app):  # noqa: F811
    spare = _new_floor(demo_app, manager)
    page = _upload(manager, spare, "hackerspace.dxf", _dxf()).get_data(as_text=True)
    rooms = page.split('id="rooms-0"')[1].split("</table>")[0]
    assert "<td>WC</td><td>toilet</td>" in rooms and "<td>Office</td>" in rooms
    assert '<option value="private" selected>private</option>' in rooms.split('name="category:room:WC"')[1][:200]
    token = _token_from(page)
    response = manager.post(f"/floors/{spare}/upload/apply",
                            data={"token": token, "category:room:Office": "required", "category:room:WC": "private"})
    assert response.status_code == 303
    zones = {z.name: z.kind for z in _floor(demo_app, spare).zones}
    assert zones == {"WC": "private", "Office": "required"}


def test_wrong_scale_is_shown_and_fixed_in_the_preview(manager, demo_app):  # noqa: F811
    spare = _new_floor(demo_app, manager)
    data = _dxf(k=1.0, insunits=4)  # metres labelled millimetres: 1 cm across
    page = _upload(manager, spare, "units.dxf", data).get_data(as_text=True)
    assert "not building-sized; in m it would be 10 m" in page
    token = _token_from(page)
    page = manager.post(f"/floors/{spare}/upload/preview", data={"token": token, "choice:scale": "1"}).get_data(
        as_text=True)
    assert "not building-sized" not in page and "The plan is 10.0 m × 6.0 m" in page
    bad = manager.post(f"/floors/{spare}/upload/preview", data={"token": token, "choice:scale": "-1"})
    assert bad.status_code == 422 and "scale &#39;-1&#39; must be a positive number" in bad.get_data(as_text=True)


def test_osm_indoor_upload_gives_floors_with_toilets(manager, demo_app):  # noqa: F811
    spare = _new_floor(demo_app, manager)
    with open(DATA_TUM, "rb") as fh:
        data = fh.read()
    page = _upload(manager, spare, "tum.geojson", data).get_data(as_text=True)
    assert "OSM" in page and "Level -1" in page
    token = _token_from(page)
    assert manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "level": "0"}).status_code == 303
    floor = _floor(demo_app, spare)
    src = json.loads(data)["features"]
    toilets = [f for f in src if f["properties"].get("level") == "-1~-1" and f["properties"].get("amenity") == "toilets"]
    assert sum(1 for z in floor.zones if z.kind == "private") >= len(toilets) > 0
