"""One process's least-recently-used cache, bounded by the total weight of its values."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_value: object) -> int:
    """Every value weighs the same: the bound is a count."""
    return 1


class LRUCache(Generic[K, V]):
    """A thread-safe LRU whose values' total `weigh` stays within `capacity` (the newest entry is always kept)."""

    def __init__(self, capacity: int, weigh: Callable[[V], int] = _one) -> None:
        self.capacity = capacity
        self.weigh = weigh
        self.items: OrderedDict[K, V] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value under key, marked as just used, or None."""
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def set(self, key: K, value: V) -> None:
        """Store value under key, dropping the least recently used entries beyond the capacity."""
        with self.lock:
            old = self.items.pop(key, None)
            self.size += self.weigh(value) - (self.weigh(old) if old is not None else 0)
            self.items[key] = value
            # The newest entry stays even when it alone exceeds the bound: it is the one being served.
            while self.size > self.capacity and len(self.items) > 1:
                self.size -= self.weigh(self.items.popitem(last=False)[1])

    def get_or_set(self, key: K, compute: Callable[[], V]) -> V:
        """The value under key, else compute() stored under it (two threads may both compute a missing one)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.set(key, value)
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self.lock:
            self.items.clear()
            self.size = 0
