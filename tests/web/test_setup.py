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
    app = create_app({"SIGHTLINE_ENV": "production", "SECRET_KEY": "s3cret-from-env-and-at-least-32-chars",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["SECRET_KEY"] == "s3cret-from-env-and-at-least-32-chars"


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


def test_testing_apps_hash_passwords_cheaply_and_others_with_werkzeugs_default(app, tmp_path):
    from werkzeug.security import generate_password_hash

    from accounts.models import User

    production = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert app.config["PASSWORD_HASH_METHOD"] == "pbkdf2:sha256:1"
    assert production.config["PASSWORD_HASH_METHOD"] is None
    default_method = generate_password_hash("x").split("$")[0]  # e.g. scrypt:32768:8:1
    assert default_method != "pbkdf2:sha256:1"
    for application, method in ((app, "pbkdf2:sha256:1"), (production, default_method)):
        with application.app_context():
            user = User(email="a@b.example", name="A")
            user.set_password("long-enough-pw")
            assert user.password_hash.split("$")[0] == method
            assert user.check_password("long-enough-pw") and not user.check_password("long-enough-pW")


def test_copied_demo_data_matches_a_real_seed(template_database, tmp_path):
    """The suite's copied demo database holds what `seed_demo` writes, and new rows get fresh ids after it."""
    import sqlalchemy as sa

    from accounts.models import Organisation
    from inventory.demo import seed_demo
    from tests.conftest import DEMO_PASSWORD, make_app, seed

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = make_app(template_database, tmp_path / "a")
    with real.app_context():
        seed_demo(DEMO_PASSWORD)
        db.session.commit()
        expected = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                    for t in db.metadata.sorted_tables}
        db.session.remove()
        db.engine.dispose()
    (tmp_path / "c").mkdir()
    seed(make_app(template_database, tmp_path / "c"))  # the run's real seed, unless an earlier test made it
    copied = make_app(template_database, tmp_path / "b")
    seed(copied)
    with copied.app_context():
        counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
                  for t in db.metadata.sorted_tables}
        assert counts == expected and counts["user"] == 7 and counts["audit_event"] > 0
        top = db.session.scalar(sa.select(sa.func.max(Organisation.id)))
        organisation = Organisation(name="Fresh Org")
        db.session.add(organisation)
        db.session.commit()
        assert organisation.id == top + 1
        db.session.remove()
        db.engine.dispose()
