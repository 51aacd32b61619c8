"""Errors the engine raises for bad input; adapters turn them into messages for people."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input, with an optional pointer to the offending feature, field, row or line."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
