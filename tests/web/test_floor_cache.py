"""Floor versions and what is cached by them (overlays, the editor export), and the paginated terminal table."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from extensions import db
from inventory import floor_overlays, floorio, services
from inventory.models import Floor, Terminal
from inventory.views import TERMINALS_PER_PAGE
from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
from planner.floor import without_bad_terminals
from planner.overlays import coverage_overlays
from tests.recording import AttributeRecorder


def _version(app, floor_id: int) -> str:
    with app.app_context():
        return db.session.get(Floor, floor_id).version


def _fresh_overlays(app, floor_id: int) -> dict:
    """The overlays computed from the stored rows now, by the engine directly (no cache)."""
    with app.app_context():
        usable, _problems = without_bad_terminals(floorio.floor_model(db.session.get(Floor, floor_id)))
        return coverage_overlays(Engine(usable), tolerance=PRIVACY_TOLERANCE_M2)


def _view(overlays: dict, code: str) -> dict:
    return next(f for f in overlays["features"] if f["properties"]["layer"] == "view"
                and f["properties"]["terminal"] == code)


def test_turning_a_camera_gives_the_floor_a_new_version_and_fresh_overlays(manager, hotel, demo_app):
    url = f"/api/v1/floors/{hotel}/overlays"
    before = manager.get(url).get_json()
    assert manager.get(url).get_json() == before  # served from the cache
    version = _version(demo_app, hotel)
    assert manager.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"heading_deg": 20}).status_code == 200
    assert _version(demo_app, hotel) != version
    after = manager.get(url).get_json()
    assert _view(after, "C-301")["properties"]["heading_deg"] == 20
    assert _view(after, "C-301")["geometry"] != _view(before, "C-301")["geometry"]
    fresh = _fresh_overlays(demo_app, hotel)
    assert after["features"] == fresh["features"]


def test_a_serial_edit_reuses_the_overlays_a_renamed_terminal_refreshes_the_export(manager, hotel, demo_app):
    manager.get(f"/api/v1/floors/{hotel}/overlays")
    manager.get(f"/api/v1/floors/{hotel}/editor")
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        version, digest = floor.version, floor_overlays.geometry_digest(floor)
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == hotel,
                                                                     Terminal.code == "C-302"))
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": "NEW-SERIAL-302"}).status_code == 200
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        assert floor.version != version
        assert floor_overlays.geometry_digest(floor) == digest  # no geometry changed: the overlays' key stays
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"code": "C-302B"}).status_code == 200
    state = manager.get(f"/api/v1/floors/{hotel}/editor").get_json()
    codes = {f["properties"]["id"] for f in state["floor"]["features"] if f["properties"]["kind"] == "terminal"}
    assert "C-302B" in codes and "C-302" not in codes and "C-302B" in state["ranges"]
    assert "C-302B" in {f["properties"].get("terminal") for f in manager.get(
        f"/api/v1/floors/{hotel}/overlays").get_json()["features"]}


def test_overlays_carry_an_etag_and_answer_304_until_the_geometry_changes(manager, hotel):
    url = f"/api/v1/floors/{hotel}/overlays"
    first = manager.get(url)
    etag = first.headers["ETag"]
    again = manager.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    manager.patch(f"/api/v1/floors/{hotel}/terminals/C-302/pose", json={"x": 40})
    moved = manager.get(url, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag


class _FakeRedis:
    """The two calls the floor cache makes of Redis, on a dict (a second worker process shares it)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, ex: int) -> None:
        self.data[key] = value


@pytest.fixture
def shared_cache(monkeypatch):
    """The floor cache as served: a process LRU in front of a Redis shared by the workers (both empty)."""
    redis = _FakeRedis()
    monkeypatch.setattr(floor_overlays, "_redis_client", lambda: redis)
    floor_overlays._memory.clear()
    yield redis
    floor_overlays._memory.clear()


