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
            phase: str = "refine") -> dict[int, BaseGeometry]:
        """Uncovered part of every zone's region; zones left out once the clock is ``reserve`` s from its end."""
        t0 = time.perf_counter()
        prep = self.prep
        engine, cols = prep.engine, prep.cols
        out: dict[int, BaseGeometry] = {}
        by_tier: dict[str, tuple[list[int], list[BaseGeometry], shapely.STRtree]] = {}
        for zi, zd in enumerate(prep.zones):
            if clock is not None and clock.out(phase, reserve=reserve):
                break
            tier = zd.zone.tier
            if tier not in by_tier:
                views = [engine.view(cols[j], tier) for j in selected]
                by_tier[tier] = (selected, views, shapely.STRtree(views))
            sel, views, tree = by_tier[tier]
            near = np.sort(tree.query(zd.region)) if len(views) and not zd.region.is_empty else np.zeros(0, int)
            key = tuple(int(sel[i]) for i in near)
            hit = self._cache.get(zi)
            if hit is not None and hit[0] == key:
                out[zi] = hit[1]
                continue
            z0 = time.perf_counter()
            left = uncovered(zd.region, [views[i] for i in near], zd.k)
            self._spent += time.perf_counter() - z0
            self._area += zd.region.area
            self._cache[zi] = (key, left)
            out[zi] = left
        if len(out) == len(prep.zones):
            self.seconds = time.perf_counter() - t0
        return out
