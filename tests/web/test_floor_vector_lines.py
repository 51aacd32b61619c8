"""A vector PDF's straight lines offered as walls after calibration: confirm adds them (audited), decline doesn't."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from shapely.geometry import shape

from audit.models import AuditEvent
from extensions import db
from inventory.models import Floor
from tests.conftest import INSPECTOR_CITY, MANAGER_A, MANAGER_B
from tests.web.test_floor_upload import _floor, _new_floor, _snapshot, _upload

PAGE_PT = (400, 300)
# The page draws a 300 x 200 pt rectangle (4 sides, closed with h) and one 100 pt inner wall, in points.
DRAWING = b"2 w 50 50 m 350 50 l 350 250 l 50 250 l h S 200 50 m 200 150 l S"
SEGMENTS_PT = [300.0, 200.0, 300.0, 200.0, 100.0]


def vector_pdf(content: bytes, width: int, height: int) -> bytes:
    """A one-page PDF written by hand: the content stream as given, a correct xref table."""
    objs = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 {width} {height}]/Contents 4 0 R>>".encode(),
            b"<</Length %d>>stream\n" % len(content) + content + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.fixture
def manager(client, auth):
    auth.login(MANAGER_A)
    return client


@pytest.fixture
def calibrated(demo_app, manager) -> tuple[int, float]:
    """A new floor with the vector PDF as background, calibrated so the rectangle's bottom side is 30 m."""
    floor_id = _new_floor(demo_app, manager)
    response = _upload(manager, floor_id, "evacuation.pdf", vector_pdf(DRAWING, *PAGE_PT))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/floors/{floor_id}/calibrate")
    meta = _floor(demo_app, floor_id).background_meta
    assert meta["vector_lines"] == 5 and meta["vector_lines_state"] == "pending"
    k = meta["width_px"] / PAGE_PT[0]  # rendered pixels per point
    y = meta["height_px"] - 50 * k  # the bottom side, y down
    response = manager.post(f"/floors/{floor_id}/calibrate",
                            data={"x1": str(50 * k), "y1": str(y), "x2": str(350 * k), "y2": str(y),
                                  "distance_m": "30"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/floors/{floor_id}/vector-lines")
    return floor_id, 30.0 / 300.0  # metres per point


def _walls(app, floor_id: int) -> list:
    with app.app_context():
        floor = db.session.get(Floor, floor_id)
        return [f for f in floor.structure or [] if f["properties"]["kind"] == "wall"]


def test_confirmed_lines_become_walls_of_their_real_length(demo_app, manager, calibrated):
    floor_id, m_per_pt = calibrated
    page = manager.get(f"/floors/{floor_id}/vector-lines").get_data(as_text=True)
    assert "5 straight lines found in the PDF" in page and page.count("<line ") == 5
    assert "becomes its outline" in page  # the new floor has no outline yet
    with demo_app.app_context():
        before = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    response = manager.post(f"/floors/{floor_id}/vector-lines", data={"answer": "add"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/floors/{floor_id}")
    walls = _walls(demo_app, floor_id)
    assert len(walls) == 5
    assert sorted(shape(w["geometry"]).length for w in walls) == pytest.approx(
        sorted(s * m_per_pt for s in SEGMENTS_PT), abs=0.01)
    assert all(w["id"] for w in walls)  # stored by the one save path, which gives each wall a stable id
    floor = _floor(demo_app, floor_id)
    outline = next(f for f in floor.structure if f["properties"]["kind"] == "outline")
    assert shape(outline["geometry"]).area == pytest.approx(30.0 * 20.0, abs=0.5)
    assert floor.background_meta["vector_lines_state"] == "added"
    with demo_app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.id > (before or 0), AuditEvent.object_type == "floor", AuditEvent.object_id == floor_id)).all()
        # An update stores the structure as a feature diff: the five walls are what it added.
        assert any(e.action == "update" and "structure" in e.after
                   and len([f for f in e.after["structure"]["added"] if f["properties"]["kind"] == "wall"]) == 5
                   and e.user_id is not None for e in events)
    # Asked once: the offer is gone, and a repeated confirm (a double submit) adds nothing.
    assert manager.get(f"/floors/{floor_id}/vector-lines").status_code == 302
    assert manager.post(f"/floors/{floor_id}/vector-lines", data={"answer": "add"}).status_code == 302
    assert len(_walls(demo_app, floor_id)) == 5


def test_declined_lines_leave_the_floor_unchanged(demo_app, manager, calibrated):
    floor_id, _ = calibrated
    before = _snapshot(demo_app, floor_id)
    response = manager.post(f"/floors/{floor_id}/vector-lines", data={"answer": "decline"})
    assert response.status_code == 303
    after = _snapshot(demo_app, floor_id)
    assert after[0] == before[0] and after[4:] == before[4:]  # structure, zones, terminals, floors
    assert _walls(demo_app, floor_id) == []
    assert _floor(demo_app, floor_id).background_meta["vector_lines_state"] == "declined"
    assert manager.get(f"/floors/{floor_id}/vector-lines").status_code == 302


def test_a_png_background_offers_no_lines(demo_app, manager):
    from tests.web.test_floor_upload import _png

    floor_id = _new_floor(demo_app, manager)
    _upload(manager, floor_id, "plan.png", _png())
    response = manager.post(f"/floors/{floor_id}/calibrate",
                            data={"x1": "0", "y1": "0", "x2": "100", "y2": "0", "distance_m": "5"})
    assert response.headers["Location"].endswith(f"/floors/{floor_id}")
    assert "vector_lines" not in _floor(demo_app, floor_id).background_meta


@pytest.mark.parametrize(("login", "status"), [(MANAGER_B, 404), (INSPECTOR_CITY, 403)])
def test_others_can_neither_see_nor_answer_the_offer(demo_app, client, auth, calibrated, login, status):
    floor_id, _ = calibrated
    before = _snapshot(demo_app, floor_id)
    auth.logout()
    auth.login(login)
    assert client.get(f"/floors/{floor_id}/vector-lines").status_code == status
    assert client.post(f"/floors/{floor_id}/vector-lines", data={"answer": "add"}).status_code == status
    assert _snapshot(demo_app, floor_id) == before