def _terminal_feature(state: dict, code: str) -> dict:
    return next(f for f in state["floor"]["features"] if f["properties"].get("id") == code)


def test_the_process_copy_never_serves_an_old_floor_and_another_worker_reads_redis(manager, hotel, shared_cache,
                                                                                    monkeypatch):
    url = f"/api/v1/floors/{hotel}/editor"
    before = manager.get(url).get_json()
    assert any(k.startswith(floor_overlays.PREFIX + "export:") for k in shared_cache.data)  # stored in Redis
    assert manager.patch(f"/api/v1/floors/{hotel}/terminals/C-301/pose", json={"heading_deg": 20}).status_code == 200
    after = manager.get(url).get_json()
    assert _terminal_feature(after, "C-301")["properties"]["heading_deg"] == 20
    assert _terminal_feature(before, "C-301")["properties"]["heading_deg"] != 20
    # Another worker (an empty process cache) is served the new export from Redis without computing it.
    floor_overlays._memory.clear()
    monkeypatch.setattr(floorio, "export_floor", lambda *a, **k: pytest.fail("recomputed, not read from Redis"))
    assert manager.get(url).get_json() == after


def test_editor_state_answers_304_while_what_it_sends_holds(manager, hotel, demo_app):
    url = f"/api/v1/floors/{hotel}/editor"
    first = manager.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = manager.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    with demo_app.app_context():
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == hotel,
                                                                     Terminal.code == "C-302"))
    # A serial number is not in the editor's export: a new floor version, the same body, still 304.
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": "NEW-SERIAL-302"}).status_code == 200
    assert manager.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert manager.get(url).data == first.data
    manager.patch(f"/api/v1/floors/{hotel}/terminals/C-302/pose", json={"x": 40})
    moved = manager.get(url, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert _terminal_feature(moved.get_json(), "C-302")["geometry"]["coordinates"][0] == 40


def test_findings_answer_304_until_a_finding_of_the_floor_changes(manager, hotel, demo_app):
    from findings import service

    url = f"/api/v1/floors/{hotel}/findings"
    first = manager.get(url)
    etag = first.headers["ETag"]
    assert manager.get(url, headers={"If-None-Match": etag}).status_code == 304
    chinese = manager.get(url, headers={"Accept-Language": "zh-CN"})
    assert chinese.headers["ETag"] != etag and chinese.data != first.data  # the messages are in the language asked
    feature = first.get_json()["features"][0]
    assert feature["properties"]["status"] == "open"
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        version, venue_id = floor.version, floor.venue_id
    response = manager.post(f"/api/v1/venues/{venue_id}/findings/{feature['properties']['id']}/accept",
                            json={"justification": "Signed off by the venue's privacy officer for the test."})
    assert response.status_code == 200
    assert _version(demo_app, hotel) != version  # writing a finding of the floor gave it a new version
    accepted = manager.get(url, headers={"If-None-Match": etag})
    assert accepted.status_code == 200 and accepted.headers["ETag"] != etag
    status = {f["properties"]["id"]: f["properties"]["status"] for f in accepted.get_json()["features"]}
    assert status[feature["properties"]["id"]] == "accepted"
    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        assert accepted.get_json() == service.floor_findings_geojson(db.session.get(Floor, hotel))


def test_a_serial_edit_carries_the_digest_to_the_new_version_a_turn_does_not(manager, hotel, demo_app, shared_cache,
                                                                              monkeypatch):
    manager.get(f"/api/v1/floors/{hotel}/overlays")  # the digest of this version is cached
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        version, digest = floor.version, floor_overlays.geometry_digest(floor)
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == hotel,
                                                                     Terminal.code == "C-302"))
    assert manager.patch(f"/api/v1/terminals/{terminal_id}", json={"serial": "CARRIED-302"}).status_code == 200
    real_model = floorio.floor_model
    monkeypatch.setattr(floorio, "floor_model", lambda *a, **k: pytest.fail("the model was built again"))
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        assert floor.version != version and floor_overlays.geometry_digest(floor) == digest
    monkeypatch.setattr(floorio, "floor_model", real_model)
    assert manager.patch(f"/api/v1/floors/{hotel}/terminals/C-302/pose", json={"heading_deg": 33}).status_code == 200
    with demo_app.app_context():
        floor = db.session.get(Floor, hotel)
        turned = floor_overlays.geometry_digest(floor)
        assert turned != digest
        assert turned == hashlib.sha256(repr(floorio.floor_model(floor)).encode()).hexdigest()


