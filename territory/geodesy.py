"""Ellipsoidal (WGS84 geodesic) area, perimeter and length of lon/lat geometries.

The reference is Karney's algorithm as implemented by GeographicLib and exposed
through `pyproj.Geod`: the same figures PostGIS gives for ``ST_Area(geography)``.
Edges are geodesics between vertices; densify lon/lat shapes whose edges should
follow parallels (``shapely.segmentize``) before measuring them.
"""

from __future__ import annotations

from collections.abc import Iterable

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")

M2_PER_KM2 = 1_000_000.0
M_PER_KM = 1_000.0


def m2_to_km2(area_m2: float) -> float:
    """Convert square metres to square kilometres."""
    return area_m2 / M2_PER_KM2


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep the polygonal part of `geom` (a collection may carry lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon") or geom.is_empty:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def area_perimeter_m(geom: BaseGeometry | None) -> tuple[float, float]:
    """Return the geodesic area (m²) and perimeter (m) of a lon/lat geometry.

    Polygons are oriented first, so the area is positive whatever the ring
    order of the source; holes are subtracted.  Non-polygonal parts count zero.

    Examples
    --------
    >>> from shapely import box
    >>> round(area_perimeter_m(box(0, 0, 1, 1))[0], 2)  # GeographicLib reference
    12308778361.47
    >>> area_perimeter_m(shapely.Polygon())
    (0.0, 0.0)
    """
    if geom is None or geom.is_empty:
        return 0.0, 0.0
    poly = _polygonal(geom)
    if poly.is_empty:
        return 0.0, 0.0
    poly = shapely.orient_polygons(poly, exterior_cw=False)
    area_m2, perimeter_m = GEOD.geometry_area_perimeter(poly)
    return abs(area_m2), perimeter_m


def area_m2(geom: BaseGeometry | None) -> float:
    """Return the geodesic area of a lon/lat geometry in m²."""
    return area_perimeter_m(geom)[0]


def area_km2(geom: BaseGeometry | None) -> float:
    """Return the geodesic area of a lon/lat geometry in km².

    Examples
    --------
    >>> from shapely import box, segmentize
    >>> round(area_km2(segmentize(box(37, 48, 38, 49), 0.01)), 2)
    8217.73
    """
    return m2_to_km2(area_m2(geom))


def areas_km2(geoms: Iterable[BaseGeometry | None]) -> list[float]:
    """Return the geodesic area in km² of each geometry."""
    return [area_km2(g) for g in geoms]


def length_km(geom: BaseGeometry | None) -> float:
    """Return the geodesic length in km of a lon/lat line (or polygon boundary).

    Examples
    --------
    >>> from shapely import LineString
    >>> round(length_km(LineString([(0, 0), (1, 0)])), 3)  # one degree of equator
    111.319
    """
    if geom is None or geom.is_empty:
        return 0.0
    return GEOD.geometry_length(geom) / M_PER_KM
