"""A plan in Simplified Chinese: the result page, its drawings, the PDF report (real CJK glyphs) and the CSV."""

from __future__ import annotations

import csv
import ctypes
import io
import re

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
import sqlalchemy as sa

from extensions import db
from i18n import compile_catalogues
from inventory.models import Floor, Venue
from tests.conftest import PLANNER

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _speak(client, locale: str) -> None:  # type: ignore[no-untyped-def]
    """Switch the signed-in user's language, as the switch in the top bar does."""
    assert client.post("/language", data={"locale": locale, "next": "/"}).status_code == 302


@pytest.fixture(autouse=True, scope="module")
def _compiled() -> None:
    compile_catalogues()


def _hanzi_indices(page) -> list[int]:  # type: ignore[no-untyped-def]
    text = page.get_textpage().get_text_range()
    return [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff"]


def _font_of(page, index: int) -> bytes:  # type: ignore[no-untyped-def]
    """The name of the font a character of the page is set in (PDFium's FPDFText_GetFontInfo)."""
    buffer, flags = ctypes.create_string_buffer(256), ctypes.c_int()
    textpage = page.get_textpage()  # kept referenced while PDFium reads it
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, 256, ctypes.byref(flags))
    return buffer.value


@pytest.fixture
def plan_id(client, auth, demo_app) -> int:
    """The demo hotel planned and approved by the planner (immediate queue)."""
    auth.login(PLANNER)
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))
    response = client.post(f"/floors/{floor_id}/plans", data={"mode": "reduce", "time_limit": "30"})
    assert response.status_code == 302
    plan = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/plans/{plan}/approve").status_code == 302
    return plan


def test_the_plan_page_reads_in_chinese(client, plan_id):
    _speak(client, "zh_CN")
    page = client.get(f"/plans/{plan_id}", headers=ZH).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    headline = re.search(r'id="headline">([^<]*)<', page).group(1)
    assert "台摄像头，原为" in headline and "instead of" not in headline
    for words in ("证明", "逐台决定", "调整前", "工作清单", "已证明为最少", "保留", "拆除", "比例尺单位为米"):
        assert words in page, words
    # The stored drawings (made by the worker in English) show Chinese labels: the scale bar and the north arrow.
    assert re.search(r">[\d.]+ 米</text>", page) and ">北</text>" in page
    reasons = re.findall(r'<tr class="decision-\w+" id="decision-[^"]+"><td>.*?</td>\s*<td>[^<]*</td><td>([^<]*)</td>',
                         page, re.S)
    assert reasons and all(re.search(r"[\u4e00-\u9fff]", r) for r in reasons), reasons
    _speak(client, "en")
    assert "instead of" in client.get(f"/plans/{plan_id}", headers=ZH).get_data(as_text=True)


def test_the_pdf_report_carries_chinese_text(client, plan_id):
    _speak(client, "zh_CN")
    pdf = client.get(f"/plans/{plan_id}/report.pdf", headers=ZH)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(pdf.data)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    for words in ("摄像头精简方案", "证明", "逐台决定", "批准", "场所签字", "调整前", "拆除"):
        assert words in text, words
    assert "Camera reduction plan" not in text
    # Glyphs, not boxes: the hanzi are set in an embedded CJK font.
    assert "\ufffd" not in text
    fonts = {_font_of(document[0], text_index) for text_index in _hanzi_indices(document[0])[:20]}
    assert fonts and all(b"CJK" in font for font in fonts), fonts


def test_the_plan_csv_heads_its_columns_per_locale_or_by_machine_name(client, plan_id):
    _speak(client, "zh_CN")
    chinese = client.get(f"/plans/{plan_id}/plan.csv", headers=ZH)
    rows = list(csv.reader(io.StringIO(chinese.data.decode("utf-8-sig"))))
    assert chinese.data.startswith("\ufeff".encode()) and rows[0][:3] == ["终端", "决定", "原因"]
    assert {r[1] for r in rows[1:]} <= {"保留", "拆除", "调整朝向", "新增"}
    machine = client.get(f"/plans/{plan_id}/plan.csv?header=machine", headers=ZH).get_data(as_text=True)
    assert machine.splitlines()[0] == "terminal,decision,reason,new_heading_deg,x,y,review,review_comment"
    _speak(client, "en")
    assert client.get(f"/plans/{plan_id}/plan.csv").get_data(as_text=True).startswith("terminal,")


def test_a_terminal_csv_exported_in_chinese_imports_back(client, auth, demo_app):
    from tests.conftest import MANAGER_A

    auth.logout()
    auth.login(MANAGER_A)
    _speak(client, "zh_CN")
    with demo_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))
    exported = client.get(f"/floors/{floor_id}/terminals.csv", headers=ZH).data.decode("utf-8-sig")
    header = exported.splitlines()[0].split(",")
    assert header[:4] == ["编号", "类型", "X（米）", "Y（米）"]
    assert client.get(f"/floors/{floor_id}/terminals.csv?header=machine", headers=ZH).data.decode(
        "utf-8-sig").startswith("code,kind,x,y")
    preview = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": exported}, headers=ZH)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page[-2000:]
    assert "条无变化" in page and "未知" not in page
