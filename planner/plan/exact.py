"""The exact area check of a selection: per required zone, the part seen by fewer than k chosen cameras.

Cached per zone between refinement rounds: a zone is recomputed only when the chosen cameras whose views
reach it change.  The certificate reuses the loop's last check.
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planner.coverage import uncovered
from planner.parallel import context, in_worker, ordered_map
from planner.plan.options import Clock
from planner.plan.prepare import Prepared


class ExactCheck:
    """Per-zone uncovered area of a selection, recomputed only for zones whose nearby cameras changed."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self._cache: dict[int, tuple[tuple[int, ...], BaseGeometry]] = {}
        self.seconds = 0.0  # duration of the last full check
        self._spent = 0.0  # seconds spent on fresh zone checks, and the region area they covered
        self._area = 0.0
        self._total_area = sum(zd.region.area for zd in prep.zones)

    def estimate(self) -> float | None:
        """Seconds a check of every zone from scratch would take, from the zones checked so far (None before)."""
        if self._area <= 0:
            return None
        return self._spent / self._area * self._total_area

    def run(self, selected: list[int], clock: Clock | None = None, reserve: float = 0.0,
            phase: str = "refine", workers: int = 1) -> dict[int, BaseGeometry]:
        """Uncovered part of every zone's region; zones left out once the clock is ``reserve`` s from its end.

        Zones whose nearby chosen cameras are unchanged come from the cache; the others are computed on
        ``workers`` processes, in zone order, so the result is the same as a serial check.
        """
        t0 = time.perf_counter()
        prep = self.prep
        engine, cols = prep.engine, prep.cols
        out: dict[int, BaseGeometry] = {}
        by_tier: dict[str, tuple[list[BaseGeometry], shapely.STRtree]] = {}
        fresh: list[tuple[int, tuple[int, ...], list[int]]] = []
        for zi, zd in enumerate(prep.zones):
            tier = zd.zone.tier
            if tier not in by_tier:
                views = [engine.view(cols[j], tier) for j in selected]
                by_tier[tier] = (views, shapely.STRtree(views))
            views, tree = by_tier[tier]
            near = np.sort(tree.query(zd.region)) if len(views) and not zd.region.is_empty else np.zeros(0, int)
            key = tuple(int(selected[i]) for i in near)
            hit = self._cache.get(zi)
            if hit is not None and hit[0] == key:
                out[zi] = hit[1]
            else:
                fresh.append((zi, key, near.tolist()))
        deadline = None if clock is None else clock.start + clock.limit - reserve
        stop = None if clock is None or clock.cancel is None else clock.cancel.is_set
        # Large zones first would balance better, but zone order keeps "the zones checked" a prefix.
        chunks = [fresh[a:a + ZONES_PER_CHUNK] for a in range(0, len(fresh), ZONES_PER_CHUNK)]
        z0 = time.perf_counter()
        done = ordered_map(_check_chunk, chunks, workers, deadline,
                           {"prep": prep, "views": {t: v for t, (v, _) in by_tier.items()}}, stop)
        for chunk, lefts in zip(chunks, done, strict=False):
            for (zi, key, _near), left in zip(chunk, lefts, strict=True):
                left = shapely.from_wkb(left) if isinstance(left, bytes) else left
                self._area += prep.zones[zi].region.area
                self._cache[zi] = (key, left)
                out[zi] = left
        self._spent += time.perf_counter() - z0
        if len(done) < len(chunks) and clock is not None:
            clock.out(phase, reserve=clock.limit)
        if len(out) == len(prep.zones):
            self.seconds = time.perf_counter() - t0
        return out


ZONES_PER_CHUNK = 4  # zones per unit of parallel work


def _check_chunk(chunk: list[tuple[int, tuple[int, ...], list[int]]]) -> list:
    """The uncovered part of a few zones (as WKB when computed in a worker)."""
    ctx = context()
    prep, views = ctx["prep"], ctx["views"]
    out = []
    for zi, _key, near in chunk:
        zd = prep.zones[zi]
        tier_views = views[zd.zone.tier]
        left = uncovered(zd.region, [tier_views[i] for i in near], zd.k)
        out.append(shapely.to_wkb(left) if in_worker() else left)
    return out
