"""Pages, labels and messages in Simplified Chinese: a zh_CN user meets Chinese, an English user English."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from extensions import db
from i18n import area, compile_catalogues, decimal
from inventory.choices import TerminalKind, VenueType, label_of, use_label
from inventory.fields import TERMINAL_FIELDS, ValidationError, clean_value
from tests.conftest import MANAGER_A

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    compile_catalogues()


def _zh_user(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == MANAGER_A))
        user.locale = "zh_CN"
        db.session.commit()


def test_the_venue_list_speaks_chinese_to_a_chinese_user(client, auth, demo_app):
    _zh_user(demo_app)
    auth.login()
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    for words in ("场所", "新建场所", "退出登录", "摄像头型号", "类型", "台在用", "酒店"):
        assert words in page, words
    assert "Sign out" not in page and "New venue" not in page


def test_the_login_page_follows_the_browser(client):
    assert "登录" in client.get("/login", headers=ZH).get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sign in" in english and "登录" not in english


def test_choice_labels_and_field_titles_are_translated(demo_app):
    with demo_app.test_request_context(headers=ZH):
        assert TerminalKind("face_terminal").label == "人脸识别终端"
        assert TerminalKind("access_reader").label == "门禁读卡器"
        assert VenueType("pool_fitness").label == "游泳健身场馆"
        assert label_of("planned_removal") == "计划拆除" and use_label("changing_room") == "更衣室"
        heading = next(f for f in TERMINAL_FIELDS if f.name == "heading_deg")
        assert heading.title == "朝向（°）"
        with pytest.raises(ValidationError) as raised:
            clean_value(heading, "abc")
        assert raised.value.message == "“abc”不是数字" and raised.value.field == "heading_deg"
    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        assert TerminalKind("face_terminal").label == "Face terminal"
        with pytest.raises(ValidationError) as raised:
            clean_value(next(f for f in TERMINAL_FIELDS if f.name == "heading_deg"), "abc")
        assert raised.value.message == "'abc' is not a number"


def test_numbers_and_areas_follow_the_locale(demo_app):
    with demo_app.test_request_context(headers=ZH):
        assert area(1234.5, 1) == "1,234.5 平方米" and decimal(3, 2) == "3.00"
    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        assert area(12.25, 2) == "12.25 m²"


def test_api_errors_follow_accept_language(client, auth):
    auth.login()
    venue = client.get("/api/v1/venues").get_json()["items"][0]
    floors = client.get(f"/api/v1/venues/{venue['id']}/floors").get_json()["items"]
    url = f"/api/v1/floors/{floors[0]['id']}/terminals"
    body = {"code": "ZH-1", "kind": "camera", "x": 1e9, "y": 1}
    chinese = client.post(url, json=body, headers=ZH)
    assert chinese.status_code == 422 and chinese.get_json() == {"error": "不能大于 100000", "field": "x"}
    english = client.post(url, json=body, headers={"Accept-Language": "en"})
    assert english.get_json()["error"] == "must be at most 100000"
    assert re.search(r"[\u4e00-\u9fff]", client.post("/language", data={"locale": "xx"}, headers=ZH)
                     .get_data(as_text=True))


def test_error_pages_speak_the_visitors_language(client):
    page = client.get("/no-such-page", headers=ZH)
    assert page.status_code == 404 and "找不到该页面" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing", headers={**ZH, "Accept": "application/json"})
    assert re.search(r"[\u4e00-\u9fff]", api.get_json()["error"])
    assert "The page was not found" in client.get("/no-such-page", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
