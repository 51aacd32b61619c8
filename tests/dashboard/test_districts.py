"""Districts come from the managed list on every door; the migration maps old free-text values; moves show to both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from accounts.districts import District, DistrictMove
from accounts.models import ApiToken, Jurisdiction, User
from app import create_app
from extensions import db
from inventory.fields import VENUE_FIELDS, ValidationError, clean
from inventory.models import Venue
from tests.conftest import INSPECTOR_CITY, INSPECTOR_SONGJIANG, MANAGER_A, POSTGRES_URL

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
DODGES = ["Nowhere", "Huangpu\u0000", "Huang pu", "Huangpu\t"]


def _venue(app, name: str) -> Venue:
    with app.app_context():
        return db.session.scalar(sa.select(Venue).where(Venue.name == name))


def _token(app, email: str) -> dict[str, str]:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        token, plain = ApiToken.issue(user, "test")
        db.session.add(token)
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_list_holds_shanghais_sixteen_districts(app):
    with app.app_context():
        districts = db.session.scalars(sa.select(District).order_by(District.position)).all()
    assert len(districts) == 16
    assert (districts[0].name, districts[0].name_zh) == ("Huangpu", "黄浦区")
    assert {"Pudong", "Jing'an", "Songjiang", "Chongming"} <= {d.name for d in districts}


@pytest.mark.parametrize("typed, stored", [("huangpu", "Huangpu"), ("  HUANGPU ", "Huangpu"), ("黄浦区", "Huangpu"),
                                           ("jingan", "Jing'an"), ("Pudong New Area", "Pudong"), ("浦东", "Pudong")])
def test_spellings_of_a_listed_district_are_stored_canonically(app, typed, stored):
    with app.app_context():
        assert clean(VENUE_FIELDS, {"name": "V", "type": "hotel", "district": typed})["district"] == stored


@pytest.mark.parametrize("typed", DODGES)
def test_a_value_outside_the_list_is_refused_naming_the_field(app, typed):
    with app.app_context(), pytest.raises(ValidationError) as caught:
        clean(VENUE_FIELDS, {"name": "V", "type": "hotel", "district": typed})
    assert caught.value.field == "district"


@pytest.mark.parametrize("typed", DODGES)
def test_form_refuses_an_unlisted_district_and_saves_nothing(client, auth, demo_app, typed):
    auth.login()
    response = client.post("/venues/new", data={"name": "Dodger Inn", "type": "hotel", "district": typed})
    assert response.status_code == 422
    assert "district" in response.get_data(as_text=True).lower()
    assert _venue(demo_app, "Dodger Inn") is None
    hotel = _venue(demo_app, "Bund View Hotel")
    edit = client.post(f"/venues/{hotel.id}/edit", data={"name": hotel.name, "type": "hotel", "district": typed})
    assert edit.status_code == 422
    assert _venue(demo_app, "Bund View Hotel").district == "Huangpu"


def test_form_offers_the_list_as_a_select(client, auth):
    auth.login()
    page = client.get("/venues/new").get_data(as_text=True)
    assert '<select id="f-district" name="district">' in page
    assert page.count("黄浦区") == 1 and '<option value="Jing&#39;an"' in page


@pytest.mark.parametrize("typed", DODGES)
def test_api_refuses_an_unlisted_district(demo_app, typed):
    api, headers = demo_app.test_client(), _token(demo_app, MANAGER_A)
    created = api.post("/api/v1/venues", headers=headers, json={"name": "Dodger Inn", "type": "hotel",
                                                                 "district": typed})
    assert created.status_code == 422 and created.json["field"] == "district"
    hotel = _venue(demo_app, "Bund View Hotel")
    patched = api.patch(f"/api/v1/venues/{hotel.id}", headers=headers, json={"district": typed})
    assert patched.status_code == 422 and patched.json["field"] == "district"
    assert _venue(demo_app, "Dodger Inn") is None and _venue(demo_app, "Bund View Hotel").district == "Huangpu"


def test_api_stores_a_lower_case_district_canonically_so_inspectors_still_see_it(demo_app):
    api, headers = demo_app.test_client(), _token(demo_app, MANAGER_A)
    created = api.post("/api/v1/venues", headers=headers, json={"name": "Lower Inn", "type": "hotel",
                                                                 "district": "songjiang"})
    assert created.status_code == 201 and created.json["district"] == "Songjiang"
    seen = api.get(f"/api/v1/venues/{created.json['id']}", headers=_token(demo_app, INSPECTOR_SONGJIANG))
    assert seen.status_code == 200


def test_database_refuses_a_district_outside_the_list(demo_app):
    hotel = _venue(demo_app, "Bund View Hotel")
    with demo_app.app_context(), pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Venue).where(Venue.id == hotel.id).values(district="huangpu"))
        db.session.flush()


def test_jurisdictions_take_districts_from_the_list(app):
    with app.app_context():
        jurisdiction = Jurisdiction(name="Test", districts=["xuhui", "徐汇区", "Jing'an"])
        db.session.add(jurisdiction)
        db.session.commit()
        assert jurisdiction.districts == ["Xuhui", "Jing'an"]
        with pytest.raises(ValueError, match="Nowhere"):
            jurisdiction.districts = ["Nowhere"]


def test_a_district_change_is_audited_and_shown_to_both_districts_inspectors(client, auth, demo_app):
    from audit.models import AuditEvent

    pool = _venue(demo_app, "Blue Wave Natatorium")  # Songjiang; Blue Wave's manager moves it to Xuhui
    auth.login("manager@bluewave.example")
    response = client.post(f"/venues/{pool.id}/edit", data={"name": pool.name, "type": "pool_fitness",
                                                            "district": "xuhui", "address": pool.address})
    assert response.status_code == 302
    with demo_app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "venue",
                                                              AuditEvent.object_id == pool.id,
                                                              AuditEvent.action == "update")
                                   .order_by(AuditEvent.id)).all()[-1]
        assert (event.before["district"], event.after["district"]) == ("Songjiang", "Xuhui")
        move = db.session.scalar(sa.select(DistrictMove).where(DistrictMove.venue_id == pool.id))
        assert (move.from_district, move.to_district, move.venue_name) == ("Songjiang", "Xuhui", pool.name)
    auth.logout()
    auth.login(INSPECTOR_SONGJIANG)  # the old district's inspector: venue gone from the list, the move shown
    assert client.get(f"/venues/{pool.id}").status_code == 404
    moves = client.get("/dashboard/moves").get_data(as_text=True)
    assert "Blue Wave Natatorium" in moves and "Xuhui" in moves and "moved out" in moves.lower()
    auth.logout()
    with demo_app.app_context():
        city = db.session.scalar(sa.select(Jurisdiction).where(Jurisdiction.name == "Shanghai city inspection"))
        city.districts = [*city.districts, "Xuhui"]
        db.session.commit()
    auth.login(INSPECTOR_CITY)  # covers both districts: sees the venue and the move
    assert client.get(f"/venues/{pool.id}").status_code == 200
    assert "Blue Wave Natatorium" in client.get("/dashboard/moves").get_data(as_text=True)
    auth.logout()
    auth.login(MANAGER_A)  # the overview is the inspecting authority's: a manager is refused
    assert client.get("/dashboard/moves").status_code == 403


def _old_schema(tmp_path, name: str):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}"})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.begin() as c:
            c.execute(sa.text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'Org', '2026-01-01')"))
    return app


def _insert_venue(c, venue_id: int, district: str) -> None:
    c.execute(sa.text("INSERT INTO venue (id, organisation_id, name, type, district, address, created_at, updated_at)"
                      " VALUES (:i, 1, :n, 'hotel', :d, '', '2026-01-01', '2026-01-01')"),
              {"i": venue_id, "n": f"V{venue_id}", "d": district})


@pytest.mark.skipif(bool(POSTGRES_URL), reason="migrates its own SQLite file")
def test_migration_maps_existing_districts_case_insensitively(tmp_path):
    app = _old_schema(tmp_path, "map.sqlite")
    with app.app_context():
        with db.engine.begin() as c:
            for venue_id, district in enumerate(["huangpu", "Huangpu\u0000", "JING'AN", "松江区", "Xuhui"], start=1):
                _insert_venue(c, venue_id, district)
            c.execute(sa.text("INSERT INTO jurisdiction (id, name, districts) VALUES (1, 'J', :d)"),
                      {"d": json.dumps(["songjiang", "Huangpu"])})
        upgrade(directory=MIGRATIONS, revision="0010")
        with db.engine.connect() as c:
            districts = [r[0] for r in c.execute(sa.text("SELECT district FROM venue ORDER BY id"))]
            linked = [r[0] for r in c.execute(sa.text(
                "SELECT d.name FROM jurisdiction_district jd JOIN districts d ON d.id = jd.district_id "
                "ORDER BY d.position"))]
        assert districts == ["Huangpu", "Huangpu", "Jing'an", "Songjiang", "Xuhui"]
        assert linked == ["Huangpu", "Songjiang"]
        downgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.connect() as c:
            assert json.loads(c.execute(sa.text("SELECT districts FROM jurisdiction")).scalar()) == \
                ["Huangpu", "Songjiang"]
        db.engine.dispose()


@pytest.mark.skipif(bool(POSTGRES_URL), reason="migrates its own SQLite file")
def test_migration_refuses_unknown_districts_naming_them_and_changes_nothing(tmp_path, monkeypatch, capfd):
    app = _old_schema(tmp_path, "refuse.sqlite")
    with app.app_context():
        with db.engine.begin() as c:
            _insert_venue(c, 1, "Huangpu")
            _insert_venue(c, 2, "Nowhere")
        with pytest.raises(SystemExit):  # flask-migrate logs the migration's error and exits non-zero
            upgrade(directory=MIGRATIONS, revision="0010")
        logged = capfd.readouterr().err
        assert "venue 2 ('V2'): district 'Nowhere'" in logged and "venue 1 " not in logged
        with db.engine.connect() as c:
            assert "districts" not in sa.inspect(c).get_table_names()
            assert c.execute(sa.text("SELECT district FROM venue WHERE id = 2")).scalar() == "Nowhere"
        monkeypatch.setenv("SIGHTLINE_DISTRICT_MAP", "Nowhere=Qingpu")
        upgrade(directory=MIGRATIONS, revision="0010")
        with db.engine.connect() as c:
            assert c.execute(sa.text("SELECT district FROM venue WHERE id = 2")).scalar() == "Qingpu"
        db.engine.dispose()
