"""WGS84 longitude/latitude to local metres: a transverse Mercator about the venue's centre.

The projection is ellipsoidal (WGS84) with scale 1 on a central meridian through the venue's centre and the
origin at that centre, so x points east, y points north (y up) and the units are metres. Its point scale is
k = 1 + x^2 / (2 R^2) to first order, so a distance measured anywhere within 1 km of the centre is too long
by at most 0.012 ppm, and within 10 km by at most 1.2 ppm. The series (Snyder 1987, USGS PP 1395, pp. 61-64)
are accurate to well under a millimetre at these distances. Venues wider than MAX_EXTENT_M are refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from inventory.importers.base import ImportFailed

A = 6_378_137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
EP2 = E2 / (1 - E2)
MEAN_RADIUS = 6_371_008.8
MAX_EXTENT_M = 50_000.0


def _meridian_arc(phi: np.ndarray | float) -> np.ndarray | float:
    e4, e6 = E2 * E2, E2 * E2 * E2
    return A * (
        (1 - E2 / 4 - 3 * e4 / 64 - 5 * e6 / 256) * phi
        - (3 * E2 / 8 + 3 * e4 / 32 + 45 * e6 / 1024) * np.sin(2 * phi)
        + (15 * e4 / 256 + 45 * e6 / 1024) * np.sin(4 * phi)
        - (35 * e6 / 3072) * np.sin(6 * phi)
    )


@dataclass(frozen=True)
class LocalTM:
    """A local transverse Mercator centred on (lon0, lat0), in metres."""

    lon0: float
    lat0: float

    def forward(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project degrees to local metres (x east, y north)."""
        phi = np.radians(lat)
        sin, cos, tan = np.sin(phi), np.cos(phi), np.tan(phi)
        n = A / np.sqrt(1 - E2 * sin * sin)
        t = tan * tan
        c = EP2 * cos * cos
        a = np.radians(lon - self.lon0) * cos
        x = n * (a + (1 - t + c) * a**3 / 6 + (5 - 18 * t + t * t + 72 * c - 58 * EP2) * a**5 / 120)
        y = (
            _meridian_arc(phi)
            - _meridian_arc(math.radians(self.lat0))
            + n * tan * (a * a / 2 + (5 - t + 9 * c + 4 * c * c) * a**4 / 24
                         + (61 - 58 * t + t * t + 600 * c - 330 * EP2) * a**6 / 720)
        )
        return x, y

    def inverse(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local metres back to degrees (lon, lat)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        m = _meridian_arc(math.radians(self.lat0)) + y
        mu = m / (A * (1 - E2 / 4 - 3 * E2**2 / 64 - 5 * E2**3 / 256))
        e1 = (1 - math.sqrt(1 - E2)) / (1 + math.sqrt(1 - E2))
        phi1 = (mu + (3 * e1 / 2 - 27 * e1**3 / 32) * np.sin(2 * mu)
                + (21 * e1**2 / 16 - 55 * e1**4 / 32) * np.sin(4 * mu)
                + (151 * e1**3 / 96) * np.sin(6 * mu) + (1097 * e1**4 / 512) * np.sin(8 * mu))
        s, c_, t_ = np.sin(phi1), np.cos(phi1), np.tan(phi1)
        c1 = EP2 * c_ * c_
        t1 = t_ * t_
        n1 = A / np.sqrt(1 - E2 * s * s)
        r1 = A * (1 - E2) / (1 - E2 * s * s) ** 1.5
        d = x / n1
        phi = phi1 - (n1 * t_ / r1) * (
            d * d / 2 - (5 + 3 * t1 + 10 * c1 - 4 * c1 * c1 - 9 * EP2) * d**4 / 24
            + (61 + 90 * t1 + 298 * c1 + 45 * t1 * t1 - 252 * EP2 - 3 * c1 * c1) * d**6 / 720
        )
        lam = (d - (1 + 2 * t1 + c1) * d**3 / 6
               + (5 - 2 * c1 + 28 * t1 - 3 * c1 * c1 + 8 * EP2 + 24 * t1 * t1) * d**5 / 120) / c_
        return self.lon0 + np.degrees(lam), np.degrees(phi)

    def geometry(self, geom: Any) -> Any:
        """Project a shapely geometry in lon/lat degrees (z dropped)."""

        def f(coords: np.ndarray) -> np.ndarray:
            x, y = self.forward(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(shapely.force_2d(geom), f)

    def max_scale_error(self, half_width_m: float) -> float:
        """Upper bound of the relative distance error for points within half_width_m of the central meridian."""
        return half_width_m**2 / (2 * (MEAN_RADIUS - 1000) ** 2)

    def describe(self, half_width_m: float) -> dict[str, Any]:
        """The georeference an importer reports, so floors can be placed back on a map."""
        return {
            "projection": "transverse Mercator, WGS84 ellipsoid, k0=1, origin at (lon0, lat0)",
            "lon0": self.lon0,
            "lat0": self.lat0,
            "max_scale_error": self.max_scale_error(half_width_m),
        }

    def locate(self, x: float, y: float) -> str:
        """Human-readable lon/lat of a local point, for error messages."""
        lon, lat = self.inverse(np.array([x]), np.array([y]))
        return f"lon={float(lon[0]):.7f} lat={float(lat[0]):.7f}"


def centred_on(geoms: Iterable[Any], where: str) -> LocalTM:
    """A LocalTM about the centre of the geometries' bounding box; refuse coordinates that are not lon/lat."""
    boxes = [g.bounds for g in geoms if g is not None and not g.is_empty]
    if not boxes:
        raise ImportFailed("no geometry to project", where=where)
    b = np.array(boxes)
    xmin, ymin, xmax, ymax = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    if not (-180 <= xmin <= xmax <= 180 and -85 <= ymin <= ymax <= 85) or not np.isfinite(b).all():
        raise ImportFailed(
            f"coordinates are not WGS84 longitude/latitude degrees (bounds {xmin:g},{ymin:g} .. {xmax:g},{ymax:g})",
            where=where,
        )
    tm = LocalTM(float((xmin + xmax) / 2), float((ymin + ymax) / 2))
    x, y = tm.forward(np.array([xmin, xmax, xmin, xmax]), np.array([ymin, ymin, ymax, ymax]))
    if max(np.ptp(x), np.ptp(y)) > MAX_EXTENT_M:
        raise ImportFailed(
            f"the venue spans more than {MAX_EXTENT_M / 1000:g} km; split it into buildings", where=where
        )
    return tm
