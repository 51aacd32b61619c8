"""The one process LRU behind the floor cache (bounded by bytes) and the terminal-row cache (bounded by count)."""

from __future__ import annotations

from inventory import floor_overlays, views
from inventory.lru import LRUCache


def test_a_byte_bounded_cache_keeps_within_its_size():
    cache: LRUCache[str, bytes] = LRUCache(10, weigh=len)
    cache.set("a", b"12345")
    cache.set("b", b"12345")
    cache.set("c", b"123")
    assert cache.get("a") is None and cache.get("b") == b"12345" and cache.get("c") == b"123"
    assert cache.size == 8
    cache.set("big", b"x" * 20)  # larger than the bound: kept alone (it is being served)
    assert list(cache.items) == ["big"] and cache.size == 20


def test_a_count_bounded_cache_drops_the_least_recently_used():
    cache: LRUCache[str, str] = LRUCache(2)
    cache.set("a", "A")
    cache.set("b", "B")
    assert cache.get("a") == "A"  # a is now the most recently used, so b goes first
    cache.set("c", "C")
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C" and cache.size == 2


def test_replacing_a_value_reweighs_it():
    cache: LRUCache[str, bytes] = LRUCache(10, weigh=len)
    cache.set("a", b"1234567")
    cache.set("a", b"12")
    cache.set("b", b"12345678")
    assert cache.size == 10 and cache.get("a") == b"12" and cache.get("b") == b"12345678"
    cache.clear()
    assert cache.size == 0 and cache.get("a") is None


def test_the_floor_and_row_caches_are_bounded_as_documented():
    assert floor_overlays._memory.capacity == floor_overlays.MEMORY_BYTES and floor_overlays._memory.weigh is len
    assert views._rows.capacity == 20_000 and views._rows.weigh(views.Markup("<tr>…</tr>")) == 1
