"""Seeded generator of mall-like `sightline-floor/1` floors for benchmarks and tests.

``generate_mall_floor(seed, n_segments, ...) -> dict`` returns a FeatureCollection (not parsed) with:

- a rectangular outline split into horizontal bands: rows of shops separated by corridors;
- shop side walls and shop fronts (LineStrings) with a door opening onto the corridor, some fronts
  glass (``see_through``), random inner partitions, square pillars (solid polygon walls) in corridors;
- zones: every corridor is ``required`` (k=1, tier ``observe``), every 7th shop is a restroom
  (``private``, use ``toilet``), every 5th a ``required`` shop (tier ``detect``), the rest ``general``;
- installed cameras along the corridors (alternating headings) plus a face terminal per corridor end.

The same (seed, n_segments, ...) always gives the same floor.  The number of wall segments is exactly
``n_segments`` when n_segments >= 40 (partitions are added or dropped to hit it).
"""

from __future__ import annotations

import math
import random
from typing import Any

from planner.floor import FORMAT

SHOP_W = 8.0
SHOP_D = 10.0
CORRIDOR_W = 6.0


def _feature(props: dict[str, Any], gtype: str, coords: Any, fid: str | None = None) -> dict[str, Any]:
    feat: dict[str, Any] = {"type": "Feature"}
    if fid is not None:
        feat["id"] = fid
    feat["properties"] = props
    feat["geometry"] = {"type": gtype, "coordinates": coords}
    return feat


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def generate_mall_floor(
    seed: int,
    n_segments: int,
    *,
    camera_spacing: float = 12.0,
    hpx: int = 1920,
    hfov_deg: float = 90.0,
    name: str | None = None,
) -> dict[str, Any]:
    """A deterministic mall-like floor with about ``n_segments`` wall segments (exact when >= 40)."""
    rng = random.Random(seed)
    # Each shop contributes ~2 segments (side wall + front), plus partitions/pillars; solve for the layout.
    n_shops = max(4, int(n_segments / 2.6))
    n_corridors = max(1, round(math.sqrt(n_shops / 12)))
    per_row = max(2, math.ceil(n_shops / (2 * n_corridors)))
    width = per_row * SHOP_W
    band = 2 * SHOP_D + CORRIDOR_W
    height = n_corridors * band
    features: list[dict[str, Any]] = [_feature({"kind": "outline"}, "Polygon", _rect(0, 0, width, height), "outline")]
    walls: list[dict[str, Any]] = []
    optional: list[dict[str, Any]] = []  # partitions, dropped first if over budget
    zones: list[dict[str, Any]] = []
    terminals: list[dict[str, Any]] = []
    shop_no = 0
    for c in range(n_corridors):
        y0 = c * band
        cy0, cy1 = y0 + SHOP_D, y0 + SHOP_D + CORRIDOR_W
        zones.append(_feature({"kind": "zone", "zone": "required", "name": f"Corridor {c + 1}", "k": 1,
                               "tier": "observe", "use": "corridor"}, "Polygon", _rect(0, cy0, width, cy1)))
        if c > 0:  # back-to-back shop rows share a wall
            walls.append(_feature({"kind": "wall"}, "LineString", [[0, y0], [width, y0]]))
        for side, (sy0, sy1, front) in enumerate(((y0, cy0, cy0), (cy1, y0 + band, cy1))):
            for i in range(per_row):
                x0, x1 = i * SHOP_W, (i + 1) * SHOP_W
                shop_no += 1
                sid = f"shop-{shop_no}"
                if i > 0:
                    walls.append(_feature({"kind": "wall"}, "LineString", [[x0, sy0], [x0, sy1]]))
                glass = rng.random() < 0.2
                front_props: dict[str, Any] = {"kind": "wall"}
                if glass:
                    front_props["see_through"] = True
                walls.append(_feature(front_props, "LineString", [[x0, front], [x1, front]], f"{sid}-front"))
                door = x0 + rng.uniform(1.0, SHOP_W - 3.0)
                features.append(_feature({"kind": "opening"}, "LineString", [[door, front], [door + 1.8, front]],
                                         f"{sid}-door"))
                if shop_no % 7 == 0:
                    zones.append(_feature({"kind": "zone", "zone": "private", "name": f"Restroom {shop_no}",
                                           "use": "toilet"}, "Polygon", _rect(x0, sy0, x1, sy1)))
                elif shop_no % 5 == 0:
                    zones.append(_feature({"kind": "zone", "zone": "required", "name": f"Shop {shop_no}", "k": 1,
                                           "tier": "detect", "use": "shop"}, "Polygon", _rect(x0, sy0, x1, sy1)))
                else:
                    zones.append(_feature({"kind": "zone", "zone": "general", "name": f"Shop {shop_no}"},
                                          "Polygon", _rect(x0, sy0, x1, sy1)))
                back = sy0 if side == 1 else sy1
                depth = rng.uniform(2.0, 5.0)
                px = x0 + rng.uniform(1.5, SHOP_W - 1.5)
                sign = 1 if side == 1 else -1
                optional.append(_feature({"kind": "wall"}, "LineString", [[px, back], [px, back - sign * depth]]))
        # Pillars along the corridor centre, one every 4 shops.
        for i in range(2, per_row, 4):
            px, py = i * SHOP_W, (cy0 + cy1) / 2
            walls.append(_feature({"kind": "wall", "material": "concrete"}, "Polygon",
                                  _rect(px - 0.3, py - 0.3, px + 0.3, py + 0.3)))
        # Cameras along the corridor, alternating headings; face terminals at both ends.
        ncam = max(1, int(width // camera_spacing))
        for j in range(ncam):
            cx = (j + 0.5) * width / ncam
            cyy = cy0 + 0.2 if j % 2 == 0 else cy1 - 0.2
            heading = 45.0 if j % 2 == 0 else 225.0
            terminals.append(_feature({"kind": "terminal", "id": f"cam-{c + 1}-{j + 1}", "type": "camera",
                                       "heading_deg": heading, "hfov_deg": hfov_deg, "hpx": hpx, "height_m": 3.0,
                                       "tilt_deg": 20.0}, "Point", [round(cx, 3), cyy]))
        terminals.append(_feature({"kind": "terminal", "id": f"face-{c + 1}", "type": "face_terminal",
                                   "heading_deg": 0.0, "hfov_deg": 60.0, "range_m": 4.0, "face_recognition": True},
                                  "Point", [0.5, (cy0 + cy1) / 2]))

    def segs(f: dict[str, Any]) -> int:
        g = f["geometry"]
        return len(g["coordinates"][0]) - 1 if g["type"] == "Polygon" else len(g["coordinates"]) - 1

    base = sum(segs(w) for w in walls) + 4  # + outline
    budget = n_segments - base
    if budget < 0:
        # Drop side walls from the end until within budget (small floors only).
        while budget < 0 and walls:
            budget += segs(walls.pop())
    chosen = optional[:budget]
    budget -= len(chosen)
    k = 0
    while budget > 0:  # more partitions: short stubs inside random shops
        src = optional[k % len(optional)]["geometry"]["coordinates"] if optional else [[1, 1], [1, 2]]
        (ax, ay), (bx, by) = src
        off = 0.5 + 0.25 * (k // max(1, len(optional)))
        chosen.append(_feature({"kind": "wall"}, "LineString", [[ax + off, ay], [bx + off, by]]))
        budget -= 1
        k += 1
    out: dict[str, Any] = {"type": "FeatureCollection", "format": FORMAT,
                           "name": name or f"Generated mall (seed {seed}, {n_segments} segments)"}
    out["features"] = features + walls + chosen + zones + terminals
    return out
