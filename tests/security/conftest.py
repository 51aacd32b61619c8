"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from accounts.models import Jurisdiction
from extensions import db
from tests.conftest import INSPECTOR_CITY, INSPECTOR_SONGJIANG, PLANNER, make_app, seed
from tests.security.matrix import ORGANISATIONS, organisation, planned_floor, user


@pytest.fixture(scope="module")  # per module: on PostgreSQL other tests truncate the shared database
def matrix_app(tmp_path_factory: pytest.TempPathFactory, template_database: str) -> Iterator[Flask]:
    """The demo data with the matrix's scopes: the planner plans A only, inspector X has A's district, Y has B's."""
    tmp = tmp_path_factory.mktemp("matrix")
    app = make_app(template_database, tmp, HUEY_BACKEND="sqlite", HUEY_SQLITE_PATH=str(tmp / "jobs.sqlite"),
                   SOLVER_TIME_LIMIT=10.0)
    seed(app)
    with app.app_context():
        user(PLANNER).planned_organisations = [organisation("A")]
        for email, key in ((INSPECTOR_CITY, "A"), (INSPECTOR_SONGJIANG, "B")):
            jurisdiction = db.session.get(Jurisdiction, user(email).jurisdiction_id)
            jurisdiction.districts = [ORGANISATIONS[key][1]]
        db.session.commit()
        app.config["MATRIX_SHARED"] = {key: planned_floor(key) for key in ORGANISATIONS}
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


