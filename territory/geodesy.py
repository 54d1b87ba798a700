"""Ellipsoidal area, perimeter and length of lon/lat geometries (WGS84).

Two area functions, which agree to 1e-6 relative on densified shapes (tested):

`geodesic_area_perimeter_m`
    The reference: Karney's algorithm (GeographicLib via `pyproj.Geod`), edges
    are geodesics between vertices, the figures PostGIS gives for
    ``ST_Area(geography)``.  ``territory measure`` reports this.
`area_km2`
    The accounting area: the exact area on the WGS84 ellipsoid enclosed by
    the polygon whose edges are straight in lon/lat, which is how GEOS cuts
    and joins them.  It is additive under every overlay GEOS performs (a
    geodesic area is not: splitting a long edge at a point of the straight
    lon/lat segment moves the geodesic), so the books of a swap balance to
    1e-9.  On DeepState's polygons the two differ by ~5e-6 relative.

`measure_km2` is the accounting area with fewer quadrature nodes on short
edges (within 1e-13 of it, tested): for measures that need less than the
books' last bits, such as dating a daily file by its area.

Lengths (perimeters, contact lines) are geodesic.

pyproj is imported when `GEOD` is first used, not with this module (the
accounting area needs none of it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from pyproj import Geod

    #: The WGS84 ellipsoid's geodesics (`pyproj.Geod`), made when first used.
    GEOD: Geod


@cache
def _geod() -> Geod:
    from pyproj import Geod

    return Geod(ellps="WGS84")


def __getattr__(name: str) -> object:
    if name == "GEOD":
        return _geod()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


#: WGS84 semi-major axis (m) and eccentricity.
_A_M = 6_378_137.0
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
_E = float(np.sqrt(_E2))
#: 4-point Gauss-Legendre nodes and weights on [0, 1].
_GL_X, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_T, _GL_W = (_GL_X + 1) / 2, _GL_W / 2
#: 2-point ones, for `measure_km2` on the edges spanning under
#: `_SHORT_EDGE_DEG` of latitude.
_GL2_X, _GL2_W = np.polynomial.legendre.leggauss(2)
_GL2_T, _GL2_W = (_GL2_X + 1) / 2, _GL2_W / 2
_SHORT_EDGE_DEG = 0.1

M2_PER_KM2 = 1_000_000.0
M_PER_KM = 1_000.0


def m2_to_km2(area_m2: float) -> float:
    """Convert square metres to square kilometres."""
    return area_m2 / M2_PER_KM2


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep the polygonal part of `geom` (a collection may carry lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon") or geom.is_empty:
        return geom
    parts = [
        p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def difference_by_parts(geom: BaseGeometry, cut: BaseGeometry) -> BaseGeometry:
    """Return the polygonal part of `geom` less `cut`, overlaying only the parts `cut` meets.

    The same land as ``polygonal(shapely.difference(geom, cut))``.  The
    cost of an overlay grows with every vertex of its inputs: a side's land
    less a few pockets far from its main land (a swap's small moves) cost
    3.5 ms a map for the main land's 9,000 vertices, which no pocket
    touches.  The parts of a (multi)polygon `cut` does not meet are kept as
    they are, vertex for vertex; the others are cut (a part that only
    touches `cut` too, so the parts stay disjoint).

    >>> g = shapely.MultiPolygon(
    ...     [shapely.box(30, 48, 31, 49), shapely.box(32, 48, 33, 49)]
    ... )
    >>> difference_by_parts(g, shapely.box(32.5, 47, 34, 50)).area
    1.5
    """
    if cut.is_empty:
        return geom
    parts = shapely.get_parts(geom)
    if len(parts) < 2:
        return polygonal(shapely.difference(geom, cut))
    shapely.prepare(cut)
    meet = shapely.intersects(cut, parts)
    if meet.all():
        return polygonal(shapely.difference(geom, cut))
    if not meet.any():
        return geom
    touched = parts[meet]
    less = polygonal(
        shapely.difference(
            touched[0] if len(touched) == 1 else shapely.MultiPolygon(list(touched)),
            cut,
        )
    )
    kept = [*parts[~meet], *shapely.get_parts(less)]
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


def coverage_union(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    """Return the union of polygons that may form a coverage (a country's regions).

    Polygons that meet only along shared edges, vertex for vertex (a valid
    coverage, as administrative boundaries are), are joined by dropping the
    edges they share (`shapely.coverage_union_all`): the same polygon as
    `shapely.union_all` (its rings may start elsewhere) in a seventh of the
    time, the check (`shapely.coverage_is_valid`) costing two sevenths more
    (0.19 s against 0.42 for Ukraine's oblasts).  Others, by
    `shapely.union_all`.

    >>> coverage_union([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]).area
    2.0
    """
    parts = np.asarray(list(geoms), dtype=object)
    if len(parts) and shapely.coverage_is_valid(parts):
        return shapely.coverage_union_all(parts)
    return shapely.union_all(parts)


def polygonal_in_box(
    geom: BaseGeometry, box: tuple[float, float, float, float]
) -> BaseGeometry:
    """Return the polygonal part of `geom` inside `box` (minx, miny, maxx, maxy).

    Cut by GEOS's rectangle cut, which costs about a third of an overlay with
    the box on a large geometry and gives the same land, but may return
    rings that touch themselves along the rectangle, or refuse a valid
    needle of no width (a ring it cuts to three points): a cut that is not
    valid, or not made, is made again as an overlay.

    >>> from shapely import Polygon
    >>> c = Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (3, 2), (3, 3), (0, 3)])
    >>> polygonal_in_box(c, (1, 0.5, 3, 2.5)).area  # (the overlay adds a line)
    2.0
    """
    try:
        cut = polygonal(shapely.clip_by_rect(geom, *box))
    except shapely.errors.GEOSException:
        cut = None
    if cut is not None and shapely.is_valid(cut):
        return cut
    return polygonal(shapely.intersection(geom, shapely.box(*box)))


def overlay_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Keep the polygonal part of the result of one overlay (`polygonal`, faster).

    An overlay's polygons never overlap nor share an edge (GEOS builds the
    largest polygons its result has), so those of a collection it returns
    (polygons with the lines and points where its inputs only touch) are
    gathered into one MultiPolygon as they are: the same polygons, the same
    vertices, where `polygonal` unions them again (milliseconds for a
    region's cut of a side's land, fifty parts and more).  For anything
    else (a collection built by hand), `polygonal`.

    >>> from shapely import GeometryCollection, LineString, box
    >>> overlay_polygonal(
    ...     GeometryCollection(
    ...         [box(0, 0, 1, 1), LineString([(2, 0), (3, 0)]), box(2, 2, 3, 3)]
    ...     )
    ... ).wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)), ((3 2, 3 3, 2 3, 2 2, 3 2)))'
    """
    if geom.geom_type in ("Polygon", "MultiPolygon") or geom.is_empty:
        return geom
    parts = list(shapely.get_parts(geom))
    if any(p.geom_type in ("MultiPolygon", "GeometryCollection") for p in parts):
        return polygonal(geom)  # (not the flat collection an overlay returns)
    polygons = [p for p in parts if p.geom_type == "Polygon"]
    if len(polygons) <= 1:
        return polygons[0] if polygons else shapely.Polygon()
    return shapely.MultiPolygon(polygons)


def linear(geom: BaseGeometry) -> BaseGeometry:
    """Keep the line parts of `geom`, merged (points where lines only touch dropped).

    >>> from shapely import GeometryCollection, LineString, Point
    >>> linear(
    ...     GeometryCollection(
    ...         [
    ...             LineString([(0, 0), (1, 0)]),
    ...             Point(2, 2),
    ...             LineString([(1, 0), (2, 0)]),
    ...         ]
    ...     )
    ... ).wkt
    'LINESTRING (0 0, 1 0, 2 0)'
    """
    parts = [
        p
        for p in shapely.get_parts(geom)
        if p.geom_type == "LineString" and not p.is_empty
    ]
    if not parts:
        return shapely.LineString()
    return shapely.line_merge(shapely.MultiLineString(parts))


def geodesic_area_perimeter_m(geom: BaseGeometry | None) -> tuple[float, float]:
    """Return the geodesic area (m²) and perimeter (m) of a lon/lat geometry.

    Polygons are oriented first, so the area is positive whatever the ring
    order of the source; holes are subtracted.  Non-polygonal parts count zero.

    Examples
    --------
    >>> from shapely import box
    >>> round(
    ...     geodesic_area_perimeter_m(box(0, 0, 1, 1))[0], 2
    ... )  # GeographicLib reference
    12308778361.47
    >>> geodesic_area_perimeter_m(shapely.Polygon())
    (0.0, 0.0)
    """
    if geom is None or geom.is_empty:
        return 0.0, 0.0
    poly = polygonal(geom)
    if poly.is_empty:
        return 0.0, 0.0
    poly = shapely.orient_polygons(poly, exterior_cw=False)
    area_m2, perimeter_m = _geod().geometry_area_perimeter(poly)
    return abs(area_m2), perimeter_m


def _q(phi_rad: np.ndarray) -> np.ndarray:
    """Authalic function q(φ) of the ellipsoid; a²/2·q(φ) is the area primitive."""
    sin = np.sin(phi_rad)
    return (1 - _E2) * (
        sin / (1 - _E2 * sin * sin) - np.log((1 - _E * sin) / (1 + _E * sin)) / (2 * _E)
    )


def _edge_spans(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return each edge's Δλ, start φ and Δφ (radians) of a lon/lat coordinate sequence."""
    lam = np.radians(coords[:, 0])
    phi = np.radians(coords[:, 1])
    return np.diff(lam), phi[:-1], np.diff(phi)


def _edge_terms(coords: np.ndarray) -> np.ndarray:
    """Return q(φ)·Δλ of each edge of a lon/lat coordinate sequence, (n − 1,).

    Green's theorem on the ellipsoid: the area a ring encloses is −a²/2 ∮ q(φ)
    dλ, integrated exactly along straight lon/lat edges by 4-point
    Gauss-Legendre quadrature (q is smooth, so the quadrature error is far
    below 1e-12 relative).  Each term depends on its edge's two ends alone.
    The nodes are taken one at a time over all the edges, their weighted
    values added in node order: the terms of ``(q(nodes) * w).sum(axis=1)``
    on an (edges × nodes) array to the last bit (numpy adds such rows node
    by node; tested), at four fifths of its cost.
    """
    dlam, start, dphi = _edge_spans(coords)
    mean_q = _q(start + dphi * _GL_T[0]) * _GL_W[0]
    for t, w in zip(_GL_T[1:], _GL_W[1:], strict=True):
        mean_q += _q(start + dphi * t) * w
    return mean_q * dlam


def area_m2(geom: BaseGeometry | None) -> float:
    """Return the ellipsoidal area (m²) of a lon/lat geometry with straight lon/lat edges.

    Every polygon is oriented (exterior counter-clockwise, holes clockwise)
    and each ring's signed area (−a²/2 times the sum of its `_edge_terms`,
    positive counter-clockwise) added up, in ring order.
    The edges of all the rings are computed in one pass: a geometry of many
    small parts costs about as much as one of as many vertices.
    """
    return _area_m2(geom, _edge_terms)


def _area_m2(
    geom: BaseGeometry | None, edge_terms: Callable[[np.ndarray], np.ndarray]
) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    poly = shapely.orient_polygons(polygonal(geom), exterior_cw=False)
    rings = shapely.get_rings(shapely.get_parts(poly))  # each exterior, its holes
    if not len(rings):
        return 0.0
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    terms = edge_terms(coords)
    # the edges within a ring (not from one ring's end to the next's start)
    starts = np.searchsorted(ring, np.arange(len(rings) + 1))
    total = 0.0
    # (np.add.reduce is what np.sum calls, the same pairwise sum, without
    # its dispatch: ~5 µs a ring)
    for a, b in zip(starts[:-1].tolist(), (starts[1:] - 1).tolist(), strict=True):
        total += float(-_A_M * _A_M / 2 * np.add.reduce(terms[a:b]))
    return abs(total)


def area_km2(geom: BaseGeometry | None) -> float:
    """Return the accounting area of a lon/lat geometry in km² (see the module notes).

    Examples
    --------
    >>> from shapely import box, segmentize
    >>> round(area_km2(box(37, 48, 38, 49)), 2)  # edges along parallels: exact
    8217.73
    >>> round(area_km2(segmentize(box(37, 48, 38, 49), 0.01)), 2)
    8217.73
    >>> area_km2(shapely.Polygon())
    0.0
    """
    return m2_to_km2(area_m2(geom))


def _short_edge_terms(coords: np.ndarray) -> np.ndarray:
    """`_edge_terms` with 2 nodes on the edges spanning under `_SHORT_EDGE_DEG` of latitude.

    The quadrature error of 2 nodes on an edge spanning Δφ radians is
    Δλ·Δφ⁴·q⁗(ξ)/4320, with |q⁗| < 2.1: under 5e-15·|Δλ| on such an edge,
    times a²/2 under a tenth of a square metre on Ukraine's whole outline.
    The others take the 4 (q evaluated at every node in one call: on a few
    edges, a call each would cost more than all the short ones).
    """
    dlam, start, dphi = _edge_spans(coords)
    (long,) = np.nonzero(np.abs(dphi) >= np.radians(_SHORT_EDGE_DEG))
    n, k = len(dphi), len(long)
    nodes = [start + dphi * t for t in _GL2_T]
    nodes += [start[long] + dphi[long] * t for t in _GL_T]
    q = _q(np.concatenate(nodes))
    mean_q = q[:n] * _GL2_W[0] + q[n : 2 * n] * _GL2_W[1]
    if k:
        mean_q[long] = _GL_W @ q[2 * n :].reshape(len(_GL_T), k)
    return mean_q * dlam


def measure_km2(geom: BaseGeometry | None) -> float:
    """Return `area_km2` of a lon/lat geometry to 1e-13 (or 1e-9 km²), at two thirds of its cost.

    The same integral, with 2 Gauss-Legendre nodes on the edges spanning
    under 0.1° of latitude (`_short_edge_terms`), not 4.  For measures that
    need far less than the accounting's last bits (a daily file's area,
    matched to DeepState's history to 2e-5), never for the books, whose
    areas must add up across overlays to the bit.

    >>> from shapely import Polygon, segmentize
    >>> tilted = Polygon([(30, 44), (36, 50), (30, 50)])
    >>> abs(measure_km2(tilted) / area_km2(tilted) - 1) < 1e-13
    True
    >>> tilted = segmentize(tilted, 0.05)
    >>> abs(measure_km2(tilted) / area_km2(tilted) - 1) < 1e-13
    True
    """
    return m2_to_km2(_area_m2(geom, _short_edge_terms))


def areas_km2(geoms: Iterable[BaseGeometry | None]) -> list[float]:
    """Return the accounting area (`area_km2`) in km² of each geometry."""
    return [area_km2(g) for g in geoms]


def largest(geoms: list[BaseGeometry]) -> int:
    """Return the index of the geometry of largest `area_km2` (the first of equals).

    Only the geometries that could be the largest are measured: on the
    ellipsoid, an area is its plane area in square degrees times a factor
    that grows towards the equator, by at most cos φ₁ / cos φ₂ (times
    (1 − e²)⁻², under 1.014) between the latitudes φ₂ > φ₁ the geometries
    span; a geometry whose plane area is below the largest plane area over
    that ratio (and a margin) cannot be the largest.  Among hundreds of
    crumbs and one main piece, one is measured.

    Examples
    --------
    >>> largest([shapely.box(37, 48, 37.1, 48.1), shapely.box(30, 50, 32, 51)])
    1
    """
    plane = shapely.area(np.asarray(geoms, dtype=object))
    _, miny, _, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    near_pole = max(abs(miny), abs(maxy))
    candidates = list(range(len(geoms)))
    if near_pole < 89.0 and len(geoms) > 1:
        near_equator = 0.0 if miny <= 0.0 <= maxy else min(abs(miny), abs(maxy))
        ratio = (
            np.cos(np.radians(near_equator))
            / np.cos(np.radians(near_pole))
            / (1 - _E2) ** 2
            * 1.01
        )
        floor = plane.max() / ratio
        candidates = [i for i in candidates if plane[i] >= floor]
    sizes = {i: area_km2(geoms[i]) for i in candidates}
    return max(candidates, key=sizes.__getitem__)


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
    return _geod().geometry_length(geom) / M_PER_KM
