"""The contact line after a swap, put together from segments known on the map.

A private part of `territory.accounting`: when every move a party gives or
receives is land kept with the map, the outline of its land after is made of
segments of the outlines of its land before and of those moves, whose parts
along the land's own outline are known per map (`EdgeTable`). The line is
put together from them without cutting the whole outline again; where a
segment cannot be accounted for, `line_from_tables` returns None and the
caller cuts the outline (`Control.contact_line`), so the line is always the
one the cut gives (tests/test_accounting.py compares them to 1e-12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from collections.abc import Callable

    from territory.control import Control


#: Two segments closer than this (degrees) are on one line: a segment of an
#: outline cut where another outline meets it lies on the segment it was
#: cut from to the rounding of the node (about 1e-15°).
_ON_SEGMENT_DEG = 1e-9


def _segments(line: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Return the segments of `line` (its parts' consecutive vertices).

    Returns
    -------
    tuple of numpy.ndarray
        Each segment as ``(x0, y0, x1, y1)``, its ends in a fixed order (the
        lower x, then the lower y, first), in the order of the line; and the
        index in the line's coordinates of each segment's first vertex.
    """
    xy, part = shapely.get_coordinates(shapely.get_parts(line), return_index=True)
    first = np.flatnonzero(part[1:] == part[:-1])
    a, b = xy[first], xy[first + 1]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    segs = np.hstack([np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)])
    return np.ascontiguousarray(segs), first


def _keys(segs: np.ndarray) -> np.ndarray:
    """The segments as 32-byte keys (their four coordinates), to sort and look up."""
    return segs.view(np.dtype((np.void, 32))).ravel()


#: What `EdgeTable` knows of a segment of an outline.
_ALONG_OUTLINE, _CONTACT, _BOTH = 0, 1, 2


class EdgeTable(NamedTuple):
    """Which segments of a polygon's outline are contact line, kept per map.

    Each segment of the outline of `polygon` is contact line (`_CONTACT`:
    all of it is in the polygon's contact line, `Control.contact_line`),
    along the land's outline (`_ALONG_OUTLINE`: none of it is) or `_BOTH`
    (cut where it enters the band around the land's outline: its
    `fragments` are).  Whether a segment is contact line depends on the
    segment alone, so the table serves any outline that has the segment.
    """

    keys: bytes
    kinds: bytes
    tree: shapely.STRtree | None
    fragments: (
        tuple[tuple[int, tuple[tuple[float, float, float, float], ...]], ...] | None
    )

    @classmethod
    def build(cls, polygon: BaseGeometry, line: BaseGeometry) -> EdgeTable:
        """Compare the outline of `polygon` with its contact line `line`."""
        segs, _ = _segments(polygon.boundary)
        order = np.argsort(_keys(segs), kind="stable")
        segs = np.ascontiguousarray(segs[order])
        keys = _keys(segs)
        kinds = np.full(len(segs), _ALONG_OUTLINE, dtype=np.int8)
        in_line, _ = _segments(line)
        found, at = _look_up(keys, _keys(in_line))
        kinds[at[found]] = _CONTACT
        tree = shapely.STRtree(shapely.linestrings(segs.reshape(-1, 2, 2)))
        rest = in_line[~found]  # pieces of segments, cut
        piece, parent = _parents(tree, rest)
        if len(np.unique(piece)) != len(rest):
            return cls(b"", b"", None, None)  # a piece on no segment: no table
        # a piece on two segments (each side of a slit, 1e-13° apart) is the
        # nearer one's
        far = np.maximum(
            shapely.distance(shapely.points(rest[piece, :2]), tree.geometries[parent]),
            shapely.distance(shapely.points(rest[piece, 2:]), tree.geometries[parent]),
        )
        pieces: dict[int, list[tuple[float, float, float, float]]] = {}
        for k in np.unique(piece):
            seg = parent[piece == k][np.argmin(far[piece == k])]
            pieces.setdefault(int(seg), []).append(tuple(map(float, rest[k])))
        kinds[list(pieces)] = _BOTH
        return cls(
            keys=segs.tobytes(),
            kinds=kinds.tobytes(),
            tree=tree,
            fragments=tuple((i, tuple(f)) for i, f in sorted(pieces.items())),
        )


def line_from_tables(
    geom: BaseGeometry, tables: list[EdgeTable]
) -> BaseGeometry | None:
    """Return the contact line of `geom` (`Control.contact_line`) from `tables`.

    Each segment of its outline is looked up in the tables, in order, or is
    a piece of a segment of theirs (cut where another outline met it) that
    is all contact line or all along the land's outline; None if one is
    not.  Segments of the line that run along each other (each side of a
    slit the join left) are joined, as the cut of the outline joins them.
    """
    if geom.is_empty:
        return shapely.LineString()
    segs, first = _segments(geom.boundary)
    kinds = np.full(len(segs), -1, dtype=np.int8)
    table = np.full(len(segs), -1)  # the table of each segment, and where in it
    at_in = np.zeros(len(segs), dtype=int)
    for n, t in enumerate(tables):
        todo = np.flatnonzero(kinds < 0)
        found, at = _look_up(_keys(_table_segments(t)), _keys(segs[todo]))
        kinds[todo[found]] = np.frombuffer(t.kinds, dtype=np.int8)[at[found]]
        table[todo[found]], at_in[todo[found]] = n, at[found]
    cut = np.flatnonzero(kinds < 0)
    if len(cut):
        kinds[cut] = _kind_of_pieces(segs[cut], tables)
        if (kinds < 0).any():
            return None
    once = np.zeros(len(segs), dtype=bool)
    once[np.unique(_keys(segs), return_index=True)[1]] = True
    line = np.flatnonzero(once & (kinds != _ALONG_OUTLINE))
    joined = line[_along_another(segs[line], table[line] != 0)]
    xy = shapely.get_coordinates(shapely.get_parts(geom.boundary))
    whole = np.setdiff1d(line[kinds[line] == _CONTACT], joined)
    out = _runs(xy, first[whole])
    for k in np.setdiff1d(line[kinds[line] == _BOTH], joined):
        out.extend(_pieces(segs[k], kinds[k], tables[table[k]], at_in[k]))
    if len(joined):
        parts = [
            g
            for k in joined
            for g in _pieces(segs[k], kinds[k], tables[table[k]], at_in[k])
        ]
        out.extend(shapely.get_parts(shapely.union_all(parts)))
    if not out:
        return shapely.LineString()
    return shapely.line_merge(shapely.MultiLineString(out))


