"""Loading the signed-in user (accounts.views.load_user): one statement brings the organisation or jurisdiction
the page header names, and it is still the check that makes sign-out, a new password and deactivation end every
session at once (tests/web/test_security.py tests those on the API; here on the pages that load it eagerly)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from accounts.models import User
from extensions import db
from tests.conftest import DEMO_PASSWORD, INSPECTOR_CITY, MANAGER_A
from tests.recording import recorded_statements


def _statements(app, client, path: str) -> tuple[list[str], str]:
    with app.app_context():
        engine = db.engine
    with recorded_statements(engine) as seen:
        page = client.get(path)
    assert page.status_code == 200
    return seen, page.get_data(as_text=True)


def _signed_in(app, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302
    return client


def test_the_user_and_the_organisation_in_the_header_come_in_one_statement(demo_app) -> None:
    seen, page = _statements(demo_app, _signed_in(demo_app, MANAGER_A), "/")
    assert re.search(r'FROM "?user"? LEFT OUTER JOIN organisation', seen[0])
    assert not [s for s in seen[1:] if re.search(r"FROM organisation\s+WHERE organisation\.id = ", s)]
    with demo_app.app_context():
        name = db.session.scalar(sa.select(User).where(User.email == MANAGER_A)).organisation.name
    assert name in page


def test_an_inspectors_jurisdiction_comes_with_the_user(demo_app) -> None:
    seen, page = _statements(demo_app, _signed_in(demo_app, INSPECTOR_CITY), "/dashboard/")
    assert "jurisdiction" in seen[0]
    assert not [s for s in seen[1:] if re.search(r"FROM jurisdiction\s+WHERE jurisdiction\.id = ", s)]
    with demo_app.app_context():
        name = db.session.scalar(sa.select(User).where(User.email == INSPECTOR_CITY)).jurisdiction.name
    assert name in page


def test_a_new_session_token_ends_the_session_on_the_next_page(demo_app) -> None:
    client = _signed_in(demo_app, MANAGER_A)
    assert client.get("/").status_code == 200
    with demo_app.app_context():
        db.session.scalar(sa.select(User).where(User.email == MANAGER_A)).set_password("another-password")
        db.session.commit()
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
