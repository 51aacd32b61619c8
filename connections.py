"""PostgreSQL connections without idle round trips: a pooled connection is checked for life by polling its socket
(not the pre-ping's SELECT), and a transaction begins at the first statement that needs one, so a request that
only reads sends no BEGIN and no closing ROLLBACK. See docs/reliability.md "Load" (session 7) and "Faults".

Reads outside a transaction see what they saw inside one: under READ COMMITTED (PostgreSQL's default, which
Sightline uses) every statement takes its own snapshot either way. Whatever writes, locks or holds transaction
state (INSERT/UPDATE/DELETE, DDL, SAVEPOINT, SET, SELECT ... FOR UPDATE/SHARE, advisory locks, sequences) begins
the transaction first, and everything after it in the session runs in that transaction to its COMMIT or ROLLBACK,
so a failure still rolls back whole.
"""

from __future__ import annotations

import functools
import re
import select
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# A statement that may leave an effect, a lock or state behind, though it reads like a SELECT.
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|pg_advisory|pg_try_advisory|set_config|nextval|setval"
    r"|pg_notify|txid_current|pg_current_xact_id|\bINTO\b",
    re.IGNORECASE,
)
_SELECT = re.compile(r"\s*\(?\s*SELECT\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def reads_only(statement: str) -> bool:
    """Whether a statement only reads (a plain SELECT), so it may run outside a transaction."""
    return bool(_SELECT.match(statement)) and not _NEEDS_TRANSACTION.search(statement)


def alive(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection is still open: its socket has nothing to read. An idle connection is
    sent nothing; a server that ended the session (restart, crash, terminated backend) closed the socket or left
    its last message there, either of which makes it readable."""
    if dbapi_connection.closed or dbapi_connection.pgconn.status != 0:  # psycopg.pq.ConnStatus.OK
        return False
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    return not poller.poll(0)


def install(engine: Engine) -> None:
    """Replace the pool's pre-ping by the socket check and begin transactions at their first write."""
    from psycopg import ServerCursor, pq

    idle = pq.TransactionStatus.IDLE

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not alive(dbapi_connection):
            # The pool discards this connection and checks out (or opens) another.
            raise sa.exc.DisconnectionError("the server closed this pooled connection")
        if dbapi_connection.pgconn.transaction_status == idle:
            dbapi_connection.autocommit = True

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(connection: sa.Connection, cursor: Any, statement: str, _parameters: Any,
                              context: Any, _executemany: bool) -> None:
        dbapi_connection = cursor.connection
        # A server-side cursor (stream_results, yield_per) is DECLAREd, which needs a transaction.
        if not dbapi_connection.autocommit or (reads_only(statement) and not isinstance(cursor, ServerCursor)):
            return
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for by the caller (e.g. CREATE DATABASE): leave it
        dbapi_connection.autocommit = False  # psycopg sends BEGIN before this statement
