import math

import numpy as np
import pytest
import shapely
import shapely.affinity

from territory.geodesy import (
    area_km2,
    difference_by_parts,
    geodesic_area_perimeter_m,
    largest,
    length_km,
    polygonal,
    polygonal_in_box,
)
from tests.shapes import cell, cell_area_km2


def test_unit_square_matches_geographiclib_reference():
    # GeographicLib's published value for the lon/lat unit square at the equator
    # (geodesic edges between the four corners): 12,308,778,361.47 m².
    area_m2, _ = geodesic_area_perimeter_m(shapely.box(0, 0, 1, 1))
    assert area_m2 == pytest.approx(12_308_778_361.47, abs=0.01)


def test_densified_cell_matches_closed_form():
    # With edges densified, geodesic edges hug the parallels: the area is the
    # closed-form ellipsoidal cell area (independent formula in tests/shapes.py).
    expected = cell_area_km2(37, 48, 38, 49)
    assert round(expected, 2) == 8217.73
    assert area_km2(cell(37, 48, 38, 49)) == pytest.approx(expected, rel=1e-6)


def test_orientation_and_holes():
    outer = cell(0, 0, 1, 1)
    hole = cell(0.25, 0.25, 0.75, 0.75)
    donut = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    clockwise = shapely.orient_polygons(donut, exterior_cw=True)
    expected = cell_area_km2(0, 0, 1, 1) - cell_area_km2(0.25, 0.25, 0.75, 0.75)
    assert area_km2(donut) == pytest.approx(expected, rel=1e-6)
    assert area_km2(clockwise) == pytest.approx(expected, rel=1e-6)


def test_multipolygon_and_collection_count_only_polygons():
    a, b = cell(0, 0, 1, 1), cell(2, 0, 3, 1)
    multi = shapely.MultiPolygon([a, b])
    coll = shapely.GeometryCollection(
        [a, shapely.LineString([(5, 5), (6, 6)]), shapely.Point(9, 9)]
    )
    assert area_km2(multi) == pytest.approx(2 * cell_area_km2(0, 0, 1, 1), rel=1e-6)
    assert area_km2(coll) == pytest.approx(cell_area_km2(0, 0, 1, 1), rel=1e-6)


@pytest.mark.parametrize(
    "geom",
    [None, shapely.Polygon(), shapely.Point(1, 1)],
    ids=["none", "empty", "point"],
)
def test_degenerate_inputs_measure_zero(geom):
    assert area_km2(geom) == 0.0


def test_length_of_equator_degree_and_meridian_quadrant():
    # One degree of the equator: a·π/180 = 111.319 km exactly on WGS84.
    assert length_km(shapely.LineString([(0, 0), (1, 0)])) == pytest.approx(
        6378.137 * math.pi / 180, rel=1e-12
    )
    # Equator to pole along a meridian: 10,001.966 km on WGS84.
    assert length_km(shapely.LineString([(0, 0), (0, 90)])) == pytest.approx(
        10_001.965729, rel=1e-9
    )


def test_perimeter_of_equatorial_unit_square():
    # Two meridian edges (1° of latitude from the equator: 110.574 km each) and
    # two geodesic edges along lat 0 and lat 1 (≈111.319 and ≈111.302 km).
    _, perimeter_m = geodesic_area_perimeter_m(shapely.box(0, 0, 1, 1))
    assert perimeter_m / 1e3 == pytest.approx(110.574 * 2 + 111.319 + 111.302, abs=0.01)


def test_accounting_area_agrees_with_karney_on_densified_shapes():
    # The accounting area (straight lon/lat edges) and Karney's geodesic area
    # must agree to 1e-6 relative once edges are short (densified to ~100 m).
    irregular = shapely.Polygon(
        [(30.1, 46.2), (34.9, 46.9), (37.7, 49.8), (33.2, 51.4), (29.5, 49.9)]
    )
    dense = shapely.segmentize(irregular, 0.001)
    geodesic_km2 = geodesic_area_perimeter_m(dense)[0] / 1e6
    assert area_km2(dense) == pytest.approx(geodesic_km2, rel=1e-6)


def test_accounting_area_is_additive_under_splits():
    # Cutting a polygon with long edges along a line: the parts add up to the
    # whole to float precision (a geodesic area would not: the cut moves the
    # long geodesic edges).
    poly = shapely.Polygon([(30, 45), (40, 46), (39, 52), (31, 51)])
    left = poly.intersection(shapely.box(0, 0, 35.123, 90))
    right = poly.difference(shapely.box(0, 0, 35.123, 90))
    assert area_km2(left) + area_km2(right) == pytest.approx(area_km2(poly), rel=1e-12)
    geo = [geodesic_area_perimeter_m(g)[0] for g in (left, right, poly)]
    assert (
        abs(geo[0] + geo[1] - geo[2]) / geo[2] > 1e-9
    )  # why the accounting does not use it


