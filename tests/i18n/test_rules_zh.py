"""Compliance rules under their official Chinese titles and article numbers, beside the English, per locale."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from compliance.citation import article_zh, chinese_number, cite, rule_sources, rule_statement, rule_why_not
from compliance.rules import load_rules
from extensions import db
from i18n import compile_catalogues
from inventory.models import Venue
from tests.conftest import MANAGER_A

HANZI = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    compile_catalogues()


def test_article_numbers_in_chinese_numerals():
    assert [chinese_number(n) for n in (4, 10, 13, 26, 31, 56, 100, 105, 799)] == \
        ["四", "十", "十三", "二十六", "三十一", "五十六", "一百", "一百零五", "七百九十九"]
    assert article_zh({"article": "Arts 6-7 (numbers unverified)"}) == "第六条至第七条（条款号待核实）"
    assert article_zh({"article": "Arts 4 and 10"}) == "第四条、第十条"


def test_every_rule_names_its_official_chinese_source_and_has_a_chinese_statement():
    rules = load_rules()
    by_id = {r.id: r for r in rules}
    assert rule_sources(by_id["CN-01"], "zh_CN") == "《人脸识别技术应用安全管理办法》第十三条"
    assert "《中华人民共和国个人信息保护法》第二十六条" in rule_sources(by_id["CN-05"], "zh_CN")
    assert rule_sources(by_id["CN-02"], "zh_CN").startswith("《公共安全视频图像信息系统管理条例》（国务院令第799号）")
    english = rule_sources(by_id["CN-01"], "en")
    assert english.startswith("Measures for the Security Management of Face Recognition Technology Applications Art 13")
    assert "（" not in english.split("(")[0] and "《人脸识别技术应用安全管理办法》第十三条" in english
    for rule in rules:
        assert HANZI.search(rule_statement(rule, "zh_CN")), rule.id
        assert rule_statement(rule, "en") == rule.statement
        for source in rule.sources:
            chinese = cite(source, "zh_CN")
            assert re.match(r"(《|GB)", chinese) and "Art" not in chinese, (rule.id, chinese)


def test_every_rule_left_out_says_why_in_chinese():
    left_out = [r for r in load_rules() if not r.implemented]
    assert left_out
    for rule in left_out:
        why = rule_why_not(rule, "zh_CN")
        assert HANZI.search(why) and why != rule.why_not, rule.id
        assert set(re.findall(r"[A-Za-z]+", why)) <= {"CN", "EU"}, (rule.id, why)  # rule ids only
        assert rule_why_not(rule, "en") == rule.why_not


def test_the_compliance_page_shows_the_chinese_citation_to_a_chinese_user(client, auth, demo_app):
    auth.login(MANAGER_A)
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    assert "《公共安全视频图像信息系统管理条例》（国务院令第799号）" in page
    assert "摄像头的安装位置不得使其视野延伸到隐私空间内" in page  # CN-03's statement in Chinese
    assert "Decree No. 799" not in page
    assert "没有个人信息保护影响评估记录" in page and "no impact-assessment record" not in page  # CN-17, left out


# ------------------------------------------------------------------------------------------ finding messages
LATIN = re.compile(r"[A-Za-z][A-Za-z'’\-]+")
# One value per placeholder name the finding messages use: data (ids, names, free text) as entered, numbers,
# choice values and the rule's allowed purposes as the evaluator stores them.
SAMPLE = {"terminal": "C-305", "zone": "Room 305", "purpose": "marketing", "entity": "Huangpu Hotels Ltd",
          "area": 1234.5, "distance": 3.4, "limit": 5.0, "bare": 2, "entrances": 3, "days": 45,
          "enrolled": 123456, "threshold": 100000, "share": 0.8, "deadline": "2026-03-02", "type": "camera",
          "storage": "cloud", "mechanism": "bundled", "allowed": ["public_security"]}
DATA = ("terminal", "zone", "purpose", "entity")


def _params(msgid: str) -> dict:
    return {name: SAMPLE[name] for name in re.findall(r"%\((\w+)\)s", msgid)}


def test_every_finding_message_reads_in_chinese_with_its_numbers_and_no_english(demo_app):
    from flask_babel import force_locale, format_decimal, format_number, format_percent

    from compliance.rules import MESSAGES
    from findings import wording
    from i18n import decimal

    with demo_app.test_request_context("/"), force_locale("zh_CN"):
        for key, msgid in MESSAGES.items():
            params = _params(msgid)
            text = wording.render(msgid, params)
            assert HANZI.search(text) and "%(" not in text, (key, text)
            data_words = {w for name in DATA if name in params for w in LATIN.findall(params[name])}
            assert set(LATIN.findall(text)) <= data_words, (key, text)
            expected = {"area": decimal(params.get("area"), 2), "distance": decimal(params.get("distance"), 1),
                        "share": format_percent(params.get("share", 0))}
            for name, value in params.items():
                if name in expected:
                    assert expected[name] in text, (key, name, text)
                elif isinstance(value, int):
                    assert format_number(value) in text, (key, name, text)
                elif isinstance(value, float):
                    assert format_decimal(value) in text, (key, name, text)
            assert "1,234.50" in text or "area" not in params
    with demo_app.test_request_context("/"), force_locale("zh_CN"):
        assert wording.render(MESSAGES["device_inside_private"], _params(MESSAGES["device_inside_private"])) == \
            "图像采集设备 C-305（摄像头）位于隐私区域“Room 305”内"


def test_old_english_only_findings_are_read_back_into_msgid_and_params(demo_app):
    from compliance.rules import MESSAGES
    from findings import wording

    with demo_app.app_context():
        for msgid in MESSAGES.values():
            params = _params(msgid)
            assert wording.parse(wording.english(msgid, params)) == (msgid, params), msgid
        # As the evaluator wrote them before messages had msgids (f-strings, repr quotes, raw choice values).
        assert wording.parse("C-305 sees 6.42 m² inside private zone \"Women's toilet\"") == \
            (MESSAGES["view_into_private"], {"terminal": "C-305", "area": 6.42, "zone": "Women's toilet"})
        assert wording.parse("face recognition at F-1 relies on bundled consent, not an explicit separate opt-in") \
            == (MESSAGES["consent"], {"terminal": "F-1", "mechanism": "bundled"})
        assert wording.parse("Acme stores face data of 85,000 people, 85% of the 100,000 filing threshold: prepare "
                             "the CAC filing") == \
            (MESSAGES["filing_warning"], {"entity": "Acme", "enrolled": 85000, "share": 0.85, "threshold": 100000})
        assert wording.parse("something no rule says") is None


def _zh_client(client, auth):  # type: ignore[no-untyped-def]
    auth.login(MANAGER_A)
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    return client


def test_the_compliance_page_shows_findings_in_chinese_with_their_numbers(client, auth, demo_app):
    from compliance.models import Finding

    _zh_client(client, auth)
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
        found = list(db.session.scalars(sa.select(Finding).where(Finding.venue_id == venue_id)))
        f = next(row for row in found if row.rule_id == "CN-03" and row.subject == "C-305")
        area, zone, english = f.detail["params"]["area"], f.detail["params"]["zone"], f.message
        data_words = {w for row in found for name in DATA
                      for w in LATIN.findall(str((row.detail.get("params") or {}).get(name, "")))}
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    cells = re.findall(r'<td class="finding-message">(.*?)(?:<br>|</td>)', page, re.S)
    assert len(cells) == len(found) and all(HANZI.search(c) for c in cells), cells
    assert f"C-305 拍到隐私区域“{zone}”内 {area:,.2f} 平方米" in page
    assert english not in page
    assert {w for c in cells for w in LATIN.findall(c)} <= data_words
