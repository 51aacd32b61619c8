"""The refinement's geometry queries against their definitions: the poses whose views meet a piece, and the views
clipped to a piece (the shortcuts must never drop a pose or change an area)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from bench.bench_mall import _floor
from planner.coverage import clip_views
from planner.geometry import polygonal, sector_polygon, wedge_polygon, wedge_polygons
from planner.plan import PlanOptions
from planner.plan.certificate import views_near
from planner.plan.prepare import prepare


@pytest.fixture(scope="module")
def mall_prep():
    """The 200-segment generated mall with re-aim 15°: ~6,400 poses at ~280 mounts, so several poses per mount."""
    return prepare(_floor(200, "reduce"), PlanOptions(reaim_step=15, witnesses_per_zone=60))


def _pieces(prep, n: int = 12) -> list[tuple[int, shapely.Geometry]]:
    """Small boxes around grid witnesses of several zones (pieces as the refinement meets them)."""
    m = prep.matrix
    rng = np.random.default_rng(7)
    out = []
    for w in rng.choice(len(m.wx), size=n, replace=False):
        zi = int(m.wzone[w])
        box = shapely.box(m.wx[w] - 0.8, m.wy[w] - 0.5, m.wx[w] + 0.6, m.wy[w] + 0.9)
        piece = polygonal(prep.zones[zi].region.intersection(box))
        if not piece.is_empty:
            out.append((zi, piece))
    return out


def test_views_near_finds_exactly_the_poses_whose_views_meet_the_piece(mall_prep) -> None:
    prep = mall_prep
    assert len(prep.cols) > 5 * len(prep.matrix.index.mounts)
    checked = 0
    for zi, piece in _pieces(prep):
        tier = prep.zones[zi].zone.tier
        views = [prep.engine.view(c, tier) for c in prep.cols]
        # Every pose that sees some of the piece is found (a view touching it at a point or along an edge may
        # or may not be: it sees none of it), and nothing else.
        sees = {j for j, v in enumerate(views) if v.intersection(piece).area > 0}
        meets = {j for j, v in enumerate(views) if v.intersects(piece)}
        got = views_near(prep, tier, piece)
        assert sees <= {j for j, _ in got} <= meets
        assert [j for j, _ in got] == sorted(j for j, _ in got)
        assert all(v is views[j] for j, v in got)
        checked += len(sees)
    assert checked > 20


def test_a_piece_minus_its_clipped_views_is_the_piece_minus_the_views(mall_prep) -> None:
    prep = mall_prep
    for zi, piece in _pieces(prep):
        views = [v for _, v in views_near(prep, prep.zones[zi].zone.tier, piece)]
        clipped = clip_views(piece, views)
        assert len(clipped) == len(views)
        assert all(c.is_empty or piece.buffer(1e-9).contains(c) for c in clipped)
        whole = piece.difference(shapely.union_all(views)) if views else piece
        cut = piece.difference(shapely.union_all([c for c in clipped if not c.is_empty])) if views else piece
        assert cut.symmetric_difference(whole).area == pytest.approx(0.0, abs=1e-9)


def test_wedges_in_one_pass_are_the_single_wedges() -> None:
    xy = np.array([[0.0, 0.0], [3.0, -1.0], [1.0, 1.0], [np.nan, np.nan]])
    heading, hfov, far = np.array([10.0, 200.0, 0.0, 0.0]), np.array([60.0, 95.0, 360.0, 40.0]), np.full(4, 9.0)
    many = wedge_polygons(xy, heading, hfov, far)
    assert many[2] is None and many[3] is None
    for i in (0, 1):
        one = wedge_polygon(*xy[i], heading[i], hfov[i], far[i])
        assert many[i].equals(one)
        # Three times the range: the wedge holds the whole field-of-view sector out to the range.
        sector = sector_polygon(*xy[i], heading[i], hfov[i], far[i] / 3.0)
        assert one.buffer(1e-9).contains(sector)
        assert len(one.exterior.coords) == int(np.ceil(hfov[i] / 30.0)) + 1 + 2
