"""Findings are stored as a msgid with params (and their English for the audit trail), rendered per reader;
rows stored before, with English text only, render too and take msgids on re-evaluation, keeping their status."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale

from compliance.models import STANDING, Finding
from compliance.rules import MESSAGES
from compliance.service import paused
from extensions import db
from findings import service, wording
from i18n import compile_catalogues
from inventory.models import Venue
from tests.conftest import ADMIN, MANAGER_A

HANZI = re.compile(r"[\u4e00-\u9fff]")


def test_every_demo_finding_is_stored_as_msgid_and_params_beside_its_english(demo_app):
    with demo_app.app_context():
        rows = list(db.session.scalars(sa.select(Finding).where(Finding.status.in_(STANDING))))
        assert {r.rule_id for r in rows} >= {"CN-01", "CN-02", "CN-03", "CN-05"}
        for row in rows:
            msgid, params = row.detail["msgid"], row.detail["params"]
            assert msgid in MESSAGES.values(), row.rule_id
            assert set(params) == set(re.findall(r"%\((\w+)\)s", msgid)), (row.rule_id, params)
            assert row.message == wording.english(msgid, params) and not HANZI.search(row.message)
            if "terminal" in params:
                assert params["terminal"] == row.subject
            if "area" in params:  # numbers stay numbers, the same figure as the map's intruding area
                assert isinstance(params["area"], float) and params["area"] == row.detail["intrusion_m2"]
            if "zone" in params and "zone" in row.detail:
                assert params["zone"] == row.detail["zone"]


def _as_old_row(row: Finding) -> None:
    """What the evaluator stored before msgids: the English text only."""
    row.detail = {k: v for k, v in row.detail.items() if k not in ("msgid", "params")}


def test_an_old_english_row_renders_in_chinese_and_takes_its_msgid_on_re_evaluation_keeping_its_acceptance(demo_app):
    compile_catalogues()
    with demo_app.app_context():
        hotel = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        row = db.session.scalar(sa.select(Finding).where(Finding.venue_id == hotel.id, Finding.rule_id == "CN-03",
                                                         Finding.subject == "C-305"))
        stored = row.detail["msgid"], row.detail["params"]
        with paused():
            _as_old_row(row)
            row.status, row.justification = "accepted", "screen ordered"
            db.session.commit()
        assert "msgid" not in db.session.get(Finding, row.id).detail
        with demo_app.test_request_context("/"), force_locale("zh_CN"):
            assert wording.stored(row) == stored
            text = wording.message(row)
            assert HANZI.search(text) and text == wording.render(*stored) and "sees" not in text
        service.evaluate_venue(hotel)
        db.session.commit()
        again = db.session.get(Finding, row.id)
        assert (again.detail["msgid"], again.detail["params"]) == stored
        assert (again.status, again.justification) == ("accepted", "screen ordered")


def test_the_api_follows_accept_language_and_gives_msgid_params_and_english(demo_app, client, auth):
    compile_catalogues()
    auth.login(ADMIN)
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Blue Wave Natatorium"))
    zh = client.get(f"/api/v1/venues/{venue_id}/findings?rule=CN-03",
                    headers={"Accept-Language": "zh-CN"}).get_json()["items"]
    en = client.get(f"/api/v1/venues/{venue_id}/findings?rule=CN-03",
                    headers={"Accept-Language": "en"}).get_json()["items"]
    assert len(zh) == len(en) >= 2
    for chinese, english in zip(zh, en, strict=True):
        assert chinese["msgid"] == english["msgid"] == MESSAGES["view_into_private"]
        assert chinese["params"] == english["params"] and chinese["params"]["terminal"] == chinese["subject"]
        assert HANZI.search(chinese["message"]) and "隐私区域" in chinese["message"]
        assert chinese["message_en"] == english["message_en"] == english["message"]
        assert not HANZI.search(english["message"]) and "inside private zone" in english["message"]
        assert "《" in chinese["source"] and HANZI.search(chinese["statement"])


def test_the_fixed_reason_reads_in_chinese(demo_app, client, auth):
    compile_catalogues()
    with demo_app.test_request_context("/"), force_locale("zh_CN"):
        assert wording.reason("audit event 12") == "审计事件 12"
        assert wording.reason("plan 3 approved (version 2)") == "方案 3 已批准（第 2 版）"
        assert wording.reason("plan 3: remove C-305 done") == "方案 3：已完成拆除 C-305"
        assert wording.reason("restored from backup") == "restored from backup"  # unknown form: as written
    auth.login(MANAGER_A)
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    with demo_app.app_context():
        hotel = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        row = db.session.scalar(sa.select(Finding).where(Finding.venue_id == hotel.id, Finding.rule_id == "CN-03"))
        row.status, row.fixed_reason, row.fixed_at = "fixed", "audit event 12", row.opened_at
        with paused():
            db.session.commit()
        venue_id = hotel.id
    page = client.get(f"/venues/{venue_id}/compliance?status=fixed").get_data(as_text=True)
    assert "审计事件 12" in page and "audit event" not in page


def test_the_verification_issues_of_an_inspection_report_read_in_chinese(demo_app):
    from inspection.verification import _poses
    from inventory import floorio
    from planner.verify import verify_plan

    compile_catalogues()
    with demo_app.app_context():
        hotel = db.session.scalar(sa.select(Venue).where(Venue.name == "Bund View Hotel"))
        model = floorio.floor_model(hotel.floors[0])
        issues = verify_plan(model, {"cameras": _poses([t for t in model.terminals if t.id == "C-305"]),
                                     "infeasible": []}).issues
        seen = [i for i in issues if "private zone" in i]
        assert seen
        with demo_app.test_request_context("/"), force_locale("zh_CN"):
            for text in seen:
                shown = wording.issue(text)
                assert HANZI.search(shown) and "private zone" not in shown and "C-305" in shown, shown
