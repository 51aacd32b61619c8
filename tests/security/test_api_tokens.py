"""API tokens are scoped (read or write) and expire: a read token's writes are 403, an expired token is 401,
pages ignore tokens, and the token page lets the user choose scope and lifetime."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from accounts.models import ApiToken, TokenScope, User, utcnow
from extensions import db
from inventory.models import Venue
from tests.conftest import MANAGER_A


def _issue(app, scope: TokenScope, days: int = 30, *, age_days: int = 0) -> tuple[dict[str, str], int]:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        token, plain = ApiToken.issue(user, "t", scope, days)
        token.expires_at -= timedelta(days=age_days)
        db.session.add(token)
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}, token.id


def _hotel(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))


def test_a_read_token_reads_but_every_write_is_403_and_changes_nothing(demo_app) -> None:
    api = demo_app.test_client()
    read, _ = _issue(demo_app, TokenScope.READ)
    venue = _hotel(demo_app)
    assert api.get("/api/v1/me", headers=read).status_code == 200
    assert api.get(f"/api/v1/venues/{venue}", headers=read).status_code == 200
    for method, url, body in (("PATCH", f"/api/v1/venues/{venue}", {"name": "Renamed"}),
                              ("PUT", f"/api/v1/venues/{venue}", {"name": "Renamed"}),
                              ("POST", "/api/v1/venues", {"name": "New", "type": "hotel", "district": "Huangpu"}),
                              ("DELETE", f"/api/v1/venues/{venue}", None)):
        response = api.open(url, method=method, headers=read, json=body)
        assert response.status_code == 403, (method, url, response.status_code)
        assert "read-only" in response.get_json()["error"]
    with demo_app.app_context():
        assert db.session.get(Venue, venue).name == "Bund View Hotel"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Venue).where(Venue.name == "New")) == 0


def test_a_write_token_writes(demo_app) -> None:
    write, _ = _issue(demo_app, TokenScope.WRITE)
    response = demo_app.test_client().patch(f"/api/v1/venues/{_hotel(demo_app)}", headers=write,
                                            json={"name": "Renamed"})
    assert response.status_code == 200 and response.get_json()["name"] == "Renamed"


def test_an_expired_token_is_401_a_live_one_is_not(demo_app) -> None:
    api = demo_app.test_client()
    expired, _ = _issue(demo_app, TokenScope.WRITE, days=7, age_days=8)
    assert api.get("/api/v1/me", headers=expired).status_code == 401
    assert api.patch(f"/api/v1/venues/{_hotel(demo_app)}", headers=expired, json={"name": "x"}).status_code == 401
    nearly, _ = _issue(demo_app, TokenScope.READ, days=7, age_days=6)
    assert api.get("/api/v1/me", headers=nearly).status_code == 200


def test_pages_ignore_bearer_tokens(demo_app) -> None:
    write, _ = _issue(demo_app, TokenScope.WRITE)
    response = demo_app.test_client().get("/", headers=write)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_token_page_issues_the_chosen_scope_and_lifetime(client, auth, demo_app) -> None:
    auth.login(MANAGER_A)
    page = client.get("/tokens").get_data(as_text=True)
    assert 'name="scope"' in page and 'name="days"' in page
    assert re.search(r'<option value="read" selected>', page)  # least privilege by default
    response = client.post("/tokens", data={"name": "ci", "scope": "write", "days": "7"})
    assert response.status_code == 200
    plain = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True)).group(1)
    with demo_app.app_context():
        token = db.session.scalar(sa.select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(plain)))
        assert token.scope == TokenScope.WRITE
        assert abs(token.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    for bad in ({"scope": "admin", "days": "7"}, {"scope": "read", "days": "3650"}, {"scope": "read", "days": "x"}):
        refused = client.post("/tokens", data={"name": "bad", **bad})
        assert refused.status_code == 422 and "Choose a scope" in refused.get_data(as_text=True)
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.name == "bad")) == 0