def test_terminal_model_reads_only_the_model_attributes(demo_app, hotel):
    """What _model_kept compares: a new attribute read by terminal_model must be added to MODEL_ATTRIBUTES."""
    read: set[str] = set()

    with demo_app.app_context():
        for terminal in db.session.get(Floor, hotel).terminals:
            floorio.terminal_model(AttributeRecorder(terminal, read))
    assert read and read <= floor_overlays.MODEL_ATTRIBUTES


def test_a_rolled_back_edit_leaves_the_version(demo_app, hotel):
    with demo_app.app_context():
        version = db.session.get(Floor, hotel).version
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == hotel))
        terminal.heading_deg = (terminal.heading_deg + 90) % 360
        db.session.flush()
        assert db.session.get(Floor, hotel).version != version  # the writing transaction sees its new version
        db.session.rollback()
        assert db.session.get(Floor, hotel).version == version


def _add_terminals(app, floor_id: int, n: int) -> set[str]:
    """n more cameras on the floor (ORM rows, like the CSV import writes); every code on the floor after."""
    with app.app_context():
        floor = db.session.get(Floor, floor_id)
        template = floor.terminals[0]
        for i in range(n):
            db.session.add(Terminal(floor_id=floor.id, venue_id=floor.venue_id, code=f"P-{i:04d}", kind=template.kind,
                                    status=template.status, x=template.x, y=template.y,
                                    heading_deg=template.heading_deg, hfov_deg=template.hfov_deg))
        db.session.commit()
        return {t.code for t in db.session.get(Floor, floor_id).terminals}


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_every_terminal_is_on_exactly_one_page(manager, hotel, demo_app, direction):
    codes = _add_terminals(demo_app, hotel, 2 * TERMINALS_PER_PAGE + 13)
    seen: list[str] = []
    url = f"/floors/{hotel}?sort=serial&dir={direction}"
    pages = 0
    while url:
        page = manager.get(url, headers={"HX-Request": "true", "HX-Target": "terminal-table"}).get_data(as_text=True)
        rows = re.findall(r'<tr [^>]*id="terminal-(\d+)"', page)
        assert 0 < len(rows) <= TERMINALS_PER_PAGE
        with demo_app.app_context():
            seen += [db.session.get(Terminal, int(i)).code for i in rows]
        pages += 1
        found = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == -(-len(codes) // TERMINALS_PER_PAGE)
    assert sorted(seen) == sorted(codes)  # every terminal once, none twice


def test_a_page_past_the_end_shows_the_last_page(manager, hotel, demo_app):
    _add_terminals(demo_app, hotel, TERMINALS_PER_PAGE)
    page = manager.get(f"/floors/{hotel}?page=99").get_data(as_text=True)
    assert "page 2 of 2" in page and 'rel="prev"' in page and 'rel="next"' not in page


def test_grouped_counts_equal_the_counts_of_the_rows(demo_app):
    with demo_app.app_context():
        floors = list(db.session.scalars(sa.select(Floor)))
        grouped = services.floor_terminal_counts([f.id for f in floors])
        for floor in floors:
            assert grouped[floor.id] == services.terminal_counts(floor.terminals)
        venue = floors[0].venue
        assert services.combined_counts([grouped[f.id] for f in venue.floors]) == services.terminal_counts(
            [t for f in venue.floors for t in f.terminals])
