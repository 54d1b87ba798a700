"""Canonical lon/lat shapes with areas and lengths computable independently of territory."""

from __future__ import annotations

import math

import pyproj
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


#: Origin of the toy test worlds (tests/conftest.py, tests/scenario_world.py):
#: Ukraine's latitudes, not the equator.  Here a degree of longitude is ~74 km
#: and a degree of latitude ~111.2 km, so a test that mixes up degrees and
#: metres, or assumes equatorial lengths, fails.
LON0, LAT0 = 30.0, 48.0

#: Geodesic lengths on WGS84 for the independent expectations (GeographicLib).
GEOD = pyproj.Geod(ellps="WGS84")


def box_at(
    dlon0: float, dlat0: float, dlon1: float, dlat1: float
) -> tuple[float, float, float, float]:
    """Bounds (lon0, lat0, lon1, lat1) of a cell given in degrees from the origin."""
    return LON0 + dlon0, LAT0 + dlat0, LON0 + dlon1, LAT0 + dlat1


def ring_at(
    dlon0: float, dlat0: float, dlon1: float, dlat1: float
) -> list[list[float]]:
    """The closed GeoJSON ring (lon/lat, counter-clockwise) of `box_at`'s cell."""
    x0, y0, x1, y1 = box_at(dlon0, dlat0, dlon1, dlat1)
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def geodesic_km(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Geodesic distance (km) between two lon/lat points on WGS84."""
    return GEOD.inv(lon0, lat0, lon1, lat1)[2] / 1000


def distance_to_meridian_km(
    lon: float, lat: float, meridian: float, lat0: float, lat1: float
) -> float:
    """Geodesic distance (km) from a point to the meridian `meridian` between lat0 and lat1.

    Minimises the point-to-point geodesic distance along the segment by golden
    section (the distance is unimodal along a meridian); the nearest point is
    not on the point's own parallel (at 48°N and 110 km it lies ~1 km north).
    """
    g = (math.sqrt(5) - 1) / 2
    a, b = lat0, lat1
    for _ in range(100):
        c, d = b - g * (b - a), a + g * (b - a)
        if geodesic_km(lon, lat, meridian, c) < geodesic_km(lon, lat, meridian, d):
            b = d
        else:
            a = c
    return min(geodesic_km(lon, lat, meridian, p) for p in (lat0, (a + b) / 2, lat1))
