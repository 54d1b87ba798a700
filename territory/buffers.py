"""True-distance bands along lines: the land within w km of the front or a border.

`buffer_line_m` builds the set of points whose geodesic (WGS84) distance from
a lon/lat line is at most a width, to a stated and tested accuracy
(`buffer_tolerance_m`, 0.115 m at 15 km), in time and memory that grow with
the line's vertices, not the width.  Distance rules and demilitarised zones
use it; small tolerances use `territory.crs.buffer_m`.
"""

from __future__ import annotations

import itertools

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from territory.errors import GeometryError
from territory.geodesy import GEOD

#: Accuracy contract of `buffer_line_m` (proved in tests/test_buffers.py): every
#: point of the outline lies at a true distance from the line within
#: ``buffer_tolerance_m(width)`` of the width.
BUFFER_ABS_TOL_M = 0.1
BUFFER_SMALL_REL_TOL = 1e-3
BUFFER_REL_TOL = 1e-6
#: Widest buffer `buffer_line_m` builds (m).  Its outline must stay clear of the
#: poles and the antimeridian in lon/lat; from Ukraine 2,000 km reach 70°N.
BUFFER_MAX_M = 2_000_000.0
#: Narrowest buffer it builds (m): the tolerance is then 1 mm, and the line is
#: densified every ~25 m; narrower bands would need ever denser lines.
BUFFER_MIN_M = 1.0
#: Mean radius of the Earth (m), for the error bounds only.
_R_M = 6_371_008.8
#: Shortest length of one degree of latitude (at the equator), m: a geodesic of
#: length d spans at most d / this degrees of latitude.
_M_PER_DEG_LAT_MIN = 110_574.0
#: Error budget, as shares of the tolerance (they add up to 1).
_SHARE_ARC, _SHARE_CENTRE, _SHARE_OUTLINE, _SHARE_SIMPLIFY, _SHARE_LINE = (
    0.35,
    0.3,
    0.2,
    0.1,
    0.05,
)
_MAX_CHUNK_M = 50_000.0
#: Inner buffers (see `_planar_buffer`): the line simplified by this share of the
#: width, arcs of at most this many segments per quarter circle; lines of at
#: most this many segments are unioned directly.
_INNER_SIMPLIFY_REL = 0.01
_COARSE_QUAD_SEGS = 16
_DIRECT_MAX_PIECES = 16


def buffer_tolerance_m(distance_m: float) -> float:
    """Return the accuracy (m) `buffer_line_m` guarantees for a buffer `distance_m` wide.

    ``min(0.1 m, 1e-3 · d) + 1e-6 · d``: 0.115 m at 15 km, 0.15 m at 50 km,
    1.1 m at 1,000 km; one part in a thousand for widths under 100 m.

    Examples
    --------
    >>> round(buffer_tolerance_m(15_000.0), 6)
    0.115
    """
    return min(BUFFER_ABS_TOL_M, BUFFER_SMALL_REL_TOL * distance_m) + (
        BUFFER_REL_TOL * distance_m
    )


def _aeqd(lon: float, lat: float) -> Transformer:
    """Lon/lat (degrees) to an azimuthal equidistant plane (m) centred on a point."""
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84"
    )


def _apply(tr: Transformer, geom: BaseGeometry, *, inverse: bool) -> BaseGeometry:
    direction = "INVERSE" if inverse else "FORWARD"

    def _fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1], direction=direction)
        return np.column_stack([x, y])

    return shapely.transform(geom, _fn)


