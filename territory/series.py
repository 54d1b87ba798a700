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
  old and new polygon inside those cells.  The polygon's part of a cell is
  kept from the last map that changed the cell, so only the new map is cut,
  and all the parts of a map are measured in one pass over their rings.  The
  accounting area is additive under every overlay (`territory.geodesy`), so
  the sum over cells equals the area of the whole.
- **Going back.**  Some daily files round every coordinate to 1e-6° and the
  next one goes back, so thousands of edges change twice for nothing.  The
  engine keeps its state before each map that changes more than
  `_REWIND_EDGES` edges (the last `_STATES_KEPT` of them) and steps to a map
  from the kept state nearest it, when nearer than the last map: the figures
  depend on the map, not on the way there (not for gross changes, which are
  from the last map).
- **Given land.**  Border gaps and seams depend only on the land within a few
  kilometres of them, so they are decided again only inside a window around
  the changed cells (`given_to`, the partition's own rule); a window is
  widened until every piece that could be given lies wholly inside it.  A
  window's static layers are cut from 1° tiles kept from map to map, the
  layers in the metric CRS are made only when a piece is decided, and an
  exact piece is cut from the land and the sides in a box around it.
- **Derived cache.**  The figures are kept in the cache, named after the
  content of the boundaries, the land mask and the algorithm, with one row per
  snapshot file checksum, so a second run reads them (``Record`` does this).

Results are checked against `partition_land` in the tests (1e-9 relative).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import (
    HELD_GRID_DEG,
    RU,
    SLIVER_TOLERANCE_M,
    TOUCH_M,
    LazyLayers,
    edges_not_in,
    exact_pieces,
    given_to_many,
    held_land,
    merged_boxes,
    nowhere_wide,
    polygon_edges,
    sorted_edges,
    static_layers,
    static_metric_buffer,
    touching_groups,
)
from territory.crs import (
    STORAGE_CRS,
    metric_crs_for,
    transform,
    transform_many,
    warm_transform,
)
from territory.errors import InternalError
from territory.geodesy import _A_M, M2_PER_KM2, _edge_terms, area_km2, polygonal

#: Bump when the figures this module computes could change.  (6: a piece
#: of held land within `_EDGE_DEG` of a window's edge is one the edge cuts,
#: and a piece two windows decide is given once: figures kept by an earlier
#: version may count a fragment of a piece by such an edge besides the
#: whole piece, or a piece twice.)
ALGORITHM = "series-6"
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
#: A piece of held land this near (degrees) a window's edge is cut by it.
#: The held land is snap-rounded to `HELD_GRID_DEG` (`held_land`), which
#: moves a cut along an edge off that grid by up to half of it: a window
#: widened to 49.074999999999996° has its pieces cut at 49.075000000000003°,
#: which do not touch its edge, and were taken for whole pieces inside it
#: (a fragment of a border gap given besides the whole gap).
_EDGE_DEG = 10 * HELD_GRID_DEG
#: Degrees around the sea beyond which land lies farther than the sliver
#: tolerance and touch distance from it everywhere in the country (1.5 km
#: east–west at 52°N).
_NEAR_SEA_DEG = 0.022

#: Side (degrees) of the tiles `Statics.clip` cuts a window's layers from.
_TILE_DEG = 1.0
#: How many cuts of the static layers `Statics.clip` keeps.
_CLIPS_KEPT = 512
#: A piece with a point this far (degrees) inside its outline, and at most
#: `_WIDE_SPAN_DEG` across, is no seam (`_inner_point`); a piece up to
#: `_WIDE_SPAN_MAX_DEG` across needs a point farther in, by the square of
#: its span.
_WIDE_DEG = 2e-3
_WIDE_SPAN_DEG = 0.4
_WIDE_SPAN_MAX_DEG = 1.6
#: How many given pieces `Engine` keeps to reuse their exact piece.
_EXACT_KEPT = 8192
#: A map that changes more edges than this from the last one is also compared
#: with the maps `Engine` kept from before earlier such changes (`_STATES_KEPT`
#: of them), and the engine steps from the nearest: some daily files round
#: every coordinate to 1e-6° and the next goes back.
_REWIND_EDGES = 256
_STATES_KEPT = 4
#: A region's km² below zero by at most this much is float noise left by
#: adding and taking away its pieces map after map (at most about 1e-11 km²
#: over the record) and is shown as 0; below it, the engine has gone wrong
#: (1 m², far less than anything shown).
_NOISE_KM2 = 1e-6

_EMPTY = shapely.Polygon()

#: The other sides, and the side a piece is given to, in the box around the
#: piece (normalised WKB): with the land, all its exact piece depends on.
_Near = tuple[bytes, bytes]


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


#: No map: what a whole map's cells are cut as a change from (`Engine._full`).
_NO_MAP = _Map(_EMPTY, _EMPTY, {}, {})


@dataclass(eq=False)  # compared by identity (`Engine._nearest`)
class _State:
    """What `Engine` holds after a map: enough to step from that map again."""

    prev: _Map
    occ_km2: np.ndarray
    given: list[Given]
    given_ru: np.ndarray
    given_bounds: np.ndarray
    memo: dict[bytes, Given | None]
    cell_pieces: dict[
        tuple[int, int], tuple[list[int], list[BaseGeometry], list[float]]
    ]


#: The layers of `Statics` kept in the derived cache (`Statics.to_bytes`);
#: the border, the grid and the prepared states follow from them at once.
_LAYERS = ("country", "country_land", "sea_m", "near_sea")


@dataclass
class Statics:
    """The static layers the engine needs, prepared once per record.

    Not the border's band, which few maps need (`Engine` asks
    `territory.control.static_metric_buffer` for it when one does).
    """

    region_ids: list[str]
    regions: np.ndarray
    country: BaseGeometry
    country_land: BaseGeometry
    border: BaseGeometry
    sea_m: BaseGeometry
    near_sea: BaseGeometry
    metric: str  # WKT of the partition's metric CRS
    origin: tuple[float, float]
    shape: tuple[int, int]
    _tree: shapely.STRtree = field(init=False, repr=False)
    _cells: dict[tuple[int, int], list[tuple[int, BaseGeometry | None]]] = field(
        default_factory=dict, repr=False
    )
    _clips: dict[tuple[str, tuple[float, ...]], BaseGeometry | bool] = field(
        default_factory=dict, repr=False
    )
    _border_m: BaseGeometry | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._tree = shapely.STRtree(self.regions)
        for g in (self.country, self.country_land, self.border, *self.regions):
            shapely.prepare(g)

    @property
    def border_m(self) -> BaseGeometry:
        """The whole border in the metric CRS, prepared (made when first read).

        What a whole map's decisions read (a window reads its cut,
        ``clip("border_m", box)``): reprojected once per process, not once
        per whole map (28,700 vertices).
        """
        if self._border_m is None:
            border = transform(self.border, STORAGE_CRS, self.metric)
            shapely.prepare(border)
            self._border_m = border
        return self._border_m

    def warm(self) -> None:
        """Make here what every engine makes first: the reprojection to the metric CRS.

        For a process about to fork engines (`warm_transform`).
        """
        warm_transform(STORAGE_CRS, self.metric)

    @classmethod
    def build(
        cls,
        region_ids: list[str],
        regions: Iterable,
        land: BaseGeometry,
    ) -> Statics:
        """Prepare the regions and land mask as `partition_land` uses them."""
        regions = np.asarray(list(regions), dtype=object)
        # the partition's own layers (built once per process for both)
        country, country_land, sea = static_layers(tuple(regions), land)
        metric = metric_crs_for(country.boundary)
        wkt = metric.to_wkt()  # a string: no conversion per call

        layers = {
            "country": country,
            "country_land": country_land,
            "sea_m": transform(sea, STORAGE_CRS, metric),
            "near_sea": shapely.buffer(sea, _NEAR_SEA_DEG),
        }
        return cls._of(region_ids, regions, layers, wkt)

    @classmethod
    def _of(
        cls,
        region_ids: list[str],
        regions: np.ndarray,
        layers: dict[str, BaseGeometry],
        metric: str,
    ) -> Statics:
        """Return the statics of built (or read) layers: the rest follows at once."""
        country = layers["country"]
        minx, miny, maxx, maxy = country.bounds
        x0 = math.floor(minx / CELL_DEG) * CELL_DEG
        y0 = math.floor(miny / CELL_DEG) * CELL_DEG
        shape = (
            math.ceil((maxx - x0) / CELL_DEG) + 1,
            math.ceil((maxy - y0) / CELL_DEG) + 1,
        )
        for name in ("sea_m", "near_sea"):
            shapely.prepare(layers[name])
        return cls(
            region_ids=list(region_ids),
            regions=regions,
            country=country,
            country_land=layers["country_land"],
            border=country.boundary,
            sea_m=layers["sea_m"],
            near_sea=layers["near_sea"],
            metric=metric,
            origin=(x0, y0),
            shape=shape,
        )

    def to_bytes(self) -> bytes:
        """Return the layers as an Arrow IPC file, for the derived cache.

        Name and WKB columns, the metric CRS and region ids in the metadata:
        `from_bytes` gives them back to the last bit (WKB keeps every double).
        Uncompressed Arrow (`territory.datasets.arrow_file_bytes`): a run reads
        it before its workers start, in a tenth of a millisecond where a
        compressed Parquet file took 20 to 60.
        """
        import json

        import pyarrow as pa

        from territory.datasets import arrow_file_bytes, bytes_array

        names = [*_LAYERS, *(f"region:{rid}" for rid in self.region_ids)]
        geoms = [getattr(self, n) for n in _LAYERS] + list(self.regions)
        table = pa.Table.from_arrays(
            [
                bytes_array(names),
                bytes_array(list(shapely.to_wkb(np.asarray(geoms, dtype=object)))),
            ],
            names=["name", "wkb"],
            metadata={
                "statics": json.dumps(
                    {"metric": self.metric, "region_ids": self.region_ids}
                )
            },
        )
        return arrow_file_bytes(table)

    @classmethod
    def from_bytes(cls, data: bytes) -> Statics:
        """Return the statics `to_bytes` wrote.

        Raises ValueError if they are not that.
        """
        import json

        from territory.datasets import read_arrow_table

        try:
            table = read_arrow_table(data)
            meta = json.loads(table.schema.metadata[b"statics"])
            names = table.column("name").to_pylist()
            # (a list, not `to_numpy`, which imports pandas: a few dozen rows)
            wkb = np.array(table.column("wkb").to_pylist(), dtype=object)
            geoms = shapely.from_wkb(wkb)
        except Exception as err:  # any parse failure: not what was written
            msg = f"not the static layers ({type(err).__name__})"
            raise ValueError(msg) from None
        ids = list(meta["region_ids"])
        if names != [*_LAYERS, *(f"region:{rid}" for rid in ids)]:
            msg = "not the static layers (other names)"
            raise ValueError(msg)
        layers = dict(zip(_LAYERS, geoms[: len(_LAYERS)], strict=True))
        regions = np.asarray(list(geoms[len(_LAYERS) :]), dtype=object)
        return cls._of(ids, regions, layers, str(meta["metric"]))

    def clip(
        self, name: str, box: tuple[float, float, float, float], *, keep: bool = True
    ) -> BaseGeometry:
        """Return the static layer `name` cut to `box`.

        ``border_m``: the border's cut in the metric CRS, prepared.

        Kept (the last `_CLIPS_KEPT`; not with `keep` false): windows are made
        of grid cells, so the same boxes come back map after map.
        """
        key = (name, box)
        out = cast("BaseGeometry | None", self._clips.get(key))
        if out is None:
            if name == "border_m":
                out = transform(self.clip("border", box), STORAGE_CRS, self.metric)
                shapely.prepare(out)
            else:
                # cut from the layer's cut to the tiles around `box` (kept:
                # far fewer of them come back), not from the whole layer
                x0, y0 = self.origin
                c = _TILE_DEG
                outer = (
                    x0 + math.floor((box[0] - x0) / c) * c,
                    y0 + math.floor((box[1] - y0) / c) * c,
                    x0 + math.ceil((box[2] - x0) / c) * c,
                    y0 + math.ceil((box[3] - y0) / c) * c,
                )
                name_cells = f"{name} tiles"
                layer = cast(
                    "BaseGeometry | None", self._clips.get((name_cells, outer))
                )
                if layer is None:
                    layer = shapely.clip_by_rect(getattr(self, name), *outer)
                    self._keep((name_cells, outer), layer)
                out = shapely.clip_by_rect(layer, *box)
                if name != "border":
                    out = polygonal(out)
            if keep:
                self._keep(key, out)
        return out

    def border_meets(self, box: tuple[float, float, float, float]) -> bool:
        """Whether the border meets `box` (kept, as `clip`)."""
        return self._kept_test("border meets", shapely.intersects, self.border, box)

    def covers_box(self, box: tuple[float, float, float, float]) -> bool:
        """Whether the country covers `box` (kept, as `clip`)."""
        return self._kept_test("covers", shapely.covers, self.country, box)

    def _kept_test(
        self,
        name: str,
        test: Callable[[BaseGeometry, BaseGeometry], object],
        geom: BaseGeometry,
        box: tuple[float, float, float, float],
    ) -> bool:
        """``test(geom, box)``, kept by `name` and `box` (as `clip`)."""
        key = (name, box)
        out = cast("bool | None", self._clips.get(key))
        if out is None:
            out = bool(test(geom, shapely.box(*box)))
            self._keep(key, out)
        return out

    def _keep(
        self, key: tuple[str, tuple[float, ...]], geom: BaseGeometry | bool
    ) -> None:
        if len(self._clips) >= _CLIPS_KEPT:
            del self._clips[next(iter(self._clips))]
        self._clips[key] = geom

    def cell_box(self, i: int, j: int) -> tuple[float, float, float, float]:
        """Return the bounds of grid cell (i, j), lon/lat."""
        x0, y0 = self.origin
        return (
            x0 + i * CELL_DEG,
            y0 + j * CELL_DEG,
            x0 + (i + 1) * CELL_DEG,
            y0 + (j + 1) * CELL_DEG,
        )

    def cells_meeting(self, geom: BaseGeometry) -> list[tuple[int, int]]:
        """Return the grid cells `geom` meets, in order (i, then j)."""
        if geom.is_empty:
            return []
        x0, y0 = self.origin
        nx, ny = self.shape
        minx, miny, maxx, maxy = geom.bounds
        gi, gj = np.meshgrid(
            np.arange(
                min(max(math.floor((minx - x0) / CELL_DEG), 0), nx - 1),
                min(max(math.floor((maxx - x0) / CELL_DEG), 0), nx - 1) + 1,
            ),
            np.arange(
                min(max(math.floor((miny - y0) / CELL_DEG), 0), ny - 1),
                min(max(math.floor((maxy - y0) / CELL_DEG), 0), ny - 1) + 1,
            ),
            indexing="ij",
        )
        ii, jj = gi.ravel(), gj.ravel()
        boxes = shapely.box(
            x0 + ii * CELL_DEG,
            y0 + jj * CELL_DEG,
            x0 + (ii + 1) * CELL_DEG,
            y0 + (jj + 1) * CELL_DEG,
        )
        # (the boxes in a tree, asked once: `geom` is prepared for the query)
        hit = np.sort(shapely.STRtree(boxes).query(geom, predicate="intersects"))
        return list(zip(ii[hit].tolist(), jj[hit].tolist(), strict=True))

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
def _edges(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    return sorted_edges(polygon_edges(geom))


def changed_edges(old: _Map, new: _Map) -> np.ndarray:
    """Return the edges in one map and not the other, occupied and grey together.

    An (n, 4) array.
    """
    out = []
    for status in ("occupied", "grey"):
        oh, os_ = old.edges[status], old.segments[status]
        nh, ns = new.edges[status], new.segments[status]
        out.append(edges_not_in(oh, os_, nh, ns))
        out.append(edges_not_in(nh, ns, oh, os_))
    return np.vstack(out) if out else np.empty((0, 4))


def _touched(
    seg: np.ndarray,
    origin: tuple[float, float],
    size: float,
    shape: tuple[int, int],
) -> np.ndarray:
    """Return the grid cells (a boolean array) the bounds of each edge overlap.

    With a hair of slack, so that an edge on a cell's side marks both cells.
    """
    x0, y0 = origin
    nx, ny = shape
    eps = 1e-9
    lo_i = np.floor((np.minimum(seg[:, 0], seg[:, 2]) - x0) / size - eps)
    hi_i = np.floor((np.maximum(seg[:, 0], seg[:, 2]) - x0) / size + eps)
    lo_j = np.floor((np.minimum(seg[:, 1], seg[:, 3]) - y0) / size - eps)
    hi_j = np.floor((np.maximum(seg[:, 1], seg[:, 3]) - y0) / size + eps)
    out = np.zeros((nx, ny), dtype=bool)
    lo_i = np.clip(lo_i, 0, nx - 1).astype(int)
    hi_i = np.clip(hi_i, 0, nx - 1).astype(int)
    lo_j = np.clip(lo_j, 0, ny - 1).astype(int)
    hi_j = np.clip(hi_j, 0, ny - 1).astype(int)
    # most edges span one or two cells each way: their four corners are all
    # the cells they overlap
    small = (hi_i - lo_i <= 1) & (hi_j - lo_j <= 1)
    for ii in (lo_i[small], hi_i[small]):
        for jj in (lo_j[small], hi_j[small]):
            out[ii, jj] = True
    for a, b, c, d in zip(
        lo_i[~small], hi_i[~small], lo_j[~small], hi_j[~small], strict=True
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
    """Return the parity of the edge crossings east of each centre, row by row.

    Row by row of centres: where each edge crossing the row meets it, sorted,
    and how many of those lie east of each centre.
    """
    out = np.zeros(len(centres), dtype=bool)
    x1, y1, x2, y2 = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
    ys = np.sort(centres[:, 1])
    # (the rows' values: `np.unique` would import `numpy.ma`, 12 ms a process)
    for cy in ys[np.concatenate(([True], ys[1:] != ys[:-1]))]:
        straddle = (y1 > cy) != (y2 > cy)
        if not straddle.any():
            continue
        a1, b1, a2, b2 = x1[straddle], y1[straddle], x2[straddle], y2[straddle]
        x_at = np.sort(a1 + (cy - b1) * (a2 - a1) / (b2 - b1))
        row = centres[:, 1] == cy
        east = len(x_at) - np.searchsorted(x_at, centres[row, 0], side="right")
        out[row] = east % 2 == 1
    return out


#: A map as `Engine.step` takes it: its polygons and their edges hashed.
Prepared = _Map


def prepared(by_status: dict[str, BaseGeometry]) -> Prepared:
    """Return a map (``occupied``, optional ``grey_zone``) as `Engine.step` takes it.

    What it reads of the map alone, which a walk may have ahead of its steps.
    """
    occupied = by_status["occupied"]
    grey = by_status.get("grey_zone")
    grey = _EMPTY if grey is None else grey
    new = _Map(occupied, grey, {}, {})
    for status, g in (("occupied", occupied), ("grey", grey)):
        new.edges[status], new.segments[status] = _edges(g)
    return new


@dataclass(frozen=True, slots=True, eq=False)
class Diff:
    """The change from one map to the next, as `Engine.step` works it out.

    What depends on the two maps and the static layers alone (the changed
    edges, the cells they reach, the windows around them): a walk works it
    out ahead while it waits (`territory.record`), and `step` uses it only
    when stepping from `old` to `new`, the same objects.
    """

    old: Prepared
    new: Prepared
    changed: np.ndarray
    cells: list[tuple[int, int]]
    windows: list[tuple[float, float, float, float]]
    lines: np.ndarray
    near: BaseGeometry


def diff(old: Prepared, new: Prepared, statics: Statics) -> Diff:
    """Return the change from map `old` to map `new` (`Diff`)."""
    return _diff_of(old, new, changed_edges(old, new), statics)


def _diff_of(old: Prepared, new: Prepared, changed: np.ndarray, s: Statics) -> Diff:
    lines, near = _lines(changed)
    return Diff(
        old, new, changed, _dirty_cells(changed, s), _windows(changed, s), lines, near
    )


def _lines(changed: np.ndarray) -> tuple[np.ndarray, BaseGeometry]:
    """Return the changed edges as lines, and as one prepared geometry."""
    lines = np.asarray(shapely.linestrings(changed.reshape(-1, 2, 2)))
    near = cast("BaseGeometry", shapely.multilinestrings(lines))
    shapely.prepare(near)
    return lines, near


def _dirty_cells(changed: np.ndarray, s: Statics) -> list[tuple[int, int]]:
    """Cells a changed edge may cross, and cells whose inside/outside flipped.

    The changed edges close into rings (the old map's edges the new one has
    not, and the other way round), and a cell no edge meets flips only if
    they enclose it: only the cells whose centre lies within their bounds
    are asked (`_flipped`), not the country's.
    """
    if not len(changed):
        return []
    x0, y0 = s.origin
    touched = _touched(changed, s.origin, CELL_DEG, s.shape)
    xs, ys = changed[:, [0, 2]], changed[:, [1, 3]]
    minx, maxx, miny, maxy = xs.min(), xs.max(), ys.min(), ys.max()
    nx, ny = s.shape
    # the cells around the bounds (one more each way), then the centres in them
    i_lo = min(max(math.floor((minx - x0) / CELL_DEG) - 1, 0), nx)
    i_hi = min(max(math.floor((maxx - x0) / CELL_DEG) + 2, 0), nx)
    j_lo = min(max(math.floor((miny - y0) / CELL_DEG) - 1, 0), ny)
    j_hi = min(max(math.floor((maxy - y0) / CELL_DEG) + 2, 0), ny)
    ii, jj = np.nonzero(~touched[i_lo:i_hi, j_lo:j_hi])
    ii, jj = ii + i_lo, jj + j_lo
    cx, cy = x0 + (ii + 0.5) * CELL_DEG, y0 + (jj + 0.5) * CELL_DEG
    within = (cx >= minx) & (cx <= maxx) & (cy >= miny) & (cy <= maxy)
    if within.any():
        ii, jj = ii[within], jj[within]
        flip = _flipped(np.column_stack([cx[within], cy[within]]), changed)
        touched[ii[flip], jj[flip]] = True
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(touched), strict=True)]


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
        self._given_bounds = np.empty((0, 4))
        #: decisions by piece (normalised WKB): None where a piece stays held
        self._memo: dict[bytes, Given | None] = {}
        self._seen: dict[bytes, Given | None] = {}
        #: pieces given on earlier maps, by piece and decision: the sides
        #: around each (`_Near`) and what was given
        self._exact: dict[tuple[bytes, str, str], tuple[_Near, Given]] = {}
        #: the occupied polygon's pieces in a cell as of the last map that
        #: changed it: region indexes, pieces and their km²
        self._cell_pieces: dict[
            tuple[int, int], tuple[list[int], list[BaseGeometry], list[float]]
        ] = {}
        #: the states before the last large changes (`_REWIND_EDGES`)
        self._kept: list[_State] = []

    # ---------------------------------------------------------------- one map
    def step(
        self,
        by_status: dict[str, BaseGeometry] | Prepared,
        *,
        ahead: Diff | None = None,
    ) -> np.ndarray:
        """Take the next map; return RU km² by region.

        The map: ``occupied``, optional ``grey_zone``; or `prepared` from them.
        `ahead`: the change to it worked out ahead (`diff`), used if it is
        from the map the engine is at (else worked out again).
        """
        new = by_status if isinstance(by_status, _Map) else prepared(by_status)
        self._seen = {}
        self.gained_km2 = np.zeros(len(self.s.regions))
        self.lost_km2 = np.zeros(len(self.s.regions))
        if self._prev is None:
            self._full(new)
        else:
            if ahead is not None and (
                ahead.old is not self._prev or ahead.new is not new
            ):
                ahead = None
            changed = changed_edges(self._prev, new) if ahead is None else ahead.changed
            if len(changed) > _REWIND_EDGES and not self.gross:
                changed = self._nearest(new, changed)
            if len(changed):
                # (stepped from a kept map instead: its own change)
                same = ahead is not None and changed is ahead.changed
                self._update(self._prev, new, changed, ahead if same else None)
        self._prev = new
        if self._seen:  # decisions of this map, for the next (bounded memory)
            self._memo = self._seen
        return self.region_km2()

    def same_again(self) -> np.ndarray:
        """Take the current map again (a file of the same content); return RU km² by region.

        What `step` gives for it, without reading it: the same figures, and
        (with `gross`) nothing gained or lost.
        """
        if self._prev is None:
            msg = "the engine has no map to take again"
            raise InternalError(msg)
        self.gained_km2 = np.zeros(len(self.s.regions))
        self.lost_km2 = np.zeros(len(self.s.regions))
        return self.region_km2()

    def handover(self) -> bytes:
        """Return what another engine needs to go on from the current map.

        Pickled, for `taking_over` in another process of the same run (the
        given land and its decisions, the km² by region); far less than a
        full map costs.
        """
        import pickle

        state = (
            self._occ_km2,
            self._given,
            self._given_ru,
            self._given_bounds,
            self._memo,
            self._exact,
            self._cell_pieces,
        )
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def taking_over(
        cls, statics: Statics, data: bytes, at: Prepared, *, gross: bool = False
    ) -> Engine:
        """Return an engine at map `at`, from the `handover` of an engine there.

        `data` comes from `handover` in a process of the same run (never
        from a file of the cache): the next step is a change from `at`.
        """
        import pickle

        out = cls(statics, gross=gross)
        (
            out._occ_km2,
            out._given,
            out._given_ru,
            out._given_bounds,
            out._memo,
            out._exact,
            out._cell_pieces,
        ) = pickle.loads(data)  # handed over by this run's own process
        out._prev = at
        return out

    def afresh(self) -> np.ndarray:
        """Return RU km² by region of the current map worked out afresh, whole.

        A new engine's full map of it: the polygon cut by each region at
        once and the land given decided over the whole country, no change
        stepped from another map, no decision reused.  Only the exact
        pieces this engine cut are shared (`_exact`: keyed on the piece,
        its decision and the sides around it, the same cut of the same
        land), which saves a third of the cost (0.37 s against 0.57 s on
        the last map of the record).  What `territory.record` checks a long walk's
        figures against when no partition of its last map is derived.
        """
        if self._prev is None:
            msg = "the engine has no map to work out afresh"
            raise InternalError(msg)
        fresh = Engine(self.s, sliver_tolerance_m=self.t)
        fresh._exact = dict(self._exact)
        fresh._full(self._prev, by_region=True)
        fresh._prev = self._prev
        return fresh.region_km2()

    @property
    def has_map(self) -> bool:
        """Whether the engine has taken a map (the next step is then a change)."""
        return self._prev is not None

    def region_km2(self) -> np.ndarray:
        """RU km² by region of the current map: the polygon plus the land given to RU.

        Never negative: a region whose pieces were all taken away again may
        be left a few 1e-12 km² below zero by float rounding, which is 0.

        Raises
        ------
        InternalError
            If a region is more than `_NOISE_KM2` below zero.
        """
        out = self._occ_km2 + self._given_ru
        low = float(out.min()) if len(out) else 0.0
        if low < 0.0:
            if low < -_NOISE_KM2:
                k = int(np.argmin(out))
                msg = (
                    f"the by-region figures went below zero ({low!r} km² in "
                    f"{self.s.region_ids[k]}); please report this"
                )
                raise InternalError(msg)
            out = np.where(out < 0.0, 0.0, out)
        return out + 0.0  # (and never -0.0)

    @property
    def given(self) -> list[Given]:
        """The land the partition gives to a side on the current map."""
        return list(self._given)

    def _nearest(self, new: _Map, changed: np.ndarray) -> np.ndarray:
        """Go back to the kept state nearest `new` if nearer than the last map.

        The current state is kept first.  Figures depend only on the map
        stepped to (the cells and windows are those of the edges changed from
        the state's map), so stepping from another map gives the same ones.
        Not with `gross`: those are changes from the last map.
        """
        best: _State | None = None
        for state in self._kept:
            nearer = changed_edges(state.prev, new)
            if len(nearer) < len(changed):
                best, changed = state, nearer
        self._kept.append(self._state())
        if best is not None:
            self._kept.remove(best)
            self._kept.append(best)  # the last used is kept longest
            self._restore(best)
        del self._kept[:-_STATES_KEPT]
        return changed

    def _state(self) -> _State:
        assert self._prev is not None
        return _State(
            self._prev,
            self._occ_km2.copy(),
            self._given,
            self._given_ru,
            self._given_bounds,
            self._memo,
            dict(self._cell_pieces),
        )

    def _restore(self, state: _State) -> None:
        # the arrays and dicts updated in place are copied: a state may be
        # stepped from again
        self._prev = state.prev
        self._occ_km2 = state.occ_km2.copy()
        self._given = state.given
        self._given_ru = state.given_ru
        self._given_bounds = state.given_bounds
        self._memo = state.memo
        self._cell_pieces = dict(state.cell_pieces)

    def _full(self, new: _Map, *, by_region: bool = False) -> None:
        """Take `new` whole: its polygon's part of every region, and the land given.

        The polygon is cut cell by cell and every cell's pieces kept, as a
        step keeps those of the cells it changes: the steps after it cut
        only the new map; with `by_region` (`afresh`), by each region at
        once, the cells not used.
        """
        s = self.s
        self._cell_pieces = {}
        if by_region:
            occ = shapely.intersection(new.occupied, s.country)
            # (a region the polygon does not meet holds none of it: asked of
            # the prepared regions at once, not cut)
            meets = shapely.intersects(s.regions, occ)
            self._occ_km2 = np.array(
                [
                    area_km2(polygonal(shapely.intersection(occ, r))) if m else 0.0
                    for r, m in zip(s.regions, meets, strict=True)
                ]
            )
        else:
            occ = None
            self._occ_km2 = np.zeros(len(s.regions))
            self._update_cells(_NO_MAP, new, s.cells_meeting(new.occupied), whole=True)
        found = self._decide(new, None, in_country=occ)
        assert found is not None  # the whole country has no edge
        self._set_given(found)

    def _update(
        self, old: _Map, new: _Map, changed: np.ndarray, ahead: Diff | None = None
    ) -> None:
        if ahead is None:
            ahead = _diff_of(old, new, changed, self.s)
        self._update_cells(old, new, ahead.cells)
        # given land is decided again only near the changed edges: farther
        # away, every piece and every rule's input is as it was
        lines, near, windows = ahead.lines, ahead.near, ahead.windows
        # a piece within `_PAD_DEG` of a changed edge meets a window (which
        # reaches a cell farther): only those are measured
        stays = np.ones(len(self._given), dtype=bool)
        b = self._given_bounds
        meets = np.zeros(len(self._given), dtype=bool)
        for w in windows:
            meets |= (
                (b[:, 0] <= w[2])
                & (b[:, 2] >= w[0])
                & (b[:, 1] <= w[3])
                & (b[:, 3] >= w[1])
            )
        if meets.any():
            (which,) = np.nonzero(meets)
            geoms = [self._given[k].geom for k in which]
            _, hit = shapely.STRtree(geoms).query(
                lines, predicate="dwithin", distance=_PAD_DEG
            )
            stays[which[hit]] = False
        for window in windows:
            self._redecide(new, window, near)
        # every piece decided on this map once, whichever windows decided it
        # (a widened window may overlap another: the same piece of held
        # land, snap-rounded alike in both), by its decision on this map
        found = [g for g in self._seen.values() if g is not None]
        before = self._given_ru
        self._set_given(found, stays=stays)
        if self.gross:  # land given at the border is counted net, map by map
            net = self._given_ru - before
            self.gained_km2 += np.maximum(net, 0.0)
            self.lost_km2 += np.maximum(-net, 0.0)

    def _update_cells(
        self,
        old: _Map,
        new: _Map,
        cells: list[tuple[int, int]],
        *,
        whole: bool = False,
    ) -> None:
        """Add the change of the occupied polygon in `cells` to each region's km².

        The polygon's pieces in a cell (by region) are kept from the last map
        that changed the cell: until it changes again they are the same, so
        only the new map is cut, and all the pieces are measured at once.
        `whole`: the cells of a whole map (`_full`), nothing gained or lost.
        """
        s = self.s
        todo: list[tuple[tuple[int, int], list[int], list[BaseGeometry]]] = []
        olds: list[tuple[tuple[int, int], list[int], list[BaseGeometry]]] = []
        for cell in cells:
            box = s.cell_box(*cell)
            n = polygonal(shapely.clip_by_rect(new.occupied, *box))
            kept = self._cell_pieces.get(cell)
            if kept is None:
                o = polygonal(shapely.clip_by_rect(old.occupied, *box))
                if o.is_empty and n.is_empty:
                    continue
                olds.append((cell, *_cut(o, s.cell_pieces(*cell))))
            elif n.is_empty and not kept[0]:
                continue  # nothing there before or now
            todo.append((cell, *_cut(n, s.cell_pieces(*cell))))
        areas = iter(_areas_km2([g for _, _, gs in [*olds, *todo] for g in gs]))
        for cell, rs, gs in olds:
            self._cell_pieces[cell] = (rs, gs, [next(areas) for _ in gs])
        for cell, rs, gs in todo:
            ars = [next(areas) for _ in gs]
            o_rs, o_gs, o_ars = self._cell_pieces[cell]
            for r, a in zip(o_rs, o_ars, strict=True):
                self._occ_km2[r] -= a
            for r, a in zip(rs, ars, strict=True):
                self._occ_km2[r] += a
            if self.gross and not whole:
                self._gross_cell(
                    dict(zip(o_rs, o_gs, strict=True)), dict(zip(rs, gs, strict=True))
                )
            self._cell_pieces[cell] = (rs, gs, ars)

    def _gross_cell(
        self, before: dict[int, BaseGeometry], after: dict[int, BaseGeometry]
    ) -> None:
        """Add the km² gained and lost in one cell, by region."""
        for r in set(before) | set(after):
            b, a = before.get(r, _EMPTY), after.get(r, _EMPTY)
            self.gained_km2[r] += _area(shapely.difference(a, b))
            self.lost_km2[r] += _area(shapely.difference(b, a))

    def _set_given(self, new: list[Given], *, stays: np.ndarray | None = None) -> None:
        """Keep what was given where `stays` (default: none of it) and `new`.

        With the km² by region given to RU and each piece's bounds, updated
        by what changed (not summed on every read).
        """
        if stays is None:
            out = np.zeros(len(self.s.regions))
            kept, bounds = [], np.empty((0, 4))
        else:
            out = self._given_ru.copy()
            (gone,) = np.nonzero(~stays)  # (most maps: a few pieces of hundreds)
            if len(gone):
                kept = [g for g, k in zip(self._given, stays, strict=True) if k]
                bounds = self._given_bounds[stays]
            else:
                kept, bounds = list(self._given), self._given_bounds
            for k in gone:
                g = self._given[k]
                if g.holder == RU:
                    for r, a in g.region_km2.items():
                        out[r] -= a
        for g in new:
            if g.holder == RU:
                for r, a in g.region_km2.items():
                    out[r] += a
        self._given = kept + new
        self._given_ru = out
        if new:
            geoms = np.array([g.geom for g in new], dtype=object)
            bounds = np.vstack([bounds, shapely.bounds(geoms)])
        self._given_bounds = bounds

    # ---------------------------------------------------------------- given land
    def _redecide(
        self,
        new: _Map,
        window: tuple[float, float, float, float],
        near: BaseGeometry,
    ) -> list[Given]:
        """Return the given land near the changed edges `near` in `window`.

        The window is widened as needed.
        """
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
        *,
        in_country: BaseGeometry | None = None,
    ) -> list[Given] | None:
        """Return the land given to a side within `window`, of the pieces near `near`.

        `window` None: the whole country.  The pieces are those within
        `_PAD_DEG` of `near` (None: every piece).  `in_country`: the map's
        occupied polygon cut by the whole country, when the caller has it
        (``shapely.intersection(new.occupied, country)``, the same overlay;
        whole country only).

        Returns None when a piece that could be given crosses the window's edge.
        """
        s = self.s
        outer = None if window is None else _widen(window, 1, pad=_PAD_DEG)

        def clip(g: BaseGeometry) -> BaseGeometry:
            return g if outer is None else polygonal(shapely.clip_by_rect(g, *outer))

        # (where the country covers the window, cutting by it keeps all;
        # and a union with nothing is the same land: both overlays skipped)
        inside = outer is not None and s.covers_box(outer)

        def cut_by_country(g: BaseGeometry) -> BaseGeometry:
            if inside:
                return g
            country = s.country if outer is None else s.clip("country", outer)
            return shapely.intersection(g, country)

        occupied = (
            cut_by_country(clip(new.occupied))
            if in_country is None or outer is not None
            else in_country
        )
        grey = new.grey
        if not grey.is_empty:
            grey = shapely.difference(cut_by_country(clip(grey)), occupied)
        others = occupied if grey.is_empty else shapely.union(occupied, grey)
        if others.is_empty:
            return []
        if window is None:
            land, land_box = s.country_land, None
        else:
            land_box = shapely.box(*window)
            land = s.clip("country_land", window)
        # snap-rounded as `partition_land` forms it: the pieces of a window
        # are those of the whole country, down to where two only touch
        # (the other sides beyond the window change no piece inside it: a
        # snap-rounded edge moves only at the vertices it passes within a
        # grid cell of, and a piece near the window's edge is not decided)
        held = held_land(
            land,
            others
            if window is None
            else polygonal(shapely.clip_by_rect(others, *window)),
        )

        def near_box(piece: BaseGeometry) -> tuple[float, float, float, float]:
            minx, miny, maxx, maxy = piece.bounds
            d = 1e-6  # more than the grid: all the land the grown piece can meet
            return (minx - d, miny - d, maxx + d, maxy + d)

        parts = list(shapely.get_parts(polygonal(held)))
        if not parts:
            return []
        main = None
        if window is None:
            main = int(np.argmax(_areas_km2(parts)))
        # the layers `given_to` reads, in the metric CRS: reprojected when
        # first read (many windows decide no piece)
        m = LazyLayers(
            makers={
                "occupied": lambda: transform(occupied, STORAGE_CRS, s.metric),
                "grey": lambda: transform(grey, STORAGE_CRS, s.metric),
                "border": lambda: (
                    s.border_m if outer is None else s.clip("border_m", outer)
                ),
            }
        )
        if self.t > 0:  # the whole border's band, as the partition uses it
            # (made, or read from the derived cache, only if a piece by the
            # border needs it: `in_border_band`)
            m.makers["border_band"] = lambda: static_metric_buffer(
                s.border, s.metric, self.t
            )
        # which pieces may be given: near the other side (and the change)
        shapely.prepare(others)
        by_change = (
            np.ones(len(parts), dtype=bool)
            if near is None
            else shapely.dwithin(near, parts, _PAD_DEG)
        )
        if not by_change.any():
            return []
        # the pieces that cannot be: the main held land, pieces by the coast,
        # and (for now) pieces the window's edge cuts (within `_EDGE_DEG` of
        # it: their cut is snap-rounded)
        edge = (
            np.zeros(len(parts), dtype=bool)
            if land_box is None
            else shapely.dwithin(parts, land_box.boundary, _EDGE_DEG)
        )
        coast = np.zeros(len(parts), dtype=bool)
        if self.t > 0:
            by_sea = np.nonzero(shapely.intersects(s.near_sea, parts))[0]
            # (the main held land is never given, whether by the coast or
            # not: not reprojected, the country's largest piece)
            by_sea = by_sea[by_sea != main] if main is not None else by_sea
            if len(by_sea):
                pms = transform_many([parts[k] for k in by_sea], STORAGE_CRS, s.metric)
                coast[by_sea] = shapely.dwithin(s.sea_m, pms, self.t + TOUCH_M)
        # a piece the window's edge cuts, by the change, that could be part of
        # a piece given (whether it touches the other side may lie outside):
        # widen the window
        cut = np.nonzero(edge & by_change & ~coast)[0]
        no_border = outer is not None and len(cut) > 0 and not s.border_meets(outer)
        for k in cut:
            inner = _inner_point(parts[k])
            if inner is not None and (
                no_border or _far_from_border(inner, m, s.metric, self.t)
            ):
                # far wider than a seam, and not all along the border
                continue
            if _could_be_given(transform(parts[k], STORAGE_CRS, s.metric), m, self.t):
                return None
        inland = [
            k for k in range(len(parts)) if k != main and not edge[k] and not coast[k]
        ]
        out: list[Given] = []
        todo: list[tuple[BaseGeometry, bytes]] = []
        # a group with a wanted piece that is not inland is not given (see
        # below): only the groups of the wanted inland pieces are looked at
        # (near the other side and the change: asked of those pieces only)
        ask = [k for k in inland if by_change[k]]
        near_other = shapely.dwithin(
            others, np.array([parts[k] for k in ask], dtype=object), _NEAR_DEG
        )
        start = [k for k, w in zip(ask, near_other, strict=True) if w]
        pieces: list[BaseGeometry] = []
        for group in touching_groups(parts, inland, start, main=main) if start else []:
            if any(edge[k] for k in group):
                continue  # it goes on past the edge, where it cannot be given
            if any(coast[k] or k == main for k in group):
                continue  # it touches the main held land or the coast's pieces
            pieces.append(
                parts[group[0]]
                if len(group) == 1
                else shapely.union_all([parts[k] for k in group])
            )
        if not pieces:
            return out
        pieces_a = np.array(pieces, dtype=object)
        keys = shapely.to_wkb(shapely.normalize(pieces_a)).tolist()
        # the pieces decided on the last map, and whether a changed edge
        # passes within the touch distance of them
        again = [j for j, key in enumerate(keys) if key in self._memo]
        moved = np.zeros(len(pieces), dtype=bool)
        if near is not None and again:
            moved[again] = shapely.dwithin(near, pieces_a[again], _NEAR_DEG)
        for j, (piece, key) in enumerate(zip(pieces, keys, strict=True)):
            if key in self._memo and not moved[j]:
                # the same piece, and the other sides within the touch
                # distance of it are as they were: the same decision
                self._seen[key] = memo = self._memo[key]
                if memo is not None:
                    out.append(memo)
                continue
            todo.append((piece, key))
        # the pieces to decide, reprojected at once
        pms = (
            transform_many([p for p, _ in todo], STORAGE_CRS, s.metric)
            if todo
            else np.empty(0, dtype=object)
        )
        # each question asked of all the pieces at once (the same answers:
        # a whole map decides hundreds of pieces, a call each costs more
        # than most of them take)
        decisions = given_to_many(pms, m, sliver_tolerance_m=self.t)
        # the pieces given, with the sides in a box around each: the exact
        # piece lies within a hair of the piece, so only the land and the
        # sides in that box are needed
        at: list[tuple[BaseGeometry, bytes, str, str]] = []
        boxes: list[tuple[float, float, float, float]] = []
        sides_l: list[BaseGeometry] = []
        side_l: list[BaseGeometry] = []
        for (piece, key), decided in zip(todo, decisions, strict=True):
            if decided is None:
                self._seen[key] = None
                continue
            reason, holder = decided
            box = near_box(piece)
            at.append((piece, key, reason, holder))
            boxes.append(box)
            sides = shapely.clip_by_rect(others, *box)
            its = occupied if holder == RU else grey
            # (with no grey zone the other sides are the occupied land: the
            # same cut, made once)
            side_l.append(
                polygonal(sides if its is others else shapely.clip_by_rect(its, *box))
            )
            sides_l.append(sides)
        if not at:
            return out
        sides_a, side_a = (
            np.array(sides_l, dtype=object),
            np.array(side_l, dtype=object),
        )
        # the same piece given to the same side, with the same sides around
        # it, as on an earlier map: the same exact piece
        near_keys = zip(
            shapely.to_wkb(shapely.normalize(sides_a)).tolist(),
            shapely.to_wkb(shapely.normalize(side_a)).tolist(),
            strict=True,
        )
        new_k: list[int] = []
        near_l: list[_Near] = []
        for j, ((_, key, reason, holder), near_sides) in enumerate(
            zip(at, near_keys, strict=True)
        ):
            near_l.append(near_sides)
            known = self._exact.get((key, reason, holder))
            if known is not None and known[0] == near_sides:
                out.append(known[1])
                self._seen[key] = known[1]
            else:
                new_k.append(j)
        if not new_k:
            return out
        # the exact pieces cut at once: from the land of each box (the whole
        # country's land is cut from its tile), less the sides
        lands = np.array(
            [
                s.clip("country_land", boxes[j], keep=False)
                if window is None
                else shapely.clip_by_rect(land, *boxes[j])
                for j in new_k
            ],
            dtype=object,
        )
        exact_a = exact_pieces(
            [at[j][0] for j in new_k],
            shapely.difference(lands, sides_a[new_k]),
            joined_to=side_a[new_k],
        )
        # joined to its side: only what the side does not hold counts
        owns = shapely.difference(exact_a, side_a[new_k])
        region_parts: list[BaseGeometry] = []
        hits_l = self._by_regions([polygonal(own) for own in owns])
        for _, by_region in hits_l:
            region_parts.extend(by_region)
        areas = iter(_areas_km2(region_parts))
        for j, exact, (hits, _) in zip(new_k, exact_a, hits_l, strict=True):
            _, key, reason, holder = at[j]
            km2 = {r: float(next(areas)) for r in hits}
            km2 = {r: a for r, a in km2.items() if a}
            g = Given(exact, holder, reason, km2)
            out.append(g)
            self._seen[key] = g
            if len(self._exact) >= _EXACT_KEPT:
                del self._exact[next(iter(self._exact))]
            self._exact[(key, reason, holder)] = (near_l[j], g)
        return out

    def _by_regions(
        self, geoms: list[BaseGeometry]
    ) -> list[tuple[list[int], list[BaseGeometry]]]:
        """Return the regions each of `geoms` meets, and its part in each."""
        geoms_a = np.array(geoms, dtype=object)
        # the regions (prepared) asked, not the geometries: far cheaper,
        # same answer; every geometry asked at once
        which, near = self.s._tree.query(geoms_a)
        meets = shapely.intersects(self.s.regions[near], geoms_a[which])
        hits: list[list[int]] = [[] for _ in geoms]
        for k, r in zip(which[meets].tolist(), near[meets].tolist(), strict=True):
            hits[k].append(r)
        out = []
        for geom, rs in zip(geoms, hits, strict=True):
            if len(rs) == 1:
                # land of the country meeting one region only: all of it
                # (what a cut would take off is float noise along the
                # region's outline)
                out.append((rs, [geom]))
                continue
            # only the regions' outlines within a hair of `geom` matter
            minx, miny, maxx, maxy = geom.bounds
            d = 1e-6
            box = (minx - d, miny - d, maxx + d, maxy + d)
            parts = [
                polygonal(
                    shapely.intersection(
                        shapely.clip_by_rect(self.s.regions[r], *box), geom
                    )
                )
                for r in rs
            ]
            out.append((rs, parts))
        return out


