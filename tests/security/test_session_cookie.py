"""The session cookie is signed again when it changes or is due, not on every response; expiry and revocation hold."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

import security
from tests.conftest import DEMO_PASSWORD, MANAGER_A

ME = "/api/v1/me"


@pytest.fixture
def signed_in(client):
    """The test client signed in as the organisation A manager."""
    assert client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD}).status_code == 302
    return client


def _session_cookies(response) -> list[str]:
    return [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]


def test_an_unchanged_session_is_not_signed_again_on_every_response(signed_in):
    response = signed_in.get(ME)
    assert response.status_code == 200
    assert _session_cookies(response) == []
    assert signed_in.get(ME).status_code == 200  # the cookie from sign-in still serves


def test_a_session_due_for_signing_gets_a_fresh_cookie_with_a_new_expiry(signed_in, monkeypatch):
    monkeypatch.setattr(security, "SESSION_RESIGN_AFTER", timedelta(0))
    cookies = _session_cookies(signed_in.get(ME))
    assert len(cookies) == 1 and "Expires=" in cookies[0]
    assert signed_in.get(ME).status_code == 200


def test_a_cookie_signed_longer_ago_than_the_lifetime_is_refused(signed_in, demo_app, monkeypatch):
    cookie = signed_in.get_cookie("session").value
    serializer = demo_app.session_interface.get_signing_serializer(demo_app)
    data = serializer.loads(cookie)
    lifetime = demo_app.permanent_session_lifetime.total_seconds()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - lifetime - 60))
    stale = serializer.dumps(data)
    monkeypatch.undo()
    other = demo_app.test_client()
    other.set_cookie("session", stale)
    assert other.get(ME).status_code == 401
    other.set_cookie("session", cookie)
    assert other.get(ME).status_code == 200


def test_sign_out_within_the_resigning_interval_still_ends_the_session(signed_in, demo_app):
    copied = signed_in.get_cookie("session").value
    assert _session_cookies(signed_in.get(ME)) == []  # inside the interval: nothing re-signed
    assert signed_in.post("/logout").status_code == 302
    thief = demo_app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get(ME).status_code == 401