def _arc_points(
    centre: np.ndarray,
    start_rad: np.ndarray,
    turn_rad: np.ndarray,
    w: float,
    quad_segs: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the inner vertices of circular arcs: points, arc, step, steps of the arc.

    Arc ``j`` has radius `w` around ``centre[j]``, starts at angle
    ``start_rad[j]`` and turns by ``turn_rad[j]`` (signed) in equal steps of at
    most a quarter circle / `quad_segs`; its vertices lie on the circle.  Its
    two ends are not returned: the caller has them exactly.
    """
    steps = np.maximum(1, np.ceil(np.abs(turn_rad) * 2 * quad_segs / np.pi)).astype(int)
    inner = steps - 1
    arc = np.repeat(np.arange(len(steps)), inner)
    k = np.arange(inner.sum()) - np.repeat(np.cumsum(inner) - inner, inner) + 1
    ang = start_rad[arc] + turn_rad[arc] * k / steps[arc]
    pts = centre[arc] + w * np.column_stack([np.cos(ang), np.sin(ang)])
    return pts, arc, k, steps


def _segment_pieces(
    xy: np.ndarray,
    w: float,
    *,
    quad_segs: int,
    caps: tuple[bool, bool],
    only: np.ndarray | None = None,
) -> np.ndarray:
    """Return one convex polygon per segment of a planar polyline (or those in `only`).

    Piece ``i`` is the convex hull of the rectangle within `w` of segment ``i``
    and of the circular sector at its end vertex on the convex side of the
    turn there (half discs at free ends).  Each piece lies inside the segment's
    own buffer (a convex stadium), and together they cover the polyline's
    buffer.  Consecutive pieces share their corners exactly.  `only` (a mask
    over the segments) skips the others.

    Each ring runs counter-clockwise: right side forward, the front (end cap
    or sector), left side backward, the back (start cap).
    """
    d = np.diff(xy, axis=0)
    n_seg = len(d)
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    n_angle = np.arctan2(normal[:, 1], normal[:, 0])
    seg = np.arange(n_seg)
    wanted = np.ones(n_seg, dtype=bool) if only is None else only
    # (piece, block, order within block, x, y); blocks: 0 right side, 1 front,
    # 2 left side, 3 back, 4 closing point
    right0, right1 = xy[:-1] - w * normal, xy[1:] - w * normal
    left1, left0 = xy[1:] + w * normal, xy[:-1] + w * normal
    rows = [
        (seg, 0, 0, right0),
        (seg, 0, 1, right1),
        (seg, 2, 0, left1),
        (seg, 2, 1, left0),
        (seg, 4, 0, right0),
    ]
    # the sector at each inner vertex, on the convex side, goes with the segment before
    cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
    dot = (d[:-1] * d[1:]).sum(axis=1)
    turn = np.where((cross == 0) & (dot < 0), -np.pi, np.arctan2(cross, dot))
    bent = turn != 0
    sign = np.where(turn > 0, 1, -1)  # a left turn opens on the right
    centres = [xy[1:-1][bent]]
    starts = [np.where(turn > 0, n_angle[:-1] + np.pi, n_angle[:-1])[bent]]
    turns, owner, block, order_sign = [turn[bent]], [seg[:-1][bent]], [1], [sign[bent]]
    if caps[0]:  # half disc behind the first vertex
        centres.append(xy[:1])
        starts.append(n_angle[:1])
        turns.append(np.full(1, np.pi))
        owner.append(seg[:1])
        block.append(3)
        order_sign.append(np.ones(1, dtype=int))
    if caps[1]:  # half disc beyond the last vertex
        centres.append(xy[-1:])
        starts.append(n_angle[-1:] + np.pi)
        turns.append(np.full(1, np.pi))
        owner.append(seg[-1:])
        block.append(1)
        order_sign.append(np.ones(1, dtype=int))
    arc_owner = np.concatenate(owner)
    arc_block = np.repeat(block, [len(o) for o in owner])
    arc_sign = np.concatenate(order_sign)
    pts, arc, k, steps = _arc_points(
        np.concatenate(centres),
        np.concatenate(starts),
        np.concatenate(turns),
        w,
        quad_segs,
    )
    rows.append((arc_owner[arc], arc_block[arc], k * arc_sign[arc], pts))
    # the far end of each sector, exactly the next piece's corner
    far = np.where(turn > 0, -1.0, 1.0)[bent]
    far_pts = xy[1:-1][bent] + (w * far)[:, None] * normal[1:][bent]
    n_bent = int(bent.sum())
    rows.append((seg[:-1][bent], 1, steps[:n_bent] * sign[bent], far_pts))
    piece = np.concatenate([np.broadcast_to(r[0], len(r[3])) for r in rows])
    blk = np.concatenate([np.broadcast_to(r[1], len(r[3])) for r in rows])
    sub = np.concatenate([np.broadcast_to(r[2], len(r[3])) for r in rows])
    coords = np.concatenate([r[3] for r in rows])
    keep = wanted[piece]
    piece, blk, sub, coords = piece[keep], blk[keep], sub[keep], coords[keep]
    order = np.lexsort((sub, blk, piece))
    counts = np.bincount(piece, minlength=n_seg)[wanted]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        coords[order],
        (offsets, np.arange(len(counts) + 1)),
    )


def _planar_buffer(
    xy: np.ndarray,
    w: float,
    *,
    quad_segs: int,
    caps: tuple[bool, bool],
    inner_rel: float = _INNER_SIMPLIFY_REL,
) -> BaseGeometry:
    """Return the buffer of a planar polyline, built from exact primitives.

    The buffer is the union of the pieces of `_segment_pieces`.  GEOS's own
    line buffer is not used: it simplifies its input by 1% of the distance and
    can leave spurious holes (libgeos/geos#1217).  Unioning thousands of
    pieces that overlap across their whole width is slow, so the pieces are
    first compared with an inner buffer, of the line simplified by ``t`` and
    ``t`` narrower (built the same way, coarsely, so it lies inside the true
    buffer): a piece whose segment lies farther than `w` from the inner outline
    is inside it and is dropped; the others are cut to what lies outside a
    polygon inside the inner buffer.  The union is the same as that of all
    pieces.
    """
    keep = np.concatenate([[True], np.any(np.diff(xy, axis=0) != 0, axis=1)])
    xy = xy[keep]
    if len(xy) == 1:  # a point: GEOS draws a regular polygon, vertices on the circle
        return shapely.buffer(shapely.Point(xy[0]), w, quad_segs=quad_segs)
    t = w * inner_rel
    coarse = shapely.get_coordinates(
        shapely.simplify(shapely.LineString(xy), t, preserve_topology=False)
    )
    if len(xy) - 1 <= _DIRECT_MAX_PIECES or len(coarse) == len(xy):
        return shapely.union_all(_segment_pieces(xy, w, quad_segs=quad_segs, caps=caps))
    inner = _planar_buffer(
        coarse,
        w - t,
        quad_segs=min(quad_segs, _COARSE_QUAD_SEGS),
        caps=caps,
        inner_rel=min(0.25, 4 * inner_rel),
    )
    outline = inner.boundary
    shapely.prepare(outline)
    lines = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1))
    exposed = np.asarray(shapely.dwithin(lines, outline, w))
    pieces = _segment_pieces(xy, w, quad_segs=quad_segs, caps=caps, only=exposed)
    # cut the pieces with a polygon well inside `inner` (about t inside: any
    # polygon inside it gives the same union), so that no cut edge runs along
    # an edge of `inner`
    cutter = shapely.buffer(inner, -t, quad_segs=2)
    cut = shapely.difference(pieces, cutter)
    return shapely.union_all(np.concatenate([[inner], cut[~shapely.is_empty(cut)]]))


def _line_parts(geom: BaseGeometry) -> list[np.ndarray]:
    """Return the lon/lat vertex arrays of the merged lines and points of `geom`."""
    lines, points = [], []
    stack = [geom]
    while stack:
        g = stack.pop()
        if g.is_empty:
            continue
        if g.geom_type in ("LineString", "LinearRing"):
            lines.append(shapely.LineString(shapely.get_coordinates(g)))
        elif g.geom_type == "Point":
            points.append(shapely.get_coordinates(g))
        elif g.geom_type in ("MultiLineString", "MultiPoint", "GeometryCollection"):
            stack.extend(shapely.get_parts(g))
        else:
            msg = f"buffer_line_m buffers lines and points, not a {g.geom_type}"
            raise GeometryError(msg)
    merged = shapely.line_merge(shapely.MultiLineString(lines)) if lines else None
    parts = (
        [shapely.get_coordinates(p) for p in shapely.get_parts(merged)]
        if merged
        else []
    )
    return parts + points


def buffer_line_m(line: BaseGeometry, distance_m: float) -> BaseGeometry:
    """Return the land within a true distance of a lon/lat line, as lon/lat polygons.

    The set of points whose geodesic distance (WGS84) from `line` is at most
    `distance_m`; `line` is read as GEOS reads it, straight between vertices in
    lon/lat.  Memory and time grow with the line's vertices, not the width.

    Construction: the merged line is densified in lon/lat and cut into chunks
    short enough that, in an azimuthal equidistant plane centred on each
    chunk, planar distances from the chunk are true to within the budget
    below (distances from the centre itself are exact); each chunk is
    simplified (Douglas-Peucker) and buffered there exactly from rectangles and
    circular sectors (see `_planar_buffer`); the outline is densified and
    projected back; the chunks are unioned.

    Parameters
    ----------
    line
        Lines and points in lon/lat (EPSG:4326); an empty one gives an empty polygon.
    distance_m
        Width, metres: from `BUFFER_MIN_M` to `BUFFER_MAX_M`.

    Returns
    -------
    BaseGeometry
        Polygon or MultiPolygon in lon/lat, edges straight in lon/lat.

    Raises
    ------
    GeometryError
        If `distance_m` is out of range, or `line` has polygons (a
        `ValueError` too).

    Notes
    -----
    Accuracy contract: every point of the outline (holes included) lies at a
    true distance from `line` within ``buffer_tolerance_m(distance_m)`` of
    `distance_m` (0.115 m at 15 km; 1e-6 relative plus 0.1 m in general).  The
    tolerance is spent as follows, each bound computed from the width:

    - arcs: chords of at most ``pi / (2 * quad_segs)``, vertices on the circle,
      sagitta ``w (1 - cos(pi / (4 quad_segs)))`` <= 35%;
    - off-centre: a chunk point ``s`` from the centre sees a point at ``w`` with
      an error of at most ``s² w / (6 R²)`` (measured on WGS84 to 1%) <= 30%;
    - outline and line chords: a straight lon/lat edge of length ``l`` departs
      from the straight planar one by ``l² k / 8``, ``k R <= 2 (1 + tan lat)``
      (measured: ``k R <= 3`` up to 2,000 km from 52°N) <= 20% and 5%;
    - simplification of each chunk <= 10%.

    tests/test_buffers.py checks outline points against distances computed
    independently, from the line projected around each point.

    Examples
    --------
    >>> from shapely import LineString
    >>> band = buffer_line_m(LineString([(30, 50), (31, 50)]), 10_000.0)
    >>> round(band.bounds[1], 4), round(band.bounds[3], 4)  # 10 km ~ 0.0899° of lat
    (49.9101, 50.0899)
    >>> buffer_line_m(LineString(), 1.0).is_empty
    True
    """
    w = float(distance_m)
    if not BUFFER_MIN_M <= w <= BUFFER_MAX_M:
        msg = (
            f"buffer width {w!r} m is not in [{BUFFER_MIN_M:g}, {BUFFER_MAX_M:,.0f}] m"
        )
        raise GeometryError(msg)
    parts = _line_parts(line)
    if not parts:
        return shapely.Polygon()
    eps = buffer_tolerance_m(w)
    lat_max = max(float(np.abs(p[:, 1]).max()) for p in parts)
    lat_far = min(89.0, lat_max + w / _M_PER_DEG_LAT_MIN)
    curvature_r = 2.0 * (1.0 + np.tan(np.radians(lat_far)))
    line_step_m = float(np.sqrt(8 * _SHARE_LINE * eps * _R_M / curvature_r))
    outline_step_m = float(np.sqrt(8 * _SHARE_OUTLINE * eps * _R_M / curvature_r))
    centre_m = float(np.sqrt(6 * _R_M**2 * _SHARE_CENTRE * eps / w))
    chunk_m = max(line_step_m, min(_MAX_CHUNK_M, 2 * (centre_m - 2 * line_step_m)))
    quad_segs = int(np.ceil(np.pi / (4 * np.arccos(1 - _SHARE_ARC * eps / w))))
    # a lon/lat segment of length L degrees is at most L * 111,694 m long
    step_deg = line_step_m / 111_694.0
    polys = []
    for coords in parts:
        for chunk, caps in _chunks(coords, step_deg, chunk_m):
            polys.append(
                _buffer_chunk(
                    chunk,
                    w,
                    caps=caps,
                    quad_segs=quad_segs,
                    simplify_m=_SHARE_SIMPLIFY * eps,
                    outline_step_m=outline_step_m,
                )
            )
    return shapely.union_all(polys)


def _chunks(
    coords: np.ndarray, step_deg: float, chunk_m: float
) -> list[tuple[np.ndarray, tuple[bool, bool]]]:
    """Cut a lon/lat polyline into chunks of at most `chunk_m` (+ one segment).

    Each chunk carries the vertex after its end, so that the sector at its
    last vertex is drawn; free ends of the line get caps; a closed line has none.
    """
    if len(coords) == 1:
        return [(coords, (True, True))]
    closed = len(coords) > 3 and bool(np.all(coords[0] == coords[-1]))
    dense = shapely.get_coordinates(
        shapely.segmentize(shapely.LineString(coords), step_deg)
    )
    if closed:  # wrap round, so the closing vertex is an inner vertex
        dense = np.vstack([dense, dense[1:2]])
    seg_m = GEOD.line_lengths(dense[:, 0], dense[:, 1]) if len(dense) > 1 else []
    cum_m = np.concatenate([[0.0], np.cumsum(seg_m)])
    k = max(1, int(np.ceil(cum_m[-1] / chunk_m)))
    cuts = np.searchsorted(cum_m, np.linspace(0.0, cum_m[-1], k + 1)[1:-1])
    idx = sorted({0, *cuts.tolist(), len(dense) - 1})
    last = len(dense) - 1
    out = []
    for a, b in itertools.pairwise(idx):
        chunk = dense[a : b + 2]
        out.append((chunk, (a == 0 and not closed, b == last and not closed)))
    return out


def _buffer_chunk(
    chunk: np.ndarray,
    w: float,
    *,
    caps: tuple[bool, bool],
    quad_segs: int,
    simplify_m: float,
    outline_step_m: float,
) -> BaseGeometry:
    """Buffer one chunk in the equidistant plane centred on its middle vertex."""
    if len(chunk) > 1:
        seg_m = GEOD.line_lengths(chunk[:, 0], chunk[:, 1])
        cum_m = np.concatenate([[0.0], np.cumsum(seg_m)])
        centre = chunk[int(np.searchsorted(cum_m, cum_m[-1] / 2))]
    else:
        centre = chunk[0]
    tr = _aeqd(float(centre[0]), float(centre[1]))
    x, y = tr.transform(chunk[:, 0], chunk[:, 1])
    xy = np.column_stack([x, y])
    if len(xy) > 2:
        xy = shapely.get_coordinates(
            shapely.simplify(
                shapely.LineString(xy), simplify_m, preserve_topology=False
            )
        )
    planar = _planar_buffer(xy, w, quad_segs=quad_segs, caps=caps)
    out = _apply(tr, shapely.segmentize(planar, outline_step_m), inverse=True)
    if not out.is_valid:
        out = shapely.make_valid(out, method="structure", keep_collapsed=False)
    return out
