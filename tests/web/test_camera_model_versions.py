"""A camera model's optics are part of every floor whose terminals use it: editing the model gives those floors a
new version, so what is cached by version (overlays, the editor export) is computed afresh; and cache keys carry the
generation of the code that computed them, since Redis outlives a deploy."""

from __future__ import annotations

import sqlalchemy as sa

from accounts.models import User
from extensions import db
from inventory import floorio, services
from inventory.models import CameraModel, Floor, Terminal
from planner.coverage import PRIVACY_TOLERANCE_M2, Engine
from planner.floor import without_bad_terminals
from planner.overlays import coverage_overlays
from tests.conftest import MANAGER_A


def _view_of(overlays: dict, code: str) -> dict:
    return next(f for f in overlays["features"] if f["properties"]["layer"] == "view"
                and f["properties"]["terminal"] == code)


def _fresh_overlays(app, floor_id: int) -> dict:  # type: ignore[no-untyped-def]
    """The overlays computed from the stored rows now, by the engine directly (no cache)."""
    with app.app_context():
        usable, _problems = without_bad_terminals(floorio.floor_model(db.session.get(Floor, floor_id)))
        return coverage_overlays(Engine(usable), tolerance=PRIVACY_TOLERANCE_M2)


def test_changing_a_models_pixels_refreshes_the_overlays_of_floors_that_use_it(manager, hotel, demo_app) -> None:
    with demo_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        model = services.create_camera_model(user, {"manufacturer": "Test", "model": "Wide", "hpx": "2688",
                                                    "hfov_min_deg": "30", "hfov_max_deg": "110"})
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == hotel, Terminal.code == "C-301"))
        terminal.camera_model_id, terminal.hpx, terminal.range_m = model.id, None, None
        db.session.commit()
        model_id = model.id
    url = f"/api/v1/floors/{hotel}/overlays"
    before = manager.get(url).get_json()
    assert manager.get(url).get_json() == before  # served from the cache
    with demo_app.app_context():
        version = db.session.get(Floor, hotel).version
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        services.update_camera_model(user, db.session.get(CameraModel, model_id), {"hpx": "640"})
        db.session.commit()
        assert db.session.get(Floor, hotel).version != version
    after = manager.get(url).get_json()
    assert _view_of(after, "C-301")["geometry"] != _view_of(before, "C-301")["geometry"]
    assert after["features"] == _fresh_overlays(demo_app, hotel)["features"]


def test_renaming_a_model_no_floor_uses_leaves_floor_versions_alone(hotel, demo_app) -> None:
    with demo_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        model = services.create_camera_model(user, {"manufacturer": "Test", "model": "Unused", "hpx": "1920",
                                                    "hfov_min_deg": "90", "hfov_max_deg": "90"})
        db.session.commit()
        versions = dict(db.session.execute(sa.select(Floor.id, Floor.version)).tuples().all())
        services.update_camera_model(user, model, {"model": "Unused 2"})
        db.session.commit()
        assert dict(db.session.execute(sa.select(Floor.id, Floor.version)).tuples().all()) == versions


def test_cache_keys_change_with_the_code_that_computes_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from inventory.floor_overlays import code_generation

    (tmp_path / "planner").mkdir()
    (tmp_path / "planner" / "coverage.py").write_text("RANGE = 1\n")
    (tmp_path / "README.md").write_text("docs")
    first = code_generation(tmp_path)
    (tmp_path / "README.md").write_text("other docs")
    assert code_generation(tmp_path) == first  # only code and catalogues count
    (tmp_path / "planner" / "coverage.py").write_text("RANGE = 2\n")
    assert code_generation(tmp_path) != first
