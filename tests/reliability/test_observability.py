"""Request ids, structured logs, liveness and readiness, and the Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging

import sqlalchemy as sa

from accounts.models import ApiToken, TokenScope, User
from extensions import db
from observability import configure_logging
from plans.models import Plan, PlanState
from tests.conftest import ADMIN, MANAGER_A


def test_request_id_is_kept_when_sane_and_made_when_not(client) -> None:
    assert client.get("/login", headers={"X-Request-ID": "edge-42.abc"}).headers["X-Request-ID"] == "edge-42.abc"
    for bad in ("", "x" * 65, "has space", "semi;colon", "<script>"):
        made = client.get("/login", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and len(made) == 32
    assert client.get("/api/v1/me").headers["X-Request-ID"]  # on refusals (401) too


def test_logs_are_json_lines_carrying_the_request_id(demo_app, auth, client) -> None:
    stream = io.StringIO()
    handler = configure_logging(demo_app, stream)
    try:
        auth.login(MANAGER_A)
        response = client.get("/", headers={"X-Request-ID": "trace-1"})
        with demo_app.test_request_context():
            demo_app.logger.warning("outside a request's dispatch")
    finally:
        for logger in (demo_app.logger, logging.getLogger("sightline")):
            logger.removeHandler(handler)
            logger.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(line for line in lines if line["logger"] == "sightline.request" and line["request_id"] == "trace-1")
    assert response.status_code == 200
    assert access["method"] == "GET" and access["path"] == "/" and access["status"] == 200
    assert access["endpoint"] == "inventory.index" and access["duration_ms"] >= 0 and access["user_id"]
    assert {"ts", "level", "msg"} <= set(access)
    assert any(line["msg"] == "outside a request's dispatch" for line in lines)


def test_a_write_logs_its_user(demo_app, auth, client) -> None:
    """After a commit the user is expired: the log's user id comes from its identity, still the one signed in."""
    stream = io.StringIO()
    handler = configure_logging(demo_app, stream)
    try:
        auth.login(MANAGER_A)
        with demo_app.app_context():
            user_id = db.session.scalar(sa.select(User.id).where(User.email == MANAGER_A))
        venue = client.get("/api/v1/venues").get_json()["items"][0]
        response = client.patch(f"/api/v1/venues/{venue['id']}", json={"name": venue["name"] + " (renamed)"},
                                headers={"X-Request-ID": "write-1"})
    finally:
        for logger in (demo_app.logger, logging.getLogger("sightline")):
            logger.removeHandler(handler)
            logger.propagate = True
    assert response.status_code == 200, response.get_data(as_text=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(line for line in lines if line["logger"] == "sightline.request" and line["request_id"] == "write-1")
    assert access["method"] == "PATCH" and access["user_id"] == user_id


def test_healthz_is_liveness_readyz_checks_database_and_queue(demo_app, client, monkeypatch) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"database": "ok", "queue": "ok"}
    with demo_app.app_context():
        db.engine.dispose()
    monkeypatch.setitem(demo_app.config, "HUEY_BACKEND", "redis")
    monkeypatch.setitem(demo_app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    down = client.get("/readyz")
    assert down.status_code == 503 and down.get_json()["checks"]["database"] == "ok"
    assert down.get_json()["checks"]["queue"].startswith("ConnectionError")


def test_readyz_is_503_when_the_database_is_gone(tmp_path) -> None:
    from app import create_app

    # Built directly, not by make_app: on PostgreSQL runs make_app would first truncate the (unreachable) database.
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "HUEY_BACKEND": "immediate",
                      "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent/dir/x.sqlite",
                      "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("OperationalError")
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready


def _scrape(client, **kwargs) -> dict[str, float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    values = {}
    for line in response.get_data(as_text=True).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_count_requests_and_plan_runs_by_state(demo_app, client) -> None:
    client.get("/login")
    with demo_app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        floor_id = db.session.scalar(sa.text("SELECT id FROM floor ORDER BY id LIMIT 1"))
        for state, seconds in ((PlanState.QUEUED, None), (PlanState.RUNNING, None), (PlanState.DONE, 3.0),
                               (PlanState.DONE, 40.0), (PlanState.FAILED, 2.0)):
            db.session.add(Plan(floor_id=floor_id, created_by_id=admin.id, mode="reduce", parameters={},
                                floor_snapshot={}, inputs_hash="x", state=state, seconds=seconds))
        db.session.commit()
    values = _scrape(client)
    assert values['sightline_http_requests_total{endpoint="accounts.login",method="GET",status="200"}'] >= 1
    assert values['sightline_plan_runs{state="queued"}'] == 1 and values['sightline_plan_runs{state="running"}'] == 1
    assert values['sightline_plan_runs{state="done"}'] == 2 and values['sightline_plan_runs{state="failed"}'] == 1
    assert values['sightline_plan_run_seconds_count'] == 3 and values['sightline_plan_run_seconds_sum'] == 45.0
    assert values['sightline_plan_run_seconds_bucket{le="5.0"}'] == 2
    assert values['sightline_plan_run_seconds_bucket{le="60.0"}'] == 3


def test_metrics_only_for_loopback_the_metrics_token_or_admins(demo_app, client, auth, monkeypatch) -> None:
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404  # via a proxy
    monkeypatch.setitem(demo_app.config, "METRICS_TOKEN", "scrape-secret-123")
    assert client.get("/metrics", environ_base=remote, headers={"Authorization": "Bearer wrong"}).status_code == 404
    _scrape(client, environ_base=remote, headers={"Authorization": "Bearer scrape-secret-123"})
    auth.login(MANAGER_A)
    assert client.get("/metrics", environ_base=remote).status_code == 404
    auth.logout()
    auth.login(ADMIN)
    _scrape(client, environ_base=remote)


def test_api_tokens_do_not_open_metrics(demo_app, client) -> None:
    with demo_app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        token, plain = ApiToken.issue(admin, "x", TokenScope.READ)
        db.session.add(token)
        db.session.commit()
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                          headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 404
