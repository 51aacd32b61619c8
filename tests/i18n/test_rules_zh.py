"""Compliance rules under their official Chinese titles and article numbers, beside the English, per locale."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from compliance.citation import article_zh, chinese_number, cite, rule_sources, rule_statement
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


def test_the_compliance_page_shows_the_chinese_citation_to_a_chinese_user(client, auth, demo_app):
    auth.login(MANAGER_A)
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    with demo_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
    page = client.get(f"/venues/{venue_id}/compliance").get_data(as_text=True)
    assert "《公共安全视频图像信息系统管理条例》（国务院令第799号）" in page
    assert "摄像头的安装位置不得使其视野延伸到隐私空间内" in page  # CN-03's statement in Chinese
    assert "Decree No. 799" not in page
