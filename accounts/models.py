"""User, organisation and jurisdiction models."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context
from flask_babel import gettext
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from accounts.districts import District, jurisdiction_districts, names_of
from extensions import db


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (portable across SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso_utc(value: datetime | None) -> str | None:
    """A stored (naive UTC) date-time as ISO 8601 with Z, as the API gives it."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


MIN_PASSWORD_LENGTH = 8


def password_problem(password: str) -> str | None:
    """Why a new password is refused (translated), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return gettext("must have at least %(n)d characters", n=MIN_PASSWORD_LENGTH)
    return None


def new_session_token() -> str:
    """A fresh random session token."""
    return secrets.token_hex(16)


class Role(enum.StrEnum):
    """What a user may do; scope comes from the organisation or jurisdiction."""

    MANAGER = "manager"
    PLANNER = "planner"
    INSPECTOR = "inspector"
    ADMIN = "admin"


planner_organisations = sa.Table(
    "planner_organisation",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("organisation_id", sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(db.Model):
    """A company or operator that owns venues."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    legal_entity: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class Jurisdiction(db.Model):
    """An inspecting authority: a named set of districts from the managed list."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    district_list: so.Mapped[list[District]] = so.relationship(secondary=jurisdiction_districts,
                                                               order_by=District.position)

    @property
    def districts(self) -> list[str]:
        """Canonical names of the jurisdiction's districts (what venue.district holds)."""
        return [d.name for d in self.district_list]

    @districts.setter
    def districts(self, values: list[str]) -> None:
        """Set the districts from typed names; raises ValueError naming an unknown one."""
        self.district_list = list({d.id: d for d in names_of(list(values))}.values())


class User(UserMixin, db.Model):
    """A person who signs in; managers belong to an organisation, inspectors to a jurisdiction."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    role: so.Mapped[Role] = so.mapped_column(sa.Enum(Role, native_enum=False, length=20,
                                                     values_callable=lambda e: [m.value for m in e]))
    organisation_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("organisation.id"), index=True)
    jurisdiction_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("jurisdiction.id"), index=True)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    locale: so.Mapped[str] = so.mapped_column(sa.String(10), default="en")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    # Part of every session's user id: changing it (sign-out, new password, deactivation) ends all sessions.
    session_token: so.Mapped[str] = so.mapped_column(sa.String(64), default=new_session_token)

    organisation: so.Mapped[Organisation | None] = so.relationship()
    jurisdiction: so.Mapped[Jurisdiction | None] = so.relationship()
    planned_organisations: so.Mapped[list[Organisation]] = so.relationship(secondary=planner_organisations)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Inactive users cannot sign in."""
        return self.active

    def get_id(self) -> str:
        """The session's user id: the row id and the current session token, so a new token revokes old cookies."""
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Revoke every session and remember-me cookie of this user (they are checked on each request)."""
        self.session_token = new_session_token()

    def deactivate(self) -> None:
        """Stop the user signing in, and end the sessions they have."""
        self.active = False
        self.end_sessions()

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password (by PASSWORD_HASH_METHOD or werkzeug's default); ends old sessions."""
        self.password_hash = _hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Return whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)


def _hash(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    return generate_password_hash(password, method) if method else generate_password_hash(password)


_dummy_hashes: dict[str | None, str] = {}


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None; unknown emails cost the same hash check."""
    user = db.session.scalar(sa.select(User).where(User.email == email)) if "\x00" not in email else None
    if user is None:
        method = current_app.config.get("PASSWORD_HASH_METHOD")
        if method not in _dummy_hashes:
            _dummy_hashes[method] = _hash(secrets.token_hex(16))
        check_password_hash(_dummy_hashes[method], password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


class TokenScope(enum.StrEnum):
    """What an API token may do: read (GET only) or write (every method the user's role allows)."""

    READ = "read"
    WRITE = "write"


# Lifetimes offered when issuing a token, in days; every token expires.
TOKEN_LIFETIMES_DAYS = (7, 30, 90, 365)
DEFAULT_TOKEN_DAYS = 90


class ApiToken(db.Model):
    """A bearer token for the JSON API, scoped and expiring; only its SHA-256 digest is stored."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    digest: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    revoked: so.Mapped[bool] = so.mapped_column(default=False)
    scope: so.Mapped[TokenScope] = so.mapped_column(
        sa.Enum(TokenScope, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=TokenScope.READ)
    expires_at: so.Mapped[datetime] = so.mapped_column()

    user: so.Mapped[User] = so.relationship()

    @property
    def expired(self) -> bool:
        """Whether the token's lifetime is over (it then authenticates nothing)."""
        return self.expires_at <= utcnow()

    @staticmethod
    def digest_of(token: str) -> str:
        """Return the stored digest of a plain token."""
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str, scope: TokenScope = TokenScope.WRITE,
              days: int = DEFAULT_TOKEN_DAYS) -> tuple[ApiToken, str]:
        """Create a token row for the user; return it with the plain token (shown once)."""
        plain = "slt_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, digest=cls.digest_of(plain), scope=scope,
                    expires_at=utcnow() + timedelta(days=days))
        return token, plain
