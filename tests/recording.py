"""Recorders for tests: which attributes the code under test reads of an object, which statements it sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class AttributeRecorder:
    """Passes every attribute read through to `target`, adding its name to `read`; `overrides` answer first, unrecorded."""

    def __init__(self, target: Any, read: set[str] | None = None, **overrides: Any) -> None:
        self.__dict__.update(overrides, _target=target, _read=read)

    def __getattr__(self, name: str) -> Any:
        if self._read is not None:
            self._read.add(name)
        return getattr(self._target, name)


@contextmanager
def recorded_statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` while the block runs, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
