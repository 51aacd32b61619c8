"""No page returns or changes another organisation's objects: 404, not 403."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from extensions import db
from inventory.models import Floor, Terminal, Venue
from tests.conftest import INSPECTOR_SONGJIANG, MANAGER_A, MANAGER_B


@pytest.fixture
def other_org_ids(demo_app):
    """Ids of the FreshMart (organisation B) venue, floor and terminal."""
    with demo_app.app_context():
        venue = db.session.scalar(sa.select(Venue).where(Venue.name == "FreshMart Jing'an"))
        floor = db.session.scalar(sa.select(Floor).where(Floor.venue_id == venue.id))
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == floor.id))
        return venue.id, floor.id, terminal.id


def test_manager_a_gets_404_on_organisation_b_pages(client, auth, other_org_ids):
    venue_id, floor_id, terminal_id = other_org_ids
    auth.login(MANAGER_A)
    for url in (f"/venues/{venue_id}", f"/venues/{venue_id}/edit", f"/venues/{venue_id}/audit",
                f"/floors/{floor_id}", f"/floors/{floor_id}/edit", f"/venues/{venue_id}/floors/new",
                f"/floors/{floor_id}/terminals/new", f"/terminals/{terminal_id}/edit", f"/terminals/{terminal_id}/row"):
        assert client.get(url).status_code == 404, url
    for url in (f"/venues/{venue_id}/delete", f"/floors/{floor_id}/delete", f"/terminals/{terminal_id}/delete",
                f"/terminals/{terminal_id}/row", f"/venues/{venue_id}/edit"):
        assert client.post(url, data={"name": "x"}).status_code == 404, url


def test_manager_b_still_has_their_objects(client, auth, other_org_ids, demo_app):
    venue_id, floor_id, terminal_id = other_org_ids
    auth.login(MANAGER_A)
    client.post(f"/terminals/{terminal_id}/delete")
    auth.logout()
    auth.login(MANAGER_B)
    assert client.get(f"/terminals/{terminal_id}/edit").status_code == 200


def test_district_inspector_sees_only_their_district(client, auth, other_org_ids):
    venue_id, _, _ = other_org_ids  # FreshMart is in Jing'an
    auth.login(INSPECTOR_SONGJIANG)
    assert client.get(f"/venues/{venue_id}").status_code == 404
    page = client.get("/").get_data(as_text=True)
    assert "Blue Wave" in page and "FreshMart" not in page
