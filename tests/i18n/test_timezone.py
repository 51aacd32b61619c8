"""Times are stored in UTC and shown as wall-clock time in SIGHTLINE_TIMEZONE (Asia/Shanghai by default) in the
request's locale; machine outputs (the JSON API) stay ISO 8601 UTC; an unknown zone stops start-up."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

import config
from accounts.models import ApiToken, User
from app import create_app
from audit.models import AuditEvent
from extensions import db
from i18n import when
from inventory.models import Terminal, Venue
from tests.conftest import MANAGER_A, make_app

# An instant whose UTC date is the day before Shanghai's (UTC+8 all year): 16:30 UTC is 00:30 the next day there.
INSTANT = datetime(2026, 3, 1, 16, 30, 5)


def _wall_clock(value: datetime, zone: str, pattern: str) -> str:
    """The stored naive-UTC value as the zone's wall-clock time, by the standard library."""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime(pattern)


@pytest.mark.parametrize("locale, zone_words", [("en", "China Standard Time"), ("zh_CN", "中国标准时间")])
def test_when_shows_shanghai_wall_clock_time_in_each_locale(app, locale, zone_words):
    assert app.config["SIGHTLINE_TIMEZONE"] == "Asia/Shanghai"  # the default
    expected = _wall_clock(INSTANT, "Asia/Shanghai", "%Y-%m-%d %H:%M")
    assert expected.startswith("2026-03-02 00:30")
    with app.test_request_context(), force_locale(locale):
        assert when(INSTANT) == expected
        assert when(INSTANT, False) == expected[:10]
        assert when(INSTANT, seconds=True) == _wall_clock(INSTANT, "Asia/Shanghai", "%Y-%m-%d %H:%M:%S")
        assert when(INSTANT, time_only=True) == expected[11:]
        assert when(INSTANT, zone=True) == f"{expected} {zone_words}"
        assert when(None) == "—"


def test_another_site_zone_is_honoured(template_database, tmp_path):
    app = make_app(template_database, tmp_path, SIGHTLINE_TIMEZONE="America/New_York")
    with app.test_request_context(), force_locale("en"):
        assert when(INSTANT) == _wall_clock(INSTANT, "America/New_York", "%Y-%m-%d %H:%M")  # 11:30 the same day


@pytest.mark.parametrize("zone", ["Asia/Shanghia", "", "../../etc/passwd"])
def test_an_unknown_zone_stops_start_up_naming_the_setting(zone):
    with pytest.raises(RuntimeError, match="SIGHTLINE_TIMEZONE"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SIGHTLINE_TIMEZONE": zone})


def test_the_zone_can_be_set_in_the_environment():
    assert config.from_environment({"SIGHTLINE_TIMEZONE": "Asia/Urumqi"}) == {"SIGHTLINE_TIMEZONE": "Asia/Urumqi"}


def test_audit_page_shows_local_time_and_the_api_stays_utc(client, auth, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-303"))
        venue_id = terminal.venue_id
    client.post(f"/terminals/{terminal.id}/row", data={"code": "C-303", "kind": "camera", "status": "removed",
                                                       "heading_deg": "270", "hfov_deg": "90", "serial": "HK-303"})
    with demo_app.app_context():
        event_at = db.session.scalar(sa.select(AuditEvent.at).where(AuditEvent.venue_id == venue_id)
                                     .order_by(AuditEvent.id.desc()))
        venue = db.session.get(Venue, venue_id)
        updated = venue.updated_at
        user = db.session.scalar(sa.select(User).where(User.email == MANAGER_A))
        token, plain = ApiToken.issue(user, "tz")
        db.session.add(token)
        db.session.commit()
    for locale in ("en", "zh_CN"):
        client.post("/language", data={"locale": locale})
        page = client.get(f"/venues/{venue_id}/audit").get_data(as_text=True)
        assert _wall_clock(event_at, "Asia/Shanghai", "%Y-%m-%d %H:%M:%S") in page
        assert event_at.strftime("%Y-%m-%d %H:%M:%S") not in page  # not the stored UTC digits
    body = demo_app.test_client().get(f"/api/v1/venues/{venue_id}",
                                      headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert body["updated_at"] == updated.isoformat(timespec="seconds") + "Z"
