"""Hostile input and session security (issue 14): no cheap 500s, escaped LIKE, revocable sessions,
rate-limited sign-in, production refusal and response headers. Runs on SQLite and, with DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import accounts.models
from accounts.models import User
from app import create_app
from extensions import db
from inventory.models import Terminal, Venue
from tests.conftest import DEMO_PASSWORD, MANAGER_A, make_app, seed

API = "/api/v1"
HUGE_IDS = ["9223372036854775808", "1" + "0" * 30, "2147483648"]


@pytest.fixture
def signed_in(client, auth):
    """The test client signed in as the organisation A manager."""
    assert auth.login().status_code == 302
    return client


def _hotel(demo_app) -> tuple[int, int]:
    """Venue id and first floor id of the Bund View Hotel (organisation A)."""
    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        return venue.id, venue.floors[0].id


# ---------------------------------------------------------------- cheap 500s


def test_deeply_nested_json_body_is_a_400_with_a_message(signed_in, demo_app):
    venue_id, _ = _hotel(demo_app)
    body = "[" * 100_000 + "]" * 100_000
    response = signed_in.patch(f"{API}/venues/{venue_id}", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json["error"]


@pytest.mark.parametrize("huge", HUGE_IDS)
@pytest.mark.parametrize("path", ["/venues/{}", "/floors/{}", "/terminals/{}", "/camera-models/{}",
                                  "/venues/{}/floors"])
def test_ids_beyond_the_integer_range_answer_404(signed_in, path, huge):
    response = signed_in.get(API + path.format(huge))
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_huge_ids_in_page_urls_answer_404(signed_in, huge):
    assert signed_in.get(f"/venues/{huge}").status_code == 404
    assert signed_in.get(f"/venues/{huge}/audit").status_code == 404


@pytest.mark.parametrize("huge", HUGE_IDS[:2])
def test_huge_page_number_answers_404(signed_in, demo_app, huge):
    venue_id, _ = _hotel(demo_app)
    assert signed_in.get(f"/venues/{venue_id}/audit?page=2").status_code == 200
    assert signed_in.get(f"/venues/{venue_id}/audit?page={huge}").status_code == 404


@pytest.mark.parametrize("value", [9223372036854775808, 10**30, 2**31])
def test_huge_camera_model_id_is_a_422_naming_the_field(signed_in, demo_app, value):
    _, floor_id = _hotel(demo_app)
    response = signed_in.post(f"{API}/floors/{floor_id}/terminals",
                              json={"code": "BIG-1", "kind": "camera", "x": 1, "y": 1, "camera_model_id": value})
    assert response.status_code == 422
    assert response.json["field"] == "camera_model_id"


def test_a_number_beyond_any_float_is_a_422(signed_in, demo_app):
    _, floor_id = _hotel(demo_app)
    response = signed_in.post(f"{API}/floors/{floor_id}/terminals", data='{"code": "BIG-2", "kind": "camera", '
                              '"x": 1' + "0" * 400 + ', "y": 1}', content_type="application/json")
    assert response.status_code == 422
    assert response.json["field"] == "x"


def test_nul_byte_in_a_json_text_field_is_a_422_naming_it(signed_in, demo_app):
    venue_id, _ = _hotel(demo_app)
    response = signed_in.patch(f"{API}/venues/{venue_id}", json={"name": "Bund\x00View"})
    assert response.status_code == 422
    assert response.json["field"] == "name"
    with demo_app.app_context():
        assert db.session.get(Venue, venue_id).name == "Bund View Hotel"


def test_nul_byte_in_a_form_field_or_query_is_a_422_naming_it(signed_in, demo_app):
    venue_id, floor_id = _hotel(demo_app)
    response = signed_in.get(f"{API}/floors/{floor_id}/terminals?q=HK%00")
    assert response.status_code == 422
    assert response.json["field"] == "q"
    page = signed_in.get(f"/venues/{venue_id}/audit?type=venue%00")
    assert page.status_code == 422
    assert b"type: must not contain a NUL character" in page.data
    login = demo_app.test_client().post("/login", data={"email": "manager\x00@x.example", "password": "x"})
    assert login.status_code == 422


# ---------------------------------------------------------------- LIKE wildcards


@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_like_wildcards_in_search_are_literal(signed_in, demo_app, wildcard):
    _, floor_id = _hotel(demo_app)
    with demo_app.app_context():
        terminals = db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor_id)).all()
        assert len(terminals) > 1
        for other in terminals[1:]:
            other.purpose = "plain words"
        terminals[0].purpose = f"lobby 100{wildcard} covered"
        marked = terminals[0].id
        db.session.commit()
    response = signed_in.get(f"{API}/floors/{floor_id}/terminals", query_string={"q": wildcard})
    assert response.status_code == 200
    assert [t["id"] for t in response.json["items"]] == [marked]


# ---------------------------------------------------------------- sessions


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _client_with(demo_app, cookie: str):
    other = demo_app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_copied_before_logout_no_longer_works(signed_in, auth, demo_app):
    copied = _cookie(signed_in)
    assert _client_with(demo_app, copied).get(f"{API}/me").status_code == 200
    auth.logout()
    thief = _client_with(demo_app, copied)
    assert thief.get(f"{API}/me").status_code == 401
    venue_id, _ = _hotel(demo_app)
    assert thief.patch(f"{API}/venues/{venue_id}", json={"name": "Taken"}).status_code == 401


def test_password_change_and_deactivation_end_every_session(signed_in, demo_app):
    copied = _cookie(signed_in)
    with demo_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        user.set_password("a-new-password")
        db.session.commit()
    assert _client_with(demo_app, copied).get(f"{API}/me").status_code == 401

    again = demo_app.test_client()
    assert again.post("/login", data={"email": MANAGER_A, "password": "a-new-password"}).status_code == 302
    copied = _cookie(again)
    with demo_app.app_context():
        db.session.scalar(sa.select(User).where(User.email == MANAGER_A)).deactivate()
        db.session.commit()
    assert _client_with(demo_app, copied).get(f"{API}/me").status_code == 401


def test_a_cookie_with_only_the_row_id_is_refused(signed_in, demo_app):
    """Cookies issued before session tokens (user id alone) are not accepted."""
    with demo_app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == MANAGER_A))
    with signed_in.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
    assert signed_in.get(f"{API}/me").status_code == 401


def test_login_starts_a_fresh_session(client, demo_app):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    assert client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD}).status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.permanent
    assert demo_app.permanent_session_lifetime.total_seconds() <= 24 * 3600
    assert 0 < demo_app.config["WTF_CSRF_TIME_LIMIT"] <= 24 * 3600


def test_production_cookies_are_secure(template_database, tmp_path):
    app = make_app(template_database, tmp_path, SIGHTLINE_ENV="production", SECRET_KEY="s" * 40)
    seed(app)
    client = app.test_client()
    response = client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD},
                           base_url="https://localhost")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


# ---------------------------------------------------------------- sign-in


def test_the_eleventh_wrong_password_in_a_minute_is_refused(client):
    for _ in range(10):
        assert client.post("/login", data={"email": MANAGER_A, "password": "wrong"}).status_code == 401
    refused = client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD})
    assert refused.status_code == 429
    assert b"Too many failed sign-ins" in refused.data


def test_wrong_passwords_lock_the_email_from_any_address(client):
    for number in range(10):
        response = client.post("/login", data={"email": MANAGER_A, "password": "wrong"},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
        assert response.status_code == 401
    refused = client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD},
                          environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert refused.status_code == 429


def test_successful_sign_ins_are_not_counted(client, auth):
    for _ in range(12):
        assert auth.login().status_code == 302
        auth.logout()


def test_unknown_and_known_emails_both_run_the_password_hash(client, monkeypatch):
    checked: list[str] = []
    real = accounts.models.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(accounts.models, "check_password_hash", counting)
    assert client.post("/login", data={"email": "nobody@nowhere.example", "password": "p-unknown"}).status_code == 401
    assert client.post("/login", data={"email": MANAGER_A, "password": "p-known"}).status_code == 401
    assert checked == ["p-unknown", "p-known"]


# ---------------------------------------------------------------- production refusal


@pytest.mark.parametrize("key", [None, "x", "s" * 31])
def test_production_refuses_a_default_or_short_secret_key(tmp_path, key):
    settings = {"TESTING": True, "SIGHTLINE_ENV": "production",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"}
    if key is not None:
        settings["SECRET_KEY"] = key
    else:
        import config
        settings["SECRET_KEY"] = config.DEFAULT_SECRET_KEY
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings)


def test_production_accepts_a_long_secret_key(tmp_path):
    app = create_app({"TESTING": True, "SIGHTLINE_ENV": "production", "SECRET_KEY": "s" * 32,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})
    assert app.config["SESSION_COOKIE_SECURE"]


# ---------------------------------------------------------------- headers


def test_security_headers_on_pages_and_api(client, signed_in):
    for response in (client.get("/login"), signed_in.get(f"{API}/me")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_over_https(client):
    assert "max-age=" in client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_sign_in_counts_live_in_redis_when_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    production = create_app({"SIGHTLINE_ENV": "production", "SECRET_KEY": "s" * 32,
                             "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})
    assert production.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_failed_sign_ins_are_counted_in_redis(template_database, tmp_path):
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/0"
    app = make_app(template_database, tmp_path, RATELIMIT_STORAGE_URI=url)
    email = f"nobody-{uuid.uuid4().hex}@nowhere.example"
    client = app.test_client()
    for _ in range(10):
        assert client.post("/login", data={"email": email, "password": "wrong"},
                           environ_base={"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.1"}).status_code == 401
    connection = redis.Redis.from_url(url)
    keys = connection.keys(f"*login-email:{email}*")
    try:
        assert keys, "the per-email sign-in counter is not in Redis"
        assert client.post("/login", data={"email": email, "password": "wrong"}).status_code == 429
    finally:
        if keys:
            connection.delete(*keys)


def test_nul_byte_in_a_path_segment_answers_404(signed_in, demo_app):
    _, floor_id = _hotel(demo_app)
    assert signed_in.patch(f"{API}/floors/{floor_id}/terminals/C-301%00/pose", json={"x": 1, "y": 1}).status_code == 404
    assert signed_in.delete(f"{API}/floors/{floor_id}/terminals/C-301%00").status_code == 404


@pytest.mark.parametrize("where", ["id", "name"])
def test_nul_byte_in_a_floor_document_is_a_422(signed_in, demo_app, where):
    _, floor_id = _hotel(demo_app)
    collection = signed_in.get(f"{API}/floors/{floor_id}/geojson").json
    zone = next(f for f in collection["features"] if f["properties"].get("kind") in ("zone", "private", "required")
                or f["properties"].get("feature_type") == "zone")
    if where == "id":
        zone["id"] = f"{zone['id']}\x00"
    else:
        zone["properties"]["name"] = "Lobby\x00"
    response = signed_in.put(f"{API}/floors/{floor_id}/geojson", json=collection)
    assert response.status_code == 422, response.json
