"""A facility manager's journey in Simplified Chinese, in a real browser: no English UI text on any page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from extensions import db
from i18n import compile_catalogues
from tests.browser.conftest import login
from tests.browser.site import wait_until
from tests.i18n.unmarked import ALLOWED

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]+")


# Text the app writes itself in English (a finding's message, why it was fixed): not data, so not allowed.
APP_TEXT = {("findings", "message"), ("findings", "fixed_reason")}


def _data_words(app) -> set[str]:  # type: ignore[no-untyped-def]
    """Every word of the demo data (names, codes, addresses, emails...): data is shown as entered, not translated."""
    words: set[str] = set()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)
                            and (table.name, c.name) not in APP_TEXT]
            if not text_columns:
                continue
            for row in db.session.execute(sa.select(*text_columns)):
                for value in row:
                    if isinstance(value, str):
                        words.update(LATIN_WORD.findall(value))
    return words


def _english(page, allowed: set[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Latin words the page shows that are neither data nor allowed names and symbols."""
    # Machine names (CSV columns, field keys) are shown in <code> on purpose; they are not UI text.
    text = page.evaluate("""() => { const hidden = [...document.querySelectorAll('code, pre, kbd')];
        const before = hidden.map((n) => n.style.display); hidden.forEach((n) => { n.style.display = 'none'; });
        const text = document.body.innerText; hidden.forEach((n, i) => { n.style.display = before[i]; });
        return text; }""")
    return sorted({w for w in LATIN_WORD.findall(text) if w not in allowed and w.strip("'’-") not in allowed})


def test_a_manager_works_in_chinese_without_meeting_english(browser, live_server, live_app):  # type: ignore[no-untyped-def]
    compile_catalogues()
    allowed = _data_words(live_app) | ALLOWED | {"Noto", "WC", "FR", "IR", "Esc", "Ctrl", "Undo", "Geoman", "GET",
                                                 "HTTP", "sightline", "zip", "INSUNITS", "Apple", "Bearer", "UTF", "abc"}
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url,
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    page.goto("/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "登录"
    login(page)
    page.locator("button[name=locale][value=zh_CN]").first.click()  # remembered on the user from now on
    page.wait_for_load_state()
    seen: dict[str, list[str]] = {}

    def visit(url: str, ready: str | None = None) -> None:
        page.goto(url)
        if ready:
            page.wait_for_selector(ready)
        assert page.locator("html").get_attribute("lang") == "zh-CN", url
        seen[url] = _english(page, allowed)

    visit("/")
    venue_href = page.locator("#venue-list a").first.get_attribute("href")
    visit(venue_href)
    floor_href = page.locator("#floor-list a").first.get_attribute("href")
    visit(floor_href, ".fe-status.saved")
    assert "所有修改已保存" in page.inner_text(".fe-status")
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.findings) >= 1")
    labels = page.locator(".leaflet-tooltip.fe-finding-label").all_inner_texts()  # the map's findings layer
    assert any("平方米" in label for label in labels), labels  # an intruding area, in the page's language
    seen[floor_href + " (findings layer)"] = _english(page, allowed)
    page.locator("#terminal-table tbody tr button.small").first.click()  # inline edit
    page.wait_for_selector("#terminal-table tr.editing")
    seen[floor_href + " (inline edit)"] = _english(page, allowed)
    page.locator("#terminal-table tr.editing input[name=heading_deg]").fill("abc")
    page.locator("#terminal-table tr.editing button.primary").click()
    page.wait_for_timeout(500)
    seen[floor_href + " (bad value)"] = _english(page, allowed)
    floor_id = floor_href.rstrip("/").rsplit("/", 1)[-1]
    visit(f"/floors/{floor_id}/terminals/import")
    visit(f"/floors/{floor_id}/plans")
    visit(venue_href.rstrip("/") + "/compliance")
    visit(venue_href.rstrip("/") + "/audit")
    visit("/camera-models")
    english = {url: words for url, words in seen.items() if words}
    assert not english, english
    assert not errors, errors
    context.close()


def test_a_planner_runs_and_reads_a_plan_in_chinese(browser, live_server, live_app):  # type: ignore[no-untyped-def]
    from inventory.models import Floor, Venue
    from tests.conftest import PLANNER

    compile_catalogues()
    allowed = _data_words(live_app) | ALLOWED | {"UTF", "N"}
    with live_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url,
                                  locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    page.set_default_timeout(60_000)
    login(page, PLANNER)
    page.locator("button[name=locale][value=zh_CN]").first.click()
    page.wait_for_load_state()
    page.goto(f"/floors/{floor_id}/plans")
    assert _english(page, allowed) == []
    page.fill("#f-time_limit", "20")
    page.click("#plan-form button[type=submit]")  # the test app runs the job at once
    page.wait_for_selector("#headline")
    assert "原为" in page.inner_text("#headline")
    assert _english(page, allowed) == []
    page.goto(page.url.rstrip("/") + "/report")
    assert _english(page, allowed) == []
    context.close()


def test_an_inspector_inspects_in_chinese(browser, live_server, live_app):  # type: ignore[no-untyped-def]
    from inventory.models import Venue
    from tests.conftest import INSPECTOR_CITY

    compile_catalogues()
    allowed = _data_words(live_app) | ALLOWED | {"UTF", "N", "PDF"}
    with live_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
        # The demo's planted violations: C-305 (hotel), C-22 (supermarket), C-6 and F-L1 (pool).
        planted = dict(db.session.execute(sa.select(Venue.name, Venue.id).where(
            Venue.name.in_(["FreshMart Jing'an", "Blue Wave Natatorium"]))).all())
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url, locale="zh-CN",
                                  extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = context.new_page()
    login(page, INSPECTOR_CITY)
    with page.expect_navigation():  # the switch sits in the folded phone menu: submit it as its button would
        page.evaluate("""() => { const f = document.querySelector('form.language-switch');
            f.requestSubmit(f.querySelector('button[value=zh_CN]')); }""")
    seen: dict[str, list[str]] = {}
    for url in ("/", f"/venues/{venue_id}/compliance", f"/venues/{venue_id}/inspections",
                *(f"/venues/{planted[name]}/compliance" for name in sorted(planted))):
        page.goto(url)
        if "/compliance" in url:  # the rules left out, folded away, read in Chinese too
            page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        seen[url] = _english(page, allowed)
        if "/compliance" in url:  # each finding reads in Chinese, the offender's code beside it
            messages = page.locator("#finding-list td.finding-message").all_inner_texts()
            assert messages and all(re.search(r"[\u4e00-\u9fff]", m) for m in messages), (url, messages)
    for venue in (venue_id, planted["Blue Wave Natatorium"]):
        page.goto(f"/venues/{venue}/inspections")
        page.locator("form[action$='/inspections'] button").first.click()
        page.wait_for_url(re.compile(r"/inspections/\d+$"))
        seen[f"inspection of venue {venue}"] = _english(page, allowed)
        page.goto(page.url + "/report")
        rows = page.locator("#report-findings tr").all_inner_texts()
        assert len(rows) > 1 and any("隐私区域" in r for r in rows), rows  # the planted privacy findings
        seen[f"report of venue {venue}"] = _english(page, allowed)
    english = {url: words for url, words in seen.items() if words}
    assert not english, english
    context.close()
