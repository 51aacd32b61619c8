"""Configuration defaults; instance/config.py and environment variables override them."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SECRET_KEY = "dev-only-not-secret"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    "SIGHTLINE_ENV": "development",
    "SQLALCHEMY_DATABASE_URI": None,  # filled in from instance_path when unset
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
    "UPLOAD_MAX_BYTES": 50 * 1024 * 1024,
    "UPLOAD_FOLDER": None,  # default instance/uploads
    "IMPORT_MAX_SECONDS": 120.0,  # wall-clock limit of one plan import (read in a queue job), named step on time-out
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,  # a form or page older than a working day must be reloaded
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),  # idle sessions (and their signed cookies) expire
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",  # production also sets the Secure flags (security.PRODUCTION_SETTINGS)
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=14),
    "SOLVER_TIME_LIMIT": 60.0,
    "SOLVER_WORKERS": 2,
    "PLAN_ENGINE_PROCESS": True,  # plan runs' engine in a clean child process, whose geometry may use every worker
    "SOLVER_SEED": 0,
    "SOLVER_TIME_LIMIT_MAX": 900.0,  # ceiling on a run's time limit, so one run cannot hold a worker for hours
    "PLAN_MAX_ACTIVE_PER_ORGANISATION": 3,  # runs queued or running at once per organisation
    "PLAN_HEARTBEAT_SECONDS": 2.0,  # how often a running plan writes its progress and heartbeat
    "PLAN_HEARTBEAT_TIMEOUT": 60.0,  # a running plan silent this long lost its worker
    "PLAN_MAX_ATTEMPTS": 2,  # runs whose worker died are retried until this many attempts, then failed
    "PLAN_TRADEOFF_SECONDS_PER_POINT": 20.0,  # solver time for each point of a plan's trade-off curves
    "JOB_WORKERS": 2,  # jobs one worker process runs at once
    "JOB_HOUSEKEEPING_SECONDS": 5.0,
    "HUEY_BACKEND": None,  # "sqlite" | "redis" | "immediate"; default sqlite, or redis when REDIS_URL is set
    "REDIS_URL": None,
    "HUEY_SQLITE_PATH": None,  # default instance/jobs.sqlite
    "INSPECTION_PHOTO_MAX_BYTES": 10 * 1024 * 1024,  # evidence photo limit (JPEG or PNG)
    "INSPECTION_VERIFY_TIME_LIMIT": 30.0,  # solver seconds per floor when an inspection re-checks minimality
    "DEMO_PASSWORD": "sightline-demo",
    "LOG_FORMAT": "json",  # "json" (one object per line, with request ids) or "text"
    "LOG_LEVEL": "INFO",
    "METRICS_TOKEN": None,  # bearer token a Prometheus scraper sends to /metrics from beyond loopback
    "PASSWORD_HASH_METHOD": None,  # werkzeug's default (scrypt); TESTING apps use TESTING_HASH_METHOD
    "SIGHTLINE_TIMEZONE": "Asia/Shanghai",  # IANA zone pages, reports and titled CSVs show times in (stored UTC)
    "PROXY_HOPS": 0,  # trusted reverse proxies in front of the app (X-Forwarded-*); 0 trusts no forwarded header
}

# One PBKDF2 round: an honest salted hash that costs microseconds instead of scrypt's ~0.5 s, so the test
# suite's sign-ins and demo users are cheap. Only apps created with TESTING get it.
TESTING_HASH_METHOD = "pbkdf2:sha256:1"

# Environment variables read on top of instance/config.py: name -> (config key, converter).
ENVIRONMENT = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "SIGHTLINE_ENV": ("SIGHTLINE_ENV", str),
    "REDIS_URL": ("REDIS_URL", str),
    "LOG_FORMAT": ("LOG_FORMAT", str),
    "LOG_LEVEL": ("LOG_LEVEL", str),
    "METRICS_TOKEN": ("METRICS_TOKEN", str),
    "HUEY_BACKEND": ("HUEY_BACKEND", str),
    "HUEY_SQLITE_PATH": ("HUEY_SQLITE_PATH", str),
    "SOLVER_TIME_LIMIT": ("SOLVER_TIME_LIMIT", float),
    "SOLVER_WORKERS": ("SOLVER_WORKERS", int),
    "SOLVER_SEED": ("SOLVER_SEED", int),
    "SOLVER_TIME_LIMIT_MAX": ("SOLVER_TIME_LIMIT_MAX", float),
    "PLAN_MAX_ACTIVE_PER_ORGANISATION": ("PLAN_MAX_ACTIVE_PER_ORGANISATION", int),
    "PLAN_HEARTBEAT_SECONDS": ("PLAN_HEARTBEAT_SECONDS", float),
    "PLAN_HEARTBEAT_TIMEOUT": ("PLAN_HEARTBEAT_TIMEOUT", float),
    "PLAN_MAX_ATTEMPTS": ("PLAN_MAX_ATTEMPTS", int),
    "JOB_WORKERS": ("JOB_WORKERS", int),
    "JOB_HOUSEKEEPING_SECONDS": ("JOB_HOUSEKEEPING_SECONDS", float),
    "UPLOAD_MAX_BYTES": ("UPLOAD_MAX_BYTES", int),
    "UPLOAD_FOLDER": ("UPLOAD_FOLDER", str),
    "IMPORT_MAX_SECONDS": ("IMPORT_MAX_SECONDS", float),
    "INSPECTION_PHOTO_MAX_BYTES": ("INSPECTION_PHOTO_MAX_BYTES", int),
    "INSPECTION_VERIFY_TIME_LIMIT": ("INSPECTION_VERIFY_TIME_LIMIT", float),
    "SIGHTLINE_TIMEZONE": ("SIGHTLINE_TIMEZONE", str),
    "COMPLIANCE_INLINE_LIMIT": ("COMPLIANCE_INLINE_LIMIT", int),  # default: findings.service.INLINE_LIMIT
    "SIGHTLINE_PROXY_HOPS": ("PROXY_HOPS", str),  # checked by security.proxy_hops, which names the setting
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the config keys set through environment variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (key, convert) in ENVIRONMENT.items():
        if environ.get(name):
            values[key] = convert(environ[name])
    return values


def checked_timezone(name: Any) -> str:
    """Return the IANA time zone name of SIGHTLINE_TIMEZONE, or raise naming the setting when it is unknown."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RuntimeError(f"SIGHTLINE_TIMEZONE: unknown time zone {name!r}; use an IANA name such as "
                           "'Asia/Shanghai' or 'UTC'") from None
    return str(name)


def normalise_database_url(url: str) -> str:
    """Point postgres:// and postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
