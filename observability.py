"""Observability in one home: request ids, structured (JSON) logs, /healthz, /readyz and Prometheus /metrics.

- Every request gets an id: a sane incoming `X-Request-ID` is kept, else a new one is made; it is sent back
  as `X-Request-ID` and carried by every log line written while the request runs.
- Logs are one JSON object per line (`LOG_FORMAT = "json"`, the default; `"text"` for a terminal), with one
  access line per request: method, endpoint, path, status, duration, user id and request id.
- `/healthz` answers 200 while the process serves (liveness); `/readyz` answers 200 only when the database
  answers a query and the job queue answers (readiness), else 503 naming what failed.
- `/metrics` (Prometheus text format): HTTP requests by endpoint, method and status, and their durations;
  optimizer runs by state (queued, running, done, failed, cancelled) and the run-time histogram of finished
  runs, both read from the database at scrape time, so they count the worker processes' runs too. It answers
  loopback clients that came through no proxy, a `Authorization: Bearer <METRICS_TOKEN>` scraper, and signed-in
  admins; anyone else gets 404. Under gunicorn set PROMETHEUS_MULTIPROC_DIR to count every worker's requests.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from werkzeug.exceptions import NotFound

from extensions import db

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RUN_SECONDS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0)
QUIET_ENDPOINTS = {"static", "observability.healthz", "observability.readyz", "observability.metrics"}

bp = Blueprint("observability", __name__)

REQUESTS = Counter("sightline_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram("sightline_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["method", "endpoint"])

access_log = logging.getLogger("sightline.request")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Put the current request id on every log record (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra` fields."""

    _STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record."""
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


JsonFormatter.converter = time.gmtime  # type: ignore[assignment]


def configure_logging(app: Flask, stream: Any = None) -> logging.Handler:
    """Send the app's and Sightline's logs to stderr (or `stream`) as JSON or text lines with request ids."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    if app.config.get("LOG_FORMAT", "json") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler._sightline = True  # type: ignore[attr-defined]
    for logger in (app.logger, logging.getLogger("sightline")):
        for old in [h for h in logger.handlers if getattr(h, "_sightline", False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
        logger.propagate = False
    # Alembic's fileConfig (an in-process `flask db upgrade`) disables loggers that existed before it ran.
    for logger in (app.logger, logging.getLogger("sightline"), access_log):
        logger.disabled = False
    return handler


def _start() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
    started = g.get("request_started")
    if started is None:
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    REQUEST_SECONDS.labels(request.method, endpoint).observe(seconds)
    if endpoint not in QUIET_ENDPOINTS:
        user_id = _signed_in_user_id()
        access_log.info("%s %s %s", request.method, request.path, response.status_code,
                        extra={"method": request.method, "path": request.path, "endpoint": endpoint,
                               "status": response.status_code, "duration_ms": round(seconds * 1000, 1),
                               "user_id": user_id})
    return response


def _signed_in_user_id() -> int | None:
    """The id of the user this request signed in as, if it loaded one, read without touching the database."""
    import sqlalchemy as sa

    # Not current_user.id: after a commit the user is expired, and reading .id would reload it (a query per write).
    state = sa.inspect(g.get("_login_user"), raiseerr=False)
    return state.identity[0] if state is not None and state.identity else None


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    """Liveness: the process answers (no database or queue check)."""
    return {"status": "ok"}


def readiness() -> dict[str, str]:
    """Each dependency and its state ("ok" or why not)."""
    from flask import current_app

    from jobs.queue import huey_for_app

    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        db.session.rollback()
        checks["database"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    try:
        huey_for_app(current_app._get_current_object()).pending_count()  # type: ignore[attr-defined]
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return checks


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    """Readiness: 200 when the database and the job queue answer, else 503 naming what failed."""
    checks = readiness()
    ready = all(state == "ok" for state in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _may_scrape() -> bool:
    """Loopback without a proxy in between, the metrics token, or a signed-in admin."""
    from flask import current_app
    from flask_login import current_user

    from accounts.models import Role

    if request.remote_addr in ("127.0.0.1", "::1") and "X-Forwarded-For" not in request.headers:
        return True
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), str(token)):
        return True
    return bool(current_user and current_user.is_authenticated and current_user.role == Role.ADMIN)


class PlanRunCollector:
    """Optimizer runs as the database records them: counts by state, and run seconds of finished runs."""

    def collect(self):  # type: ignore[no-untyped-def]
        """Yield the metric families (queried at scrape time)."""
        from plans.models import Plan, PlanState

        counts = dict(db.session.execute(sa.select(Plan.state, sa.func.count()).group_by(Plan.state)).all())
        states = GaugeMetricFamily("sightline_plan_runs", "Optimizer runs by state", labels=["state"])
        for state in PlanState:
            states.add_metric([state.value], counts.get(state, 0))
        yield states
        finished = Plan.state.in_((PlanState.DONE, PlanState.FAILED, PlanState.CANCELLED))
        columns = [sa.func.count(Plan.id), sa.func.coalesce(sa.func.sum(Plan.seconds), 0.0)]
        columns += [sa.func.count(sa.case((Plan.seconds <= le, 1))) for le in RUN_SECONDS_BUCKETS]
        row = db.session.execute(sa.select(*columns).where(finished, Plan.seconds.is_not(None))).one()
        total, seconds_sum, below = int(row[0]), float(row[1]), [int(v) for v in row[2:]]
        buckets = [(str(le), count) for le, count in zip(RUN_SECONDS_BUCKETS, below, strict=True)]
        buckets.append(("+Inf", total))
        yield HistogramMetricFamily("sightline_plan_run_seconds", "Solver seconds of finished optimizer runs",
                                    buckets=buckets, sum_value=seconds_sum)


def _request_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


@bp.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    """Prometheus metrics: HTTP requests, and optimizer runs by state with their run times."""
    if not _may_scrape():
        raise NotFound()
    plans = CollectorRegistry(auto_describe=False)
    plans.register(PlanRunCollector())  # type: ignore[arg-type]
    body = generate_latest(_request_registry()) + generate_latest(plans)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                     headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Install request ids, request metrics, the access log and the health and metrics endpoints."""
    if not app.config.get("TESTING"):
        configure_logging(app)
    app.before_request(_start)
    app.after_request(_finish)
    app.register_blueprint(bp)
