"""The witness matrix: rows are sample points of the required zones, columns are candidate poses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from shapely.geometry.base import BaseGeometry

from planner.coverage import CameraPose, Engine, ViewIndex, Witnesses, zone_samples
from planner.floor import TIERS, Zone
from planner.geometry import EMPTY


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

    @classmethod
    def build(cls, engine: Engine, poses: list[CameraPose], zones: list[ZoneData],
              boundary: bool = True) -> WitnessMatrix:
        """The matrix over the zones' sampled witnesses (grid, and with ``boundary`` edge and corner points)."""
        keys: dict[tuple[bool, str], int] = {}
        mount_of = np.array([keys.setdefault((p.change == "new", p.mount), len(keys)) for p in poses], dtype=np.int64)
        matrix = cls(poses, zones, ViewIndex(engine, poses), mount_of, columns=[[] for _ in poses])
        for zi, zd in enumerate(zones):
            if zd.region.is_empty:
                continue
            xy, kind = zone_samples(zd.region, zd.spacing)
            if not boundary and (kind == Witnesses.GRID).any():
                xy, kind = xy[kind == Witnesses.GRID], kind[kind == Witnesses.GRID]
            matrix.add_witnesses(zi, xy[:, 0], xy[:, 1], kind == Witnesses.GRID)
        return matrix

    def add_witnesses(self, zi: int, xs: np.ndarray, ys: np.ndarray, grid: np.ndarray | None = None) -> list[int]:
        """Append witnesses of zone `zi`, fill their matrix entries, and return their row ids."""
        zd = self.zones[zi]
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        start = len(self.wx)
        self.wgrid.extend(bool(g) for g in (grid if grid is not None else np.zeros(len(xs), dtype=bool)))
        self.wx.extend(xs.tolist())
        self.wy.extend(ys.tolist())
        self.wzone.extend([zi] * len(xs))
        m = self.index.incidence(np.column_stack([xs, ys]), TIERS.index(zd.zone.tier))
        for j in np.flatnonzero(np.diff(m.indptr)):
            self.columns[j].extend((start + m.row(j)).tolist())
        # Distinct mounts seeing each witness; one no k distinct mounts can see is left to the infeasibility
        # analysis (demand 0).
        pose_of = np.repeat(np.arange(m.n_poses), np.diff(m.indptr))
        pairs = np.unique(self.mount_of[pose_of] * len(xs) + m.indices) if m.nnz else np.zeros(0, np.int64)
        n_mounts = np.bincount(pairs % len(xs), minlength=len(xs)) if len(xs) else np.zeros(0, np.int64)
        self.n_mounts.extend(n_mounts.tolist())
        self.demand.extend(np.where(n_mounts >= zd.k, zd.k, 0).tolist())
        return list(range(start, start + len(xs)))
