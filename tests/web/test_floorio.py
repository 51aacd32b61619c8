"""Floor export/import keeps camera-model optics on the model and writes nothing when nothing changed."""

from __future__ import annotations

import sqlalchemy as sa

from accounts.models import User
from audit.models import AuditEvent
from extensions import db
from inventory.floorio import export_floor, import_floor
from inventory.models import CameraModel, Terminal
from tests.conftest import ADMIN


def test_export_import_round_trip_leaves_rows_untouched(demo_app):
    with demo_app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        terminal = db.session.scalar(sa.select(Terminal).where(Terminal.code == "C-303"))
        model = db.session.scalar(sa.select(CameraModel).where(CameraModel.model == "DS-2CD2143G2-I"))
        terminal.hpx, terminal.camera_model_id = None, model.id
        db.session.commit()
        floor = terminal.floor
        exported = export_floor(floor)
        feature = next(f for f in exported["features"] if f["properties"].get("id") == "C-303")
        assert feature["properties"]["hpx"] == model.hpx  # the engine needs the optics
        events_before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        import_floor(admin, floor, exported)
        db.session.commit()
        assert db.session.get(Terminal, terminal.id).hpx is None
        assert export_floor(floor) == exported
        updates = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.id > events_before,
                                                                 AuditEvent.object_type == "terminal")).all()
        assert updates == []
