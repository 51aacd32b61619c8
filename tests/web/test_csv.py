"""CSV import and export of a floor's terminals: preview, all-or-nothing, round trip, encodings, hostile cells."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from extensions import db
from inventory import csv_io
from inventory.models import Floor, Terminal, Venue
from tests.conftest import INSPECTOR_CITY, MANAGER_A, MANAGER_B

HEADER = ",".join(csv_io.COLUMNS)


@pytest.fixture
def floor_id(demo_app) -> int:
    """The Bund View Hotel floor (organisation A)."""
    with demo_app.app_context():
        return db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))


def _export(client, floor_id: int) -> bytes:
    response = client.get(f"/floors/{floor_id}/terminals.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.data


def _upload(client, floor_id: int, data: bytes, encoding: str = "auto"):
    return client.post(f"/floors/{floor_id}/terminals/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "terminals.csv"), "encoding": encoding})


def _paste(client, floor_id: int, text: str, confirm: bool = False):
    data = {"csv_text": text}
    if confirm:
        data["confirm"] = "1"
    return client.post(f"/floors/{floor_id}/terminals/import", data=data)


def _confirm_text(html: str) -> str:
    """The CSV text the preview carries to its confirm step, as the browser would send it back."""
    import html as html_lib

    match = re.search(r'<textarea name="csv_text" hidden>(.*?)</textarea>', html, re.S)
    assert match, "the preview offers no confirm form"
    return html_lib.unescape(match.group(1))


def _errors(html: str) -> list[tuple[str, str, str]]:
    """(row, field, problem) triples of the preview's error table."""
    table = re.search(r'<table class="grid" id="csv-errors">(.*?)</table>', html, re.S)
    assert table, "the preview shows no error table"
    import html as html_lib

    cells = re.findall(r"<tr class=\"error\"><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(1))
    return [tuple(html_lib.unescape(c) for c in row) for row in cells]


def _count(app, model=Terminal) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _audit_max(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def _events_after(app, event_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.object_type, AuditEvent.action)
                                  .where(AuditEvent.id > event_id).order_by(AuditEvent.id))
        return [tuple(r) for r in rows]


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# ---------------------------------------------------------------- export and round trip


def test_export_has_the_field_header_and_every_terminal(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    data = _export(client, floor_id)
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    rows = _rows(data)
    with demo_app.app_context():
        codes = sorted(db.session.scalars(sa.select(Terminal.code).where(Terminal.floor_id == floor_id)))
    assert [r["code"] for r in rows] == codes
    c301 = next(r for r in rows if r["code"] == "C-301")
    assert c301["kind"] == "camera" and c301["serial"] == "HK-301" and c301["face_recognition"] == "false"


def test_export_is_the_uncached_writing_of_the_stored_terminals_and_follows_an_edit(client, auth, floor_id, demo_app):
    """The export writes plain rows through the cell cache; it must be byte for byte what the ORM terminals, written
    with an empty cache, give, before and after an edit."""
    auth.login(MANAGER_A)

    def from_scratch() -> bytes:
        csv_io._formatted.clear()
        with demo_app.test_request_context():
            floor = db.session.get(Floor, floor_id)
            terminals = list(db.session.scalars(sa.select(Terminal).where(
                Terminal.floor_id == floor.id, Terminal.removed_at.is_(None)).order_by(Terminal.code, Terminal.id)))
            return csv_io.encode(csv_io.write(terminals))

    first = _export(client, floor_id)
    assert first == from_scratch() and len(_rows(first)) >= 5
    assert _export(client, floor_id) == first  # from the cache this time
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.floor_id == floor_id, Terminal.code == "C-301"))
        terminal.serial, terminal.heading_deg = "=CACHED-301", 12.5
        db.session.commit()
    after = _export(client, floor_id)
    c301 = next(r for r in _rows(after) if r["code"] == "C-301")
    assert c301["serial"] == "'=CACHED-301" and c301["heading_deg"] == "12.5"
    assert after == from_scratch()