def test_many_parts_with_holes_are_measured_ring_by_ring():
    # The rings of all the parts are measured in one pass: each part, its
    # holes subtracted, counts once, whatever the vertex counts (a part of
    # 4 vertices between larger ones), and the sum equals the parts' own
    # areas, each measured alone, to float error.
    donut = shapely.Polygon(
        cell(0, 0, 1, 1).exterior.coords,
        [
            cell(0.2, 0.2, 0.4, 0.4).exterior.coords,
            cell(0.6, 0.6, 0.8, 0.8).exterior.coords,
        ],
    )
    parts = [
        donut,
        shapely.box(2, 0, 2.5, 0.5),
        cell(3, 0, 4, 1),
        shapely.box(5, 5, 5.1, 5.1),
    ]
    multi = shapely.MultiPolygon(parts)
    expected = (
        cell_area_km2(0, 0, 1, 1)
        - cell_area_km2(0.2, 0.2, 0.4, 0.4)
        - cell_area_km2(0.6, 0.6, 0.8, 0.8)
        + cell_area_km2(2, 0, 2.5, 0.5)
        + cell_area_km2(3, 0, 4, 1)
        + cell_area_km2(5, 5, 5.1, 5.1)
    )
    assert area_km2(multi) == pytest.approx(expected, rel=1e-9)
    alone = 0.0
    for p in parts:
        alone += area_km2(p)
    assert area_km2(multi) == pytest.approx(alone, rel=1e-12)


def test_edge_terms_are_those_of_the_quadrature_as_one_array():
    # `_edge_terms` takes the Gauss-Legendre nodes one at a time; its terms
    # are those of the (edges × nodes) array summed by row, to the last bit
    # (the accounting areas, and the areas kept in the derived cache, do not
    # move by a bit), on edges of every length and direction and any count.
    import numpy as np

    from territory.geodesy import _GL_T, _GL_W, _edge_terms, _q

    rng = np.random.default_rng(11)
    for n in [*range(2, 12), 100, 4097]:
        scale = 10.0 ** rng.integers(-6, 2, n)[:, None]
        steps = rng.standard_normal((n, 2)) * scale
        coords = np.cumsum(steps, axis=0) + np.array([37.0, 48.0])
        phi = np.radians(coords[:, 1])
        nodes = phi[:-1, None] + np.diff(phi)[:, None] * _GL_T[None, :]
        expected = (_q(nodes) * _GL_W[None, :]).sum(axis=1) * np.diff(
            np.radians(coords[:, 0])
        )
        assert np.array_equal(_edge_terms(coords), expected), n


def test_measure_is_the_accounting_area_to_1e_13_whatever_the_edges_span():
    # `measure_km2` takes 2 nodes on the edges spanning under 0.1° of
    # latitude, 4 on the others: within 1e-13 of `area_km2` (or 1e-9 km², a
    # thousandth of a m², on small shapes, whose area is the small
    # difference of large edge terms, rounded either way) on tilted shapes
    # at Ukraine's latitudes with edges of every span, long ones and short
    # ones mixed.  Negative control: 2 nodes on every edge are 1e-6
    # off on a 10° edge, so the long edges' 4 nodes are what holds it.
    import numpy as np

    from territory import geodesy
    from territory.geodesy import area_km2, measure_km2

    rng = np.random.default_rng(5)
    shapes = [
        shapely.Polygon([(30, 44), (30 + d, 44 + d), (30, 44 + d)])
        for d in (0.02, 0.09, 0.1, 0.5, 2.0, 6.5, 10.0)
    ]
    shapes += [shapely.segmentize(shapes[-1], 0.05), shapely.segmentize(shapes[-1], 3)]
    for _ in range(5):  # random walks around a centre, some steps long
        angles = np.sort(rng.uniform(0, 2 * np.pi, 60))
        radius = rng.uniform(0.01, 4.0, 60)
        ring = np.column_stack(
            [36 + radius * np.cos(angles), 48 + radius * np.sin(angles)]
        )
        shapes.append(shapely.make_valid(shapely.Polygon(ring)))
    for geom in shapes:
        assert measure_km2(geom) == pytest.approx(area_km2(geom), rel=1e-13, abs=1e-9)
    assert measure_km2(shapely.Polygon()) == 0.0
    tilted = shapes[6]  # one edge spanning 10° of latitude
    coords = shapely.get_coordinates(tilted)
    phi = np.radians(coords[:, 1])
    nodes = phi[:-1, None] + np.diff(phi)[:, None] * geodesy._GL2_T[None, :]
    terms = (geodesy._q(nodes) * geodesy._GL2_W).sum(axis=1)
    terms *= np.diff(np.radians(coords[:, 0]))
    short_only = abs(terms.sum() * geodesy._A_M**2 / 2 / 1e6)
    assert abs(short_only / area_km2(tilted) - 1) > 1e-6


