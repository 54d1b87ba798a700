"""True-distance line buffers (`buffers.buffer_line_m`): the accuracy contract, proved.

Every check measures distances independently of the construction: the line is
densified in lon/lat (55 m steps, so chords depart from it by < 1 mm) and
projected into an azimuthal equidistant plane centred on the sample point
itself, where distances from the centre are exact (checked against
pyproj.Geod below); the planar distance from the origin to the projected line
is then the true geodesic distance from the point to the line.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from territory.buffers import (
    BUFFER_MAX_M,
    BUFFER_MIN_M,
    _planar_buffer,
    buffer_line_m,
    buffer_tolerance_m,
)

GEOD = Geod(ellps="WGS84")
DENSIFY_DEG = 0.0005


def _around(lon: float, lat: float) -> Transformer:
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84"
    )


class TrueDistance:
    """Geodesic distance (m) from points to a lon/lat line, by projection around each point."""

    def __init__(self, line):
        dense = shapely.segmentize(line, DENSIFY_DEG)
        self.pieces = []
        for part in shapely.get_parts(dense):
            if part.geom_type == "Point":
                self.pieces.append(part)
                continue
            c = shapely.get_coordinates(part)
            for i in range(0, max(1, len(c) - 1), 50):
                self.pieces.append(shapely.LineString(c[i : i + 51]))
        self.tree = shapely.STRtree(self.pieces)

    def __call__(self, points: np.ndarray, reach_m: float) -> np.ndarray:
        out = []
        for lon, lat in points:
            dlat = reach_m / 110_574.0
            far = min(89.0, abs(lat) + dlat)
            dlon = np.degrees(reach_m / (6_378_137.0 * np.cos(np.radians(far))))
            near = self.tree.query(
                shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
            )
            if len(near) == 0:
                out.append(np.inf)
                continue
            tr = _around(float(lon), float(lat))

            def fn(c, tr=tr):
                x, y = tr.transform(c[:, 0], c[:, 1])
                return np.column_stack([x, y])

            sub = shapely.transform(
                shapely.GeometryCollection([self.pieces[i] for i in near]), fn
            )
            out.append(shapely.distance(sub, shapely.Point(0, 0)))
        return np.array(out)


def _outline_samples(buf, n: int, seed: int = 1) -> np.ndarray:
    """Vertices and edge midpoints of every ring (holes too), at random."""
    rng = np.random.default_rng(seed)
    rings = []
    for p in shapely.get_parts(buf):
        rings.append(p.exterior)
        rings.extend(p.interiors)
    a = np.concatenate([shapely.get_coordinates(r)[:-1] for r in rings])
    b = np.concatenate([shapely.get_coordinates(r)[1:] for r in rings])
    i = rng.choice(len(a), min(n, len(a)), replace=False)
    j = rng.choice(len(a), min(n, len(a)), replace=False)
    return np.concatenate([a[i], (a[j] + b[j]) / 2])


def _assert_contract(line, width_m: float, n: int = 200):
    buf = buffer_line_m(line, width_m)
    tol = buffer_tolerance_m(width_m)
    true = TrueDistance(line)
    d = true(_outline_samples(buf, n), width_m + 5_000.0)
    err = d - width_m
    assert np.abs(err).max() <= tol, (err.min(), err.max(), tol)
    # membership: random points near the band are inside exactly when nearer than the width
    rng = np.random.default_rng(2)
    minx, miny, maxx, maxy = buf.bounds
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
    dq = true(pts, 1.5 * width_m + 5_000.0)
    inside = shapely.contains_xy(buf, pts[:, 0], pts[:, 1])
    assert not np.any(inside & (dq > width_m + tol))
    assert not np.any(~inside & (dq < width_m - tol))
    return err


def test_reference_distance_is_geodesic():
    # the reference itself: distances from the centre of the projection are exact
    lon, lat = 35.0, 48.5
    tr = _around(lon, lat)
    az = np.arange(0, 360, 15.0)
    for dist_m in (15_000.0, 500_000.0, 1_600_000.0):
        lons, lats, _ = GEOD.fwd(
            np.full(az.size, lon), np.full(az.size, lat), az, np.full(az.size, dist_m)
        )
        x, y = tr.transform(lons, lats)
        assert np.abs(np.hypot(x, y) - dist_m).max() < 1e-6


@pytest.mark.parametrize(
    ("width_m", "tol_m"),
    [(1.0, 0.001001), (100.0, 0.1001), (15_000.0, 0.115), (1_000_000.0, 1.1)],
)
def test_tolerance_formula(width_m, tol_m):
    assert buffer_tolerance_m(width_m) == pytest.approx(tol_m, rel=1e-9)


@pytest.mark.parametrize(
    "width_m",
    [
        pytest.param(BUFFER_MIN_M * 0.999, id="just-below-minimum"),
        pytest.param(BUFFER_MAX_M * 1.001, id="just-above-maximum"),
        pytest.param(0.0, id="zero"),
        pytest.param(-5.0, id="negative"),
        pytest.param(float("nan"), id="nan"),
    ],
)
def test_width_out_of_range_is_refused(width_m):
    with pytest.raises(ValueError, match="buffer width"):
        buffer_line_m(shapely.LineString([(30, 50), (31, 50)]), width_m)


@pytest.mark.parametrize(
    "width_m",
    [
        pytest.param(BUFFER_MIN_M, id="minimum"),
        pytest.param(BUFFER_MAX_M, id="maximum"),
    ],
)
def test_width_at_the_limits_is_built(width_m):
    line = shapely.LineString([(30, 50), (30.01, 50.001)])
    assert _assert_contract(line, width_m, n=50) is not None


def test_polygon_input_is_refused():
    with pytest.raises(ValueError, match="lines and points"):
        buffer_line_m(shapely.box(0, 0, 1, 1), 10.0)


def test_empty_line_gives_empty_polygon():
    assert buffer_line_m(shapely.LineString(), 10.0).is_empty


def test_planar_buffer_is_the_union_of_segment_stadia():
    # random walks (self-crossing, U-turns), widths from 50 m to 50 km: the
    # outline lies between the sagitta and the width, and random points are
    # inside exactly when nearer than the width
    rng = np.random.default_rng(0)
    for _ in range(40):
        n = int(rng.integers(2, 300))
        xy = np.cumsum(rng.normal(0, rng.choice([10, 100, 1000]), (n, 2)), axis=0)
        w = float(rng.choice([50.0, 500.0, 5000.0, 50000.0]))
        buf = _planar_buffer(xy, w, quad_segs=64, caps=(True, True))
        assert buf.is_valid
        line = shapely.LineString(xy)
        sag = w * (1 - np.cos(np.pi / 256))
        d = shapely.distance(
            shapely.points(shapely.get_coordinates(buf.boundary)), line
        )
        assert d.min() >= w - sag - 1e-6
        assert d.max() <= w + 1e-6
        minx, miny, maxx, maxy = buf.bounds
        q = rng.uniform((minx - w, miny - w), (maxx + w, maxy + w), (1000, 2))
        dq = shapely.distance(shapely.points(q), line)
        inside = shapely.contains_xy(buf, q[:, 0], q[:, 1])
        assert not np.any(inside & (dq > w + 1e-6))
        assert not np.any(~inside & (dq < w - sag - 1e-6))


@pytest.mark.parametrize(
    ("coords", "width_m"),
    [
        pytest.param([(30.0, 50.0), (31.0, 50.0)], 10_000.0, id="parallel-10km"),
        pytest.param(
            [(30.0, 60.0), (33.0, 61.5), (30.5, 62.0)], 500_000.0, id="60N-500km"
        ),
        pytest.param([(0.0, 0.0), (0.0001, 0.0)], 1.0, id="11m-line-1m"),
        pytest.param([(24.0, 48.0)], 20_000.0, id="point"),
    ],
)
def test_synthetic_lines_meet_the_contract(coords, width_m):
    geom = shapely.Point(coords[0]) if len(coords) == 1 else shapely.LineString(coords)
    _assert_contract(geom, width_m, n=100)


@pytest.fixture(scope="module")
def ctx(record):
    from territory.selection import SelectionContext

    return SelectionContext(record.control("2025-08-15"))


@pytest.mark.data
def test_15km_zone_along_the_front(ctx):
    from territory.geodesy import length_km

    assert 1_200 < length_km(ctx.front) < 1_400
    err = _assert_contract(ctx.front, 15_000.0, n=300)
    assert np.abs(err).max() <= 0.115


@pytest.mark.data
def test_50km_strip_along_the_russian_border(ctx):
    err = _assert_contract(ctx.border_line(("RU",)), 50_000.0, n=300)
    assert np.abs(err).max() <= 0.15


@pytest.mark.data
@pytest.mark.parametrize("width_km", [300.0, 900.0])
def test_hundreds_of_km_along_the_front(ctx, width_km):
    _assert_contract(ctx.front, width_km * 1000.0, n=60)


@pytest.mark.data
def test_memory_is_bounded_for_the_whole_border(ctx):
    # the trial's case: the whole land border, which used to take 8-24 GB
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    band = buffer_line_m(ctx.border, 20_000.0)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert band.is_valid
    assert not band.is_empty
    assert grown_mib < 500