def test_cells_of_equal_values_of_different_types_are_not_shared():
    """1 == 1.0 == True as dictionary keys, but their cells differ: the cache key holds the types."""
    from types import SimpleNamespace

    base = {name: None for name in csv_io.COLUMNS}
    as_int = csv_io.write([SimpleNamespace(**{**base, "code": "T-1", "x": 1})])
    as_float = csv_io.write([SimpleNamespace(**{**base, "code": "T-1", "x": 1.0})])
    x = csv_io.COLUMNS.index("x")
    assert as_int.splitlines()[1].split(",")[x] == "1" and as_float.splitlines()[1].split(",")[x] == "1.0"


def test_export_import_export_round_trips_without_changes(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    first = _export(client, floor_id)
    before_events = _audit_max(demo_app)
    preview = _upload(client, floor_id, first)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "0 to create" in html and "0 to update" in html
    done = _paste(client, floor_id, _confirm_text(html), confirm=True)
    assert done.status_code == 302
    assert _export(client, floor_id) == first
    assert _events_after(demo_app, before_events) == []  # unchanged rows are skipped: no audit 'update'


def test_import_updates_by_code_and_creates_new_codes_in_one_go(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    data = _export(client, floor_id)
    rows = _rows(data)
    rows[0]["heading_deg"] = "-45"       # C-301: normalised to 315
    rows[1]["purpose"] = "lobby overview"
    text = HEADER + "\r\n" + "".join(",".join(r[c] for c in csv_io.COLUMNS) + "\r\n" for r in rows)
    base = "C-399,camera,12.5,3,,,,75,,2688,,false,false,,,,true,HK-399,2025-05-01,active,"
    text += base + "," * (len(csv_io.COLUMNS) - base.count(",") - 1) + "\r\n"
    before_count, before_events = _count(demo_app), _audit_max(demo_app)
    preview = _paste(client, floor_id, text)
    html = preview.get_data(as_text=True)
    assert "1 to create" in html and "2 to update" in html
    assert "heading_deg" in html and "315.0" in html
    assert _count(demo_app) == before_count  # the preview writes nothing
    assert _paste(client, floor_id, _confirm_text(html), confirm=True).status_code == 302
    with demo_app.app_context():
        terminals = {t.code: t for t in db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor_id))}
        assert terminals["C-301"].heading_deg == 315.0
        assert terminals["C-302"].purpose == "lobby overview"
        new = terminals["C-399"]
        assert (new.hfov_deg, new.hpx, new.height_m, new.serial) == (75.0, 2688, 2.5, "HK-399")
    assert _count(demo_app) == before_count + 1
    assert sorted(_events_after(demo_app, before_events)) == [("terminal", "create"), ("terminal", "update"),
                                                              ("terminal", "update")]


