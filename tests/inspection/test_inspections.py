"""The inspection workflow through the web layer: risk list, checklist, answers, evidence, verification,
sign-off, immutability, the inspection chain, the report, and who may see what."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from audit.models import AuditEvent
from compliance.models import Finding
from extensions import db
from inspection.models import Evidence, Inspection, InspectionItem, InspectionStatus
from inventory.choices import TerminalStatus
from inventory.models import Terminal, Venue
from tests.conftest import ADMIN, INSPECTOR_CITY, INSPECTOR_SONGJIANG, MANAGER_A, MANAGER_B, POSTGRES_URL
from tests.inspection.conftest import Hotel, item_ids, login, photo, start, terminal_position


def _answer(client: FlaskClient, inspection_id: int, item_id: int, found: str, **extra: object):  # type: ignore[no-untyped-def]
    return client.post(f"/inspections/{inspection_id}/items/{item_id}", data={"found": found, **extra},
                       headers={"HX-Request": "true"})


def _answer_all(client: FlaskClient, app: Flask, inspection_id: int, removed: set[str]) -> None:
    for code, item_id in item_ids(app, inspection_id).items():
        with app.app_context():
            undeclared = db.session.get(InspectionItem, item_id).expected is None
        if not undeclared:
            assert _answer(client, inspection_id, item_id, "removed" if code in removed else "present").status_code == 200


def _signed_off(client: FlaskClient, app: Flask, hotel: Hotel) -> int:
    inspection_id = start(client, hotel.venue_id)
    _answer_all(client, app, inspection_id, {"C-303", "C-305"})
    assert client.post(f"/inspections/{inspection_id}/verify").status_code == 302
    response = client.post(f"/inspections/{inspection_id}/sign-off")
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]
    return inspection_id


def test_risk_list_is_the_jurisdiction_sorted_by_risk(demo_app: Flask, client: FlaskClient) -> None:
    def open_prohibited(vid: int) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Finding).where(
            Finding.venue_id == vid, Finding.status == "open", Finding.severity == "prohibited")) or 0

    with demo_app.app_context():
        venues = {v.name: v.id for v in db.session.scalars(sa.select(Venue))}
        songjiang = set(db.session.scalars(sa.select(Venue.name).where(Venue.district == "Songjiang")))
        quiet = min(venues, key=lambda name: (open_prohibited(venues[name]), name))
        # The least risky venue gets more open prohibited findings than any other: it must come first.
        for n in range(max(open_prohibited(v) for v in venues.values()) + 1):
            db.session.add(Finding(venue_id=venues[quiet], rule_id="CN-01", key=f"test:{n}", severity="prohibited",
                                   subject="C-1", message="camera inside a toilet"))
        db.session.commit()
        risk = {name: (open_prohibited(vid), db.session.scalar(sa.select(sa.func.count()).select_from(Terminal).where(
            Terminal.venue_id == vid, Terminal.status.in_(("active", "planned_removal")),
            sa.or_(Terminal.face_recognition.is_(True), Terminal.kind == "face_terminal"))))
            for name, vid in venues.items()}
    names = {str(vid): name for name, vid in venues.items()}

    def listed() -> list[str]:
        page = client.get("/inspections").get_data(as_text=True)
        return [names[i] for i in re.findall(r'data-venue="(\d+)"', page)]

    login(client, INSPECTOR_CITY)
    order = listed()
    assert order[0] == quiet and sorted(order) == sorted(venues)
    # Open prohibited findings first, then face-recognition terminals in service (none inspected yet).
    assert [risk[n] for n in order] == sorted((risk[n] for n in order), reverse=True)
    login(client, INSPECTOR_SONGJIANG)
    assert set(listed()) == songjiang
    # A venue removed from the inventory leaves the list.
    with demo_app.app_context():
        from accounts.models import utcnow

        db.session.get(Venue, venues[quiet]).removed_at = utcnow()
        db.session.commit()
    login(client, INSPECTOR_CITY)
    assert quiet not in listed()


def test_checklist_follows_the_approved_plan(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    inspection_id = start(client, hotel.venue_id)
    with demo_app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        expected = {i.code: i.expected.value for i in inspection.items}
        terminals = db.session.scalars(sa.select(Terminal.code).where(Terminal.floor_id == hotel.floor_id)).all()
        declared = inspection.declared
    assert set(expected) == set(terminals)
    assert {code for code, state in expected.items() if state == "removed"} == {"C-303", "C-305", "F-306"}
    assert expected["C-301"] == "kept"
    assert declared["plans"] == [hotel.plan_id]
    assert declared["before"]["total"] - declared["after"]["total"] == 3
    page = client.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert 'class="floor-svg"' in page and "C-303" in page


def test_answers_save_one_by_one_and_bad_ones_are_named(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    inspection_id = start(client, hotel.venue_id)
    items = item_ids(demo_app, inspection_id)
    assert _answer(client, inspection_id, items["C-303"], "removed").status_code == 200
    moved = _answer(client, inspection_id, items["C-301"], "moved")
    assert moved.status_code == 422 and "tap the map" in moved.get_data(as_text=True)
    far = _answer(client, inspection_id, items["C-301"], "moved", x="5000", y="5000")
    assert far.status_code == 422 and "outside the floor outline" in far.get_data(as_text=True)
    x, y = terminal_position(demo_app, hotel.floor_id, "C-301")
    ok = _answer(client, inspection_id, items["C-301"], "moved", x=str(x + 1), y=str(y), note="two metres left")
    assert ok.status_code == 200 and 'data-found="moved"' in ok.get_data(as_text=True)
    bad = _answer(client, inspection_id, items["C-302"], "gone")
    assert bad.status_code == 422 and "found" in bad.get_data(as_text=True)
    with demo_app.app_context():
        rows = {i.code: i for i in db.session.get(Inspection, inspection_id).items}
        assert rows["C-303"].found.value == "removed" and rows["C-303"].answered_at is not None
        assert rows["C-301"].found_x == x + 1 and rows["C-301"].note == "two metres left"
        assert rows["C-302"].found is None


def test_undeclared_terminal_is_placed_on_the_map(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    inspection_id = start(client, hotel.venue_id)
    x, y = terminal_position(demo_app, hotel.floor_id, "C-301")
    missing = client.post(f"/inspections/{inspection_id}/undeclared",
                          data={"floor_id": hotel.floor_id, "code": "X-1", "kind": "camera"})
    assert missing.status_code == 422 and "tap the map" in missing.get_data(as_text=True)
    clash = client.post(f"/inspections/{inspection_id}/undeclared",
                        data={"floor_id": hotel.floor_id, "code": "C-301", "kind": "camera", "x": x, "y": y})
    assert clash.status_code == 422 and "already on this floor" in clash.get_data(as_text=True)
    made = client.post(f"/inspections/{inspection_id}/undeclared",
                       data={"floor_id": hotel.floor_id, "code": "X-1", "kind": "camera", "x": x + 0.5, "y": y,
                             "heading_deg": "90", "face_recognition": "true"})
    assert made.status_code == 302
    with demo_app.app_context():
        item = db.session.scalar(sa.select(InspectionItem).where(InspectionItem.code == "X-1"))
        assert item.found.value == "not_declared" and item.expected is None and item.face_recognition
        assert (item.found_x, item.found_y, item.found_heading_deg) == (x + 0.5, y, 90.0)
    page = client.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert "X-1 (not declared)" in page
    # A mistaken entry can be taken back (with its photo); a declared item cannot.
    items = item_ids(demo_app, inspection_id)
    assert client.post(f"/inspections/{inspection_id}/items/{items['X-1']}/evidence",
                       data={"photo": (io.BytesIO(photo()), "x1.jpg")},
                       content_type="multipart/form-data").status_code == 302
    declared = client.post(f"/inspections/{inspection_id}/items/{items['C-301']}/remove")
    assert declared.status_code == 422 and "declared checklist" in declared.get_data(as_text=True)
    assert client.post(f"/inspections/{inspection_id}/items/{items['X-1']}/remove").status_code == 302
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectionItem)
                                 .where(InspectionItem.code == "X-1")) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert not [p for p in Path(demo_app.config["UPLOAD_FOLDER"]).rglob("*.*")]


def test_evidence_is_stripped_of_exif_and_bad_uploads_leave_nothing(demo_app: Flask, client: FlaskClient,
                                                                    hotel: Hotel) -> None:
    inspection_id = start(client, hotel.venue_id)
    item = item_ids(demo_app, inspection_id)["C-303"]
    original = photo()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload does carry GPS
    url = f"/inspections/{inspection_id}/items/{item}/evidence"
    uploads = Path(demo_app.config["UPLOAD_FOLDER"])

    def files() -> set[Path]:
        return set(uploads.rglob("*.*")) if uploads.exists() else set()

    for data, name, reason in ((b"%PDF-1.4 not a photo", "x.jpg", "not a JPEG or PNG"),
                               (photo("GIF", gps=False), "x.gif", "only JPEG or PNG"),
                               (b"", "empty.jpg", "empty"),
                               (b"\xff\xd8" + b"0" * (11 * 1024 * 1024), "big.jpg", "the limit is")):
        refused = client.post(url, data={"photo": (io.BytesIO(data), name)}, headers={"HX-Request": "true"},
                              content_type="multipart/form-data")
        assert refused.status_code == 422 and reason in refused.get_data(as_text=True), name
    with demo_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    assert files() == set()
    saved = client.post(url, data={"photo": (io.BytesIO(original), "IMG_0001.jpg")}, headers={"HX-Request": "true"},
                        content_type="multipart/form-data")
    assert saved.status_code == 200
    with demo_app.app_context():
        record = db.session.scalar(sa.select(Evidence))
        stored = (uploads / record.path).read_bytes()
        assert record.mime == "image/jpeg" and record.size == len(stored)
        assert __import__("hashlib").sha256(stored).hexdigest() == record.sha256
        evidence_id = record.id
    cleaned = Image.open(io.BytesIO(stored))
    assert len(cleaned.getexif()) == 0 and b"Exif" not in stored and b"PhoneMaker" not in stored
    assert cleaned.size == (64, 48)
    thumb = client.get(f"/inspections/{inspection_id}/evidence/{evidence_id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    png = client.post(url, data={"photo": (io.BytesIO(photo("PNG")), "shot.png")}, headers={"HX-Request": "true"},
                      content_type="multipart/form-data")
    assert png.status_code == 200
    with demo_app.app_context():
        record = db.session.scalars(sa.select(Evidence).order_by(Evidence.id.desc())).first()
        assert record.mime == "image/png"
        assert len(Image.open(uploads / record.path).getexif()) == 0


def test_verification_sign_off_and_report(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    inspection_id = start(client, hotel.venue_id)
    early = client.post(f"/inspections/{inspection_id}/verify")
    assert early.status_code == 409 and "answer every checklist item first" in early.get_data(as_text=True)
    _answer_all(client, demo_app, inspection_id, {"C-303", "C-305"})
    refused = client.post(f"/inspections/{inspection_id}/sign-off")
    assert refused.status_code == 409 and "verification first" in refused.get_data(as_text=True)
    assert client.post(f"/inspections/{inspection_id}/verify").status_code == 302
    with demo_app.app_context():
        result = db.session.get(Inspection, inspection_id).verification
    assert result["state"] == "done", result
    assert result["found"]["total"] == result["declared"]["total"] + 1  # F-306 is still there
    assert result["coverage_ok"] is True and result["privacy_ok"] is True
    assert result["minimal"] in ("yes", "no", "unproven") and result["optimum"] is not None
    # An answer changed after the verification makes it stale.
    items = item_ids(demo_app, inspection_id)
    _answer(client, inspection_id, items["F-306"], "removed")
    stale = client.post(f"/inspections/{inspection_id}/sign-off")
    assert stale.status_code == 409 and "verify again" in stale.get_data(as_text=True)
    client.post(f"/inspections/{inspection_id}/verify")
    assert client.post(f"/inspections/{inspection_id}/sign-off").status_code == 302
    with demo_app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection.status == InspectionStatus.SIGNED_OFF and inspection.record_hash
        assert inspection.found["total"] == inspection.declared["after"]["total"]
        statuses = dict(db.session.execute(sa.select(Terminal.code, Terminal.status)
                                           .where(Terminal.floor_id == hotel.floor_id)).all())
    assert statuses["C-303"] == TerminalStatus.VERIFIED_REMOVED
    assert statuses["F-306"] == TerminalStatus.PLANNED_REMOVAL  # found removed, but the venue never ticked it
    with demo_app.app_context():
        steps = db.session.execute(sa.select(AuditEvent.action, AuditEvent.after).where(
            AuditEvent.object_type == "inspection", AuditEvent.object_id == inspection_id)
            .order_by(AuditEvent.id)).all()
    assert [action for action, _ in steps] == ["create", "sign_off"]
    assert steps[1][1]["verified_removed"] == ["C-303", "C-305"]
    report = client.get(f"/inspections/{inspection_id}/report").get_data(as_text=True)
    assert "Bund View Hotel" in report and "Coverage still met" in report and "signed off" in report
    pdf = client.get(f"/inspections/{inspection_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_signed_off_inspection_is_immutable(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    inspection_id = _signed_off(client, demo_app, hotel)
    item = item_ids(demo_app, inspection_id)["C-301"]
    attempts = [
        _answer(client, inspection_id, item, "removed"),
        client.post(f"/inspections/{inspection_id}/items/{item}/evidence",
                    data={"photo": (io.BytesIO(photo()), "late.jpg")}, content_type="multipart/form-data"),
        client.post(f"/inspections/{inspection_id}/undeclared",
                    data={"floor_id": hotel.floor_id, "code": "X-9", "kind": "camera", "x": 1, "y": 1}),
        client.post(f"/inspections/{inspection_id}/note", data={"note": "rewritten"}),
        client.post(f"/inspections/{inspection_id}/items/{item}/note", data={"note": "rewritten"}),
        client.post(f"/inspections/{inspection_id}/items/{item}/remove"),
        client.post(f"/inspections/{inspection_id}/verify"),
        client.post(f"/inspections/{inspection_id}/sign-off"),
    ]
    for response in attempts:
        assert response.status_code == 409, response.request.path
        assert "signed off" in response.get_data(as_text=True)
    with demo_app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert inspection.items[0].found is not None and inspection.note == ""
        inspection.items[0].note = "changed behind the service"
        try:
            db.session.flush()
        except PermissionError as error:
            assert "immutable" in str(error)
        else:
            raise AssertionError("the ORM guard let a signed-off item change")
        db.session.rollback()
    assert demo_app.test_cli_runner().invoke(args=["verify-audit"]).exit_code == 0


def test_inspection_chain_names_a_tampered_inspection(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    first = _signed_off(client, demo_app, hotel)
    second = _signed_off(client, demo_app, hotel)
    with demo_app.app_context():
        a, b = db.session.get(Inspection, first), db.session.get(Inspection, second)
        assert b.prev_hash == a.record_hash
    runner = demo_app.test_cli_runner()
    assert "inspections: 2 records, chain intact" in runner.invoke(args=["verify-audit"]).output
    with demo_app.app_context():
        db.session.execute(sa.text("UPDATE inspection_items SET found = 'present' WHERE inspection_id = :id "
                                   "AND code = 'C-305'"), {"id": first})
        db.session.commit()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"inspections: first broken link at record {first}: content does not match its hash" in result.output


def test_who_may_see_inspections(demo_app: Flask, client: FlaskClient, hotel: Hotel) -> None:
    open_id = start(client, hotel.venue_id)
    login(client, INSPECTOR_SONGJIANG)  # the hotel is in Huangpu
    assert client.get(f"/inspections/{open_id}").status_code == 404
    assert client.post(f"/venues/{hotel.venue_id}/inspections").status_code == 404
    login(client, MANAGER_A)
    assert client.get(f"/inspections/{open_id}").status_code == 404  # in progress: not the venue's to read yet
    assert client.post(f"/venues/{hotel.venue_id}/inspections").status_code == 403
    login(client, INSPECTOR_CITY)
    client.post(f"/inspections/{open_id}/sign-off")  # refused (nothing answered); the open one stays open
    signed = _signed_off(client, demo_app, hotel)
    login(client, MANAGER_A)
    assert client.get(f"/inspections/{signed}/report").status_code == 200
    assert client.post(f"/inspections/{signed}/items/1", data={"found": "removed"}).status_code in (403, 409)
    assert str(signed) in client.get("/inspections").get_data(as_text=True)
    venue_page = client.get(f"/venues/{hotel.venue_id}/inspections").get_data(as_text=True)
    assert f"/inspections/{signed}/report" in venue_page and f"/inspections/{open_id}\"" not in venue_page
    login(client, MANAGER_B)
    assert client.get(f"/venues/{hotel.venue_id}/inspections").status_code == 404
    for path in (f"/inspections/{signed}", f"/inspections/{signed}/report", f"/inspections/{signed}/report.pdf"):
        assert client.get(path).status_code == 404, path
    assert f"/inspections/{signed}/report" not in client.get("/inspections").get_data(as_text=True)
    login(client, ADMIN)
    assert client.get(f"/inspections/{signed}").status_code == 200


def test_inspection_forms_need_csrf(csrf_app: Flask) -> None:
    from tests.conftest import DEMO_PASSWORD, seed

    seed(csrf_app)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": INSPECTOR_CITY, "password": DEMO_PASSWORD, "csrf_token": token})
    with csrf_app.app_context():
        venue_id = db.session.scalar(sa.select(Venue.id).where(Venue.name == "Bund View Hotel"))
    assert client.post(f"/venues/{venue_id}/inspections").status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 0


def test_a_verification_whose_worker_died_is_failed_by_housekeeping(demo_app: Flask, client: FlaskClient,
                                                                   hotel: Hotel) -> None:
    from datetime import timedelta

    from accounts.models import utcnow
    from inspection.verification import reap_stale_verifications

    inspection_id = start(client, hotel.venue_id)
    with demo_app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        inspection.verification = {"state": "running", "started_at": (utcnow() - timedelta(hours=2)).isoformat()}
        db.session.commit()
        assert reap_stale_verifications() == 1
        assert db.session.get(Inspection, inspection_id).verification["state"] == "failed"
        inspection = db.session.get(Inspection, inspection_id)
        inspection.verification = {"state": "running", "started_at": utcnow().isoformat()}
        db.session.commit()
        assert reap_stale_verifications() == 0


def test_the_polling_page_fails_a_lost_verification_with_no_worker_up(demo_app: Flask, client: FlaskClient,
                                                                     hotel: Hotel) -> None:
    """With no worker to run housekeeping, the block the page polls fails a lost verification, in the reader's
    language, and leaves a live one running."""
    from datetime import timedelta

    from accounts.models import utcnow

    inspection_id = start(client, hotel.venue_id)
    url = f"/inspections/{inspection_id}/verification"
    with demo_app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        inspection.verification = {"state": "running", "started_at": utcnow().isoformat()}
        db.session.commit()
    assert "stopped without a result" not in client.get(url).get_data(as_text=True)
    with demo_app.app_context():
        assert db.session.get(Inspection, inspection_id).verification["state"] == "running"
        inspection = db.session.get(Inspection, inspection_id)
        inspection.verification = {"state": "running", "started_at": (utcnow() - timedelta(hours=2)).isoformat()}
        db.session.commit()
    assert client.post("/language", data={"locale": "zh_CN", "next": "/"}).status_code == 302
    assert "核验未得出结果即已停止" in client.get(url).get_data(as_text=True)
    with demo_app.app_context():
        assert db.session.get(Inspection, inspection_id).verification["state"] == "failed"


@pytest.mark.skipif(not POSTGRES_URL, reason="the chain lock under concurrency is PostgreSQL's advisory lock")
def test_concurrent_sign_offs_keep_one_linear_chain(demo_app: Flask, client: FlaskClient) -> None:
    import threading

    from accounts.models import User
    from inspection import service

    with demo_app.app_context():
        # Two venues with no approved plan: the two sign-offs share no row, so only the chain lock orders them.
        venue_ids = db.session.scalars(sa.select(Venue.id).where(Venue.name != "Bund View Hotel")
                                       .order_by(Venue.id)).all()[:2]
    ids = []
    for venue_id in venue_ids:
        inspection_id = start(client, venue_id)
        _answer_all(client, demo_app, inspection_id, set())
        assert client.post(f"/inspections/{inspection_id}/verify").status_code == 302
        ids.append(inspection_id)
    barrier, errors = threading.Barrier(2), []

    def sign(inspection_id: int) -> None:
        with demo_app.app_context():
            try:
                user = db.session.scalar(sa.select(User).where(User.email == INSPECTOR_CITY))
                inspection = db.session.get(Inspection, inspection_id)
                barrier.wait()
                service.sign_off(user, inspection)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with demo_app.app_context():
        rows = db.session.execute(sa.select(Inspection.prev_hash, Inspection.record_hash)
                                  .order_by(Inspection.signed_off_at)).all()
    assert rows[1][0] == rows[0][1]
    result = demo_app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
