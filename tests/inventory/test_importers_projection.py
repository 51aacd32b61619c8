"""The local transverse Mercator against independent geodesic distances (haversine, Vincenty)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from shapely.geometry import LineString

from inventory.importers.base import ImportFailed
from inventory.importers.projection import LocalTM, centred_on

WGS84_A = 6_378_137.0
WGS84_F = 1 / 298.257223563


def haversine(lon1: float, lat1: float, lon2: float, lat2: float, radius: float = 6_371_008.8) -> float:
    """Great-circle distance in metres on a sphere of the IUGG mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(h))


def vincenty(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ellipsoidal distance in metres on WGS84 (Vincenty 1975 inverse formula)."""
    a, f = WGS84_A, WGS84_F
    b = a * (1 - f)
    u1 = math.atan((1 - f) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - f) * math.tan(math.radians(lat2)))
    lam0 = lam = math.radians(lon2 - lon1)
    su1, cu1, su2, cu2 = math.sin(u1), math.cos(u1), math.sin(u2), math.cos(u2)
    for _ in range(200):
        sl, cl = math.sin(lam), math.cos(lam)
        ss = math.hypot(cu2 * sl, cu1 * su2 - su1 * cu2 * cl)
        if ss == 0:
            return 0.0
        cs = su1 * su2 + cu1 * cu2 * cl
        sigma = math.atan2(ss, cs)
        sa = cu1 * cu2 * sl / ss
        c2a = 1 - sa * sa
        c2sm = cs - 2 * su1 * su2 / c2a if c2a else 0.0
        c = f / 16 * c2a * (4 + f * (4 - 3 * c2a))
        prev = lam
        lam = lam0 + (1 - c) * f * sa * (sigma + c * ss * (c2sm + c * cs * (-1 + 2 * c2sm * c2sm)))
        if abs(lam - prev) < 1e-13:
            break
    u_sq = c2a * (a * a - b * b) / (b * b)
    big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    ds = big_b * ss * (c2sm + big_b / 4 * (cs * (-1 + 2 * c2sm * c2sm)
                                           - big_b / 6 * c2sm * (-3 + 4 * ss * ss) * (-3 + 4 * c2sm * c2sm)))
    return b * big_a * (sigma - ds)


def test_vincenty_reference_value() -> None:
    # Flinders Peak -> Buninyong, Vincenty (1975) / Geoscience Australia example: 54972.271 m.
    d = vincenty(144 + 25 / 60 + 29.52440 / 3600, -(37 + 57 / 60 + 3.72030 / 3600),
                 143 + 55 / 60 + 35.38390 / 3600, -(37 + 39 / 60 + 10.15610 / 3600))
    assert d == pytest.approx(54972.271, abs=0.01)


@pytest.mark.parametrize("lat0", [0.0, 31.23, 56.46, -33.9, 70.0])
@pytest.mark.parametrize("radius_m", [100.0, 1_000.0, 10_000.0])
def test_projected_distances_match_vincenty(lat0: float, radius_m: float) -> None:
    tm = LocalTM(121.47, lat0)
    # Points on a ring about the centre, and the distances between every pair of them.
    ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    dlat = radius_m / 111_000 * np.sin(ang)
    dlon = radius_m / (111_000 * np.cos(np.radians(lat0))) * np.cos(ang)
    lon, lat = tm.lon0 + dlon, lat0 + dlat
    x, y = tm.forward(lon, lat)
    worst = 0.0
    for i, j in itertools.combinations(range(len(ang)), 2):
        true = vincenty(lon[i], lat[i], lon[j], lat[j])
        worst = max(worst, abs(np.hypot(x[i] - x[j], y[i] - y[j]) / true - 1))
    # The stated bound (k - 1 <= x^2 / 2R^2) plus a millimetre-level allowance for the series.
    assert worst <= tm.max_scale_error(radius_m * 1.5) + 1e-7
    assert worst < 2e-6


def test_inverse_round_trips_to_a_millimetre() -> None:
    tm = LocalTM(-2.978, 56.46)
    lon = np.array([-2.99, -2.978, -2.96])
    lat = np.array([56.45, 56.46, 56.47])
    back_lon, back_lat = tm.inverse(*tm.forward(lon, lat))
    x0, y0 = tm.forward(lon, lat)
    x1, y1 = tm.forward(back_lon, back_lat)
    assert np.max(np.hypot(x1 - x0, y1 - y0)) < 1e-3
    assert np.allclose(back_lon, lon, atol=1e-9) and np.allclose(back_lat, lat, atol=1e-9)


def test_origin_is_the_centre_and_y_points_north() -> None:
    tm = centred_on([LineString([(10.0, 50.0), (10.01, 50.01)])], "t")
    x, y = tm.forward(np.array([10.005, 10.005, 10.01]), np.array([50.005, 50.01, 50.005]))
    assert abs(x[0]) < 1e-6 and abs(y[0]) < 1e-6
    assert y[1] > 500 and abs(x[1]) < 1e-6  # north is +y
    assert x[2] > 300  # east is +x
    assert y[1] == pytest.approx(vincenty(10.005, 50.005, 10.005, 50.01), rel=1e-6)
    # The spherical haversine is only good to ~0.5 %; the projection is held to the ellipsoid.
    assert y[1] == pytest.approx(haversine(10.005, 50.005, 10.005, 50.01), rel=5e-3)


def test_refuses_non_degree_coordinates_and_huge_extents() -> None:
    with pytest.raises(ImportFailed, match="not WGS84"):
        centred_on([LineString([(500000.0, 6000000.0), (500010.0, 6000010.0)])], "plan.geojson")
    with pytest.raises(ImportFailed, match="spans more than"):
        centred_on([LineString([(0.0, 0.0), (1.0, 1.0)])], "plan.geojson")
