"""Hash chains over audit events and signed-off inspections: sealing new records, and checking the chains.

Each record stores the hash of the record before it (``prev_hash``) and its own hash over its content and that
``prev_hash`` (``record_hash``). Changing one stored byte of a record changes its hash; deleting or reordering a
record breaks the next record's link. ``flask verify-audit`` and ``/audit/chain`` name the first broken link.

Audit events are written unsealed as their transaction goes and sealed just before it commits (``seal_events``,
called by ``audit.recorder``): each gets the next ``seq`` and its hashes under the chain lock, which is therefore
held for the few milliseconds of sealing rather than from the first audited write to the commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import click
import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.cli import with_appcontext
from flask_login import current_user, login_required

from accounts.models import Role

GENESIS = "0" * 64
# Fields of an audit event covered by its hash (not the id, nor seq: the links themselves fix the order; seq, the
# position given at sealing, only lets the check walk the chain in that order).
EVENT_FIELDS = ("at", "user_id", "organisation_id", "venue_id", "object_type", "object_id", "action", "before",
                "after")
Rows = Iterator[tuple[int, dict[str, Any], str | None, str | None]]
# Other chained records (name -> their rows in chain order); registered by their owners, so audit imports none.
CHAINS: dict[str, Callable[[], Rows]] = {}
# PostgreSQL advisory lock key that serialises sealing into the audit chain (held from sealing to commit).
_PG_LOCK_KEY = 0x5116_47A0


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical(value: Any) -> str:
    """The one JSON text a value hashes as: sorted keys, no spaces, dates in ISO form."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def record_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the previous record's hash and this record's canonical content."""
    return hashlib.sha256((prev_hash + canonical(dict(content))).encode()).hexdigest()


def event_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed content of an audit event, from a row mapping or a dict of column values."""
    return {name: values.get(name) for name in EVENT_FIELDS}


def _lock(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite begins a transaction only at its first write: without this no-op write, two processes (gunicorn
        # workers) could both read the same head before either writes, and the second seal would fork the chain.
        connection.execute(sa.text("UPDATE audit_event SET id = id WHERE 0"))


def seal_events(connection: sa.Connection, ids: Iterable[int], batch: int = 500) -> list[tuple[int, int, str, str]]:
    """Link this transaction's unsealed audit events (by id, in id order) to the chain's head, at its end.

    Called just before the commit: the chain lock (an advisory lock on PostgreSQL, released by the commit) is held
    only while sealing, not through the rest of the transaction. Returns (id, seq, prev_hash, record_hash) of each.
    """
    from audit.models import AuditEvent

    wanted = sorted(set(ids))
    if not wanted:
        return []
    table = AuditEvent.__table__
    _lock(connection)
    head = connection.execute(sa.select(table.c.seq, table.c.record_hash).where(table.c.seq.is_not(None))
                              .order_by(table.c.seq.desc()).limit(1)).first()
    seq, prev = (head.seq, head.record_hash) if head is not None else (0, GENESIS)
    sealed = []
    for start in range(0, len(wanted), batch):
        # Rows of a rolled-back savepoint are gone: they are simply not read.
        rows = connection.execute(sa.select(table).where(table.c.id.in_(wanted[start:start + batch]),
                                                         table.c.seq.is_(None))
                                  .order_by(table.c.id)).mappings().all()
        for row in rows:
            seq += 1
            digest = record_hash(event_content(row), prev)
            sealed.append((row["id"], seq, prev, digest))
            prev = digest
    if sealed:
        connection.execute(table.update().where(table.c.id == sa.bindparam("row_id")).values(
            seq=sa.bindparam("row_seq"), prev_hash=sa.bindparam("row_prev"), record_hash=sa.bindparam("row_hash")),
            [{"row_id": i, "row_seq": n, "row_prev": p, "row_hash": h} for i, n, p, h in sealed])
    return sealed


@dataclass
class Break:
    """The first broken link of a chain: which record, and why."""

    chain: str
    record_id: int
    reason: str


@dataclass
class ChainReport:
    """What checking one chain found."""

    chain: str
    checked: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        """Whether every record's hash and link checked out."""
        return self.broken is None


