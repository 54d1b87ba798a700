"""Russian-held land of every region on every map of the record, computed incrementally.

The figures are the partition's (`territory.control.partition_land`): a
region's Russian-held land is DeepState's occupied polygon cut to the region,
plus the border gaps and seams the partition gives to the occupier, so they
equal ``Record().control(d).to_frame().occupied_km2`` (to float rounding).
Computing a partition for each of the record's ~770 maps would take about
25 minutes; this module gets the same figures in seconds, because the
boundaries never change and the front moves a few km² a day:

- **Cells.**  The country is cut by a fixed grid of `CELL_DEG` cells.  From
  one map to the next only the cells the changed stretch of the polygon
  crosses (found by comparing the polygons' edges, exactly) or encloses
  (found by the parity of a ray from each cell's centre across the changed
  edges) can change; each region's area is updated by the difference of the
  old and new polygon inside those cells.  The accounting area is additive
  under every overlay (`territory.geodesy`), so the sum over cells equals the
  area of the whole.
- **Given land.**  Border gaps and seams depend only on the land within a few
  kilometres of them, so they are decided again only inside a window around
  the changed cells (`given_to`, the partition's own rule); a window is
  widened until every piece that could be given lies wholly inside it.
- **Derived cache.**  The figures are kept in the cache, named after the
  content of the boundaries, the land mask and the algorithm, with one row per
  snapshot file checksum, so a second run reads them (``Record`` does this).

Results are checked against `partition_land` in the tests (1e-9 relative).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import (
    RU,
    SEAM_WIDTH_M,
    SLIVER_TOLERANCE_M,
    TOUCH_M,
    exact_piece,
    given_to,
    held_land,
    static_metric_buffer,
    touching_groups,
)
from territory.crs import STORAGE_CRS, metric_crs_for, transform
from territory.geodesy import area_km2, polygonal

#: Bump when the figures this module computes could change.
ALGORITHM = "series-2"
#: Side of a grid cell (degrees).
CELL_DEG = 0.25
#: Side of the finer cells that group changed edges into windows (degrees).
FINE_DEG = 0.05
#: Margin (degrees) around the changed cells inside which given land is decided
#: again: more than the sliver tolerance (1 km) plus the touch distance.
MARGIN_DEG = 0.05
#: How many times a window is widened before the whole country is used.
_WIDEN_TRIES = 3
#: Degrees beyond a window from which the other sides and the border are read:
#: more than the sliver tolerance and the touch distance (2 km at 52°N).
_PAD_DEG = 0.03
#: A distance in degrees above the touch distance everywhere in the country
#: (a quick first test before the metric one).
_NEAR_DEG = 3e-5
#: Degrees around the sea beyond which land lies farther than the sliver
#: tolerance and touch distance from it everywhere in the country (1.5 km
#: east–west at 52°N).
_NEAR_SEA_DEG = 0.022

_EMPTY = shapely.Polygon()


@dataclass(frozen=True, slots=True)
class Given:
    """A piece of land the partition gives to a side: where, to whom, km² by region."""

    geom: BaseGeometry
    holder: str
    reason: str
    region_km2: dict[int, float]


@dataclass
class _Map:
    """What the engine keeps of one map."""

    occupied: BaseGeometry
    grey: BaseGeometry
    edges: dict[str, np.ndarray]  # sorted edge hashes by status
    segments: dict[str, np.ndarray]  # (n, 4) edges by status, in hash order


@dataclass
class Statics:
    """The static layers the engine needs, prepared once per record."""

    region_ids: list[str]
    regions: np.ndarray
    country: BaseGeometry
    country_land: BaseGeometry
    border: BaseGeometry
    sea_m: BaseGeometry
    border_band: BaseGeometry
    near_sea: BaseGeometry
    metric: str  # WKT of the partition's metric CRS
    origin: tuple[float, float]
    shape: tuple[int, int]
    _tree: shapely.STRtree = field(init=False, repr=False)
    _cells: dict[tuple[int, int], list[tuple[int, BaseGeometry | None]]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self._tree = shapely.STRtree(self.regions)
        for g in (self.country, self.country_land, *self.regions):
            shapely.prepare(g)

    @classmethod
    def build(
        cls, region_ids: list[str], regions: Iterable, land: BaseGeometry
    ) -> Statics:
        """Prepare the regions and land mask as `partition_land` uses them."""
        regions = np.asarray(list(regions), dtype=object)
        country = shapely.union_all(regions)
        country_land = shapely.intersection(country, land)
        border = country.boundary
        metric = metric_crs_for(border)
        sea = shapely.difference(
            shapely.box(*shapely.buffer(country, 0.2).bounds), land
        )
        minx, miny, maxx, maxy = country.bounds
        x0 = math.floor(minx / CELL_DEG) * CELL_DEG
        y0 = math.floor(miny / CELL_DEG) * CELL_DEG
        shape = (
            math.ceil((maxx - x0) / CELL_DEG) + 1,
            math.ceil((maxy - y0) / CELL_DEG) + 1,
        )
        sea_m = transform(sea, STORAGE_CRS, metric)
        shapely.prepare(sea_m)
        near_sea = shapely.buffer(sea, _NEAR_SEA_DEG)
        shapely.prepare(near_sea)
        return cls(
            region_ids=list(region_ids),
            regions=regions,
            country=country,
            country_land=country_land,
            border=border,
            sea_m=sea_m,
            # the partition's band of the border (`given_to`), built once
            border_band=static_metric_buffer(
                border, metric.to_wkt(), SLIVER_TOLERANCE_M
            ),
            near_sea=near_sea,
            metric=metric.to_wkt(),  # a string: no conversion per call
            origin=(x0, y0),
            shape=shape,
        )

    def cell_box(self, i: int, j: int) -> tuple[float, float, float, float]:
        x0, y0 = self.origin
        return (
            x0 + i * CELL_DEG,
            y0 + j * CELL_DEG,
            x0 + (i + 1) * CELL_DEG,
            y0 + (j + 1) * CELL_DEG,
        )

    def cell_pieces(self, i: int, j: int) -> list[tuple[int, BaseGeometry | None]]:
        """Each region's part of cell (i, j): None where the region covers the cell."""
        key = (i, j)
        if key not in self._cells:
            box = shapely.box(*self.cell_box(i, j))
            out: list[tuple[int, BaseGeometry | None]] = []
            for r in self._tree.query(box, predicate="intersects"):
                region = self.regions[r]
                if shapely.contains(region, box):
                    out.append((int(r), None))
                    continue
                piece = polygonal(shapely.clip_by_rect(region, *self.cell_box(i, j)))
                if not piece.is_empty:
                    shapely.prepare(piece)
                    out.append((int(r), piece))
            self._cells[key] = out
        return self._cells[key]