def _cut(
    geom: BaseGeometry, pieces: list[tuple[int, BaseGeometry | None]]
) -> tuple[list[int], list[BaseGeometry]]:
    """Return the regions `geom` (within a cell) meets, and its part in each.

    It is cut by the regions' pieces of the cell (`Statics.cell_pieces`).
    """
    if geom.is_empty:
        return [], []
    rs, gs = [], []
    for r, piece in pieces:
        # the pieces are prepared: cut only what crosses a region's outline
        if piece is None or shapely.covers(piece, geom):
            part = geom
        elif not shapely.intersects(piece, geom):
            continue
        else:
            part = polygonal(shapely.intersection(geom, piece))
        if not part.is_empty:
            rs.append(r)
            gs.append(part)
    return rs, gs


def _area(geom: BaseGeometry) -> float:
    return 0.0 if geom.is_empty else area_km2(polygonal(geom))


def _areas_km2(geoms: list[BaseGeometry]) -> np.ndarray:
    """`area_km2` of each polygonal geometry, in one pass over all their rings.

    The same integral as `territory.geodesy.area_km2` (each ring's
    −a²/2 ∮ q(φ) dλ by Gauss–Legendre along straight lon/lat edges; exterior
    rings count positive, holes negative), summed in another order: the
    figures agree to float rounding.
    """
    out = np.zeros(len(geoms))
    if len(geoms) < 2:  # one at a time costs less
        return np.array([area_km2(g) for g in geoms], dtype=float)
    polys, owner = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    is_poly = shapely.get_type_id(polys) == 3
    polys, owner = polys[is_poly], owner[is_poly]
    if not len(polys):
        return out
    # oriented as `area_km2` orients them, so each ring's edges are the same
    polys = shapely.orient_polygons(polys, exterior_cw=False)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    # the first ring of each polygon is its exterior
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_poly[1:] != ring_poly[:-1]
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    # the edges within a ring (not from one ring's end to the next's start)
    same = ring_of[1:] == ring_of[:-1]
    terms = _edge_terms(coords)[same]
    # each ring's edges are contiguous: summed ring by ring
    edge_ring = ring_of[:-1][same]
    first = np.ones(len(edge_ring), dtype=bool)
    first[1:] = edge_ring[1:] != edge_ring[:-1]
    starts = np.flatnonzero(first)
    ring_sum = np.zeros(len(rings))
    if len(starts):
        ring_sum[edge_ring[starts]] = np.add.reduceat(terms, starts)
    ring_m2 = np.abs(-_A_M * _A_M / 2 * ring_sum)
    signed = np.where(exterior, ring_m2, -ring_m2)
    per_poly = np.bincount(ring_poly, weights=signed, minlength=len(polys))
    # numpy's stubs type bincount as integer even with float weights
    out = np.bincount(owner, weights=per_poly, minlength=len(geoms))  # type: ignore[assignment]
    return np.abs(out) / M2_PER_KM2


