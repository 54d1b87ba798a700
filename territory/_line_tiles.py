"""The length of a contact line measured tile by tile, each tile once per content.

A contact line (`territory.control.contact_line`: where a side's land meets
other land, the land's own outline left out) changes from one map to the
next only where the map changed.  `contact_length_km` cuts the plane into
tiles of `TILE_DEG` and measures the line in each from the land around it
alone: the pieces cut to the tile grown by `TILE_MARGIN_DEG`, joined (when
there are several), their contact line built there with the outline band of
the land near it, and cut to the tile.  Every step is local (the overlays
snap-round or cut at points; the band is a buffer of the outline), so the
line inside a tile is the line of the whole land there, and the lengths add
up to the whole line's (to 1e-9 relative: tested on the record).

A tile's length is kept in this process by the content of what it is
measured from: the edges of the pieces near it (with their orientation and
piece), whether each piece covers a corner of the grown tile (so a tile that
lies wholly inside a piece is told from one outside it) and the land's
outline.  The same content gives the same length, whatever map, order or
process measured it, so the lengths depend on the map alone.  Each segment's
geodesic length is summed exactly (`math.fsum`), in no order that matters.
A sweep over consecutive maps measures again only the few tiles where
something changed.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.frozen import ContentDigests
from territory.geodesy import GEOD, M_PER_KM, polygonal_in_box

#: Side of a tile, degrees.
TILE_DEG = 1.0
#: Where the tiles start (degrees, both axes): no tile edge falls on a round
#: meridian or parallel, where a straight edge of a region or a map may run.
TILE_ORIGIN_DEG = 0.318309886183791
#: How far (degrees) around a tile the land is taken to measure the line in
#: it: more than any step's reach (the join's grid, 1e-8°; the outline band's,
#: 1e-6°; the band's cut around a line, 0.01°).
TILE_MARGIN_DEG = 0.05
#: Side (degrees) of a tile grown by `TILE_MARGIN_DEG` on each side.
_GROWN_DEG = TILE_DEG + 2 * TILE_MARGIN_DEG
#: How many tile lengths this process keeps (a year of daily maps needs a few
#: thousand).
KEPT_TILES = 50_000
#: Bump when a tile's length is measured differently (it keys the kept ones).
TILES_VERSION = b"line-tiles-1"

_kept: OrderedDict[bytes, float] = OrderedDict()
_lock = threading.Lock()
#: The outline digest of the last few lands (by content; kept by identity).
_outline_digest = ContentDigests(kept=8, digest_size=16)

Join = Callable[[list[BaseGeometry]], BaseGeometry]


def _segments(pieces: Sequence[BaseGeometry]) -> np.ndarray:
    """Return every edge of the pieces' rings, exteriors counter-clockwise.

    Rows (piece, x1, y1, x2, y2).
    """
    rows = []
    for k, piece in enumerate(pieces):
        if piece.is_empty:
            continue
        oriented = shapely.orient_polygons(piece, exterior_cw=False)
        rings = shapely.get_rings(shapely.get_parts(oriented))
        coords, index = shapely.get_coordinates(rings, return_index=True)
        # (`np.take` along the first axis: a third of the time of fancy indexing)
        (first,) = np.nonzero(index[1:] == index[:-1])
        seg = np.empty((len(first), 5))
        seg[:, 0] = float(k)
        seg[:, 1:3] = np.take(coords, first, axis=0)
        seg[:, 3:5] = np.take(coords, first + 1, axis=0)
        rows.append(seg)
    return np.vstack(rows) if rows else np.empty((0, 5))


def _content_order(seg: np.ndarray) -> np.ndarray:
    """Return an order of the rows of `seg` that depends on their content alone.

    By a 64-bit hash of each row (cheaper than sorting on five float
    columns): the edge's (`territory.control.segment_hashes`), its piece
    mixed in.  Equal rows are adjacent, whatever order they came in.  Two
    distinct rows of the same hash (about one chance in 2**64 a pair) may
    come in either order; a tile's key is then another, and its length is
    measured again (never a wrong one: the key holds every edge).
    """
    from territory.control import segment_hashes

    h = segment_hashes(seg[:, 1:])
    with np.errstate(over="ignore"):
        h ^= seg[:, 0].astype(np.uint64) * _PIECE_MIX
    return np.argsort(h)


#: An odd 64-bit constant the piece of an edge is mixed in by (`_content_order`).
_PIECE_MIX = np.uint64(0x94D049BB133111EB)


def _tile_box(i: int, j: int, grow: float = 0.0) -> tuple[float, float, float, float]:
    x0 = TILE_ORIGIN_DEG + i * TILE_DEG
    y0 = TILE_ORIGIN_DEG + j * TILE_DEG
    return (x0 - grow, y0 - grow, x0 + TILE_DEG + grow, y0 + TILE_DEG + grow)


def _tiles_of(seg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, i, j) of every tile whose grown box a segment's bounds meet."""
    m = TILE_MARGIN_DEG

    def index(v: np.ndarray) -> np.ndarray:
        return np.floor((v - TILE_ORIGIN_DEG) / TILE_DEG).astype(np.int64)

    i0 = index(np.minimum(seg[:, 1], seg[:, 3]) - m)
    i1 = index(np.maximum(seg[:, 1], seg[:, 3]) + m)
    j0 = index(np.minimum(seg[:, 2], seg[:, 4]) - m)
    j1 = index(np.maximum(seg[:, 2], seg[:, 4]) + m)
    rows, ii, jj = [], [], []
    every = np.arange(len(seg))
    for di in range(int((i1 - i0).max(initial=0)) + 1):
        for dj in range(int((j1 - j0).max(initial=0)) + 1):
            sel = (i0 + di <= i1) & (j0 + dj <= j1)
            rows.append(every[sel])
            ii.append(i0[sel] + di)
            jj.append(j0[sel] + dj)
    return np.concatenate(rows), np.concatenate(ii), np.concatenate(jj)


