"""App factory, configuration and migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from extensions import db


def test_refuses_default_secret_in_production(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SIGHTLINE_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_production_starts_with_a_real_secret(tmp_path):
    app = create_app({"SIGHTLINE_ENV": "production", "SECRET_KEY": "s3cret-from-env",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "s3cret-from-env"


def test_environment_overrides_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLVER_TIME_LIMIT", "12.5")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SOLVER_TIME_LIMIT"] == 12.5


def test_postgres_urls_use_psycopg3(tmp_path):
    from config import normalise_database_url

    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_models_and_migrations_agree(app):
    """Autogenerate against the migrated database finds nothing to change."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_audit_table_is_append_only_in_the_database(demo_app):
    import sqlalchemy as sa

    with demo_app.app_context():
        count = db.session.scalar(sa.text("SELECT count(*) FROM audit_event"))
        assert count > 0
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text("UPDATE audit_event SET action = 'x'"))
        db.session.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text("DELETE FROM audit_event"))
        db.session.rollback()
        assert db.session.scalar(sa.text("SELECT count(*) FROM audit_event")) == count
