"""Security-wide web behaviour in one home: production config checks, cookie settings, response headers,
bounded URL ids, hostile JSON bodies, LIKE escaping and the sign-in rate limiter."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask, Request, Response, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest, NotFound, UnprocessableEntity
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import config
from web import wants_json

# Every id column is a 32-bit INTEGER on PostgreSQL; larger numbers in a URL cannot name a row.
MAX_ID = 2**31 - 1
MIN_SECRET_KEY_LENGTH = 32
MAX_PROXY_HOPS = 5
SIGN_IN_LIMIT = "10 per minute"  # failed sign-ins per client address and per email, before 429

limiter = Limiter(key_func=get_remote_address, default_limits=[], key_prefix="sightline")

PRODUCTION_SETTINGS: dict[str, Any] = {
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
}


def digits_up_to(limit: int) -> str:
    """A regex matching exactly the decimal numbers 0..limit (no sign; leading zeros only below the width)."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        rest = len(text) - i - 1
        low = 1 if i == 0 and len(text) > 1 else 0
        if int(digit) > low:
            options.append(text[:i] + f"[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(text)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ids beyond the INTEGER column range do not match, so they answer 404.

    The bound lives in the regex, not only in `max`: Werkzeug checks the method of every rule whose regex
    matched before it converts, so an out-of-range id on a path with rules for other methods answered 405."""

    regex = digits_up_to(MAX_ID)

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


NUL_MESSAGE = "must not contain a NUL character"


class NulCharacter(UnprocessableEntity):
    """A NUL character in a request value (PostgreSQL text cannot hold one); `field` says where."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: {NUL_MESSAGE}")
        self.field = field


def _nul_path(value: Any) -> str | None:
    """Where the first NUL sits in decoded JSON (`features[2].id`), walked without recursion; None if nowhere."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return f"{path}.{key}".lstrip(".").replace("\x00", "")
                stack.append((f"{path}.{key}".lstrip("."), child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class BoundedJSONProvider(DefaultJSONProvider):
    """Parse request bodies with a clear 400 for JSON nested too deeply, and a 422 for a NUL in any string."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Decode JSON; nesting deep enough to exhaust the recursion limit is a bad request, not a crash."""
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise BadRequest("the JSON body is nested too deeply")
        where = _nul_path(value)
        if where is not None:
            raise NulCharacter(where)
        return value


def page_number(value: str) -> int:
    """`request.args.get("page", 1, type=page_number)`: garbage falls back to the default, pages past any
    possible row answer 404 rather than overflowing the query's OFFSET."""
    number = max(1, int(value))
    if number > MAX_ID:
        raise NotFound("no such page")
    return number


def _refuse_nul_bytes() -> None:
    """PostgreSQL text cannot hold NUL: a path segment with one names nothing (404); a query or form value
    with one is refused (422 naming the parameter). JSON bodies are checked as they are decoded."""
    if any(isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()):
        raise NotFound()
    sources = [request.args] + ([request.form] if request.method not in ("GET", "HEAD") else [])
    for source in sources:
        for name, value in source.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise NulCharacter(name.replace("\x00", ""))


def _nul_response(error: NulCharacter) -> tuple[Any, int]:
    if wants_json():
        return jsonify(error=NUL_MESSAGE, field=error.field), 422
    return render_template("error.html", code=422, message=error.description), 422


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with %, _ and the escape character taken literally (escape='\\')."""
    cleaned = text.replace("\x00", "").strip()
    escaped = cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_production_config(app: Flask) -> None:
    """Refuse to start production with the published default or a short SECRET_KEY."""
    if app.config["SIGHTLINE_ENV"] != "production":
        return
    key = app.config.get("SECRET_KEY") or ""
    if key == config.DEFAULT_SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set (environment or instance/config.py) when SIGHTLINE_ENV=production")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise RuntimeError(f"SECRET_KEY must have at least {MIN_SECRET_KEY_LENGTH} characters when "
                           f"SIGHTLINE_ENV=production (it has {len(key)}); generate one with "
                           "python -c 'import secrets; print(secrets.token_urlsafe(48))'")


def proxy_hops(value: Any) -> int:
    """The number of trusted proxies from SIGHTLINE_PROXY_HOPS, or a RuntimeError naming the setting."""
    text = str(value).strip()
    if not text.isdigit() or int(text) > MAX_PROXY_HOPS:
        raise RuntimeError(f"SIGHTLINE_PROXY_HOPS must be a whole number from 0 to {MAX_PROXY_HOPS} (the reverse "
                           f"proxies in front of the app; 0 when clients connect directly), not {value!r}")
    return int(text)


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_HOPS TLS-terminating proxies, take scheme, host, port and client address from their
    X-Forwarded-* headers (werkzeug ProxyFix); with 0, forwarded headers are ignored, as anyone can forge them."""
    hops = proxy_hops(app.config.get("PROXY_HOPS", 0))
    app.config["PROXY_HOPS"] = hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


def configure(app: Flask) -> None:
    """Force secure cookies in production and point the rate limiter at Redis when there is one."""
    if app.config["SIGHTLINE_ENV"] == "production":
        app.config.update(PRODUCTION_SETTINGS)
    # Workers share sign-in counts through Redis; test apps keep their own so tests cannot lock each other out.
    shared = app.config.get("REDIS_URL") if not app.config.get("TESTING") else None
    app.config.setdefault("RATELIMIT_STORAGE_URI", shared or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)


# Inline <style> blocks the CSP allows by hash (the plan drawings carry one so they render standalone too).
_ALLOWED_STYLES: set[str] = set()


def allow_inline_style(style: str) -> None:
    """Let pages carry this exact <style> block under the CSP (allowed by its SHA-256, nothing else inline)."""
    _ALLOWED_STYLES.add(style)
    content_security_policy.cache_clear()


@cache
def content_security_policy() -> str:
    """The CSP of every response: scripts only from our own files (no inline script, handler or eval), styles
    from our files plus the registered <style> blocks (allowed by their hashes), no framing, no plugins."""
    hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
                     for style in sorted(_ALLOWED_STYLES))
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self'{hashes}",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _headers(response: Response) -> Response:
    """Security headers on every response; HSTS only over HTTPS."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


# An unchanged session's cookie is signed again once it is this old, not on every response: idle sessions then
# expire up to this much before PERMANENT_SESSION_LIFETIME, never after. Sign-out, a new password and
# deactivation still end sessions at once: the user's session token is checked on every request.
SESSION_RESIGN_AFTER = timedelta(minutes=1)


class SlidingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the idle expiry slid by re-signing at most once a SESSION_RESIGN_AFTER
    (a changed session is always saved), and one signing serializer per key set instead of two per request."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The serializer of the app's current keys, built once per key set."""
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        cached = app.extensions.get("sightline.session_serializer")
        if cached is None or cached[0] != keys:
            cached = (keys, super().get_signing_serializer(app))
            app.extensions["sightline.session_serializer"] = cached
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Load the signed cookie (expired or forged: an empty session), remembering when it was signed."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()),
                                               return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at  # type: ignore[attr-defined]
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """A changed session, or a permanent one whose cookie is due to be signed again."""
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or datetime.now(UTC) - signed_at >= SESSION_RESIGN_AFTER


def init_app(app: Flask) -> None:
    """Install the security settings; call before the blueprints register their routes."""
    check_production_config(app)
    configure(app)
    trust_proxies(app)
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)
    app.session_interface = SlidingSessionInterface()
    limiter.init_app(app)
    app.before_request(_refuse_nul_bytes)
    app.register_error_handler(NulCharacter, _nul_response)
    app.after_request(_headers)