def _segment_km(line: BaseGeometry) -> float:
    """Geodesic length (km) of a line, its segments' lengths summed exactly."""
    parts = shapely.get_parts(line)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[1:] == index[:-1]
    if not same.any():
        return 0.0
    a, b = coords[:-1][same], coords[1:][same]
    _, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return math.fsum(dist) / M_PER_KM


def _tile_km(
    pieces: Sequence[BaseGeometry],
    i: int,
    j: int,
    land: BaseGeometry,
    join: Join | None,
) -> float:
    """Length (km) of the contact line of the pieces' union inside tile (i, j)."""
    outer = _tile_box(i, j, TILE_MARGIN_DEG)
    if join is None:  # one geometry: its outline near the tile, a line cut
        near = shapely.clip_by_rect(pieces[0].boundary, *outer)
    else:  # the pieces near the tile, joined there
        clipped = []
        for piece in pieces:
            b = piece.bounds
            if b[0] > outer[2] or b[2] < outer[0] or b[1] > outer[3] or b[3] < outer[1]:
                continue
            part = polygonal_in_box(piece, outer)
            if not part.is_empty:
                clipped.append(part)
        if not clipped:
            return 0.0
        near = join(clipped).boundary
    if near.is_empty:
        return 0.0
    line = shapely.difference(near, _band(land, i, j))
    return _segment_km(shapely.clip_by_rect(line, *_tile_box(i, j)))


#: The outline band near each tile, by (land, tile): the last land's only.
_bands: dict[tuple[int, int, int], tuple[BaseGeometry, BaseGeometry]] = {}


def _band(land: BaseGeometry, i: int, j: int) -> BaseGeometry:
    """Return the outline band (`territory.control.build_outline_band`) near tile (i, j).

    The buffer of the outline near the tile grown by twice the margin: the
    band there is the whole outline's band.
    """
    from territory.control import _OUTLINE_EPS_DEG

    entry = _bands.get((id(land), i, j))
    if entry is not None and entry[0] is land:
        return entry[1]
    g = 2 * TILE_MARGIN_DEG
    outer = _tile_box(i, j, g)
    near = shapely.clip_by_rect(land.boundary, *outer)
    band = shapely.buffer(near, _OUTLINE_EPS_DEG, quad_segs=1)
    shapely.prepare(band)
    with _lock:
        if any(k[0] != id(land) for k in _bands):
            _bands.clear()
        _bands[(id(land), i, j)] = (land, band)
    return band


