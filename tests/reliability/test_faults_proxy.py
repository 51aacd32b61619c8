"""HSTS behind a TLS-terminating proxy: SIGHTLINE_PROXY_HOPS trusts that many proxies' X-Forwarded-* headers
(werkzeug ProxyFix), so a request the proxy received over HTTPS is secure (HSTS sent, https URLs built); with the
default 0 a forged X-Forwarded-Proto changes nothing."""

from __future__ import annotations

import pytest
from flask import jsonify, request, url_for

from app import create_app
from tests.conftest import make_app

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sightline.example.cn",
             "X-Forwarded-For": "203.0.113.7"}


def _probe_app(template_database, tmp_path, **overrides):
    app = make_app(template_database, tmp_path, **overrides)

    @app.get("/probe-request")
    def probe():  # type: ignore[no-untyped-def]
        return jsonify(secure=request.is_secure, login=url_for("accounts.login", _external=True),
                       client=request.remote_addr)

    return app


def test_behind_one_trusted_proxy_forwarded_https_is_secure(template_database, tmp_path) -> None:
    app = _probe_app(template_database, tmp_path, PROXY_HOPS=1)
    client = app.test_client()
    response = client.get("/probe-request", headers=FORWARDED)
    assert response.json == {"secure": True, "login": "https://sightline.example.cn/login", "client": "203.0.113.7"}
    page = client.get("/login", headers=FORWARDED)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    plain = client.get("/login")  # the proxy's own plain-HTTP health check, say: no HSTS over plain HTTP
    assert "Strict-Transport-Security" not in plain.headers


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(template_database, tmp_path) -> None:
    app = _probe_app(template_database, tmp_path)
    assert app.config["PROXY_HOPS"] == 0
    client = app.test_client()
    response = client.get("/probe-request", headers=FORWARDED)
    assert response.json == {"secure": False, "login": "http://localhost/login", "client": "127.0.0.1"}
    assert "Strict-Transport-Security" not in client.get("/login", headers=FORWARDED).headers


def test_two_hops_trust_the_header_of_the_second_proxy_only(template_database, tmp_path) -> None:
    app = _probe_app(template_database, tmp_path, PROXY_HOPS=2)
    # The client forged the first values; the outer proxy (reached over plain HTTP) appended the real client and
    # scheme, the inner proxy the outer one's.
    response = app.test_client().get("/probe-request", headers={
        "X-Forwarded-Proto": "https, http, http", "X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.2"})
    assert response.json["client"] == "203.0.113.7" and response.json["secure"] is False


def test_the_setting_comes_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SIGHTLINE_PROXY_HOPS", "1")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}"})
    assert app.config["PROXY_HOPS"] == 1


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "6", ""])
def test_a_bad_proxy_hops_setting_refuses_to_start_naming_it(monkeypatch, tmp_path, value) -> None:
    with pytest.raises(RuntimeError, match="SIGHTLINE_PROXY_HOPS must be a whole number from 0 to 5"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}",
                    "PROXY_HOPS": value})