def test_the_accounting_and_the_dating_import_no_pyproj():
    # pyproj (a tenth of a second) is imported when a CRS or a geodesic is
    # first needed: a new cache's dating starts without it; GEOD still is
    # the module's.
    import subprocess
    import sys

    code = (
        "import sys, shapely\n"
        "import territory.record\n"
        "from territory.geodesy import area_km2, measure_km2\n"
        "area_km2(shapely.box(37, 48, 38, 49)); measure_km2(shapely.box(37, 48, 38, 49))\n"
        "print('pyproj' in sys.modules)\n"
        "from territory.geodesy import GEOD, length_km\n"
        "print('pyproj' in sys.modules, type(GEOD).__name__,"
        " round(length_km(shapely.LineString([(0, 0), (1, 0)])), 3))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["False", "True Geod 111.319"]


def test_overlay_polygonal_gathers_an_overlays_polygons_as_polygonal_unions_them():
    # An intersection whose inputs also touch along an edge and at a point
    # returns polygons with a line and a point (Donetsk's cut of a side's
    # land has fifty such parts); its polygons never overlap nor share an
    # edge, so gathering them gives what a union gives: the same land, a
    # valid MultiPolygon, the same vertices.
    from territory.geodesy import overlay_polygonal, polygonal

    a = shapely.box(36.0, 47.0, 38.0, 49.0)
    b = shapely.union_all(
        [
            shapely.box(37.0, 48.0, 39.0, 50.0),  # overlaps a
            shapely.box(35.0, 47.5, 36.0, 48.0),  # shares an edge with a
            shapely.box(38.0, 46.0, 39.0, 47.0),  # meets a at a corner
            shapely.Point(36.5, 47.5).buffer(0.3),  # inside a
        ]
    )
    cut = shapely.intersection(a, b)
    assert cut.geom_type == "GeometryCollection"
    gathered, unioned = overlay_polygonal(cut), polygonal(cut)
    assert gathered.geom_type == "MultiPolygon"
    assert gathered.is_valid
    assert shapely.equals(gathered, unioned)
    assert area_km2(gathered) == pytest.approx(area_km2(unioned), rel=1e-12)
    vertices = {tuple(c) for c in shapely.get_coordinates(gathered)}
    assert vertices == {tuple(c) for c in shapely.get_coordinates(unioned)}
    # what is not one overlay's flat collection goes to `polygonal`
    two = shapely.MultiPolygon([a, shapely.box(39.0, 47.0, 40.0, 48.0)])
    nested = shapely.GeometryCollection([two, a.boundary])
    assert shapely.equals(overlay_polygonal(nested), polygonal(nested))
    assert overlay_polygonal(a.boundary).is_empty


def test_largest_is_the_first_of_the_largest_areas_not_of_the_plane_areas():
    # Ukraine's latitudes: a box at 44.5°N larger on the ellipsoid than one
    # at 52°N that is larger in square degrees (cos 44.5 / cos 52 ≈ 1.16)
    north = shapely.box(30.0, 52.0, 31.1, 53.0)
    south = shapely.box(33.0, 44.5, 34.0, 45.5)
    assert shapely.area(north) > shapely.area(south)
    assert area_km2(south) > area_km2(north)
    crumbs = [
        shapely.box(36.0 + i / 100, 47.0, 36.005 + i / 100, 47.005) for i in range(50)
    ]
    parts = [*crumbs[:20], north, *crumbs[20:], south]
    assert largest(parts) == len(parts) - 1
    sizes = [area_km2(p) for p in parts]
    assert largest(parts) == max(range(len(parts)), key=sizes.__getitem__)
    # equal areas: the first, as max() over the indices gives it
    twin = shapely.affinity.translate(south, 0.5, 0.0)
    assert largest([north, south, twin]) == 1
    assert largest([crumbs[0]]) == 0


def test_largest_agrees_with_measuring_every_part_on_random_parts():
    rng = np.random.default_rng(7)
    for _ in range(30):
        parts = []
        for _ in range(int(rng.integers(2, 40))):
            x, y = rng.uniform(22.0, 40.0), rng.uniform(44.0, 52.0)
            w, h = rng.uniform(0.01, 1.0, size=2)
            parts.append(shapely.box(x, y, x + w, y + h))
        sizes = [area_km2(p) for p in parts]
        assert largest(parts) == max(range(len(parts)), key=sizes.__getitem__)


def test_a_geometry_in_a_box_is_cut_by_the_rectangle_or_made_again(monkeypatch):
    from territory import geodesy

    # Ukraine's latitudes: a C-shaped layer and one with a hole, cut by boxes
    # along their edges (where the overlay also returns lines)
    c = shapely.Polygon(
        [
            (36, 48),
            (36.3, 48),
            (36.3, 48.1),
            (36.1, 48.1),
            (36.1, 48.2),
            (36.3, 48.2),
            (36.3, 48.3),
            (36, 48.3),
        ]
    )
    holed = shapely.Polygon(
        [(36, 48), (36.4, 48), (36.4, 48.4), (36, 48.4)],
        [[(36.1, 48.1), (36.2, 48.1), (36.2, 48.2), (36.1, 48.2)]],
    )
    boxes = [
        (36.1, 48.05, 36.3, 48.25),
        (36.05, 48.1, 36.25, 48.3),
        (36.2, 47.9, 36.5, 48.5),
    ]
    for geom in (c, holed):
        for box in boxes:
            want = polygonal(shapely.intersection(geom, shapely.box(*box)))
            got = polygonal_in_box(geom, box)
            assert got.equals(want)
            assert shapely.is_valid(got)
    # a valid needle of no width (an overlay's leftover, met on the record's
    # last map) that GEOS's rectangle cut refuses is cut as an overlay
    needle = shapely.Polygon(
        [
            (34.269679, 47.439549),
            (34.24483012591401, 47.429860445527915),
            (34.199289, 47.412104),
        ]
    )
    assert shapely.is_valid(needle)
    tile = (34.26830988618379, 47.26830988618379, 35.36830988618379, 48.36830988618379)
    with pytest.raises(shapely.errors.GEOSException):  # (what the fallback is for)
        shapely.clip_by_rect(needle, *tile)
    got = polygonal_in_box(needle, tile)
    assert got.equals(polygonal(shapely.intersection(needle, shapely.box(*tile))))
    # a cut that is not valid (a bow tie) is made again as an overlay
    bow = shapely.Polygon([(36, 48), (36.1, 48.1), (36.1, 48), (36, 48.1)])
    monkeypatch.setattr(geodesy.shapely, "clip_by_rect", lambda *a: bow)
    got = polygonal_in_box(holed, boxes[0])
    assert got.equals(polygonal(shapely.intersection(holed, shapely.box(*boxes[0]))))


def test_difference_by_parts_is_the_difference_and_leaves_the_parts_it_misses():
    # Ukraine's latitudes: a main land with a hole and pockets, less cuts that
    # miss, touch, cross or swallow parts, or meet them all
    rng = np.random.default_rng(11)
    main = shapely.Polygon(
        [(36, 47), (38, 47), (38, 49), (36, 49)],
        [[(36.5, 47.5), (37, 47.5), (37, 48), (36.5, 48)]],
    )
    pockets = [shapely.box(34 + 0.3 * k, 50, 34.2 + 0.3 * k, 50.2) for k in range(4)]
    geom = shapely.MultiPolygon([main, *pockets])
    cuts = [
        shapely.box(34.05, 49.9, 34.1, 50.3),  # through one pocket
        shapely.box(34.2, 50, 34.3, 50.2),  # touching two along their edges
        shapely.box(33.9, 49.9, 34.55, 50.3),  # one pocket whole, half another
        shapely.box(36.9, 47.9, 37.1, 48.1),  # the main land about its hole
        shapely.box(30, 45, 31, 46),  # nothing
        shapely.box(33, 46, 39, 51),  # everything
    ]
    for _ in range(20):
        x, y = rng.uniform(33.5, 38.5), rng.uniform(46.5, 50.5)
        cuts.append(shapely.box(x, y, x + rng.uniform(0.01, 1.5), y + 0.3))
    parts = list(shapely.get_parts(geom))
    for cut in cuts:
        want = polygonal(shapely.difference(geom, cut))
        got = difference_by_parts(geom, cut)
        assert shapely.is_valid(got)
        assert got.equals(want) or (got.is_empty and want.is_empty)
        assert area_km2(got) == pytest.approx(area_km2(want), rel=1e-12, abs=1e-9)
        # the parts the cut does not meet are kept as they were, vertex for
        # vertex, unless it meets them all (then one overlay of the whole)
        missed = [p for p in parts if not shapely.intersects(p, cut)]
        if len(missed) < len(parts):
            kept = shapely.get_parts(got)
            for p in missed:
                assert shapely.equals_exact(kept, p, 0).any()
    # a polygon of one part, or an empty cut: the plain difference, or the same
    assert difference_by_parts(main, cuts[3]).equals(shapely.difference(main, cuts[3]))
    assert difference_by_parts(geom, shapely.Polygon()) is geom