def register_chain(name: str, rows: Callable[[], Rows]) -> None:
    """Add a chain that verify-audit and the chain page check: rows gives (id, content, prev_hash, record_hash)."""
    CHAINS[name] = rows


def _walk(chain: str, rows: Rows) -> ChainReport:
    """Check (id, content, prev_hash, record_hash) rows in chain order; stop at the first broken link."""
    expected_prev = GENESIS
    checked = 0
    for record_id, content, prev, stored in rows:
        checked += 1
        if prev != expected_prev:
            return ChainReport(chain, checked, Break(chain, record_id, "does not link to the record before it"
                                                     if prev else "has no chain hash"))
        if stored != record_hash(content, prev):
            return ChainReport(chain, checked, Break(chain, record_id, "content does not match its hash"))
        expected_prev = stored
    return ChainReport(chain, checked, None)


def verify_events(connection: sa.Connection, batch: int = 2000) -> ChainReport:
    """Check the audit event chain in its order (seq); an event left unsealed is a break too."""
    from audit.models import AuditEvent

    table = AuditEvent.__table__

    def rows() -> Rows:
        last = 0
        while True:
            chunk = connection.execute(sa.select(table).where(table.c.seq > last).order_by(table.c.seq)
                                       .limit(batch)).mappings().all()
            if not chunk:
                break
            for row in chunk:
                yield row["id"], event_content(row), row["prev_hash"], row["record_hash"]
            last = chunk[-1]["seq"]
        # Sealing happens in the transaction that writes an event: a committed event without a place in the chain
        # was written around the app (or its chain fields were cleared).
        unsealed = connection.execute(sa.select(table).where(table.c.seq.is_(None)).order_by(table.c.id)
                                      .limit(1)).mappings().first()
        if unsealed is not None:
            yield unsealed["id"], event_content(unsealed), None, unsealed["record_hash"]

    return _walk("audit", rows())


def verify_all() -> list[ChainReport]:
    """Check the audit chain and every registered chain."""
    from extensions import db

    return [verify_events(db.session.connection())] + [_walk(name, rows()) for name, rows in CHAINS.items()]


def backfill_events(connection: sa.Connection) -> int:
    """Seal audit events written before the chain existed, in id order (used by the migration)."""
    table = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("at", sa.DateTime),
                     *(sa.column(name) for name in ("user_id", "organisation_id", "venue_id", "object_type",
                                                    "object_id", "action")),
                     sa.column("before", sa.JSON), sa.column("after", sa.JSON), sa.column("prev_hash"),
                     sa.column("record_hash"))
    prev = GENESIS
    count = 0
    for row in connection.execute(sa.select(table).order_by(table.c.id)).mappings().all():
        digest = record_hash(event_content(row), prev)
        connection.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, record_hash=digest))
        prev = digest
        count += 1
    return count


@click.command("verify-audit")
@with_appcontext
def verify_audit_command() -> None:
    """Check the audit and inspection hash chains; exit 1 naming the first broken link."""
    reports = verify_all()
    for report in reports:
        if report.ok:
            click.echo(f"{report.chain}: {report.checked} records, chain intact")
        else:
            assert report.broken is not None
            click.echo(f"{report.chain}: first broken link at record {report.broken.record_id}: "
                       f"{report.broken.reason} ({report.checked} checked)")
    if not all(report.ok for report in reports):
        raise SystemExit(1)


bp = Blueprint("audit_chain", __name__)


@bp.get("/audit/chain")
@login_required
def chain_page():  # type: ignore[no-untyped-def]
    """Check every hash chain and show the first broken link of each (admins and inspectors)."""
    if current_user.role not in (Role.ADMIN, Role.INSPECTOR):
        abort(404)
    return render_template("audit/chain.html", reports=verify_all())
