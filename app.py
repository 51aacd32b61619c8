"""Sightline web application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, render_template
from werkzeug.exceptions import Forbidden as ForbiddenHTTP
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as NotFoundHTTP

import config
import i18n
import observability
import security
from extensions import csrf, db, htmx, login_manager, migrate
from inventory import ui_strings
from web import wants_json


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Sightline app: defaults, instance/config.py, environment, then test_config."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(config.from_environment())
    else:
        app.config.update(config.from_environment())
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "sightline.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_MAX_BYTES"] + 1024 * 1024
    if app.config["TESTING"] and not app.config["PASSWORD_HASH_METHOD"]:
        app.config["PASSWORD_HASH_METHOD"] = config.TESTING_HASH_METHOD
    observability.init_app(app)  # first, so every later hook and error already has a request id
    security.init_app(app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # connections.install checks pooled connections by their socket instead: no SELECT 1 per checkout.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    i18n.init_app(app)
    ui_strings.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"

    _import_models()
    from accounts.districts import district_options

    app.jinja_env.globals["district_options"] = district_options
    _install_audit(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_database_outage(app)
    _register_cli(app)
    _register_sqlite_pragmas(app)
    _register_postgres_connections(app)
    return app


def _import_models() -> None:
    """Import every model module so the metadata (and Alembic) sees all tables."""
    import accounts.models  # noqa: F401
    import audit.models  # noqa: F401
    import compliance.models  # noqa: F401
    import dashboard.models  # noqa: F401
    import inspection.models  # noqa: F401
    import inventory.models  # noqa: F401
    import plans.models  # noqa: F401
    import records  # noqa: F401  (registers what keeps inventory records from deletion)


def _install_audit(app: Flask) -> None:
    from flask_login import current_user
    from sqlalchemy.orm import Session

    import audit.events  # noqa: F401 - importing it connects the audit receivers to the account signals
    from audit import recorder

    def actor() -> int | None:
        from flask import has_request_context

        if has_request_context() and current_user and current_user.is_authenticated:
            return current_user.id
        return None

    recorder.set_actor_lookup(actor)
    if not getattr(Session, "_sightline_audit", False):
        recorder.install(Session)
        Session._sightline_audit = True  # type: ignore[attr-defined]
    if not getattr(Session, "_sightline_compliance", False):
        from findings import service as findings_service

        findings_service.install(Session)  # findings re-evaluated in the transaction of every inventory change
        Session._sightline_compliance = True  # type: ignore[attr-defined]
    if not getattr(Session, "_sightline_floor_versions", False):
        from inventory import floor_overlays

        floor_overlays.install(Session)  # a new floor version with every write to a floor, its zones or terminals
        Session._sightline_floor_versions = True  # type: ignore[attr-defined]
    # After the compliance listener: the figures count the findings it re-evaluates in the same transaction.
    if not getattr(Session, "_sightline_figures", False):
        from dashboard import figures

        figures.install(Session)
        Session._sightline_figures = True  # type: ignore[attr-defined]
    # Last of the commit hooks: the hooks above may write audited rows, and sealing holds the chain lock to commit.
    if not getattr(Session, "_sightline_audit_sealing", False):
        recorder.install_sealing(Session)
        Session._sightline_audit_sealing = True  # type: ignore[attr-defined]


def _register_blueprints(app: Flask) -> None:
    from accounts.views import bp as accounts_bp
    from admin.views import bp as admin_bp
    from api import bp as api_bp
    from audit.chain import bp as audit_chain_bp
    from audit.views import bp as audit_bp
    from dashboard.views import bp as dashboard_bp
    from findings import api as _findings_api  # noqa: F401  (registers its endpoints on the API blueprint)
    from findings.views import bp as compliance_bp
    from guide.views import bp as guide_bp
    from inspection.views import bp as inspection_bp
    from inventory.csv_views import bp as csv_bp
    from inventory.floor_views import bp as floor_bp
    from inventory.views import bp as inventory_bp
    from plans.views import bp as plans_bp

    app.register_blueprint(accounts_bp)
    # Browsers ask for /favicon.ico on pages that link no icon (the printable reports): answer with the SVG.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.svg"))
    app.register_blueprint(admin_bp)
    app.register_blueprint(inventory_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(compliance_bp)
    app.register_blueprint(audit_chain_bp)
    app.register_blueprint(inspection_bp)
    app.register_blueprint(csv_bp)
    app.register_blueprint(floor_bp)
    app.register_blueprint(plans_bp)
    from plans.svg import STYLE as DRAWING_STYLE

    security.allow_inline_style(DRAWING_STYLE)
    app.register_blueprint(api_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(guide_bp)


def _register_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        from flask_babel import gettext as _

        message = _("The form has expired or did not come from this site (%(why)s): reload the page and try again.",
                    why=error.description)
        if wants_json():
            return jsonify(error=message, field="csrf_token"), 400
        return render_template("error.html", code=400, message=message), 400

    from inventory.fields import ValidationError
    from inventory.services import Forbidden, NotFound

    @app.errorhandler(NotFound)
    def not_found(_error: NotFound):  # type: ignore[no-untyped-def]
        return http_error(NotFoundHTTP())

    @app.errorhandler(Forbidden)
    def forbidden(error: Forbidden):  # type: ignore[no-untyped-def]
        return http_error(ForbiddenHTTP(str(error)))

    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        if wants_json():
            return jsonify(error.as_dict()), 422
        return render_template("error.html", code=422, message=str(error)), 422

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        from i18n import http_message

        if wants_json():
            return jsonify(error=http_message(error), field=None), error.code or 500
        return render_template("error.html", code=error.code, message=http_message(error)), error.code or 500


def _register_database_outage(app: Flask) -> None:
    """A database that stops answering gives a 503 with a message, not a 500; see docs/reliability.md "Faults"."""
    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):  # type: ignore[no-untyped-def]
        from flask import g
        from flask_babel import gettext as _

        # The DB-API's "the database is not operating" (server down or restarting, connection lost, locked):
        # a 503 the client can retry. The pool's checkout check replaces the dead connections once it is back.
        app.logger.error("database unavailable: %s", error.orig)
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the session is discarded at teardown anyway
            app.logger.debug("rollback after a lost connection failed", exc_info=True)
        g._login_user = login_manager.anonymous_user()  # the page must not load the signed-in user again
        message = _("The database is not answering (it may be restarting), so nothing was saved: try again in a "
                    "minute.")
        headers = {"Retry-After": "30"}
        if wants_json():
            return jsonify(error=message, field=None), 503, headers
        return render_template("error.html", code=503, message=message), 503, headers

    # Registered after Flask-SQLAlchemy's, so it runs first: the end-of-request rollback on a connection the
    # server cut raises, and would turn the 503 (or any finished response) into a 500.
    @app.teardown_appcontext
    def discard_lost_session(_error: BaseException | None) -> None:
        try:
            db.session.remove()
        except OperationalError as error:
            app.logger.warning("database connection lost at the end of a request: %s", error.orig)
            db.session.remove()  # the connection is invalidated now; closing again releases it to the pool


def _register_cli(app: Flask) -> None:
    from accounts.cli import create_user_command
    from api.openapi import openapi_command
    from audit.chain import verify_audit_command
    from backup import backup_command, restore_command
    from inventory.demo import seed_demo_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(openapi_command)
    app.cli.add_command(seed_demo_command)
    from dashboard.figures import refresh_command

    app.cli.add_command(refresh_command)
    app.cli.add_command(verify_audit_command)


def _register_postgres_connections(app: Flask) -> None:
    """On PostgreSQL: no round trip to check a pooled connection, no transaction for requests that only read."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    import connections

    with app.app_context():
        connections.install(db.engine)


def _register_sqlite_pragmas(app: Flask) -> None:
    """Enforce foreign keys and use WAL on SQLite, as PostgreSQL would enforce them."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
