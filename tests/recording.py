"""A stand-in for an object that records which of its attributes the code under test reads."""

from __future__ import annotations

from typing import Any


class AttributeRecorder:
    """Passes every attribute read through to `target`, adding its name to `read`; `overrides` answer first, unrecorded."""

    def __init__(self, target: Any, read: set[str] | None = None, **overrides: Any) -> None:
        self.__dict__.update(overrides, _target=target, _read=read)

    def __getattr__(self, name: str) -> Any:
        if self._read is not None:
            self._read.add(name)
        return getattr(self._target, name)