def test_missing_optional_columns_leave_fields_alone_on_update(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    text = "code,kind,x,y,status\r\nC-301,camera,8.3,9.0,planned_removal\r\n"
    html = _paste(client, floor_id, text).get_data(as_text=True)
    _paste(client, floor_id, _confirm_text(html), confirm=True)
    with demo_app.app_context():
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-301"))
        assert terminal.status.value == "planned_removal" and terminal.serial == "HK-301" and terminal.hpx == 1920


# ---------------------------------------------------------------- row-level errors, all or nothing


def test_preview_lists_row_errors_and_nothing_is_written(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    text = "\r\n".join([
        "code,kind,x,y,hfov_deg,serial",
        "N-1,camera,1,1,90,SN-1",          # row 2: fine
        "N-2,camera,1,1,0,SN-2",           # row 3: field of view out of range
        "N-3,drone,1,1,90,SN-3",           # row 4: unknown kind
        "N-4,camera,abc,1,90,SN-4",        # row 5: not a number
        "N-1,camera,2,2,90,SN-5",          # row 6: code repeated
        "N-6,camera,1,1,90,SN-1",          # row 7: serial repeated in the file
        "N-7,camera,1,1,90,HK-301",        # row 8: serial of C-301 in this venue
        ",camera,1,1,90,",                 # row 9: code missing
    ]) + "\r\n"
    before = _count(demo_app)
    response = _paste(client, floor_id, text)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = _errors(html)
    assert ("3", "hfov_deg", "field of view must lie between 0.1 and 360 degrees") in errors
    assert ("4", "kind", "'drone' is not one of: camera, face_terminal, access_reader, other") in errors
    assert ("5", "x", "'abc' is not a number") in errors
    assert ("6", "code", "ID 'N-1' also appears on row 2") in errors
    assert ("7", "serial", "serial 'SN-1' also appears on row 2") in errors
    assert ("8", "serial", "serial 'HK-301' is already used in this venue by C-301 (Hotel level 3)") in errors
    assert ("9", "code", "is required") in errors
    assert len(errors) == 7 and 'id="csv-confirm"' not in html
    # Posting the same rows as a confirmation writes nothing either.
    assert _paste(client, floor_id, text, confirm=True).status_code == 422
    assert _count(demo_app) == before


def test_serial_used_on_another_floor_of_the_venue_is_refused(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        floor = db.session.get(Floor, floor_id)
        other = Floor(venue_id=floor.venue_id, level=9, name="Roof", structure=[])
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    response = _paste(client, other_id, "code,kind,x,y,serial\r\nR-1,camera,0,0,HK-302\r\n")
    assert response.status_code == 422
    assert ("2", "serial", "serial 'HK-302' is already used in this venue by C-302 (Hotel level 3)") in \
        _errors(response.get_data(as_text=True))


def test_serials_can_swap_between_terminals_in_one_import(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    text = "code,kind,x,y,serial\r\nC-301,camera,8.3,9,HK-302\r\nC-302,camera,43.7,9,HK-301\r\n"
    html = _paste(client, floor_id, text).get_data(as_text=True)
    assert "2 to update" in html
    assert _paste(client, floor_id, _confirm_text(html), confirm=True).status_code == 302
    with demo_app.app_context():
        serials = dict(db.session.execute(sa.select(Terminal.code, Terminal.serial)
                                          .where(Terminal.code.in_(["C-301", "C-302"]))).all())
    assert serials == {"C-301": "HK-302", "C-302": "HK-301"}


def test_a_row_that_becomes_invalid_before_confirm_writes_nothing(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    text = "code,kind,x,y,serial\r\nN-1,camera,1,1,SN-NEW\r\nN-2,camera,2,2,SN-LATER\r\n"
    html = _paste(client, floor_id, text).get_data(as_text=True)
    assert 'id="csv-confirm"' in html
    # Someone else takes serial SN-LATER between the preview and the confirmation.
    client.post(f"/floors/{floor_id}/terminals/new", data={"code": "Z-1", "kind": "camera", "x": "0", "y": "0",
                                                           "serial": "SN-LATER"})
    before = _count(demo_app)
    response = _paste(client, floor_id, _confirm_text(html), confirm=True)
    assert response.status_code == 422 and "SN-LATER" in response.get_data(as_text=True)
    assert _count(demo_app) == before


@pytest.mark.parametrize("text, expected", [
    ("code,kind,x,y,colour\r\nN-1,camera,1,1,red\r\n", ("—", "colour", "unknown column 'colour'")),
    ("code,x,y\r\nN-1,1,1\r\n", ("—", "kind", "required column is missing from the header")),
    ("code,kind,x,y,x\r\nN-1,camera,1,1,1\r\n", ("—", "x", "column appears twice in the header")),
    ("code;kind;x;y\r\nN-1;camera;1;1\r\n", ("—", "file", "cells must be separated by commas")),
    ("code,kind,x,y\r\n", ("—", "file", "the file has a header but no terminal rows")),
    ("code,kind,x,y\r\nN-1,camera,1\r\n", ("2", "—", "has 3 cells but the header has 4 columns")),
])
def test_wrong_columns_are_named(client, auth, floor_id, text, expected):
    auth.login(MANAGER_A)
    response = _paste(client, floor_id, text)
    assert response.status_code == 422
    row, field, message = expected
    assert any(e[0] == row and e[1] == field and message in e[2] for e in _errors(response.get_data(as_text=True)))


def test_empty_submission_and_empty_file(client, auth, floor_id):
    auth.login(MANAGER_A)
    nothing = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": ""})
    assert nothing.status_code == 422 and b"choose a CSV file or paste CSV text" in nothing.data
    empty = _upload(client, floor_id, b"\xef\xbb\xbf \r\n")
    assert empty.status_code == 422 and ("—", "file", "the file is empty") in _errors(empty.get_data(as_text=True))


def test_too_many_rows_are_refused(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    lines = ["code,kind,x,y"] + [f"N-{i},camera,{i % 50},1" for i in range(csv_io.MAX_ROWS + 1)]
    response = _upload(client, floor_id, ("\r\n".join(lines) + "\r\n").encode())
    assert response.status_code == 422
    assert ("—", "file", f"the file has {csv_io.MAX_ROWS + 1} rows; at most {csv_io.MAX_ROWS} can be imported "
                         "at once") in _errors(response.get_data(as_text=True))


# ---------------------------------------------------------------- encodings


def test_utf8_with_and_without_bom_and_chinese_text(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    text = "code,kind,x,y,purpose\r\nN-1,camera,1,1,大堂入口\r\n"
    for data in (text.encode("utf-8"), text.encode("utf-8-sig")):
        response = _upload(client, floor_id, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "1 to create" in html and "decoded as" not in html


def test_gb18030_from_chinese_excel_is_detected_and_imported(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    data = "code,kind,x,y,purpose\r\nN-1,camera,1,1,大堂入口 人脸识别\r\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    response = _upload(client, floor_id, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "decoded as GB18030" in html
    assert _paste(client, floor_id, _confirm_text(html), confirm=True).status_code == 302
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Terminal.purpose).where(Terminal.code == "N-1")) == "大堂入口 人脸识别"
    # Forcing UTF-8 refuses the same bytes.
    forced = _upload(client, floor_id, data, encoding="utf-8")
    assert forced.status_code == 422 and "the file is not UTF-8" in forced.get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ("code,kind,x,y\r\nN-1,camera,1,1\r\n".encode("utf-16"), "the file is UTF-16"),
    (b"code,kind,x,y\r\nN-1,camera,1,1\r\n\x00\x01", "NUL bytes"),
    (b"code,kind,x,y,purpose\r\nN-1,camera,1,1,caf\xe9,\r\n", "the file is not UTF-8 (invalid byte 0xe9"),
])
def test_unreadable_encodings_are_refused(client, auth, floor_id, demo_app, data, message):
    auth.login(MANAGER_A)
    before = _count(demo_app)
    response = _upload(client, floor_id, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert _count(demo_app) == before


# ---------------------------------------------------------------- hostile cells


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    hostile = {"C-301": '=HYPERLINK("http://evil.example","x")', "C-302": "@SUM(1+1)", "C-303": "+cmd|' /C calc'!A0",
               "C-304": "-2+3", "C-305": "'=already quoted"}
    with demo_app.app_context():
        for code, purpose in hostile.items():
            db.session.scalar(sa.select(Terminal).where(Terminal.code == code)).purpose = purpose
        db.session.commit()
    first = _export(client, floor_id)
    purposes = {r["code"]: r["purpose"] for r in _rows(first)}
    for code, purpose in hostile.items():
        assert purposes[code] == "'" + purpose, code
    assert all(not p.startswith(("=", "+", "-", "@")) for p in purposes.values())
    assert {r["code"]: r["x"] for r in _rows(first)}["C-304"] == "1.5"  # numbers are never prefixed
    html = _upload(client, floor_id, first).get_data(as_text=True)
    assert "0 to update" in html
    _paste(client, floor_id, _confirm_text(html), confirm=True)
    assert _export(client, floor_id) == first
    with demo_app.app_context():
        for code, purpose in hostile.items():
            assert db.session.scalar(sa.select(Terminal.purpose).where(Terminal.code == code)) == purpose


def test_markup_in_cells_is_escaped_in_the_preview(client, auth, floor_id):
    auth.login(MANAGER_A)
    response = _paste(client, floor_id, 'code,kind,x,y\r\n<script>alert(1)</script>,<b>cam</b>,1,1\r\n')
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<script>alert(1)</script>" not in html and "<b>cam</b>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("value", ["=1", "+1", "-1", "@a", "'", "'=x", "''", "plain", "a=b", "", "\t=x"])
def test_escape_and_unescape_are_inverse(value):
    escaped = csv_io.escape_cell(value)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert csv_io.unescape_cell(escaped) == value


# ---------------------------------------------------------------- camera models


def test_camera_model_by_id_or_manufacturer_and_model(client, auth, floor_id, demo_app):
    auth.login(MANAGER_A)
    with demo_app.app_context():
        model_id = db.session.scalar(sa.select(sa.text("id")).select_from(sa.text("camera_model"))
                                     .where(sa.text("model = 'P3268-LV'")))
    text = ("code,kind,x,y,camera_model_id\r\nN-1,camera,1,1,Axis  p3268-lv\r\nN-2,camera,2,2," + str(model_id) +
            "\r\nN-3,camera,3,3,Acme Nothing\r\nN-4,camera,4,4,99999\r\n")
    response = _paste(client, floor_id, text)
    errors = _errors(response.get_data(as_text=True))
    assert errors == [("4", "camera_model_id", "no camera model 'Acme Nothing' (give its id or 'Manufacturer Model')"),
                      ("5", "camera_model_id", "no camera model with id 99999")]
    text = "\r\n".join(text.split("\r\n")[:3]) + "\r\n"
    html = _paste(client, floor_id, text).get_data(as_text=True)
    _paste(client, floor_id, _confirm_text(html), confirm=True)
    with demo_app.app_context():
        assert set(db.session.scalars(sa.select(Terminal.camera_model_id)
                                      .where(Terminal.code.in_(["N-1", "N-2"])))) == {model_id}


# ---------------------------------------------------------------- who may


def test_inspector_exports_but_may_not_import(client, auth, floor_id, demo_app):
    auth.login(INSPECTOR_CITY)
    assert client.get(f"/floors/{floor_id}/terminals.csv").status_code == 200
    assert client.get(f"/floors/{floor_id}/terminals/import").status_code == 403
    before = _count(demo_app)
    assert _paste(client, floor_id, "code,kind,x,y\r\nN-1,camera,1,1\r\n", confirm=True).status_code == 403
    assert _count(demo_app) == before


def test_other_organisation_gets_404(client, auth, floor_id, demo_app):
    auth.login(MANAGER_B)
    assert client.get(f"/floors/{floor_id}/terminals.csv").status_code == 404
    assert client.get(f"/floors/{floor_id}/terminals/import").status_code == 404
    before = _count(demo_app)
    assert _paste(client, floor_id, "code,kind,x,y\r\nN-1,camera,1,1\r\n", confirm=True).status_code == 404
    assert _count(demo_app) == before


def test_floor_page_links_to_export_and_import(client, auth, floor_id):
    auth.login(MANAGER_A)
    page = client.get(f"/floors/{floor_id}").get_data(as_text=True)
    assert f"/floors/{floor_id}/terminals.csv" in page and f"/floors/{floor_id}/terminals/import" in page
    form = client.get(f"/floors/{floor_id}/terminals/import").get_data(as_text=True)
    assert 'name="file"' in form and 'name="csv_text"' in form and "camera_model_id" in form


def test_import_form_needs_csrf(csrf_app):
    from tests.conftest import seed

    seed(csrf_app)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": MANAGER_A, "password": "sightline-demo", "csrf_token": token})
    with csrf_app.app_context():
        floor_id = db.session.scalar(sa.select(Floor.id).join(Venue).where(Venue.name == "Bund View Hotel"))
    text = "code,kind,x,y\r\nN-1,camera,1,1\r\n"
    refused = client.post(f"/floors/{floor_id}/terminals/import", data={"csv_text": text, "confirm": "1"})
    assert refused.status_code == 400
    page = client.get(f"/floors/{floor_id}/terminals/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(f"/floors/{floor_id}/terminals/import",
                           data={"csv_text": text, "confirm": "1", "csrf_token": token})
    assert accepted.status_code == 302