def contact_length_km(
    pieces: Sequence[BaseGeometry], land: BaseGeometry, *, join: Join | None = None
) -> float:
    """Return the length (km) of the contact line of the union of `pieces`, by tile.

    The line is where that union meets other land of `land`
    (`territory.control.contact_line`).

    `pieces` have disjoint interiors; with several, `join` unions them as the
    caller's own line does (e.g. `territory.accounting.join_pieces`); with
    none, `pieces` is one geometry, measured as it is.
    """
    return math.fsum(tile_lengths_km(pieces, land, join=join).values())


#: What `tile_lengths_km` returns: the length (km) of a line in each tile.
Tiles = dict[tuple[int, int], float]


def tile_lengths_km(
    pieces: Sequence[BaseGeometry],
    land: BaseGeometry,
    *,
    join: Join | None = None,
    same_as: tuple[Tiles, Sequence[BaseGeometry]] | None = None,
) -> Tiles:
    """Return the length (km) of the contact line in each tile (see `contact_length_km`).

    ``math.fsum`` of the values is `contact_length_km`.  `same_as`: the
    tiles of another line of the same `land`, and the land in which the two
    lines' sides differ (e.g. a map's line, and the moves of a swap): a
    tile whose line depends on none of that land (the tile grown by
    `TILE_MARGIN_DEG`, whose land alone draws the line in it) has the same
    line as the other, and takes its length without measuring it.
    """
    pieces = [p for p in pieces if not p.is_empty]
    if not pieces:
        return {}
    if join is None and len(pieces) > 1:
        msg = "contact_length_km: several pieces need a join"
        raise ValueError(msg)
    seg = _segments(pieces)
    # a tile's edges in one order, whatever the map's
    seg = np.take(seg, _content_order(seg), axis=0)
    rows, ii, jj = _tiles_of(seg)
    # by tile, and in a tile by content (each edge meets a tile once)
    order = np.lexsort((rows, jj, ii))
    rows, ii, jj = rows[order], ii[order], jj[order]
    cut = np.nonzero((np.diff(ii) != 0) | (np.diff(jj) != 0))[0] + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(rows)]])
    tiles = np.column_stack([ii[starts], jj[starts]]).astype(np.int64)
    corners_x = (TILE_ORIGIN_DEG + tiles[:, 0] * TILE_DEG) - TILE_MARGIN_DEG
    corners_y = (TILE_ORIGIN_DEG + tiles[:, 1] * TILE_DEG) - TILE_MARGIN_DEG
    covers = np.column_stack(
        [shapely.contains_xy(p, corners_x, corners_y) for p in pieces]
    )
    edges = np.take(seg, rows, axis=0).tobytes()
    width = seg.itemsize * seg.shape[1]
    head = b"|".join(
        [
            TILES_VERSION,
            b"join" if join is not None else b"one",
            str(len(pieces)).encode(),
            _outline_digest(land),
        ]
    )
    same = None
    if same_as is not None:
        # the tiles whose grown box no differing land meets keep the other
        # line's length
        other, differ = same_as
        boxes = shapely.box(
            corners_x, corners_y, corners_x + _GROWN_DEG, corners_y + _GROWN_DEG
        )
        same = np.ones(len(tiles), dtype=bool)
        for geom in differ:
            same &= ~shapely.intersects(geom, boxes)
    out: Tiles = {}
    for t, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        i, j = (int(v) for v in tiles[t])
        if same is not None and same[t] and (i, j) in other:
            out[(i, j)] = other[(i, j)]
            continue
        h = hashlib.blake2b(head, digest_size=20)
        h.update(tiles[t].tobytes())
        h.update(covers[t].tobytes())
        h.update(edges[s * width : e * width])
        key = h.digest()
        km = _kept.get(key)
        if km is None:
            km = _tile_km(pieces, i, j, land, join)
            with _lock:
                _kept[key] = km
                while len(_kept) > KEPT_TILES:
                    _kept.popitem(last=False)
        out[(i, j)] = km
    return out