def _table_segments(table: EdgeTable) -> np.ndarray:
    """The segments of `table`, sorted by key, as ``(n, 4)`` coordinates."""
    return np.frombuffer(table.keys, dtype=np.float64).reshape(-1, 4)


def _pieces(
    seg: np.ndarray, kind: int, table: EdgeTable, at: int
) -> list[BaseGeometry]:
    """The parts of segment `seg` of an outline (`at` in `table`) in its contact line."""
    if kind == _CONTACT:
        return [shapely.LineString(seg.reshape(2, 2))]
    fragments = dict(table.fragments)[at]
    return [shapely.LineString(np.reshape(f, (2, 2))) for f in fragments]


#: Two segments whose ends lie this close (degrees) to each other's line are
#: taken to run along each other if they share more than a point (exactly
#: collinear segments are within float rounding, ~1e-15°, of it).
_ALONG_DEG = 1e-11


def _along_another(segs: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Which of `segs` may run along another (share a stretch of line).

    Only pairs with a segment that is `new` (not of the land before, whose
    outline has no two such segments) are compared.
    """
    flagged = np.zeros(len(segs), dtype=bool)
    if not new.any():
        return flagged
    lines = shapely.linestrings(segs.reshape(-1, 2, 2))
    i, j = shapely.STRtree(lines).query(lines[new])
    i = np.flatnonzero(new)[i]
    keep = i != j
    i, j = i[keep], j[keep]
    hit = _along(segs[i], segs[j])
    flagged[i[hit]] = True
    flagged[j[hit]] = True
    return flagged


def _along(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each segment of `a` may share a stretch of line with that of `b`."""
    d = a[:, 2:] - a[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    ok = length > 0
    length = np.where(ok, length, 1.0)
    off0 = b[:, :2] - a[:, :2]
    off1 = b[:, 2:] - a[:, :2]
    near = (
        np.abs(off0[:, 0] * d[:, 1] - off0[:, 1] * d[:, 0]) / length <= _ALONG_DEG
    ) & (np.abs(off1[:, 0] * d[:, 1] - off1[:, 1] * d[:, 0]) / length <= _ALONG_DEG)
    t0 = (off0 * d).sum(axis=1) / length
    t1 = (off1 * d).sum(axis=1) / length
    shared = np.minimum(np.maximum(t0, t1), length) - np.maximum(np.minimum(t0, t1), 0)
    return ok & near & (shared > _ALONG_DEG)


def _look_up(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of `wanted` are in the sorted `keys`, and where."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=bool), np.zeros(len(wanted), dtype=int)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return keys[at] == wanted, at


def _parents(
    tree: shapely.STRtree, pieces: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (piece, segment of `tree`) such that the piece lies on the segment."""
    if not len(pieces):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    a = shapely.points(pieces[:, :2])
    b = shapely.points(pieces[:, 2:])
    mid = shapely.points((pieces[:, :2] + pieces[:, 2:]) / 2)
    i, j = tree.query(mid, predicate="dwithin", distance=_ON_SEGMENT_DEG)
    segs = tree.geometries.take(j)
    on = (shapely.distance(a[i], segs) <= _ON_SEGMENT_DEG) & (
        shapely.distance(b[i], segs) <= _ON_SEGMENT_DEG
    )
    return i[on], j[on]


def _kind_of_pieces(pieces: np.ndarray, tables: list[EdgeTable]) -> np.ndarray:
    """The kind of pieces of segments of `tables`: their segments' (-1: unknown).

    A piece of segments that are all contact line, or all along the outline,
    is too; a piece of a segment cut by the band, of no segment, or of
    segments of two kinds, is unknown.
    """
    seen = np.zeros((len(pieces), 3), dtype=bool)
    for t in tables:
        i, j = _parents(t.tree, pieces)
        seen[i, np.frombuffer(t.kinds, dtype=np.int8)[j]] = True
    one = seen.sum(axis=1) == 1
    kinds = np.where(one, seen.argmax(axis=1), -1).astype(np.int8)
    kinds[kinds == _BOTH] = -1
    return kinds


def _runs(xy: np.ndarray, starts: np.ndarray) -> list[BaseGeometry]:
    """Lines along the runs of consecutive segments starting at `starts` in `xy`."""
    if not len(starts):
        return []
    gaps = np.flatnonzero(np.diff(starts) != 1)
    first = np.r_[starts[0], starts[gaps + 1]]
    last = np.r_[starts[gaps], starts[-1]]
    return [shapely.LineString(xy[a : b + 2]) for a, b in zip(first, last, strict=True)]


def edge_table(
    control: Control,
    key: tuple,
    polygon: BaseGeometry,
    line: Callable[[], BaseGeometry],
) -> EdgeTable:
    """The `EdgeTable` of `polygon`, whose contact line is ``line()``, kept per map."""
    return control.derived(
        ("accounting", "edge table", *key),
        lambda: EdgeTable.build(polygon, line()),
    )
