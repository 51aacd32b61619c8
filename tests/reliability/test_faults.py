"""Faults during an upload: a full disk or a read-only upload folder gives a clean 507 naming the file, and
leaves no file and no record behind."""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.models import AuditEvent
from extensions import db
from inventory.models import Floor, Venue
from tests.conftest import MANAGER_A

FLOOR = json.dumps({"type": "FeatureCollection", "format": "sightline-floor/1", "name": "x", "features": [
    {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]]]},
     "properties": {"kind": "outline"}}]}).encode()


def _state(app) -> tuple:
    with app.app_context():
        floor = db.session.scalar(sa.select(Floor).join(Venue).where(Venue.name == "Bund View Hotel"))
        return (floor.id, floor.background_image, floor.original_upload,
                db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))


@pytest.mark.parametrize("failing", ["write_bytes", "write_text"], ids=["upload file", "import status"])
@pytest.mark.parametrize("why", [errno.ENOSPC, errno.EROFS], ids=["disk full", "read-only"])
def test_a_storage_failure_during_upload_is_a_clean_507(demo_app, client, auth, monkeypatch, failing, why) -> None:
    auth.login(MANAGER_A)
    floor_id, *_ = before = _state(demo_app)
    uploads = Path(demo_app.config["UPLOAD_FOLDER"])
    real = getattr(Path, failing)

    def broken(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if uploads in self.parents:
            raise OSError(why, "No space left on device" if why == errno.ENOSPC else "Read-only file system")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, failing, broken)
    response = client.post(f"/floors/{floor_id}/upload", data={"file": (io.BytesIO(FLOOR), "plan.geojson")},
                           content_type="multipart/form-data")
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "plan.geojson could not be stored" in page and "nothing was saved" in page
    assert not [p for p in uploads.rglob("*") if p.is_file()], "a file was left in the upload folder"
    assert _state(demo_app) == before
    monkeypatch.setattr(Path, failing, real)
    again = client.post(f"/floors/{floor_id}/upload", data={"file": (io.BytesIO(FLOOR), "plan.geojson")},
                        content_type="multipart/form-data")
    assert again.status_code in (200, 202), again.status_code  # once the disk is back, the same upload works
