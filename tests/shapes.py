"""Canonical lon/lat shapes with areas computable independently of territory."""

from __future__ import annotations

import math

import shapely

#: WGS84 constants.
A_M = 6_378_137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
E = math.sqrt(E2)


def _q(lat_deg: float) -> float:
    """Authalic function q(φ) of the WGS84 ellipsoid."""
    s = math.sin(math.radians(lat_deg))
    return (1 - E2) * (
        s / (1 - E2 * s * s) - math.log((1 - E * s) / (1 + E * s)) / (2 * E)
    )


def cell_area_km2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Exact ellipsoidal area of a lon/lat cell bounded by meridians and parallels.

    A = a²/2 · Δλ · (q(φ1) − q(φ0)); closed form, independent of any library.
    """
    return A_M**2 / 2 * math.radians(lon1 - lon0) * (_q(lat1) - _q(lat0)) / 1e6


def cell(
    lon0: float, lat0: float, lon1: float, lat1: float, step_deg: float = 0.001
) -> shapely.Polygon:
    """A lon/lat cell with densified edges (so geodesic edges follow the parallels)."""
    return shapely.segmentize(shapely.box(lon0, lat0, lon1, lat1), step_deg)