# --------------------------------------------------------------------- edges
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
    dtype=np.uint64,
)


def _segments(geom: BaseGeometry) -> np.ndarray:
    """Every edge of a polygonal geometry's rings, (n, 4), each with its lower end first."""
    if geom is None or geom.is_empty:
        return np.empty((0, 4))
    rings = shapely.get_rings(shapely.get_parts(polygonal(geom)))
    coords, index = shapely.get_coordinates(rings, return_index=True)
    same = index[1:] == index[:-1]
    seg = np.hstack([coords[:-1][same], coords[1:][same]])
    swap = (seg[:, 0] > seg[:, 2]) | (
        (seg[:, 0] == seg[:, 2]) & (seg[:, 1] > seg[:, 3])
    )
    seg[swap] = seg[swap][:, [2, 3, 0, 1]]
    return np.ascontiguousarray(seg)


def _hashes(seg: np.ndarray) -> np.ndarray:
    u = seg.view(np.uint64)
    with np.errstate(over="ignore"):
        return (
            (u[:, 0] * _MIX[0])
            ^ (u[:, 1] * _MIX[1])
            ^ (u[:, 2] * _MIX[2])
            ^ (u[:, 3] * _MIX[3])
        )


def _edges(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    seg = _segments(geom)
    h = _hashes(seg)
    order = np.argsort(h, kind="stable")
    return h[order], seg[order]


def _not_in(
    h: np.ndarray, seg: np.ndarray, other_h: np.ndarray, other_seg: np.ndarray
) -> np.ndarray:
    """Edges of (h, seg) that the other map does not have (hash match, then checked)."""
    if len(other_h) == 0:
        return seg
    i = np.searchsorted(other_h, h)
    i[i >= len(other_h)] = 0
    found = other_h[i] == h
    # a hash match is confirmed on the coordinates (a collision is a change)
    found[found] = np.all(other_seg[i[found]] == seg[found], axis=1)
    return seg[~found]


def changed_edges(old: _Map, new: _Map) -> np.ndarray:
    """The edges in one map and not the other, occupied and grey together, (n, 4)."""
    out = []
    for status in ("occupied", "grey"):
        oh, os_ = old.edges[status], old.segments[status]
        nh, ns = new.edges[status], new.segments[status]
        out.append(_not_in(oh, os_, nh, ns))
        out.append(_not_in(nh, ns, oh, os_))
    return np.vstack(out) if out else np.empty((0, 4))


def _touched(
    seg: np.ndarray,
    origin: tuple[float, float],
    size: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Grid cells (a boolean array) the bounds of each edge overlap, with a hair
    of slack so that an edge on a cell's side marks both cells."""
    x0, y0 = origin
    nx, ny = shape
    eps = 1e-9
    lo_i = np.floor((np.minimum(seg[:, 0], seg[:, 2]) - x0) / size - eps)
    hi_i = np.floor((np.maximum(seg[:, 0], seg[:, 2]) - x0) / size + eps)
    lo_j = np.floor((np.minimum(seg[:, 1], seg[:, 3]) - y0) / size - eps)
    hi_j = np.floor((np.maximum(seg[:, 1], seg[:, 3]) - y0) / size + eps)
    out = np.zeros((nx, ny), dtype=bool)
    for a, b, c, d in zip(
        np.clip(lo_i, 0, nx - 1).astype(int),
        np.clip(hi_i, 0, nx - 1).astype(int),
        np.clip(lo_j, 0, ny - 1).astype(int),
        np.clip(hi_j, 0, ny - 1).astype(int),
        strict=True,
    ):
        out[a : b + 1, c : d + 1] = True
    return out


def _flipped(centres: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Whether a ray east from each centre crosses `seg` an odd number of times."""
    out = np.zeros(len(centres), dtype=bool)
    if len(seg) == 0 or len(centres) == 0:
        return out
    lo, hi = (
        np.minimum(seg[:, 1], seg[:, 3]).min(),
        np.maximum(seg[:, 1], seg[:, 3]).max(),
    )
    rows = (centres[:, 1] >= lo) & (centres[:, 1] <= hi)
    rows &= centres[:, 0] < np.maximum(seg[:, 0], seg[:, 2]).max()
    if not rows.any():
        return out
    out[rows] = _parity(centres[rows], seg)
    return out


def _parity(centres: np.ndarray, seg: np.ndarray) -> np.ndarray:
    cx, cy = centres[:, :1], centres[:, 1:]
    x1, y1, x2, y2 = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
    straddle = (y1 > cy) != (y2 > cy)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (cy - y1) * (x2 - x1) / (y2 - y1)
    crossing = straddle & (cx < x_at)
    return (crossing.sum(axis=1) % 2).astype(bool)


# --------------------------------------------------------------------- engine
class Engine:
    """Russian-held km² of each region, map after map (see the module docstring).

    Parameters
    ----------
    statics
        The prepared regions and land (`Statics.build`).
    sliver_tolerance_m
        The partition's tolerance (`territory.control.SLIVER_TOLERANCE_M`).
    """

    def __init__(
        self,
        statics: Statics,
        *,
        sliver_tolerance_m: float = SLIVER_TOLERANCE_M,
        gross: bool = False,
    ) -> None:
        self.s = statics
        self.gross = gross
        #: RU km² by region gained and lost from the previous map to this one
        #: (with `gross`): the polygon's movement cell by cell, and the land
        #: given at the border net, so gained − lost is the net change.
        self.gained_km2 = np.zeros(len(statics.regions))
        self.lost_km2 = np.zeros(len(statics.regions))
        self.t = sliver_tolerance_m
        self._prev: _Map | None = None
        self._occ_km2 = np.zeros(len(statics.regions))
        self._given: list[Given] = []
        self._given_ru = np.zeros(len(statics.regions))
        #: decisions by piece (normalised WKB): None where a piece stays held
        self._memo: dict[bytes, Given | None] = {}
        self._seen: dict[bytes, Given | None] = {}

    # ---------------------------------------------------------------- one map
    def step(self, by_status: dict[str, BaseGeometry]) -> np.ndarray:
        """Take the next map (``occupied``, optional ``grey_zone``); return RU km² by region."""
        occupied = by_status["occupied"]
        grey = by_status.get("grey_zone")
        grey = _EMPTY if grey is None else grey
        new = _Map(occupied, grey, {}, {})
        for status, g in (("occupied", occupied), ("grey", grey)):
            new.edges[status], new.segments[status] = _edges(g)
        self._seen = {}
        self.gained_km2 = np.zeros(len(self.s.regions))
        self.lost_km2 = np.zeros(len(self.s.regions))
        if self._prev is None:
            self._full(new)
        else:
            changed = changed_edges(self._prev, new)
            if len(changed):
                self._update(self._prev, new, changed)
        self._prev = new
        if self._seen:  # decisions of this map, for the next (bounded memory)
            self._memo = self._seen
        return self.region_km2()

    @property
    def has_map(self) -> bool:
        """Whether the engine has taken a map (the next step is then a change)."""
        return self._prev is not None

    def region_km2(self) -> np.ndarray:
        """RU km² by region of the current map: the polygon plus the land given to RU."""
        return self._occ_km2 + self._given_ru

    @property
    def given(self) -> list[Given]:
        """The land the partition gives to a side on the current map."""
        return list(self._given)

    def _full(self, new: _Map) -> None:
        s = self.s
        occ = shapely.intersection(new.occupied, s.country)
        self._occ_km2 = np.array(
            [area_km2(polygonal(shapely.intersection(occ, r))) for r in s.regions]
        )
        found = self._decide(new, None)
        assert found is not None  # the whole country has no edge
        self._set_given(found)

    def _update(self, old: _Map, new: _Map, changed: np.ndarray) -> None:
        cells = self._dirty_cells(changed)
        for i, j in cells:
            box = self.s.cell_box(i, j)
            o = polygonal(shapely.clip_by_rect(old.occupied, *box))
            n = polygonal(shapely.clip_by_rect(new.occupied, *box))
            if o.is_empty and n.is_empty:
                continue
            for r, piece in self.s.cell_pieces(i, j):
                a = n if piece is None else polygonal(shapely.intersection(n, piece))
                b = o if piece is None else polygonal(shapely.intersection(o, piece))
                self._occ_km2[r] += _area(a) - _area(b)
                if self.gross:
                    self.gained_km2[r] += _area(shapely.difference(a, b))
                    self.lost_km2[r] += _area(shapely.difference(b, a))
        # given land is decided again only near the changed edges: farther
        # away, every piece and every rule's input is as it was
        near = shapely.multilinestrings(shapely.linestrings(changed.reshape(-1, 2, 2)))
        shapely.prepare(near)
        old = np.array([g.geom for g in self._given], dtype=object)
        stays = ~shapely.dwithin(old, near, _PAD_DEG) if len(old) else old
        found: dict[bytes, Given] = {}
        for window in _windows(changed, self.s):
            for g in self._redecide(new, window, near):
                found.setdefault(shapely.to_wkb(shapely.normalize(g.geom)), g)
        before = self._given_ru
        kept = [g for g, k in zip(self._given, stays, strict=True) if k]
        self._set_given(kept + list(found.values()))
        if self.gross:  # land given at the border is counted net, map by map
            net = self._given_ru - before
            self.gained_km2 += np.maximum(net, 0.0)
            self.lost_km2 += np.maximum(-net, 0.0)

    def _set_given(self, given: list[Given]) -> None:
        """Keep `given`, and the km² by region it gives to RU (summed once here,
        not on every read)."""
        self._given = given
        out = np.zeros(len(self.s.regions))
        for g in given:
            if g.holder == RU:
                for r, a in g.region_km2.items():
                    out[r] += a
        self._given_ru = out

    def _dirty_cells(self, changed: np.ndarray) -> list[tuple[int, int]]:
        """Cells a changed edge may cross, and cells whose inside/outside flipped."""
        s = self.s
        x0, y0 = s.origin
        touched = _touched(changed, s.origin, CELL_DEG, s.shape)
        ii, jj = np.nonzero(~touched)
        centres = np.column_stack(
            [x0 + (ii + 0.5) * CELL_DEG, y0 + (jj + 0.5) * CELL_DEG]
        )
        flip = _flipped(centres, changed)
        touched[ii[flip], jj[flip]] = True
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(touched), strict=True)]

    # ---------------------------------------------------------------- given land
    def _redecide(
        self,
        new: _Map,
        window: tuple[float, float, float, float],
        near: BaseGeometry,
    ) -> list[Given]:
        """The given land near the changed edges `near` in `window`, widened as needed."""
        for tries in range(_WIDEN_TRIES):
            found = self._decide(new, window, near)
            if found is not None:
                return found
            window = _widen(window, 4 ** (tries + 1))
        found = self._decide(new, None, near)
        assert found is not None  # the whole country has no edge
        return found

    def _decide(
        self,
        new: _Map,
        window: tuple[float, float, float, float] | None,
        near: BaseGeometry | None = None,
    ) -> list[Given] | None:
        """The land given to a side within `window` (None: the whole country),
        among the pieces within `_PAD_DEG` of `near` (None: every piece).

        Returns None when a piece that could be given crosses the window's edge.
        """
        s = self.s
        outer = None if window is None else _widen(window, 1, pad=_PAD_DEG)

        def clip(g: BaseGeometry) -> BaseGeometry:
            return g if outer is None else polygonal(shapely.clip_by_rect(g, *outer))

        occupied = shapely.intersection(clip(new.occupied), clip(s.country))
        grey = new.grey
        if not grey.is_empty:
            grey = shapely.difference(
                shapely.intersection(clip(grey), clip(s.country)), occupied
            )
        others = shapely.union(occupied, grey)
        if others.is_empty:
            return []
        if window is None:
            land, land_box = s.country_land, None
        else:
            land_box = shapely.box(*window)
            land = polygonal(shapely.clip_by_rect(s.country_land, *window))
        # snap-rounded as `partition_land` forms it: the pieces of a window
        # are those of the whole country, down to where two only touch
        held = held_land(land, others)

        def land_near(piece: BaseGeometry) -> BaseGeometry:
            minx, miny, maxx, maxy = piece.bounds
            d = 1e-6  # more than the grid: all the land the grown piece can meet
            return shapely.clip_by_rect(land, minx - d, miny - d, maxx + d, maxy + d)

        parts = list(shapely.get_parts(polygonal(held)))
        if not parts:
            return []
        main = None
        if window is None:
            sizes = [area_km2(p) for p in parts]
            main = max(range(len(parts)), key=sizes.__getitem__)
        m = {
            "occupied": transform(occupied, STORAGE_CRS, s.metric),
            "grey": transform(grey, STORAGE_CRS, s.metric),
            "border": transform(
                s.border if outer is None else shapely.clip_by_rect(s.border, *outer),
                STORAGE_CRS,
                s.metric,
            ),
        }
        if self.t > 0:  # the whole border's band, as the partition uses it
            m["border_band"] = (
                s.border_band
                if self.t == SLIVER_TOLERANCE_M
                else static_metric_buffer(s.border, s.metric, self.t)
            )
        for g in m.values():
            shapely.prepare(g)
        # which pieces may be given: near the other side (and the change)
        shapely.prepare(others)
        by_change = (
            np.ones(len(parts), dtype=bool)
            if near is None
            else shapely.dwithin(parts, near, _PAD_DEG)
        )
        if not by_change.any():
            return []
        wanted = by_change & shapely.dwithin(parts, others, _NEAR_DEG)
        # the pieces that cannot be: the main held land, pieces by the coast,
        # and (for now) pieces the window's edge cuts
        edge = (
            np.zeros(len(parts), dtype=bool)
            if land_box is None
            else shapely.intersects(parts, land_box.boundary)
        )
        coast = np.zeros(len(parts), dtype=bool)
        if self.t > 0:
            by_sea = np.nonzero(shapely.intersects(parts, s.near_sea))[0]
            for k in by_sea:
                pm = transform(parts[k], STORAGE_CRS, s.metric)
                coast[k] = shapely.dwithin(pm, s.sea_m, self.t + TOUCH_M)
        # a piece the window's edge cuts, by the change, that could be part of
        # a piece given (whether it touches the other side may lie outside):
        # widen the window
        for k in np.nonzero(edge & by_change & ~coast)[0]:
            if _could_be_given(transform(parts[k], STORAGE_CRS, s.metric), m, self.t):
                return None
        inland = [
            k for k in range(len(parts)) if k != main and not edge[k] and not coast[k]
        ]
        out: list[Given] = []
        for group in touching_groups(parts, inland):
            if not wanted[group].any():
                continue
            piece = (
                parts[group[0]]
                if len(group) == 1
                else shapely.union_all([parts[k] for k in group])
            )
            pm = transform(piece, STORAGE_CRS, s.metric)
            if any(edge[k] for k in group):
                continue  # it goes on past the edge, where it cannot be given
            if any(coast[k] or k == main for k in group):
                continue  # it touches the main held land or the coast's pieces
            key = shapely.to_wkb(shapely.normalize(piece))
            if key in self._memo and (
                near is None or not shapely.dwithin(piece, near, _NEAR_DEG)
            ):
                # the same piece, and the other sides within the touch
                # distance of it are as they were: the same decision
                self._seen[key] = self._memo[key]
                if self._memo[key] is not None:
                    out.append(self._memo[key])
                continue
            decided = given_to(pm, m, sliver_tolerance_m=self.t)
            g = None
            if decided is not None:
                reason, holder = decided
                near = land_near(piece)
                side = occupied if holder == RU else grey
                exact = exact_piece(
                    piece, shapely.difference(near, others), joined_to=side
                )
                # joined to its side: only what the side does not hold counts
                own = polygonal(shapely.difference(exact, side))
                g = Given(exact, holder, reason, self._by_region(own))
                out.append(g)
            self._seen[key] = g
        return out

    def _by_region(self, geom: BaseGeometry) -> dict[int, float]:
        """km² of `geom` by region."""
        out = {}
        for r in self.s._tree.query(geom, predicate="intersects"):
            a = area_km2(polygonal(shapely.intersection(self.s.regions[r], geom)))
            if a:
                out[int(r)] = a
        return out


def _area(geom: BaseGeometry) -> float:
    return 0.0 if geom.is_empty else area_km2(polygonal(geom))


def _could_be_given(pm: BaseGeometry, m: dict[str, BaseGeometry], t: float) -> bool:
    """Whether the visible part of a piece cut by a window could belong to a
    piece that is given: it is thin, or lies along the border.  (Whether it
    touches the other side cannot be told from a part.)"""
    inner = shapely.point_on_surface(pm)
    wide = shapely.distance(inner, pm.boundary) > SEAM_WIDTH_M / 2
    if not wide and pm.buffer(-SEAM_WIDTH_M / 2).is_empty:
        return True
    return bool(shapely.dwithin(pm, m["border"], t + TOUCH_M)) and bool(
        shapely.covered_by(pm, m["border"].buffer(t + TOUCH_M))
    )


def _widen(
    window: tuple[float, float, float, float],
    factor: float,
    *,
    pad: float | None = None,
) -> tuple[float, float, float, float]:
    d = MARGIN_DEG * factor if pad is None else pad
    minx, miny, maxx, maxy = window
    return (minx - d, miny - d, maxx + d, maxy + d)


def _windows(
    changed: np.ndarray, s: Statics
) -> list[tuple[float, float, float, float]]:
    """Windows around the clusters of changed edges: the bounds of each group of
    `FINE_DEG` cells the edges cross, grown by one cell, merged until disjoint."""
    x0, y0 = s.origin
    nx, ny = (math.ceil(n * CELL_DEG / FINE_DEG) for n in s.shape)
    marked = _touched(changed, (x0, y0), FINE_DEG, (nx, ny))
    grown = marked.copy()  # one cell around: more than `_PAD_DEG`
    grown[1:, :] |= marked[:-1, :]
    grown[:-1, :] |= marked[1:, :]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    boxes = []
    todo = set(zip(*(a.tolist() for a in np.nonzero(grown)), strict=True))
    while todo:
        seed = todo.pop()
        group, stack = [seed], [seed]
        while stack:
            i, j = stack.pop()
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    k = (i + di, j + dj)
                    if k in todo:
                        todo.remove(k)
                        group.append(k)
                        stack.append(k)
        ii = [g[0] for g in group]
        jj = [g[1] for g in group]
        boxes.append(
            (
                x0 + min(ii) * FINE_DEG,
                y0 + min(jj) * FINE_DEG,
                x0 + (max(ii) + 1) * FINE_DEG,
                y0 + (max(jj) + 1) * FINE_DEG,
            )
        )
    return _merged(boxes)


def _merged(
    boxes: list[tuple[float, float, float, float]],
) -> list[tuple[float, float, float, float]]:
    """Merge overlapping boxes until none overlap."""
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        out: list[tuple[float, float, float, float]] = []
        for b in boxes:
            for k, o in enumerate(out):
                if b[0] <= o[2] and o[0] <= b[2] and b[1] <= o[3] and o[1] <= b[3]:
                    out[k] = (
                        min(b[0], o[0]),
                        min(b[1], o[1]),
                        max(b[2], o[2]),
                        max(b[3], o[3]),
                    )
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes
