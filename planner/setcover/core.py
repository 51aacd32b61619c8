"""The internal sub-problem every layer above works on: a core in local indices with maps back to the caller's."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def ceil_bound(value: float) -> int:
    """Round a float lower bound up to an integer, tolerating solver round-off."""
    return int(math.ceil(value - 1e-6))


@dataclass
class Core:
    """An internal sub-problem in local indices, with maps back to the caller's rows and columns."""

    n_rows: int
    cols: list[np.ndarray]  # per local column: sorted local row indices
    costs: np.ndarray  # int64 per local column
    demand: np.ndarray  # int64 per local row, >= 1
    group_of: np.ndarray  # int64 per local column, -1 when ungrouped
    col_ids: np.ndarray  # local column -> original column
    row_ids: np.ndarray  # local row -> original row
    row_weight: np.ndarray | None = None  # partial cover: weight per local row
    min_covered: int | None = None  # partial cover: total weight of rows that must meet their demand

    @property
    def n_cols(self) -> int:
        """Number of local columns."""
        return len(self.cols)

    @property
    def nnz(self) -> int:
        """Number of (row, column) incidences."""
        return int(sum(len(c) for c in self.cols))

    def groups(self) -> list[list[int]]:
        """Groups with at least two local columns."""
        by_group: dict[int, list[int]] = {}
        for j, g in enumerate(self.group_of.tolist()):
            if g >= 0:
                by_group.setdefault(g, []).append(j)
        return [members for members in by_group.values() if len(members) > 1]

    def rows_view(self) -> list[np.ndarray]:
        """Per local row: the local columns covering it."""
        lists: list[list[int]] = [[] for _ in range(self.n_rows)]
        for j, rows in enumerate(self.cols):
            for r in rows.tolist():
                lists[r].append(j)
        return [np.asarray(x, dtype=np.int64) for x in lists]