def _inner_point(piece: BaseGeometry) -> BaseGeometry | None:
    """Return a point well inside a piece's outline, or None.

    The piece is in lon/lat.  The point lies more than `_WIDE_DEG` inside
    it, times ``(span / _WIDE_SPAN_DEG)²`` for a piece more than
    `_WIDE_SPAN_DEG` across (its span: the larger side of its bounds); None
    if there is no such point (`shapely.point_on_surface` is asked), or the
    piece is more than `_WIDE_SPAN_MAX_DEG` across.

    `_WIDE_DEG` is more than 130 m, where a seam is nowhere 10 m wide: a
    piece with such a point is no seam, and the point lies inside the piece
    in the metric CRS too.  A degree is at least 67.9 km in the country (a
    degree of longitude at 52.4°N), and the metric CRS bends a straight
    lon/lat edge at most 65 m from the straight line between its ends, for
    an edge within a box `_WIDE_SPAN_DEG` across (measured over the
    country, the diagonals the worst), and by the square of the box's side
    for larger ones (259 m at 0.8°, 1,044 m at 1.6°): the point lies at least
    ``(135.8 m − 65 m) × (span / _WIDE_SPAN_DEG)²`` inside the piece in the
    metric CRS (`tests/test_series.py`).
    """
    minx, miny, maxx, maxy = piece.bounds
    span = max(maxx - minx, maxy - miny)
    if span > _WIDE_SPAN_MAX_DEG:
        return None
    far = _WIDE_DEG * max(1.0, (span / _WIDE_SPAN_DEG) ** 2)
    inner = shapely.point_on_surface(piece)
    return inner if shapely.distance(inner, piece.boundary) > far else None


