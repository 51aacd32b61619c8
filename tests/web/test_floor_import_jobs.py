"""Plan uploads are read once, in a queue job with a time limit; the page polls the job; apply reuses the parse."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import pytest

from inventory import floor_upload
from tests.conftest import MANAGER_A, make_app, seed
from tests.inventory.test_dxf_failure_modes import two_rooms
from tests.web.test_floor_upload import (  # noqa: F401  (manager is a fixture)
    _floor,
    _hotel,
    _new_floor,
    _snapshot,
    _token_from,
    _upload,
    manager,
)
from tests.workers import start_worker


def _dxf() -> bytes:
    buf = io.StringIO()
    two_rooms().write(buf)
    return buf.getvalue().encode()


def _signed_in(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/login", data={"email": MANAGER_A, "password": "sightline-demo"}).status_code == 302
    return client


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The file names the web process parses itself (the worker's reads are not counted)."""
    seen: list[str] = []
    real = floor_upload.import_bytes

    def counting(data, filename, **kw):  # type: ignore[no-untyped-def]
        seen.append(filename)
        return real(data, filename, **kw)

    monkeypatch.setattr(floor_upload, "import_bytes", counting)
    return seen


def test_time_out_names_the_step_and_leaves_the_floor_untouched(template_database, tmp_path):
    app = make_app(template_database, tmp_path, IMPORT_MAX_SECONDS=1e-9)
    seed(app)
    client = _signed_in(app)
    hotel = _hotel(app)
    before = _snapshot(app, hotel)
    response = _upload(client, hotel, "hackerspace.dxf", _dxf())
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "hackerspace.dxf: import took longer than 1e-09 s (reading the layers); nothing was imported" in text
    assert _snapshot(app, hotel) == before
    uploads = Path(app.config["UPLOAD_FOLDER"])
    assert not [p for p in uploads.rglob("*hackerspace.dxf")]  # the unreadable upload is not kept


def test_apply_uses_the_stored_parse_unless_the_mapping_changed(manager, demo_app, reads):  # noqa: F811
    spare = _new_floor(demo_app, manager)
    page = _upload(manager, spare, "hackerspace.dxf", _dxf()).get_data(as_text=True)
    assert 'id="rooms-0"' in page and reads == ["hackerspace.dxf"]  # the immediate queue read it once
    token = _token_from(page)
    # Confirming what the preview showed (its guess for WC) applies the stored parse: no second read.
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "category:room:WC": "private"})
    assert response.status_code == 303 and reads == ["hackerspace.dxf"]
    assert {z.name: z.kind for z in _floor(demo_app, spare).zones}["WC"] == "private"
    # A changed answer is read with that answer.
    response = manager.post(f"/floors/{spare}/upload/apply", data={"token": token, "category:room:WC": "general"})
    assert response.status_code == 303 and reads == ["hackerspace.dxf", "hackerspace.dxf"]
    assert {z.name: z.kind for z in _floor(demo_app, spare).zones}["WC"] == "general"


def test_status_of_an_unknown_upload_is_not_found(manager, demo_app):  # noqa: F811
    spare = _new_floor(demo_app, manager)
    assert manager.get(f"/floors/{spare}/upload/{'0' * 32}/status").status_code == 404
    assert manager.get(f"/floors/{spare}/upload/..%2F..%2Fetc/status").status_code == 404


def _start_worker(app) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    """`python -m jobs.worker` on the app's database, queue and upload folder."""
    return start_worker(app, IMPORT_MAX_SECONDS="60", JOB_WORKERS="1")


@pytest.mark.slow
def test_upload_is_read_by_a_real_worker_and_the_page_polls_it(template_database, tmp_path, reads):
    app = make_app(template_database, tmp_path, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    seed(app)
    from jobs.queue import huey_for_app

    huey_for_app(app).flush()
    client = _signed_in(app)
    spare = _new_floor(app, client)
    response = _upload(client, spare, "hackerspace.dxf", _dxf())
    # No worker yet: the upload is stored and queued, and the page says so and polls.
    assert response.status_code == 202
    text = response.get_data(as_text=True)
    assert "queued, waiting for a worker" in text and 'hx-trigger="load delay:1s"' in text
    status_url = text.split('hx-get="')[1].split('"')[0]
    assert client.get(status_url, headers={"HX-Request": "true"}).status_code == 202
    worker = _start_worker(app)
    try:
        deadline = time.monotonic() + 60
        while True:
            polled = client.get(status_url, headers={"HX-Request": "true"})
            if polled.status_code != 202 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0].decode(errors="replace")
    page = polled.get_data(as_text=True)
    assert polled.status_code == 200, output[-2000:]
    assert 'id="rooms-0"' in page and "<td>WC</td><td>toilet</td>" in page
    assert reads == []  # the worker read the file; the web process did not
    with app.app_context():
        from extensions import db
        from inventory.floor_storage import Storage
        from inventory.models import Floor

        kept = Storage.from_config(app.config, app.instance_path).read_import(db.session.get(Floor, spare),
                                                                              _token_from(page))
    assert kept["state"] == "done" and kept["step"] == "before drawing the background"  # the DXF reader's last time check
    response = client.post(f"/floors/{spare}/upload/apply", data={"token": _token_from(page)})
    assert response.status_code == 303 and reads == []  # apply used the worker's stored parse
    assert {z.name for z in _floor(app, spare).zones} == {"WC", "Office"}
    huey_for_app(app).flush()


def test_a_read_stuck_past_its_limit_is_given_up_with_its_step(template_database, tmp_path):
    app = make_app(template_database, tmp_path, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
                   IMPORT_MAX_SECONDS=5.0)
    seed(app)
    from extensions import db
    from inventory.floor_storage import Storage
    from inventory.models import Floor
    from jobs.queue import huey_for_app

    client = _signed_in(app)
    hotel = _hotel(app)
    before = _snapshot(app, hotel)
    response = _upload(client, hotel, "hackerspace.dxf", _dxf())
    assert response.status_code == 202
    token = response.get_data(as_text=True).split("/upload/")[1].split("/status")[0]
    # A worker took the read 20 s ago and is stuck inside one step that never reaches the next time check.
    with app.app_context():
        storage = Storage.from_config(app.config, app.instance_path)
        floor = db.session.get(Floor, hotel)
        status = storage.read_import(floor, token)
        storage.write_import(floor, token, {**status, "state": "reading", "started_at": time.time() - 20,
                                            "step": "flattening curves"})
    polled = client.get(f"/floors/{hotel}/upload/{token}/status")
    assert polled.status_code == 422
    assert ("hackerspace.dxf: import took longer than 5 s (flattening curves); nothing was imported"
            in polled.get_data(as_text=True))
    assert _snapshot(app, hotel) == before
    with app.app_context():  # the queued job, if a worker gets to it now, finds the read given up and does nothing
        floor_upload.run_import(hotel, token)
        assert storage.read_import(db.session.get(Floor, hotel), token)["state"] == "failed"
    assert _snapshot(app, hotel) == before
    huey_for_app(app).flush()
