"""Every route except sign-in and static files refuses anonymous users, whatever blueprint added it."""

from __future__ import annotations

import re

PUBLIC_ENDPOINTS = {"static", "favicon", "accounts.login", "i18n.switch_language", "observability.healthz",
                    "observability.readyz", "observability.metrics", "guide.index", "guide.page", "guide.image"}


def _concrete(rule: str) -> str:
    """Fill every URL variable with 1 so the route can be requested."""
    return re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule)


def test_every_route_requires_sign_in(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _concrete(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, (method, url, response.status_code)
            else:
                assert response.status_code in (302, 401), (method, url, response.status_code)
                if response.status_code == 302:
                    assert "/login" in response.headers["Location"], (method, url)
    assert checked >= 20


def test_csrf_is_required_on_forms(csrf_app):
    from tests.conftest import DEMO_PASSWORD, MANAGER_A, seed

    seed(csrf_app)
    client = csrf_app.test_client()
    refused = client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD})
    assert refused.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post("/login", data={"email": MANAGER_A, "password": DEMO_PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    no_token = client.post("/venues/new", data={"name": "X", "type": "hotel", "district": "Huangpu"})
    assert no_token.status_code == 400
    before_sign_in = client.post("/venues/new", data={"name": "X", "type": "hotel", "district": "Huangpu"},
                                 headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert before_sign_in.status_code == 400  # sign-in starts a fresh session, so the old token is void
    page = client.get("/venues/new").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    htmx_header = client.post("/venues/new", data={"name": "X", "type": "hotel", "district": "Huangpu"},
                              headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert htmx_header.status_code == 302