def _far_from_border(
    inner: BaseGeometry, m: dict[str, BaseGeometry], metric: str, t: float
) -> bool:
    """Whether a point of a piece (`_inner_point`) shows it is not all along the border.

    `_could_be_given` asks a piece that is not nowhere wide whether the
    border's buffer covers it: a point of it farther from the border than
    the buffer reaches (with GEOS's 1% and a metre) says no, without the
    piece being reprojected.
    """
    return not _within_border_reach(transform(inner, STORAGE_CRS, metric), m, t)


def _within_border_reach(
    point_m: BaseGeometry, m: dict[str, BaseGeometry], t: float
) -> bool:
    """Whether a point (metric CRS) may lie in the border's buffer by ``t + TOUCH_M``.

    A buffer lies within its distance of the line, but for the 1% GEOS
    simplifies the line by: a point farther than that (and a metre) is
    outside the buffer (which costs far more to build).
    """
    return bool(shapely.dwithin(m["border"], point_m, 1.02 * (t + TOUCH_M) + 1))


def _could_be_given(pm: BaseGeometry, m: dict[str, BaseGeometry], t: float) -> bool:
    """Return whether a piece's visible part in a window could belong to a given piece.

    It could if it is thin, or lies along the border.  (Whether it touches the
    other side cannot be told from a part.)
    """
    if nowhere_wide(pm):
        return True
    d = t + TOUCH_M
    if not shapely.dwithin(m["border"], pm, d):
        return False
    if not _within_border_reach(shapely.point_on_surface(pm), m, t):
        return False
    return bool(shapely.covered_by(pm, m["border"].buffer(d)))


