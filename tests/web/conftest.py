"""Fixtures shared by the web tests: the demo hotel's floor, and a signed-in manager whose requests carry CSRF."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Venue
from tests.conftest import MANAGER_A


def page_csrf_token(client) -> str:
    """The CSRF token the home page gives the client's session (what the page's htmx requests send)."""
    page = client.get("/").get_data(as_text=True)
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


@pytest.fixture
def hotel(demo_app) -> int:
    """The id of the demo Bund View Hotel's floor."""
    with demo_app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))


@pytest.fixture
def manager(client, auth):
    """The test client signed in as organisation A's manager, sending the page's CSRF token on every request."""
    auth.login(MANAGER_A)
    client.environ_base["HTTP_X_CSRFTOKEN"] = page_csrf_token(client)
    return client
