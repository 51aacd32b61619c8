"""The request's language: the browser's the first time, then the remembered choice, on every page's lang."""

from __future__ import annotations

import re

from accounts.models import User
from extensions import db
from tests.conftest import MANAGER_A


def _lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_the_browser_language_is_used_the_first_time(client):
    assert _lang(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)) == "zh-CN"
    assert _lang(client.get("/login", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)) == "en"


def test_the_switch_is_remembered_per_user(client, auth, demo_app):
    auth.login()
    switched = client.post("/language", data={"locale": "zh_CN", "next": "/venues/"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/venues/")
    with demo_app.app_context():
        assert db.session.scalar(db.select(User.locale).where(User.email == MANAGER_A)) == "zh_CN"
    auth.logout()
    other_browser = demo_app.test_client()
    other_browser.post("/login", data={"email": MANAGER_A, "password": "sightline-demo"},
                       headers={"Accept-Language": "en"})
    assert _lang(other_browser.get("/venues/", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "zh-CN"


def test_an_unknown_language_or_a_foreign_redirect_is_refused(client):
    assert client.post("/language", data={"locale": "xx"}).status_code == 400
    away = client.post("/language", data={"locale": "en", "next": "//evil.example/"})
    assert away.status_code == 302 and "evil" not in away.headers["Location"]
