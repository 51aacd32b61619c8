"""The user guide: served behind the Help link in the reader's language, every picture it shows is in the repository."""

from __future__ import annotations

import re

from guide.views import GUIDE, PAGES
from tests.conftest import ADMIN, INSPECTOR_CITY, MANAGER_A, PLANNER

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_every_page_exists_in_both_languages_and_every_picture_is_there():
    for stem in PAGES:
        for source in (GUIDE / f"{stem}.md", GUIDE / f"{stem}.zh_CN.md"):
            text = source.read_text(encoding="utf-8")
            pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
            assert stem == "README" or pictures, f"{source.name} shows no screenshots"
            for picture in pictures:
                assert (GUIDE / picture).is_file(), f"{source.name}: missing {picture} (run make guide-screenshots)"
            locale = "zh_CN" if source.name.endswith(".zh_CN.md") else "en"
            assert all(p.startswith(f"img/{locale}/") for p in pictures), f"{source.name} shows another language"


def test_help_opens_the_page_of_the_users_role(client, auth):
    assert client.get("/help").headers["Location"].endswith("/help/README")
    for email, stem in ((MANAGER_A, "manager"), (PLANNER, "planner"), (INSPECTOR_CITY, "inspector"),
                        (ADMIN, "administrator")):
        auth.login(email)
        assert client.get("/help").headers["Location"].endswith(f"/help/{stem}")
        page = client.get("/").get_data(as_text=True)
        assert 'href="/help"' in page  # the top bar's help link
        auth.logout()


def test_a_page_in_english_and_in_chinese(client):
    english = client.get("/help/manager").get_data(as_text=True)
    assert "<h1" in english and "Facility manager" in english and 'src="img/en/manager-floor.png"' in english
    assert 'href="/help/README"' in english  # a link to README.md became a help route
    chinese = client.get("/help/manager", headers=ZH).get_data(as_text=True)
    assert "场所管理员" in chinese and 'src="img/zh_CN/manager-floor.png"' in chinese and "Facility manager" not in chinese
    # Relative to /help/manager the picture is /help/img/zh_CN/...: served from docs/guide/img.
    picture = client.get("/help/img/zh_CN/manager-floor.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")


def test_unknown_pages_and_paths_outside_the_guide_are_404(client):
    assert client.get("/help/secrets").status_code == 404
    assert client.get("/help/img/en/..%2F..%2Fmanager.md").status_code == 404
    assert client.get("/help/img/..%2F..%2F..%2Fconfig.py/x").status_code == 404