def _widen(
    window: tuple[float, float, float, float],
    factor: float,
    *,
    pad: float | None = None,
) -> tuple[float, float, float, float]:
    d = MARGIN_DEG * factor if pad is None else pad
    minx, miny, maxx, maxy = window
    return (minx - d, miny - d, maxx + d, maxy + d)


def _groups(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Return the bounds (i0, j0, i1, j1) of each 8-connected group of True cells.

    By runs of cells along the second axis, each joined to the runs it
    touches in the row before (diagonals included): the groups of a few
    hundred cells in a few dozen runs, not cell by cell.  In the order of
    each group's first run (row by row).

    >>> _groups(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0]], dtype=bool))
    [(0, 0, 1, 1), (3, 0, 3, 1)]
    """
    padded = np.zeros((cells.shape[0], cells.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = cells
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)  # (row-major: starts and ends pair up)
    stops = np.nonzero(step == -1)[1]  # one past each run's last cell
    rows_l, starts_l, stops_l = rows.tolist(), starts.tolist(), stops.tolist()
    parent = list(range(len(rows_l)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    by_row: dict[int, list[int]] = {}
    for k, r in enumerate(rows_l):
        for m in by_row.get(r - 1, ()):
            # cells [start, stop) of both; touching diagonally counts
            if starts_l[m] <= stops_l[k] and starts_l[k] <= stops_l[m]:
                a, b = root(k), root(m)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        by_row.setdefault(r, []).append(k)
    bounds: dict[int, list[int]] = {}
    for k, r in enumerate(rows_l):
        g = root(k)
        lo, hi = starts_l[k], stops_l[k] - 1
        box = bounds.get(g)
        if box is None:
            bounds[g] = [r, lo, r, hi]
        else:
            box[:] = [min(box[0], r), min(box[1], lo), max(box[2], r), max(box[3], hi)]
    return [(box[0], box[1], box[2], box[3]) for box in bounds.values()]


def _windows(
    changed: np.ndarray, s: Statics
) -> list[tuple[float, float, float, float]]:
    """Return windows around the clusters of changed edges.

    The bounds of each group of `FINE_DEG` cells the edges cross, grown by one
    cell, merged until disjoint.
    """
    x0, y0 = s.origin
    nx, ny = (math.ceil(n * CELL_DEG / FINE_DEG) for n in s.shape)
    if not len(changed):
        return []

    # only the part of the grid around the edges' bounds (a cell more each
    # way than the windows reach), not the whole country
    def span(v: np.ndarray, v0: float, n: int) -> tuple[int, int]:
        lo = min(max(math.floor((v.min() - v0) / FINE_DEG) - 1, 0), n - 1)
        hi = min(max(math.floor((v.max() - v0) / FINE_DEG) + 1, 0), n - 1)
        return max(lo - 1, 0), min(hi + 1, n - 1)

    (i0, i1), (j0, j1) = (
        span(changed[:, [0, 2]], x0, nx),
        span(changed[:, [1, 3]], y0, ny),
    )
    marked = _touched(
        changed,
        (x0 + i0 * FINE_DEG, y0 + j0 * FINE_DEG),
        FINE_DEG,
        (i1 - i0 + 1, j1 - j0 + 1),
    )
    grown = marked.copy()  # one cell around: more than `_PAD_DEG`
    grown[1:, :] |= marked[:-1, :]
    grown[:-1, :] |= marked[1:, :]
    grown[:, 1:] |= grown[:, :-1].copy()
    grown[:, :-1] |= grown[:, 1:].copy()
    boxes = [
        (
            x0 + (i0 + a) * FINE_DEG,
            y0 + (j0 + b) * FINE_DEG,
            x0 + (i0 + c + 1) * FINE_DEG,
            y0 + (j0 + d + 1) * FINE_DEG,
        )
        for a, b, c, d in _groups(grown)
    ]
    return merged_boxes(boxes)
