"""The witness matrix: rows are sample points of the required zones, columns are candidate poses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from shapely.geometry.base import BaseGeometry

from planner.coverage import CameraPose, CoverageMatrix, Engine, ViewIndex, Witnesses, zone_samples
from planner.floor import TIERS, Zone
from planner.geometry import EMPTY
from planner.parallel import context, ordered_map
from planner.plan.options import Clock

WITNESS_SHARE = 0.6  # of the time limit: zones not sampled by then are left to the exact check
CHUNK = 5_000  # witnesses per matrix fill (the clock is checked between fills)


@dataclass
class ZoneData:
    """A required zone as the planner sees it: its k, its region, and the parts found uncoverable."""

    zone: Zone
    k: int
    region: BaseGeometry
    spacing: float = 1.0
    infeasible: BaseGeometry = EMPTY
    conflict: BaseGeometry = EMPTY  # part of `infeasible` due to one-pose-per-mount conflicts (slack model)


@dataclass
class WitnessMatrix:
    """Rows (witnesses) and columns (candidates) of the k-cover model, grown by the refinement loop."""

    poses: list[CameraPose]
    zones: list[ZoneData]
    index: ViewIndex
    mount_of: np.ndarray  # physical mount number of each column
    wx: list[float] = field(default_factory=list)
    wy: list[float] = field(default_factory=list)
    wzone: list[int] = field(default_factory=list)
    demand: list[int] = field(default_factory=list)
    columns: list[list[int]] = field(default_factory=list)
    wgrid: list[bool] = field(default_factory=list)  # True for grid witnesses (they carry a cell of area)
    n_mounts: list[int] = field(default_factory=list)  # distinct mounts that can see each witness
    # The same entries as `columns`, as (pose, witness) arrays per batch: the model's rows are built from these.
    _pair_batches: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @classmethod
    def build(cls, engine: Engine, poses: list[CameraPose], zones: list[ZoneData], boundary: bool = True,
              clock: Clock | None = None, workers: int = 1) -> WitnessMatrix:
        """The matrix over the zones' sampled witnesses (grid, and with ``boundary`` edge and corner points).

        Zones not reached before WITNESS_SHARE of the time limit get no witnesses (``clock.stopped_in`` set).
        """
        keys: dict[tuple[bool, str], int] = {}
        mount_of = np.array([keys.setdefault((p.change == "new", p.mount), len(keys)) for p in poses], dtype=np.int64)
        matrix = cls(poses, zones, ViewIndex(engine, poses), mount_of, columns=[[] for _ in poses])
        # Sample every zone, then fill the matrix in chunks of about CHUNK points (one visibility test per mount
        # and chunk), on `workers` processes; chunks not finished by the deadline are left out.
        chunks: list[list[tuple[int, np.ndarray, np.ndarray]]] = []
        pending: list[tuple[int, np.ndarray, np.ndarray]] = []
        size = 0
        for zi, zd in enumerate(zones):
            if zd.region.is_empty:
                continue
            xy, kind = zone_samples(zd.region, zd.spacing)
            if not boundary and (kind == Witnesses.GRID).any():
                xy, kind = xy[kind == Witnesses.GRID], kind[kind == Witnesses.GRID]
            pending.append((zi, xy, kind == Witnesses.GRID))
            size += len(xy)
            if size >= CHUNK:
                chunks.append(pending)
                pending, size = [], 0
        if pending:
            chunks.append(pending)
        deadline = None if clock is None else clock.start + WITNESS_SHARE * clock.limit
        stop = None if clock is None or clock.cancel is None else clock.cancel.is_set
        tier_of_zone = np.array([TIERS.index(zd.zone.tier) for zd in zones], dtype=np.int64)
        blocks = [_block(parts) for parts in chunks]
        shared = {"index": matrix.index, "blocks": blocks, "tiers": tier_of_zone}
        done = ordered_map(_incidence_block, list(range(len(blocks))), workers, deadline, shared, stop)
        if not done and blocks and not (stop is not None and stop()):
            # A model needs some witnesses: the first block is computed even late (the loop's clock absorbs it).
            done = ordered_map(_incidence_block, [0], 1, None, shared)
        for (zone, xy, grid), (indptr, indices) in zip(blocks, done, strict=False):
            m = CoverageMatrix(indptr, indices, len(poses), len(xy))
            matrix.add_witnesses(zone, xy[:, 0], xy[:, 1], grid, incidence=m)
        if len(done) < len(blocks) and clock is not None:
            clock.out("witnesses", WITNESS_SHARE, reserve=clock.limit)
        return matrix

    def add_witnesses(self, zi: int | np.ndarray, xs: np.ndarray, ys: np.ndarray,
                      grid: np.ndarray | None = None, incidence: CoverageMatrix | None = None) -> list[int]:
        """Append witnesses of zone `zi` (one zone, or one per point), fill their matrix entries, return row ids."""
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        zone = np.broadcast_to(np.asarray(zi, dtype=np.int64), (len(xs),))
        start = len(self.wx)
        self.wgrid.extend(bool(g) for g in (grid if grid is not None else np.zeros(len(xs), dtype=bool)))
        self.wx.extend(xs.tolist())
        self.wy.extend(ys.tolist())
        self.wzone.extend(zone.tolist())
        tier_of_zone = np.array([TIERS.index(zd.zone.tier) for zd in self.zones], dtype=np.int64)
        k_of_zone = np.array([zd.k for zd in self.zones], dtype=np.int64)
        m = incidence if incidence is not None else self.index.incidence(np.column_stack([xs, ys]), tier_of_zone[zone])
        for j in np.flatnonzero(np.diff(m.indptr)):
            self.columns[j].extend((start + m.row(j)).tolist())
        # Distinct mounts seeing each witness; one no k distinct mounts can see is left to the infeasibility
        # analysis (demand 0).
        pose_of = np.repeat(np.arange(m.n_poses), np.diff(m.indptr))
        if m.nnz:
            # int32: a 2,000-segment re-aim floor has millions of entries (peak memory).
            self._pair_batches.append((pose_of.astype(np.int32), (start + np.asarray(m.indices)).astype(np.int32)))
        pairs = np.unique(self.mount_of[pose_of] * len(xs) + m.indices) if m.nnz else np.zeros(0, np.int64)
        n_mounts = np.bincount(pairs % len(xs), minlength=len(xs)) if len(xs) else np.zeros(0, np.int64)
        self.n_mounts.extend(n_mounts.tolist())
        k = k_of_zone[zone]
        self.demand.extend(np.where(n_mounts >= k, k, 0).tolist())
        return list(range(start, start + len(xs)))


    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (pose, witness) entry of the matrix as two arrays (batches in the order they were added)."""
        if len(self._pair_batches) > 1:
            self._pair_batches = [(np.concatenate([p for p, _ in self._pair_batches]),
                                   np.concatenate([w for _, w in self._pair_batches]))]
        if not self._pair_batches:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        return self._pair_batches[0]


def _block(parts: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(zone per point, points, grid flags) of one chunk of sampled zones."""
    zone = np.concatenate([np.full(len(xy), zi, dtype=np.int64) for zi, xy, _ in parts])
    return zone, np.vstack([xy for _, xy, _ in parts]), np.concatenate([g for _, _, g in parts])


def _incidence_block(b: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of which poses see which points of block ``b`` (run in a worker or serially)."""
    ctx = context()
    zone, xy, _grid = ctx["blocks"][b]
    m = ctx["index"].incidence(xy, ctx["tiers"][zone])
    return m.indptr, m.indices
