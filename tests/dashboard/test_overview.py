"""Dashboard figures on a small city (expected numbers worked out by hand from tests/dashboard/city.py), access, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard import queries
from extensions import db
from tests.dashboard.city import (
    ADMIN,
    INSPECTOR_HUANGPU,
    INSPECTOR_XUHUI,
    MANAGER_ALPHA,
    PASSWORD,
    build_city,
)


@pytest.fixture
def city(app):
    # The findings are planted: keep the rules from re-evaluating (and fixing) them at each commit.
    app.config["COMPLIANCE_AUTO_EVALUATE"] = False
    with app.app_context():
        ids = build_city()
        db.session.commit()
    return ids


def _login(client, email):
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _user(email):
    import sqlalchemy as sa

    from accounts.models import User
    return db.session.scalar(sa.select(User).where(User.email == email))


# Huangpu: V1 (hotel) floor 1 plan: before C1 C2 C3 FR1 FR2 = 5, after C1 C3 FR2 N-1 = 4; face 2 -> 1.
#          V1 floor 2 in service C4 C5 FR3 = 3 (C6 removed from service, C7 removed from the register); face 1.
#          V1: 8 -> 7, face 3 -> 2, open prohibited 2, inspected.   V2 (supermarket): 2 -> 2, nothing else.
HUANGPU = {"venues": 2, "inspected": 1, "terminals_before": 10, "terminals_after": 9, "face_before": 3,
           "face_after": 2, "open_prohibited": 2, "entities_near": 1, "entities_over": 0}
# Xuhui: V3 hotel 2 -> 2, face 1 -> 1, prohibited 1, inspected; V5 pool 1 -> 1, face 1 -> 1.
XUHUI = {"venues": 2, "inspected": 1, "terminals_before": 3, "terminals_after": 3, "face_before": 2,
         "face_after": 2, "open_prohibited": 1, "entities_near": 1, "entities_over": 1}


def test_figures_by_district_for_each_inspector_and_admin(app, city):
    with app.app_context():
        huangpu = queries.overview(_user(INSPECTOR_HUANGPU))
        assert list(huangpu.by_district) == ["Huangpu"]
        assert huangpu.by_district["Huangpu"].as_dict() == HUANGPU and huangpu.total.as_dict() == HUANGPU
        xuhui = queries.overview(_user(INSPECTOR_XUHUI))
        assert list(xuhui.by_district) == ["Xuhui"] and xuhui.by_district["Xuhui"].as_dict() == XUHUI
        everything = queries.overview(_user(ADMIN))
        assert everything.by_district["Huangpu"].as_dict() == HUANGPU
        assert everything.by_district["Xuhui"].as_dict() == XUHUI
        assert everything.total.venues == 4 and everything.total.terminals_before == 13


def test_figures_by_venue_type(app, city):
    with app.app_context():
        data = queries.overview(_user(INSPECTOR_HUANGPU))
        hotel, market = data.by_type["hotel"].as_dict(), data.by_type["supermarket"].as_dict()
        assert (hotel["venues"], hotel["inspected"], hotel["terminals_before"], hotel["terminals_after"],
                hotel["face_before"], hotel["face_after"], hotel["open_prohibited"]) == (1, 1, 8, 7, 3, 2, 2)
        assert (market["venues"], market["terminals_before"], market["terminals_after"],
                market["open_prohibited"], market["inspected"]) == (1, 2, 2, 0, 0)
        only_hotels = queries.overview(_user(ADMIN), venue_type="hotel")
        assert set(only_hotels.by_type) == {"hotel"} and only_hotels.total.venues == 2


def test_filing_watch_sums_enrolled_persons_per_legal_entity(app, city):
    with app.app_context():
        assert queries.filing_threshold() == (100_000, 80_000)
        # Alpha Holdings: 50,000 + 35,000 + 0 + 10,000 (V4 removed, not counted) = 95,000: near, not over.
        huangpu = queries.overview(_user(INSPECTOR_HUANGPU)).entities
        assert [(e.name, e.enrolled, e.over, e.venues, e.districts) for e in huangpu] == \
            [("Alpha Holdings Ltd", 95_000, False, 1, ["Huangpu"])]
        xuhui = queries.overview(_user(INSPECTOR_XUHUI)).entities
        assert [(e.name, e.enrolled, e.over) for e in xuhui] == [("Gamma Group", 120_000, True),
                                                                 ("Alpha Holdings Ltd", 95_000, False)]


def test_page_shows_the_figures_and_accessible_charts(app, city):
    client = _login(app.test_client(), INSPECTOR_HUANGPU)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "10 → <strong>9</strong>" in page and "3 → <strong>2</strong>" in page
    assert 'id="total-inspected">1 / 2<' in page and 'id="total-prohibited">2<' in page
    assert "Alpha Holdings Ltd" in page and "95,000" in page and "Gamma" not in page
    assert page.count('role="img"') == 4 and '<title id="chart-terminals-title">' in page
    assert "Huangpu: before 10" in page and "Huangpu: after 9" in page  # each bar names its value in text
    assert "Xuhui" not in page.split('id="by-district"')[1].split("</table>")[0]


def test_inspector_of_another_district_sees_none_of_it(app, city):
    client = _login(app.test_client(), INSPECTOR_XUHUI)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-district="Huangpu"' not in page and "Huangpu: before" not in page
    assert client.get("/dashboard/?district=Huangpu").status_code == 404  # not one of their districts
    assert client.get("/dashboard/export.csv?district=Huangpu").status_code == 404
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert {row[0] for row in rows[1:]} == {"Xuhui"}


@pytest.mark.parametrize("email", [MANAGER_ALPHA, "planner@city.example"])
def test_managers_and_planners_are_refused(app, city, email):
    client = _login(app.test_client(), email)
    for url in ("/dashboard/", "/dashboard/export.csv", "/dashboard/moves"):
        assert client.get(url).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(app, city):
    response = app.test_client().get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_csv_export_has_one_row_per_district_and_type(app, city):
    client = _login(app.test_client(), INSPECTOR_HUANGPU)
    response = client.get("/dashboard/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["district"], r["venue_type"]) for r in rows] == [("Huangpu", "hotel"), ("Huangpu", "supermarket")]
    assert {k: int(v) for k, v in rows[0].items() if k not in ("district", "venue_type")} == {
        "venues": 1, "inspected": 1, "terminals_before": 8, "terminals_after": 7, "face_before": 3,
        "face_after": 2, "open_prohibited": 2}
    filtered = client.get("/dashboard/export.csv?type=supermarket").get_data(as_text=True)
    assert "hotel" not in filtered and "supermarket" in filtered


def test_bad_filters_are_refused_naming_the_parameter(app, city):
    client = _login(app.test_client(), ADMIN)
    bad_district = client.get("/dashboard/?district=Nowhere")
    assert bad_district.status_code == 400 and "district" in bad_district.get_data(as_text=True)
    assert client.get("/dashboard/export.csv?type=casino").status_code == 400
