"""The control layer: who holds which land of each region, as of a date.

Land is the unit's own land, never its territorial sea: the region polygon
intersected with the land mask, plus whatever the control source marks as
occupied there (DeepState draws a finer coastline than the 1-km land mask).
Each region's land is partitioned exactly into Russian-held (``RU``),
grey zone (``GREY``, where the source has one) and Ukrainian-held (``UA``).
Where the two coastlines disagree, thin slivers and small cut-off bits of
"held" land by the sea that DeepState draws as water are removed from the land
and reported (``removed_km2``).  Strips between the occupied polygon and the
state border, cut off from the held land, are the occupier's (``border
gap``), and so are seams metres wide between two of the source's polygons
(``seam``).  Every other piece of land the source leaves out of its polygons
stays held: an encircled town, or land cut off by the grey zone, is
Ukrainian-held.  DESIGN.md ("Land and the partition") gives the figures.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

import shapely
from shapely.geometry.base import BaseGeometry

from territory.crs import STORAGE_CRS, metric_crs_for, transform, transform_many
from territory.frozen import ReadOnlyDict
from territory.geodesy import area_km2, coverage_union, largest, polygonal

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from pyproj import CRS

T = TypeVar("T")

log = logging.getLogger(__name__)

RU = "RU"
UA = "UA"
GREY = "GREY"
#: Holders of land in a control map, in display order.
HOLDERS = (RU, GREY, UA)

#: Coastline sliver tolerance: held land thinner than twice this, lying within
#: this distance of both the sea (land mask) and occupied territory, is removed.
#: The land mask is generalised to about 1 km, so 1 km catches the strips
#: between its coast and DeepState's without eating real coastal land.  The
#: other two rules use the same distance for the same reason: a cut-off piece
#: within it of the mask's coast may be water the mask draws as land, and a
#: strip lying within it of the state border is two drawings of one line.
SLIVER_TOLERANCE_M = 1_000.0

#: Cut-off "held" pieces by the sea smaller than this, nearer to occupied
#: territory than to the main held land, are lakes, lagoons and estuaries that
#: DeepState leaves out of its polygons and the land mask fills, not held pockets.
ENCLAVE_MAX_KM2 = 100.0

#: Two pieces "touch" when they are this close (m): pieces cut from the same
#: inputs share their vertices up to the rounding of a reprojection (well
#: under a millimetre), and nothing the sources draw is finer than a metre.
TOUCH_M = 1.0

#: Cut-off "held" pieces nowhere this wide (m) and surrounded by occupied or
#: grey land are seams between two of the source's polygons: outlines clicked
#: separately at street zoom (a few metres a pixel) miss each other by a few
#: pixels, and no position anyone holds is narrower than a road with its verges.
SEAM_WIDTH_M = 10.0

#: Reasons a piece is removed from the land (`Partition.removed`).
SLIVER = "sliver"
WATER = "water"
REMOVED_REASONS = (SLIVER, WATER)
#: Reasons the source's gaps are given to the side around them: keys of
#: `Partition.country` (their land, also inside the RU or GREY land).
BORDER_GAP = "border gap"
SEAM = "seam"
GIVEN_REASONS = (BORDER_GAP, SEAM)
#: Keys of `Partition.country` that are not holders.
NOT_HOLDERS = ("land", *GIVEN_REASONS)


@dataclass(frozen=True, slots=True)
class Partition:
    """Per-region land partition (the output of `partition_land`).

    Attributes
    ----------
    pieces
        GeoDataFrame with one row per (region_id, holder) with non-empty land:
        columns ``region_id``, ``holder`` (RU, GREY, UA), ``geometry`` (EPSG:4326).
    removed
        GeoDataFrame of the pieces removed from the land, per region:
        ``region_id``, ``reason`` (``sliver`` or ``water``), ``geometry``.
    country
        Country-wide geometry per holder (RU, GREY, UA), of all ``land``, and
        of the land the source leaves out that was given to the side around
        it (``border gap`` and ``seam``; inside RU or GREY); a read-only
        mapping (`ReadOnlyDict`).
    outline_band
        `build_outline_band` of ``country["land"]`` when it was kept with the
        partition (the record derives it once), else None.
    piece_km2, country_km2
        The area (km², `area_km2`) of each row of ``pieces`` and of each
        ``country`` geometry, measured with the partition (None: not kept;
        `Control` measures them).  A patched partition carries them patched
        too: the earlier areas less the land cut out, plus the land glued in
        (`territory._partition_patch`; equal to a measure of the geometry to
        ~1e-13).
    """

    pieces: gpd.GeoDataFrame
    removed: gpd.GeoDataFrame
    country: Mapping[str, BaseGeometry]
    outline_band: BaseGeometry | None = field(default=None, compare=False)
    piece_km2: tuple[float, ...] | None = field(default=None, compare=False)
    country_km2: Mapping[str, float] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # shared by every Control of the snapshot: nobody may change them
        if not isinstance(self.country, ReadOnlyDict):
            object.__setattr__(self, "country", ReadOnlyDict(self.country))
        if self.country_km2 is not None and not isinstance(
            self.country_km2, ReadOnlyDict
        ):
            object.__setattr__(self, "country_km2", ReadOnlyDict(self.country_km2))

    def copy(self) -> Partition:
        """Return this partition with frames of its own (what `Control.partition` hands out).

        The geometries and the read-only mappings are shared: nothing can
        change them in place.
        """
        return replace(self, pieces=self.pieces.copy(), removed=self.removed.copy())


@dataclass(frozen=True, slots=True)
class Decisions:
    """What the partition decides about "held" land the source leaves out.

    Attributes
    ----------
    slivers, water
        Removed from the land (lon/lat).
    given
        Border gaps and seams: ``given[reason][holder]``, the land given to
        ``RU`` or ``GREY`` for that reason.
    """

    slivers: BaseGeometry
    water: BaseGeometry
    given: dict[str, dict[str, BaseGeometry]]


@lru_cache(maxsize=4)
def _metric_static(geom: BaseGeometry, metric_wkt: str) -> BaseGeometry:
    """Reproject a static lon/lat geometry (the sea, the border); cached per process."""
    out = transform(geom, STORAGE_CRS, metric_wkt)
    shapely.prepare(out)
    return out


#: Buffers `static_metric_buffer` is handed instead of building them (read
#: from the derived cache by `territory.record`), or what gives them when
#: first asked for, by its arguments.
_HANDED_BUFFERS: dict[
    tuple[BaseGeometry, str, float], BaseGeometry | Callable[[], BaseGeometry]
] = {}


def hand_static_buffer(
    geom: BaseGeometry,
    metric_wkt: str,
    distance_m: float,
    buffer: BaseGeometry | Callable[[], BaseGeometry],
) -> None:
    """Give `static_metric_buffer` the buffer it would build for these arguments.

    `buffer` is the buffer, or what gives it when first asked for (once per
    process): for a buffer kept from an earlier process, the caller vouches
    that it is what `build_static_buffer` builds (e.g. its WKB, read back
    exactly).
    """
    if isinstance(buffer, BaseGeometry):
        shapely.prepare(buffer)
    _HANDED_BUFFERS[(geom, metric_wkt, float(distance_m))] = buffer


def build_static_buffer(
    geom: BaseGeometry, metric_wkt: str, distance_m: float
) -> BaseGeometry:
    """Buffer a lon/lat geometry by `distance_m` in a metric CRS (not prepared)."""
    return transform(geom, STORAGE_CRS, metric_wkt).buffer(distance_m)


@lru_cache(maxsize=4)
def static_metric_buffer(
    geom: BaseGeometry, metric_wkt: str, distance_m: float
) -> BaseGeometry:
    """Buffer a static lon/lat geometry (the sea, the border) in a metric CRS.

    Prepared; cached per process, or handed in (`hand_static_buffer`).
    """
    handed = _HANDED_BUFFERS.get((geom, metric_wkt, float(distance_m)))
    out = (
        build_static_buffer(geom, metric_wkt, distance_m)
        if handed is None
        else handed
        if isinstance(handed, BaseGeometry)
        else handed()
    )
    shapely.prepare(out)
    return out


class LazyLayers(dict):
    """Layers by name, some made (and prepared) only when first read.

    For `given_to_many`'s layers: a layer few pieces need (the border's
    band) is made only if one does.
    """

    def __init__(
        self,
        layers: Mapping[str, BaseGeometry] | None = None,
        makers: dict[str, Callable[[], BaseGeometry]] | None = None,
    ) -> None:
        super().__init__(layers or {})
        self.makers = dict(makers or {})

    def __missing__(self, key: str) -> BaseGeometry:
        geom = self.makers[key]()
        shapely.prepare(geom)
        self[key] = geom
        return geom


#: A piece all of whose points lie within this share of the band's width of
#: the border lies in the border's band (`static_metric_buffer`), whatever
#: the band's own drawing: GEOS's buffer reaches every point within its
#: distance of the line but for the 1% it simplifies the line by and the
#: 0.5% its arcs (8 chords a quadrant) fall short of the circle.
BAND_SURE_SHARE = 0.95
#: How many times a piece's box is quartered to show it lies near the border.
_SURE_DEPTH = 8
#: A piece that needs more boxes than this at once is not shown that way
#: (the band is asked).
_SURE_MAX_BOXES = 1024


def surely_near(
    border_m: BaseGeometry, pms: Sequence[BaseGeometry] | np.ndarray, distance_m: float
) -> np.ndarray:
    """Whether each piece is shown to lie wholly within `distance_m` of `border_m`.

    Every point of a box lies within half its diagonal ``h`` of its centre,
    so a box whose centre lies within ``distance_m − h`` of the border lies
    within `distance_m` of it.  Each piece's bounding box is asked; those
    not shown are quartered, the quarters that meet the piece asked in turn
    (`_SURE_DEPTH` times at most): a piece all of whose boxes are shown lies
    within `distance_m` (exact predicates, `shapely.dwithin` and
    `shapely.intersects`, on the boxes).  A piece a box's centre farther
    than `distance_m` lies in is not, and is let go at once.  False shows
    nothing.  `border_m` may be any part of the border: the distance to a
    part is never shorter.

    A piece of a few hundred metres by the border takes one box: a few
    microseconds, where the border's band costs about a second to build.
    """
    import numpy as np

    pms = np.asarray(pms, dtype=object)
    n = len(pms)
    shown = np.zeros(n, dtype=bool)
    if not n or border_m.is_empty:
        return shown
    shown = ~shapely.is_empty(pms)
    owner = np.nonzero(shown)[0]
    boxes = shapely.bounds(pms[owner])
    for depth in range(_SURE_DEPTH + 1):
        if not len(owner):
            break
        x0, y0, x1, y1 = boxes.T
        half = np.hypot(x1 - x0, y1 - y0) / 2
        centres = shapely.points((x0 + x1) / 2, (y0 + y1) / 2)
        ok = half < distance_m
        (ask,) = np.nonzero(ok)
        ok[ask] = shapely.dwithin(border_m, centres[ask], distance_m - half[ask])
        (bad,) = np.nonzero(~ok)
        if not len(bad):
            break
        # a piece with a point farther than `distance_m`: not within it
        (far,) = np.nonzero(~shapely.dwithin(border_m, centres[bad], distance_m))
        far = bad[far]
        out = far[shapely.intersects(pms[owner[far]], centres[far])]
        shown[owner[out]] = False
        if depth == _SURE_DEPTH:
            shown[owner[bad]] = False
            break
        bad = bad[shown[owner[bad]]]
        x0, y0, x1, y1 = boxes[bad].T
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        quarters = np.concatenate(
            [
                np.stack(q, axis=1)
                for q in (
                    (x0, y0, xm, ym),
                    (xm, y0, x1, ym),
                    (x0, ym, xm, y1),
                    (xm, ym, x1, y1),
                )
            ]
        )
        owners = np.tile(owner[bad], 4)
        # (a box shown is done with: only its piece's other boxes are left)
        meets = shapely.intersects(pms[owners], shapely.box(*quarters.T))
        boxes, owner = quarters[meets], owners[meets]
        many = np.bincount(owner, minlength=n) > _SURE_MAX_BOXES
        if many.any():
            shown[many] = False
            keep = ~many[owner]
            boxes, owner = boxes[keep], owner[keep]
    return shown


def in_border_band(
    pms: Sequence[BaseGeometry] | np.ndarray, m: Mapping[str, BaseGeometry], t: float
) -> np.ndarray:
    """``shapely.covers(m["border_band"], pm)`` for each piece (metric CRS).

    A piece shown to lie within `BAND_SURE_SHARE` of `t` of ``m["border"]``
    (`surely_near`) is covered; only the others ask the band, which is read
    (and, in a `LazyLayers`, made) only then: the same answers, and most
    maps never need the band.
    """
    import numpy as np

    pms = np.asarray(pms, dtype=object)
    out = surely_near(m["border"], pms, BAND_SURE_SHARE * t)
    (ask,) = np.nonzero(~out)
    if len(ask):
        out[ask] = shapely.covers(m["border_band"], pms[ask])
    return out


def _slivers(
    held: BaseGeometry, others: BaseGeometry, sea: BaseGeometry, metric: CRS, t: float
) -> BaseGeometry:
    """Held land within `t` of both the sea and `others` and thinner than 2·`t`."""
    if t <= 0 or sea.is_empty:
        return shapely.Polygon()
    held_m = transform(held, STORAGE_CRS, metric)
    zone = shapely.intersection(
        static_metric_buffer(sea, metric.to_wkt(), t),
        transform(others, STORAGE_CRS, metric).buffer(t),
    )
    if zone.is_empty:
        return shapely.Polygon()
    local = shapely.intersection(held_m, zone.buffer(3 * t))
    opened = local.buffer(-t).buffer(t)
    sl = shapely.difference(shapely.intersection(held_m, zone), opened)
    return shapely.intersection(transform(sl, metric, STORAGE_CRS), held)


def _shared_m(part_m: BaseGeometry, other_m: BaseGeometry) -> float:
    """Length (m) of the outline of `part_m` that runs along `other_m`."""
    near = shapely.intersection(other_m, part_m.buffer(2 * TOUCH_M))
    return shapely.intersection(part_m.boundary, near.buffer(TOUCH_M)).length


def _removed_geometries(
    held: BaseGeometry,
    occupied: BaseGeometry,
    grey: BaseGeometry,
    sea: BaseGeometry,
    border: BaseGeometry,
    *,
    sliver_tolerance_m: float,
    enclave_max_km2: float,
) -> Decisions:
    """Decide which "held" land is a sliver, water, a border gap or a seam (lon/lat).

    Each piece of `held` cut off from the main held land (its largest piece),
    after the slivers are taken out, is

    - water if it lies within `sliver_tolerance_m` of the sea, is smaller
      than `enclave_max_km2`, is nearer to occupied land than to the main held
      land and touches no grey land;
    - otherwise, a border gap if it touches the state `border` and occupied or
      grey land and lies wholly within `sliver_tolerance_m` of the border: it
      goes to the side it shares the longer outline with;
    - otherwise, a seam if it touches occupied or grey land and is nowhere
      `SEAM_WIDTH_M` wide: it goes to that side likewise;
    - otherwise held: an encircled pocket, or land cut off by the grey zone.
    """
    empty = shapely.Polygon()
    none = Decisions(empty, empty, {})
    others = shapely.union(occupied, grey)
    if held.is_empty or others.is_empty:
        return none
    metric = metric_crs_for(border)  # the country's: the same whatever the front
    t = sliver_tolerance_m
    slivers = _slivers(held, others, sea, metric, t)
    parts = list(shapely.get_parts(shapely.difference(held, slivers)))
    if len(parts) < 2:
        return Decisions(slivers, empty, {})
    i_main = largest(parts)
    wkt = metric.to_wkt()
    m = {
        name: transform(g, STORAGE_CRS, metric)
        for name, g in (
            ("slivers", slivers),
            ("main", parts[i_main]),
            ("occupied", occupied),
            ("grey", grey),
        )
    }
    # the sea and the border do not change: reprojected once per process
    m["sea"] = _metric_static(sea, wkt)
    m["border"] = _metric_static(border, wkt)
    # what the round trip through the metric CRS leaves between a sliver and
    # the occupied edge (films of nanometres) is part of the sliver
    films = m["slivers"].buffer(TOUCH_M) if not slivers.is_empty else empty
    for g in [*m.values(), films]:
        shapely.prepare(g)
    if t > 0:  # the border's band, built (once per process) if a piece needs it
        m = LazyLayers(m, {"border_band": lambda: static_metric_buffer(border, wkt, t)})
    crumbs: list[BaseGeometry] = []
    water: list[BaseGeometry] = []
    given: dict[str, dict[str, list[BaseGeometry]]] = {
        r: {RU: [], GREY: []} for r in GIVEN_REASONS
    }
    inland: list[int] = []
    # every other part reprojected at once, and asked the same two questions
    # at once (hundreds of parts, most of them crumbs)
    import numpy as np

    rest = [i for i in range(len(parts)) if i != i_main]
    pms = transform_many([parts[i] for i in rest], STORAGE_CRS, metric)
    crumb = (
        shapely.covered_by(pms, films)
        if not films.is_empty
        else np.zeros(len(rest), dtype=bool)
    )
    by_sea = (
        shapely.dwithin(pms, m["sea"], t + TOUCH_M)
        if t > 0
        else np.zeros(len(rest), dtype=bool)
    )
    for i, pm, is_crumb, is_by_sea in zip(rest, pms, crumb, by_sea, strict=True):
        part = parts[i]
        if is_crumb:
            crumbs.append(part)
            continue
        if is_by_sea:
            # by the coast: water one source draws and the other does not, when
            # it lies nearer to occupied land than to the held land (an islet
            # off Ukraine's own coast, nearer its held land, stays held)
            if (
                area_km2(part) < enclave_max_km2
                and not occupied.is_empty
                # (nearer occupied land than the main held land: the main
                # land, prepared, asked whether it lies within that distance)
                and not shapely.dwithin(
                    m["main"], pm, shapely.distance(pm, m["occupied"])
                )
                and not (not grey.is_empty and shapely.dwithin(pm, m["grey"], TOUCH_M))
            ):
                water.append(part)
            continue
        inland.append(i)
    inland_set = set(inland)
    pieces = [
        parts[group[0]]
        if len(group) == 1
        else shapely.union_all([parts[k] for k in group])
        for group in touching_groups(parts, inland, main=i_main)
        # (one that touches the main held land or the coast's pieces is not)
        if all(k in inland_set for k in group)
    ]
    # reprojected at once, each as `transform` gives it, and decided at once
    pms = (
        transform_many(pieces, STORAGE_CRS, metric)
        if pieces
        else np.empty(0, dtype=object)
    )
    for piece, decided in zip(
        pieces, given_to_many(pms, m, sliver_tolerance_m=t), strict=True
    ):
        if decided is not None:
            reason, holder = decided
            given[reason][holder].append(piece)
    return Decisions(
        shapely.union_all([slivers, *crumbs]) if crumbs else slivers,
        shapely.union_all(water) if water else empty,
        {
            r: {h: shapely.union_all(g) for h, g in by.items() if g}
            for r, by in given.items()
        },
    )


#: Grid (degrees, ~0.1 mm) of the snap-rounded overlay that forms the held
#: land (`held_land`).
HELD_GRID_DEG = 1e-9
#: Grid (degrees, ~0.1 µm) of the snap-rounded overlays that form the
#: partition's layers (`first_layers`, `last_layers`).  Pieces cut from one
#: layer run along its edges: a floating overlay may leave slivers 1e-15°
#: wide between the two, or not, depending on the rest of its input (the
#: whole country or a window of it, `territory._partition_patch`), and a
#: sliver's outline would count as contact line.  A snap-rounded overlay
#: closes them, and its result around a point depends on the input around
#: it only; it moves no edge by more than half the grid (areas by ~1e-13).
LAYER_GRID_DEG = 1e-12
#: How far (degrees, ~10 µm) a piece given to a side is grown to close the
#: float noise between its edges and that side's (`exact_piece`).
JOIN_DEG = 1e-10


def held_land(land: BaseGeometry, others: BaseGeometry) -> BaseGeometry:
    """Return ``land − others``, the land no other side holds, snap-rounded.

    A floating overlay may join two pieces with a needle of no width, or
    not, depending on everything else in its input; snap-rounding to
    `HELD_GRID_DEG` makes the pieces the same whether the whole country or
    a window of it is cut, so which pieces are cut off does not depend on
    where the cut was made (`territory.series` relies on it).  One
    snap-rounded overlay: forming ``land ∪ others`` first costs twice as
    much and gives the same pieces, their vertices within the grid.
    """
    return polygonal(shapely.difference(land, others, grid_size=HELD_GRID_DEG))


#: Two pieces of held land nearer than this (degrees, ~0.1 mm) are one piece:
#: an overlay may return land that meets at a point as one polygon or as two,
#: and whether a piece is cut off must not depend on which.
TOUCH_DEG = 1e-9


def touching_groups(
    parts: list[BaseGeometry],
    seeds: list[int],
    start: list[int] | None = None,
    *,
    main: int | None = None,
) -> list[list[int]]:
    """Group the pieces reachable from each seed through pieces that touch.

    Parameters
    ----------
    parts
        Pieces of held land (lon/lat).
    seeds
        Indexes of the pieces to group; each group holds the seeds joined
        through chains of seeds within `TOUCH_DEG` of each other, and the
        pieces that are not seeds those seeds touch (a chain ends there).
    start
        Seeds to start from (default: all): only the groups holding one of
        them are returned, the same groups as with all of them.
    main
        Index of a piece that is no seed, asked once: the main held land of
        the whole country is one piece with tens of thousands of vertices,
        and a tree holding it measures every seed against it, one seed at a
        time (a quarter of a second a map).  Only seeds reach out, so it is
        in the group of each seed within `TOUCH_DEG` of it: the seeds are
        measured against it at once, prepared, and the groups formed without
        it.  The same groups.

    Returns
    -------
    list of list of int
        Each group once, sorted; a seed alone is a group of one.
    """
    if main is not None:
        import numpy as np

        rest = [k for k in range(len(parts)) if k != main]
        index = {k: i for i, k in enumerate(rest)}
        shapely.prepare(parts[main])
        near = shapely.dwithin(
            parts[main], np.array([parts[k] for k in seeds], dtype=object), TOUCH_DEG
        )
        by_main = {k for k, n in zip(seeds, near, strict=True) if n}
        out = []
        for without in touching_groups(
            [parts[k] for k in rest],
            [index[k] for k in seeds],
            None if start is None else [index[k] for k in start],
        ):
            ks = [rest[i] for i in without]
            out.append(sorted([*ks, main]) if by_main.intersection(ks) else ks)
        return out
    import numpy as np

    tree = shapely.STRtree(parts)
    is_seed = set(seeds)
    firsts = list(seeds if start is None else start)
    # the pieces near each seed a chain reaches, asked of the tree for a
    # whole front of seeds at once (most groups are one piece: one or two
    # calls, not one per piece)
    touching: dict[int, list[int]] = {}
    front = list(dict.fromkeys(firsts))
    while front:
        asked, found = tree.query(
            np.array([parts[k] for k in front], dtype=object),
            predicate="dwithin",
            distance=TOUCH_DEG,
        )
        for k in front:
            touching[k] = []
        for a, j in zip(asked.tolist(), found.tolist(), strict=True):
            touching[front[a]].append(j)
        # a piece that is not a seed ends the chain
        front = list(
            dict.fromkeys(
                j for j in found.tolist() if j in is_seed and j not in touching
            )
        )
    groups: list[list[int]] = []
    seen: set[int] = set()
    for seed in firsts:
        if seed in seen:
            continue
        group, todo = {seed}, [seed]
        while todo:
            k = todo.pop()
            for j in touching[k]:
                if j not in group:
                    group.add(j)
                    if j in is_seed:
                        todo.append(j)
        seen |= group
        groups.append(sorted(group))
    return groups


def given_to(
    pm: BaseGeometry, m: dict[str, BaseGeometry], *, sliver_tolerance_m: float
) -> tuple[str, str] | None:
    """Decide whether an inland piece of held land is a border gap or a seam, and whose.

    The piece is cut off from the main held land (see `_removed_geometries`).

    Parameters
    ----------
    pm
        The piece, in the partition's metric CRS (``metric_crs_for(border)``);
        it lies farther than ``sliver_tolerance_m + TOUCH_M`` from the sea.
    m
        ``occupied``, ``grey`` (either may be empty) and ``border`` in that CRS,
        prepared; only their parts within a few metres of `pm` matter, so
        callers may clip them.  With a positive `sliver_tolerance_m`,
        ``border_band``: the whole border buffered by it
        (``static_metric_buffer(border, metric, sliver_tolerance_m)``, built
        once per process), the same for every caller; read only for a piece
        by the border not shown to lie within it without it
        (`in_border_band`), so a `LazyLayers` may make it then.

    Returns
    -------
    tuple or None
        ``(reason, holder)``: `BORDER_GAP` or `SEAM`, given to `RU` or `GREY`;
        None if the piece stays held.
    """
    return given_to_many([pm], m, sliver_tolerance_m=sliver_tolerance_m)[0]


def given_to_many(
    pms: Sequence[BaseGeometry] | np.ndarray,
    m: Mapping[str, BaseGeometry],
    *,
    sliver_tolerance_m: float,
) -> list[tuple[str, str] | None]:
    """`given_to` for each of `pms`, each layer asked about all of them at once.

    The same answers (each is the same GEOS predicate on the same pair),
    without a call per piece and layer: a whole map has hundreds of pieces.
    A layer of `m` is read only when a piece needs it, as `given_to` reads
    it (``border_band`` may still be on its way, `territory.series`).
    """
    import numpy as np

    pms = np.asarray(pms, dtype=object)
    n = len(pms)
    out: list[tuple[str, str] | None] = [None] * n
    if not n:
        return out
    t = sliver_tolerance_m
    occupied, grey = m["occupied"], m["grey"]
    # the prepared layer first: GEOS uses a prepared geometry only as the
    # first argument (the predicates are the same either way round)
    none = np.zeros(n, dtype=bool)
    by_occ = none if occupied.is_empty else shapely.dwithin(occupied, pms, TOUCH_M)
    by_grey = none if grey.is_empty else shapely.dwithin(grey, pms, TOUCH_M)
    (touch,) = np.nonzero(by_occ | by_grey)
    if not len(touch):
        return out
    gap = np.zeros(n, dtype=bool)
    if t > 0:
        # between the occupier's polygon and the state border: the two
        # sources draw the border apart; the strip is the occupier's
        by_border = touch[shapely.dwithin(m["border"], pms[touch], TOUCH_M)]
        if len(by_border):
            gap[by_border] = in_border_band(pms[by_border], m, t)
    # the others: between two of the source's own polygons
    (ask,) = np.nonzero(~gap[touch])
    seam = np.zeros(n, dtype=bool)
    if len(ask):
        seam[touch[ask]] = nowhere_wide_many(pms[touch[ask]])
    for k in touch.tolist():
        if gap[k]:
            reason = BORDER_GAP
        elif seam[k]:
            reason = SEAM
        else:
            continue
        if not (by_occ[k] and by_grey[k]):  # one side touches it: that side's
            out[k] = (reason, RU if by_occ[k] else GREY)
        else:
            ru, gr = _shared_m(pms[k], occupied), _shared_m(pms[k], grey)
            out[k] = (reason, RU if ru >= gr else GREY)
    return out


#: Margin (m) beyond half `SEAM_WIDTH_M` by which a point of a piece must lie
#: inside its outline to show the piece is wider (`nowhere_wide`): far more than
#: GEOS's erosion moves an outline (its arcs, and the 1% it simplifies by).
_WIDE_MARGIN_M = 1.0


def nowhere_wide(pm: BaseGeometry) -> bool:
    """Whether a piece (in a metric CRS) is nowhere `SEAM_WIDTH_M` wide.

    That is, whether eroding it by half that width leaves nothing.  A point
    of the piece farther than that (and `_WIDE_MARGIN_M`) from its outline
    keeps a disc of the erosion around it, so such a point answers without
    the erosion (which costs far more than finding the point).
    """
    return bool(nowhere_wide_many([pm])[0])


def nowhere_wide_many(pms: Sequence[BaseGeometry] | np.ndarray) -> np.ndarray:
    """`nowhere_wide` of each of `pms` (booleans), each step taken for all at once."""
    import numpy as np

    pms = np.asarray(pms, dtype=object)
    inner = shapely.point_on_surface(pms)
    wide = (
        shapely.distance(inner, shapely.boundary(pms))
        > SEAM_WIDTH_M / 2 + _WIDE_MARGIN_M
    )
    out = np.zeros(len(pms), dtype=bool)
    (ask,) = np.nonzero(~wide)
    if len(ask):
        # (`BaseGeometry.buffer`'s 16 segments a quarter circle, as before)
        eroded = shapely.buffer(pms[ask], -SEAM_WIDTH_M / 2, quad_segs=16)
        out[ask] = shapely.is_empty(eroded)
    return out


#: Margin (degrees) around the country's bounds of the box the sea is cut
#: from: only the sea within a few km of the land counts (the coast rules).
SEA_BOX_DEG = 0.2


#: Layers `static_layers` is handed instead of building them (read from the
#: derived cache by `territory.record`), by its arguments.
_HANDED_LAYERS: dict[
    tuple[tuple[BaseGeometry, ...], BaseGeometry],
    tuple[BaseGeometry, BaseGeometry, BaseGeometry],
] = {}


def hand_static_layers(
    regions: tuple[BaseGeometry, ...],
    land: BaseGeometry,
    layers: tuple[BaseGeometry, BaseGeometry, BaseGeometry],
) -> None:
    """Give `static_layers` the layers it would build for these arguments.

    For layers kept from an earlier process: the caller vouches that they
    are what `static_layers` built (e.g. their WKB, read back exactly).
    """
    _HANDED_LAYERS.clear()  # (one set of boundaries and land at a time)
    _HANDED_LAYERS[(regions, land)] = layers


@lru_cache(maxsize=2)
def static_layers(
    regions: tuple[BaseGeometry, ...], land: BaseGeometry
) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
    """Return the country (union of the regions), its land and the sea around it.

    In lon/lat.  They do not change from one map to the next: built once per
    process (0.25 s), for `partition_land` and `territory.series` alike, or
    handed in (`hand_static_layers`).  The sea is the land mask's complement
    in the country's bounds grown by `SEA_BOX_DEG`.
    """
    handed = _HANDED_LAYERS.get((regions, land))
    if handed is not None:
        return handed
    country = coverage_union(regions)
    minx, miny, maxx, maxy = country.bounds
    d = SEA_BOX_DEG
    sea = shapely.difference(shapely.box(minx - d, miny - d, maxx + d, maxy + d), land)
    return country, shapely.intersection(country, land), sea


def exact_piece(
    piece: BaseGeometry,
    held_exact: BaseGeometry,
    *,
    joined_to: BaseGeometry | None = None,
    grid_size: float | None = None,
    land: BaseGeometry | None = None,
) -> BaseGeometry:
    """Return the exact held land of a piece decided on the snap-rounded held land.

    The snap-rounded piece lies within `HELD_GRID_DEG` of the exact held land
    (`held_exact`, ``land − others`` by a floating overlay), and at least
    that far from every other held piece (else they would be one,
    `touching_groups`): grown by that much and cut by the exact land, it is
    the exact piece.

    With `joined_to` (the land of the side it is given to), it is grown by
    `JOIN_DEG` more and cut by the land (`held_exact` and `joined_to`):
    two overlays leave float noise between edges that coincide (notches
    1e-15° wide, open to the outside) which would count as a contact line;
    the overlap with the side is part of that side already.

    `grid_size`: the overlays snap-rounded to it (`partition_land`'s
    `LAYER_GRID_DEG`), or floating (None).  `land`: `joined_land` of
    `held_exact` and `joined_to` (with the same `grid_size`), when the
    caller has it already.
    """
    return exact_pieces(
        [piece], held_exact, joined_to=joined_to, grid_size=grid_size, land=land
    )[0]


def exact_pieces(
    pieces: Sequence[BaseGeometry] | np.ndarray,
    held_exact: BaseGeometry | np.ndarray,
    *,
    joined_to: BaseGeometry | np.ndarray | None = None,
    grid_size: float | None = None,
    land: BaseGeometry | np.ndarray | None = None,
) -> np.ndarray:
    """`exact_piece` of each of `pieces`, each overlay made for all at once.

    `held_exact`, `joined_to` and `land` are one geometry for every piece,
    or one per piece (arrays as long as `pieces`).  The same pieces (each is
    the same GEOS overlay of the same pair), without a call per piece and
    step: a whole map has hundreds of them.
    """
    import numpy as np

    pieces = np.asarray(pieces, dtype=object)
    out = pieces.copy()  # (an empty piece is its own exact piece)
    (k,) = np.nonzero(~shapely.is_empty(pieces))
    if not len(k):
        return out

    def each(value: BaseGeometry | np.ndarray) -> BaseGeometry | np.ndarray:
        return value[k] if isinstance(value, np.ndarray) else value

    cut = _polygonal_each(
        shapely.intersection(
            each(held_exact),
            shapely.buffer(pieces[k], HELD_GRID_DEG),
            grid_size=grid_size,
        )
    )
    if joined_to is None:
        out[k] = cut
        return out
    grown = shapely.buffer(cut, JOIN_DEG)
    land = (
        joined_land(each(held_exact), each(joined_to), grid_size)
        if land is None
        else each(land)
    )
    out[k] = _polygonal_each(shapely.intersection(grown, land, grid_size=grid_size))
    return out


def _polygonal_each(geoms: np.ndarray) -> np.ndarray:
    """`polygonal` of each geometry of an array."""
    import numpy as np

    return np.array([polygonal(g) for g in geoms], dtype=object)


def joined_land(
    held_exact: BaseGeometry | np.ndarray,
    side: BaseGeometry | np.ndarray,
    grid_size: float | None,
) -> Any:
    """Return the held land and a side's together, as `exact_piece` cuts a joined piece by.

    One geometry, or one per piece where either is an array of them.
    """
    joined = shapely.union(held_exact, side, grid_size=grid_size)
    if isinstance(joined, BaseGeometry):
        return polygonal(joined)
    return _polygonal_each(joined)


def partition_land(
    regions: gpd.GeoDataFrame,
    land: BaseGeometry,
    by_status: dict[str, BaseGeometry],
    *,
    sliver_tolerance_m: float = SLIVER_TOLERANCE_M,
    enclave_max_km2: float = ENCLAVE_MAX_KM2,
) -> Partition:
    """Partition every region's land into RU-, GREY- and UA-held pieces.

    Parameters
    ----------
    regions
        Region layer in EPSG:4326, indexed by ``region_id``
        (`territory.regions.regions_frame`) or with a ``region_id`` column.
    land
        Land mask, EPSG:4326.
    by_status
        Control source: ``occupied`` (required), ``grey_zone`` (optional), in
        EPSG:4326.  ``liberated`` is Ukrainian-held land and needs no special case.
    sliver_tolerance_m, enclave_max_km2
        See `SLIVER_TOLERANCE_M` and `ENCLAVE_MAX_KM2`: 0 disables the
        slivers, water and border gaps (the first) or the water (the second).

    Returns
    -------
    Partition
        The pieces add up to each region's land exactly (to float rounding):
        ``region ∩ (land mask ∪ occupied ∪ grey)`` less the removed pieces.
        Border gaps and seams are in the pieces of the side given them.
    """
    import geopandas as gpd

    from territory.crs import check_crs

    check_crs(regions.crs, what="regions layer")
    country, land_in, sea = static_layers(tuple(regions.geometry.values), land)
    sides = first_layers(by_status, country, land_in)
    dec = _removed_geometries(
        sides.held,
        sides.occupied,
        sides.grey,
        sea,
        country.boundary,
        sliver_tolerance_m=sliver_tolerance_m,
        enclave_max_km2=enclave_max_km2,
    )
    final = last_layers(sides, dec)
    occupied, grey, held = final[RU], final[GREY], final[UA]
    slivers, water = final[SLIVER], final[WATER]

    from territory.regions import layer_ids

    ids = layer_ids(regions)
    tree = shapely.STRtree(regions.geometry.values)
    piece_rows: list[tuple[str, str, BaseGeometry]] = []
    removed_rows: list[tuple[str, str, BaseGeometry]] = []
    layers = [(RU, occupied), (GREY, grey), (UA, held)]
    for holder, geom in [*layers, (SLIVER, slivers), (WATER, water)]:
        if geom.is_empty:
            continue
        for idx in tree.query(geom):
            rid = ids[idx]
            region = cast("BaseGeometry", regions.geometry.iat[idx])
            piece = polygonal(shapely.intersection(region, geom))
            if piece.is_empty:
                continue
            rows = removed_rows if holder in REMOVED_REASONS else piece_rows
            rows.append((rid, holder, piece))
    pieces = gpd.GeoDataFrame(
        {"region_id": [r[0] for r in piece_rows], "holder": [r[1] for r in piece_rows]},
        geometry=[r[2] for r in piece_rows],
        crs=STORAGE_CRS,
    )
    removed = gpd.GeoDataFrame(
        {
            "region_id": [r[0] for r in removed_rows],
            "reason": [r[1] for r in removed_rows],
        },
        geometry=[r[2] for r in removed_rows],
        crs=STORAGE_CRS,
    )
    country_geoms = {
        RU: occupied,
        GREY: grey,
        UA: held,
        "land": final["land"],
        **{r: final[r] for r in GIVEN_REASONS},
    }
    return Partition(
        pieces=pieces,
        removed=removed,
        country=country_geoms,
        piece_km2=tuple(area_km2(g) for g in pieces.geometry.values),
        country_km2={k: area_km2(g) for k, g in country_geoms.items()},
    )


def union_on_grid(
    geoms: list[BaseGeometry], grid_size: float = LAYER_GRID_DEG
) -> BaseGeometry:
    """Return the union of the polygonal parts of `geoms`, snap-rounded to `grid_size`.

    Two at a time (GEOS's unary union with a grid takes five times as long),
    each step's polygonal part only: a snap-rounded overlay may return what
    it collapsed (a line) beside the land, which the next one refuses as
    mixed input.  One geometry alone is snap-rounded like the rest.
    """
    parts = [polygonal(g) for g in geoms]
    parts = [g for g in parts if not g.is_empty]
    if not parts:
        return shapely.Polygon()
    out = parts[0]
    for g in parts[1:]:
        out = polygonal(shapely.union(out, g, grid_size=grid_size))
    if len(parts) == 1:
        out = polygonal(shapely.set_precision(out, grid_size))
    return out


@dataclass(frozen=True, slots=True)
class Sides:
    """The first layers of a partition (lon/lat), before any piece is decided.

    ``occupied`` and ``grey`` as the source draws them in the country, the
    two together (``others``), the country's land with them
    (``country_land``), the land neither holds (``held_exact``), and the same
    snap-rounded for the decisions (``held``, `held_land`).
    """

    occupied: BaseGeometry
    grey: BaseGeometry
    others: BaseGeometry
    country_land: BaseGeometry
    held_exact: BaseGeometry
    held: BaseGeometry


def first_layers(
    by_status: dict[str, BaseGeometry], country: BaseGeometry, land_in: BaseGeometry
) -> Sides:
    """Return the partition's first steps, on the country (or a window's cut of it).

    Every overlay is snap-rounded to `LAYER_GRID_DEG`: a floating overlay's
    noise depends on all of its input, a snap-rounded one's on the input
    around each point only, so a window of the country gets the country's
    layers there (`territory._partition_patch`).
    """
    g = LAYER_GRID_DEG
    occupied = polygonal(
        shapely.intersection(by_status["occupied"], country, grid_size=g)
    )
    grey = by_status.get("grey_zone")
    grey = (
        polygonal(
            shapely.difference(
                polygonal(shapely.intersection(grey, country, grid_size=g)),
                occupied,
                grid_size=g,
            )
        )
        if grey is not None
        else shapely.Polygon()
    )
    others = polygonal(shapely.union(occupied, grey, grid_size=g))
    # which pieces are cut off is decided on the snap-rounded held land; the
    # pieces themselves are cut from the exact one, so they meet the other
    # sides edge to edge (`exact_piece`)
    return Sides(
        occupied=occupied,
        grey=grey,
        others=others,
        country_land=polygonal(shapely.union(land_in, others, grid_size=g)),
        held_exact=polygonal(shapely.difference(land_in, others, grid_size=g)),
        held=held_land(land_in, others),
    )


def last_layers(sides: Sides, dec: Decisions) -> dict[str, BaseGeometry]:
    """Return the partition's layers from its decisions.

    In lon/lat, snap-rounded as `first_layers`: ``RU``, ``GREY``, ``UA``,
    ``land``, each of `GIVEN_REASONS` and each of `REMOVED_REASONS`.
    """
    g = LAYER_GRID_DEG
    held_exact = sides.held_exact
    slivers = exact_piece(dec.slivers, held_exact, grid_size=g)
    water = exact_piece(dec.water, held_exact, grid_size=g)
    removed_all = polygonal(shapely.union(slivers, water, grid_size=g))
    occupied, grey = sides.occupied, sides.grey
    to = {RU: [occupied], GREY: [grey]}
    given: dict[str, BaseGeometry] = {r: shapely.Polygon() for r in GIVEN_REASONS}
    side = {RU: occupied, GREY: grey}
    # the held land and a side's, as `exact_piece` joins a piece to the side:
    # made once per side, not once per reason
    with_side: dict[str, BaseGeometry] = {}
    for reason, by_holder in dec.given.items():
        for holder, geom in by_holder.items():
            if holder not in with_side:
                with_side[holder] = joined_land(held_exact, side[holder], g)
            piece = exact_piece(
                geom,
                held_exact,
                joined_to=side[holder],
                grid_size=g,
                land=with_side[holder],
            )
            to[holder].append(piece)
            own = polygonal(shapely.difference(piece, side[holder], grid_size=g))
            given[reason] = polygonal(shapely.union(given[reason], own, grid_size=g))
    held = polygonal(
        shapely.difference(
            held_exact, union_on_grid([removed_all, *given.values()]), grid_size=g
        )
    )
    if any(len(v) > 1 for v in to.values()):
        occupied, grey = union_on_grid(to[RU]), union_on_grid(to[GREY])
    return {
        RU: occupied,
        GREY: grey,
        UA: held,
        "land": polygonal(
            shapely.difference(sides.country_land, removed_all, grid_size=g)
        ),
        **given,
        SLIVER: slivers,
        WATER: water,
    }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One control snapshot of the record (a daily file or an API snapshot).

    `as_of` is the day whose map it is: the Kyiv date of its map version.
    `version` is when DeepState published that version (ISO, UTC; None when
    it could not be established) and `dated_by` says how the date was
    established (see `territory.versions`).
    """

    key: str
    label: str
    as_of: dt.date
    published: str | None
    grey_zone: bool
    version: str | None = None
    dated_by: str = ""


class Control:
    """Who holds what, by region, as of a date.

    Parameters
    ----------
    as_of
        The date asked for: the map as of the evening of that day.
    snapshot
        The snapshot used.
    note
        Set when the snapshot is older than `as_of` (no snapshot for that date).
    regions
        The region layer (`territory.regions.regions_frame`: indexed by
        ``region_id``, with ``name``, ``official_area_km2`` and geometry;
        a layer with a ``region_id`` column is re-indexed by it).
    partition
        The land partition (`partition_land`).

    Notes
    -----
    What depends on the partition and the regions alone (each side's edge,
    its area, unions of regions, ...) is computed once and kept in
    ``_cache`` (`derived`), which the Controls of one snapshot share.  So
    nothing shared is handed out to be changed: `regions`, `partition`,
    `pieces`, `to_frame`, `holdings` and `removed_frame` return new frames
    each time, and ``partition.country`` is read-only.

    Vocabulary: a *holding* is the land any holder (``RU``, ``GREY``,
    ``UA``, ``DMZ``) holds (`holding`, `holding_km2`, `holdings`); *held*
    is Ukrainian-held land (the ``held_km2`` column of `to_frame`).
    """

    def __init__(
        self,
        as_of: dt.date,
        snapshot: Snapshot,
        note: str | None,
        regions: gpd.GeoDataFrame,
        partition: Partition,
        _cache: dict | None = None,
        _keeper: Callable[[], None] | None = None,
    ) -> None:
        from territory.regions import as_layer

        self.as_of = as_of
        self.snapshot = snapshot
        self.note = note
        #: the region layer, shared with the record and every Control of it
        self._regions: gpd.GeoDataFrame = as_layer(regions)
        self._partition = partition
        self._cache: dict = {} if _cache is None else _cache
        #: Called by `keep_derived`: the record that made this map keeps what
        #: was measured of it on disk (`territory.record.Record.control`);
        #: None: not kept.
        self._keeper = _keeper

    def dated(self, as_of: dt.date, note: str | None) -> Control:
        """Return this map as of another date (with its `note`), sharing what is kept.

        `territory.record.Record.control` serves every date a snapshot
        covers with one of these.
        """
        return Control(
            as_of,
            self.snapshot,
            note,
            self._regions,
            self._partition,
            _cache=self._cache,
            _keeper=self._keeper,
        )

    def with_partition(self, partition: Partition, *, note: str | None) -> Control:
        """Return a map of the same date and regions with another `partition`.

        Nothing measured is shared (e.g. `territory.accounting.Evaluation.after_control`).
        """
        return Control(self.as_of, self.snapshot, note, self._regions, partition)

    @property
    def partition(self) -> Partition:
        """The land partition (`partition_land`), with frames of its own each time.

        The Controls of a snapshot share one partition; what is handed out
        is a copy of its frames (`Partition.copy`), so an edit reaches no
        other Control.
        """
        return self._partition.copy()

    @property
    def regions(self) -> gpd.GeoDataFrame:
        """The region layer, indexed by ``region_id`` (a new frame each time).

        Columns ``name``, ``kind``, ``official_area_km2`` and ``geometry``
        (EPSG:4326); `territory.regions.regions_frame`.
        """
        return self._regions.copy()

    def __repr__(self) -> str:
        pieces = self.pieces
        ru = pieces.index.get_level_values("holder") == RU
        occupied = pieces.loc[ru, "area_km2"].sum()
        note = f" ({self.note})" if self.note else ""
        return f"<Control as of {self.as_of} from {self.snapshot.label}: Russian-held {occupied:,.0f} km²{note}>"

    def derived(self, key: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """Return ``compute()``, computed once per partition and kept with it.

        For what depends on the partition and the regions alone (never on a
        scenario).  The Controls of one snapshot share what is kept, so only
        values nobody can change in place are kept: shapely geometries,
        numbers, strings, STRtrees and tuples of them.  A list, dict or frame
        would let one caller's edit reach every other; it raises
        `InternalError` (a bug in territory).

        `key` is a tuple whose first item names the module asking, e.g.
        ``("selection", "country")``.
        """
        try:
            return self._cache[key]
        except KeyError:
            pass
        value = compute()
        if not _immutable(value):
            from territory.errors import InternalError

            msg = f"Control.derived{key!r}: a {type(value).__name__} is not immutable; keep a tuple"
            raise InternalError(msg)
        self._cache[key] = value
        return value

    def keep_derived(self) -> None:
        """Hand the figures measured of this map (`KEPT_ON_DISK_KEYS`) to its record.

        The record it came from keeps them with the derived partition.

        Nothing for a map no record made (e.g. `Evaluation.after_control`).
        """
        if self._keeper is not None:
            self._keeper()

    def inherit(self, earlier: Control) -> None:
        """Keep what `earlier` measured of the land this map shares with it.

        A partition patched from `earlier`'s (`territory._partition_patch`)
        keeps its pieces and layers where nothing changed, object for
        object: their areas, edges and unions are those `earlier` computed
        (this module's own `derived` values only, and only for the very same
        geometries).
        """
        if earlier._regions is not self._regions:
            return
        old, new = earlier._partition, self._partition
        got, cache = earlier._cache, self._cache
        old_rows = {id(g): i for i, g in enumerate(old.pieces.geometry.values)}
        new_geoms = new.pieces.geometry.values
        for i, g in enumerate(new_geoms):
            j = old_rows.get(id(g))
            if j is not None and ("control", "piece km2", j) in got:
                cache[("control", "piece km2", i)] = got[("control", "piece km2", j)]
        same_land = old.country["land"] is new.country["land"]
        same_band = old.outline_band is new.outline_band and (
            same_land or new.outline_band is not None
        )
        for key, value in got.items():
            if key[:2] in REGION_ONLY_KEYS:
                cache.setdefault(key, value)  # the same regions
                continue
            if key[0] != "control" or key[1] == "piece km2":
                continue
            what = key[1]
            if what == "outline band":
                keep = same_land
            elif what in ("holding km2", "given", "given km2"):
                keep = old.country.get(key[2]) is new.country.get(key[2])
            elif what == "edge":
                keep = same_band and old.country.get(key[2]) is new.country.get(key[2])
            elif what == "holding":
                keep = _rows_of(old, key[2], key[3:]) == _rows_of(new, key[2], key[3:])
            else:
                keep = False
            if keep:
                cache.setdefault(key, value)

    def _whole_pieces(
        self, holder: str
    ) -> tuple[tuple[str, BaseGeometry, float], ...] | None:
        """`holder`'s pieces as (region id, geometry, km²), if they are its whole land.

        The partition's pieces of `holder`, one per region, in its order,
        kept per map: () when it holds no land; None when their areas do not
        add up to its whole land's (`PIECES_REL`), as on a map from
        `territory.accounting.Evaluation.after_control`, whose pieces leave
        out parts too small to count.
        """

        def build() -> tuple[tuple[str, BaseGeometry, float], ...] | None:
            whole = self._partition.country.get(holder)
            if whole is None or whole.is_empty:
                return ()
            p = self._partition.pieces
            pieces = tuple(
                (str(r), g, float(self._piece_km2(i)))
                for i, (r, h, g) in enumerate(
                    zip(p["region_id"], p["holder"], p.geometry.values, strict=True)
                )
                if h == holder
            )
            whole_km2 = self.holding_km2(holder)
            if abs(sum(a for _, _, a in pieces) - whole_km2) <= PIECES_REL * whole_km2:
                return pieces
            return None

        return self.derived(("control", "whole pieces", holder), build)

    def _piece_km2(self, i: int) -> float:
        """Area (km²) of the partition's piece in row `i`, measured once."""
        if self._partition.piece_km2 is not None:
            return self._partition.piece_km2[i]
        geom = cast("BaseGeometry", self._partition.pieces.geometry.iat[i])
        return self.derived(("control", "piece km2", i), lambda: area_km2(geom))

    @property
    def pieces(self) -> gpd.GeoDataFrame:
        """Return the land pieces by region and holder (a new frame each time).

        Returns
        -------
        GeoDataFrame
            Indexed by (``region_id``, ``holder``): one row per region and
            holder with land there; ``area_km2`` and ``geometry``
            (EPSG:4326), in the partition's order.  ``.loc["UA-14"]`` gives
            Donetsk's pieces, ``.xs("UA", level="holder")`` Ukraine's.
        """
        p = self._partition.pieces
        out = p.set_index(["region_id", "holder"])
        out.insert(0, "area_km2", [self._piece_km2(i) for i in range(len(p))])
        return out

    def _rows_by_holder_region(
        self,
    ) -> tuple[tuple[tuple[str, str], tuple[int, ...]], ...]:
        """Return the rows of `partition.pieces` of each (holder, region id).

        Kept per map.
        """

        def build() -> tuple[tuple[tuple[str, str], tuple[int, ...]], ...]:
            p = self._partition.pieces
            rows: dict[tuple[str, str], list[int]] = {}
            for i, key in enumerate(zip(p["holder"], p["region_id"], strict=True)):
                rows.setdefault((str(key[0]), str(key[1])), []).append(i)
            return tuple((k, tuple(v)) for k, v in rows.items())

        return self.derived(("control", "rows by holder and region"), build)

    def holders(self) -> list[str]:
        """Return the holders of land on this map, in display order.

        ``RU``, ``GREY`` and ``UA`` on a map of the record (``GREY`` with no
        land on a daily file), and ``DMZ`` on a map after a swap
        (`territory.accounting.Evaluation.after_control`).
        """
        return [k for k in self._partition.country if k not in NOT_HOLDERS]

    def _holder(self, holder: str) -> str:
        """`holder` in capitals, checked against `holders`.

        Raises
        ------
        DataError
            For a holder this map does not know, naming those it does.
        """
        from territory.errors import DataError

        holders = self.holders()
        if not isinstance(holder, str) or holder.upper() not in holders:
            msg = f"unknown holder {holder!r}; use one of {', '.join(holders)}"
            raise DataError(msg)
        return holder.upper()

    def holding_km2(
        self, holder: str, region_ids: list[str] | tuple[str, ...] | str | None = None
    ) -> float:
        """Return the area (km², `area_km2`) of the land `holder` holds.

        Parameters
        ----------
        holder
            ``RU``, ``GREY`` or ``UA`` (``DMZ`` too on a map after a swap),
            any case.  "Holding" is any holder's land; the ``held_km2``
            column of `to_frame` is Ukraine's (``holding_km2("UA", ...)``).
        region_ids
            Region ids or names in any spelling (``"UA-14"``,
            ``["Donetsk", "luhansk oblast"]``); default: everywhere.

        Returns
        -------
        float
            0.0 for a holder with no land there (``GREY`` on a daily file).
            In regions, the sum of ``area_km2`` over those rows of `pieces`,
            measuring only those pieces.

        Raises
        ------
        DataError
            For an unknown holder or region (with the closest names).
        """
        holder = self._holder(holder)
        if region_ids is None:
            geom = self._partition.country.get(holder)
            if geom is None or geom.is_empty:
                return 0.0
            kept = self._partition.country_km2
            if kept is not None and holder in kept:
                return kept[holder]
            return self.derived(
                ("control", "holding km2", holder), lambda: area_km2(geom)
            )
        rows = dict(self._rows_by_holder_region())
        return float(
            sum(
                (
                    self._piece_km2(i)
                    for rid in self.region_ids(region_ids)
                    for i in rows.get((holder, rid), ())
                ),
                0.0,
            )
        )

    def contact_line(self, geom: BaseGeometry) -> BaseGeometry:
        """Return the line where `geom` meets other land of this map (see `contact_line`).

        The band around the land's outline is built once per map.
        """
        land = self._partition.country["land"]
        band = self._partition.outline_band
        if band is None:  # not kept with this partition: built once per map
            band = self.derived(
                ("control", "outline band"), lambda: build_outline_band(land)
            )
        return contact_line(geom, land, outline_band=band)

    def edge(self, holder: str) -> BaseGeometry:
        """Return `holder`'s edge of the line: where its land meets other land.

        The contact line of `holding` (see `contact_line`), computed once per map.
        """
        geom = self.holding(holder)  # checks the holder
        return self.derived(
            ("control", "edge", holder.upper()), lambda: self.contact_line(geom)
        )

    def holding(
        self, holder: str, region_ids: list[str] | tuple[str, ...] | str | None = None
    ) -> BaseGeometry:
        """Return the land `holder` holds (in `region_ids`, default everywhere).

        A shapely geometry in lon/lat (EPSG:4326, the CRS of every geometry
        of the map), to compose with shapely's operations; `holdings` gives
        the same land as a GeoDataFrame with its CRS and areas.

        Parameters
        ----------
        holder
            ``RU``, ``GREY`` or ``UA`` (``DMZ`` too on a control map after a
            swap), any case.
        region_ids
            Region ids or names in any spelling (``"UA-14"``, ``"Donetsk"``).

        Raises
        ------
        DataError
            For an unknown holder or region (with the closest names).
        """
        holder = self._holder(holder)
        if region_ids is None:
            return self._partition.country[holder]
        ids = tuple(self.region_ids(region_ids))

        def union() -> BaseGeometry:
            p = self._partition.pieces
            mask = (p["holder"] == holder) & p["region_id"].isin(ids)
            # geopandas' stubs give GeoSeries.values pandas' type, not GeometryArray
            return shapely.union_all(p.geometry[mask].values)  # type: ignore[arg-type]

        return self.derived(("control", "holding", holder, *ids), union)

    def holdings(
        self, region_ids: list[str] | tuple[str, ...] | str | None = None
    ) -> gpd.GeoDataFrame:
        """Return each holder's land (in `region_ids`, default everywhere) as a layer.

        Parameters
        ----------
        region_ids
            Region ids or names in any spelling (``"UA-14"``, ``"Donetsk"``).

        Returns
        -------
        GeoDataFrame
            Indexed by ``holder`` (`holders`, in that order; a holder with
            no land there has an empty geometry and 0.0 km²), with
            ``area_km2`` (`holding_km2`), ``as_of`` (ISO date) and
            ``geometry`` (`holding`), CRS EPSG:4326.  A new frame each time.
            By region: `pieces`.

        Raises
        ------
        DataError
            For an unknown region (with the closest names).
        """
        import geopandas as gpd
        import pandas as pd

        holders = self.holders()
        return gpd.GeoDataFrame(
            {
                "area_km2": [self.holding_km2(h, region_ids) for h in holders],
                "as_of": [self.as_of.isoformat()] * len(holders),
            },
            geometry=[self.holding(h, region_ids) for h in holders],
            crs=STORAGE_CRS,
            index=pd.Index(holders, name="holder"),
        )

    def region_ids(
        self, names: list[str] | tuple[str, ...] | str | None = None
    ) -> list[str]:
        """Return the ids of regions given by id or by any spelling of their name.

        Parameters
        ----------
        names
            Ids or names (``"UA-14"``, ``"Donetsk"``, ``"luhansk oblast"``);
            default: every region of the map, in the layer's order.

        Raises
        ------
        DataError
            If a name matches no region of this map; the message suggests the
            closest ones.
        """
        import difflib

        from territory.errors import DataError
        from territory.regions import load_region_table

        ids_here, names_here = self._ids_names()
        if names is None:
            return list(ids_here)
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list | tuple) or not all(
            isinstance(n, str) for n in names
        ):
            msg = f"regions must be a list of region names or ids, not {names!r}"
            raise DataError(msg)
        by_name = {
            n.casefold(): rid for rid, n in zip(ids_here, names_here, strict=True)
        }
        out: list[str] = []
        for name in names:
            rid = name if name in ids_here else by_name.get(name.casefold())
            if rid is None:
                try:
                    rid = load_region_table().lookup(name).region_id
                except DataError:
                    rid = None
            if rid not in ids_here:
                close = difflib.get_close_matches(
                    name, [*ids_here, *names_here], n=3, cutoff=0.6
                )
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                msg = (
                    f"unknown region {name!r}; {hint}'territory regions' lists them all"
                )
                raise DataError(msg)
            if rid not in out:
                out.append(str(rid))
        return out

    def _ids_names(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return the regions' ids and names, in the layer's order, kept per map."""
        return self.derived(
            ("control", "region ids"),
            lambda: (
                tuple(str(r) for r in self._regions.index),
                tuple(str(n) for n in self._regions["name"]),
            ),
        )

    @cached_property
    def has_grey_zone(self) -> bool:
        """True if the snapshot distinguishes a grey zone."""
        return self.snapshot.grey_zone

    def _given(self, reason: str) -> tuple[BaseGeometry, ...]:
        """Return the land given for `reason` in each region (in order), lon/lat."""

        def compute() -> tuple[BaseGeometry, ...]:
            geom = self._partition.country.get(reason, shapely.Polygon())
            if geom.is_empty:
                return (shapely.Polygon(),) * len(self._regions)
            tree = shapely.STRtree(list(shapely.get_parts(geom)))
            out = []
            for region in self._regions.geometry:
                hits = tree.query(region, predicate="intersects")
                part = shapely.union_all(tree.geometries.take(hits))
                out.append(
                    polygonal(shapely.intersection(region, part))
                    if len(hits)
                    else shapely.Polygon()
                )
            return tuple(out)

        return self.derived(("control", "given", reason), compute)

    def _given_km2(self, reason: str) -> list[float]:
        """Area (km²) of the land given for `reason`, per region (in order)."""
        areas = self.derived(
            ("control", "given km2", reason),
            lambda: tuple(area_km2(g) for g in self._given(reason)),
        )
        return list(areas)

    def removed_frame(self) -> gpd.GeoDataFrame:
        """Return the land the partition decided itself, one row per region and reason.

        For an export layer beside the transfers, or a map.

        Returns
        -------
        GeoDataFrame
            Indexed by (``region_id``, ``reason``): ``sliver`` and ``water``
            (removed from the land), ``border gap`` and ``seam`` (given to
            the side around them, see DESIGN.md); columns ``removed`` (True
            for the first two), ``area_km2``, ``as_of`` (ISO date) and
            ``geometry``, CRS EPSG:4326.  A new frame each time.
        """
        import geopandas as gpd
        import pandas as pd

        rows = [
            (rid, reason, True, geom)
            for rid, reason, geom in zip(
                self._partition.removed["region_id"],
                self._partition.removed["reason"],
                self._partition.removed.geometry,
                strict=True,
            )
        ]
        for reason in GIVEN_REASONS:
            for rid, geom in zip(self._regions.index, self._given(reason), strict=True):
                if not geom.is_empty:
                    rows.append((rid, reason, False, geom))
        return gpd.GeoDataFrame(
            {
                "removed": [r[2] for r in rows],
                "area_km2": [area_km2(r[3]) for r in rows],
                "as_of": [self.as_of.isoformat()] * len(rows),
            },
            geometry=[r[3] for r in rows],
            crs=STORAGE_CRS,
            index=pd.MultiIndex.from_arrays(
                [[r[0] for r in rows], [r[1] for r in rows]],
                names=["region_id", "reason"],
            ),
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the per-region control table (areas in km²).

        Returns
        -------
        DataFrame
            Indexed by ``region_id`` (ISO 3166-2, ``.loc["UA-14"]`` is
            Donetsk), in the region layer's order, a new frame each time.
            Columns: ``name``, ``land_km2``, ``occupied_km2`` (Russian-held),
            ``grey_km2`` (NaN where the source has no grey zone),
            ``held_km2`` (Ukrainian-held), ``removed_km2`` (slivers and
            water taken out of the land), ``border_gap_km2`` and ``seam_km2``
            (land the source leaves out between its polygon and the state
            border, or between two of its polygons, given to the side
            around it: part of ``occupied_km2`` or ``grey_km2``),
            ``official_area_km2``, ``occupied_pct`` (of the unit's land) and
            ``occupied_pct_official`` (of its official area).
        """
        import pandas as pd

        ids = self._regions.index
        pieces = self.pieces
        sums = pieces.pivot_table(
            index="region_id", columns="holder", values="area_km2", aggfunc="sum"
        )
        sums = sums.reindex(index=ids, columns=list(HOLDERS)).fillna(0.0)
        removed = self._partition.removed
        rem = pd.Series(
            [area_km2(g) for g in removed.geometry],
            index=removed["region_id"],
            dtype=float,
        )
        rem = rem.groupby(level=0).sum().reindex(ids).fillna(0.0)
        given_km2 = {r: self._given_km2(r) for r in GIVEN_REASONS}
        df = pd.DataFrame(
            {
                "name": self._regions["name"].to_numpy(),
                "land_km2": (sums[RU] + sums[GREY] + sums[UA]).to_numpy(),
                "occupied_km2": sums[RU].to_numpy(),
                "grey_km2": sums[GREY].to_numpy()
                if self.has_grey_zone
                else float("nan"),
                "held_km2": sums[UA].to_numpy(),
                "removed_km2": rem.to_numpy(),
                "border_gap_km2": given_km2[BORDER_GAP],
                "seam_km2": given_km2[SEAM],
                "official_area_km2": self._regions["official_area_km2"].to_numpy(),
            },
            index=pd.Index([str(r) for r in ids], name="region_id"),
        )
        df["occupied_pct"] = 100.0 * df["occupied_km2"] / df["land_km2"]
        df["occupied_pct_official"] = (
            100.0 * df["occupied_km2"] / df["official_area_km2"]
        )
        return df

    def totals(self, *, official_area_km2: float | None = None) -> dict[str, float]:
        """Return the country totals (km² and %), with both denominators.

        `official_area_km2` defaults to the country's official area from the manifest.
        """
        if official_area_km2 is None:
            from territory.manifest import load_manifest

            official_area_km2 = float(load_manifest().country["official_area_km2"])
        df = self.to_frame()
        out = {
            c: float(df[c].sum())
            for c in (
                "land_km2",
                "occupied_km2",
                "held_km2",
                "removed_km2",
                "border_gap_km2",
                "seam_km2",
            )
        }
        out["grey_km2"] = (
            float(df["grey_km2"].sum()) if self.has_grey_zone else float("nan")
        )
        out["official_area_km2"] = official_area_km2
        out["occupied_pct"] = 100.0 * out["occupied_km2"] / out["land_km2"]
        out["occupied_pct_official"] = 100.0 * out["occupied_km2"] / official_area_km2
        return out


#: Keys (their first two items) of `Control.derived` values that depend on
#: the region layer alone, as the modules asking for them document: the
#: regions' ids and names (`Control.region_ids`), unions of regions and their areas (`territory.selection.SelectionContext.regions_union`,
#: ``country``, ``extent_m``) and the regions' index (`territory.accounting`).
#: `Control.inherit` keeps them from map to map.
REGION_ONLY_KEYS = frozenset(
    {
        ("control", "region ids"),
        ("selection", "regions"),
        ("selection", "regions km2"),
        ("selection", "country"),
        ("selection", "extent m"),
        ("accounting", "region index"),
    }
)


#: Keys (their first two items) of `Control.derived` values that are numbers
#: or rows of numbers and names measured of the map (and the region layer)
#: alone, as the modules asking for them document: the area, the breakdown
#: by region and the people of a selection kept with the map, and the length
#: of the contact line before and after (`territory.accounting`).  The record keeps them on
#: disk beside the derived partition, keyed by its content
#: (`territory.record.Record.control`), so a new process reads them.
KEPT_ON_DISK_KEYS = frozenset(
    {
        ("accounting", "km2"),
        ("accounting", "by region"),
        ("accounting", "people"),
        ("accounting", "front km"),
        ("accounting", "front after km"),
    }
)


def _rows_of(p: Partition, holder: str, region_ids: tuple[str, ...]) -> list[int]:
    """Return the ids of the geometries of `holder`'s pieces in `region_ids`.

    See `inherit`.
    """
    pieces = p.pieces
    mask = (pieces["holder"] == holder) & pieces["region_id"].isin(region_ids)
    return [id(g) for g in pieces.geometry[mask].values]


def _immutable(value: object) -> bool:
    """Whether `value` cannot be changed in place (what `Control.derived` keeps)."""
    if isinstance(value, tuple | frozenset):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(
        value, BaseGeometry | shapely.STRtree | float | int | str | bytes
    )


#: A holder's pieces (one per region) stand for its whole land when their
#: areas add up to the land's to this (relative; `Control._whole_pieces`).
PIECES_REL = 1e-12

#: Half-width (degrees, ~0.1 m) of the band around the land outline inside which
#: a boundary is coast or state border rather than a contact line.
_OUTLINE_EPS_DEG = 1e-6


@lru_cache(maxsize=8)
def build_outline_band(land: BaseGeometry) -> BaseGeometry:
    """Return the prepared band of `_OUTLINE_EPS_DEG` around `land`'s outline.

    Inside it a boundary runs along the coast or the state border, not a
    contact line (`contact_line`).  Building it takes about 0.3 s for the
    country; `Record` keeps it with the derived partition (bump
    ``PARTITION_VERSION`` if it changes).
    """
    band = shapely.buffer(land.boundary, _OUTLINE_EPS_DEG, quad_segs=1)
    shapely.prepare(band)
    return band


#: Margin (degrees) around a boundary's bounds within which the outline band
#: is kept when cutting the boundary with it (`contact_line`).
_BAND_CLIP_MARGIN_DEG = 0.01


def _band_near(band: BaseGeometry, bounds: tuple[float, ...]) -> BaseGeometry:
    """Return the part of `band` within `_BAND_CLIP_MARGIN_DEG` of the box `bounds`.

    Only that part can meet a line inside the box; cutting the line with it
    gives the same line as cutting with the whole band (the edges near the
    line are the same edges), without locating points in the whole band.
    """
    m = _BAND_CLIP_MARGIN_DEG
    box = (bounds[0] - m, bounds[1] - m, bounds[2] + m, bounds[3] + m)
    bminx, bminy, bmaxx, bmaxy = band.bounds
    if box[0] <= bminx and box[1] <= bminy and box[2] >= bmaxx and box[3] >= bmaxy:
        return band
    return shapely.clip_by_rect(band, *box)


def contact_line(
    holder_geom: BaseGeometry,
    land: BaseGeometry,
    *,
    outline_band: BaseGeometry | None = None,
) -> BaseGeometry:
    """Return the line where `holder_geom` meets other land inside `land`.

    The parts of the holder's boundary that run along the land's own outline
    (coast, state border, removed water) are not contact lines and are dropped.
    `outline_band` is ``build_outline_band(land)`` when the caller keeps it
    (`Control.contact_line`).
    """
    if holder_geom.is_empty:
        return shapely.LineString()
    band = build_outline_band(land) if outline_band is None else outline_band
    boundary = holder_geom.boundary
    near = _band_near(band, boundary.bounds)
    return shapely.line_merge(shapely.difference(boundary, near))


def segment_hashes(seg: np.ndarray) -> np.ndarray:
    """Return a 64-bit hash of each segment, rows of four float64 (x1, y1, x2, y2).

    The bits of the four doubles mixed by multiplication: equal segments have
    equal hashes; callers compare the coordinates of equal hashes (the edges
    of two maps, `territory.series`, `territory._partition_patch`).
    """
    import numpy as np

    mix = np.array(
        [
            0x9E3779B97F4A7C15,
            0xC2B2AE3D27D4EB4F,
            0x165667B19E3779F9,
            0x27D4EB2F165667C5,
        ],
        dtype=np.uint64,
    )
    u = np.ascontiguousarray(seg, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        return (
            (u[:, 0] * mix[0])
            ^ (u[:, 1] * mix[1])
            ^ (u[:, 2] * mix[2])
            ^ (u[:, 3] * mix[3])
        )


def polygon_edges(geom: BaseGeometry | None) -> np.ndarray:
    """Every edge of a polygonal geometry's rings, (n, 4), each with its lower end first.

    Lower: the smaller x, then the smaller y; an edge is the same whichever
    way its ring runs (the edges of two maps, `edges_not_in`).
    """
    import numpy as np

    if geom is None or geom.is_empty:
        return np.empty((0, 4))
    rings = shapely.get_rings(shapely.get_parts(polygonal(geom)))
    coords, index = shapely.get_coordinates(rings, return_index=True)
    # (`np.take` along the first axis: a third of the time of fancy indexing)
    (first,) = np.nonzero(index[1:] == index[:-1])
    ax, ay = np.take(coords[:, 0], first), np.take(coords[:, 1], first)
    bx, by = np.take(coords[:, 0], first + 1), np.take(coords[:, 1], first + 1)
    swap = (ax > bx) | ((ax == bx) & (ay > by))
    # (column by column: a quarter of the time of swapping rows in place)
    seg = np.empty((len(first), 4))
    seg[:, 0] = np.where(swap, bx, ax)
    seg[:, 1] = np.where(swap, by, ay)
    seg[:, 2] = np.where(swap, ax, bx)
    seg[:, 3] = np.where(swap, ay, by)
    return seg


def sorted_edges(seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the `segment_hashes` of edges `seg`, sorted, and the edges in that order.

    What `edges_not_in` takes of the other map.  (Not a stable sort, 2.5×
    faster: equal hashes are equal edges but for a collision, where
    `edges_not_in` may compare another of the colliding edges and at worst
    count an unchanged edge as changed, which is safe.)
    """
    import numpy as np

    if not len(seg):  # (no edges: most maps have no grey zone)
        return np.empty(0, dtype=np.uint64), seg
    h = segment_hashes(seg)
    order = np.argsort(h)
    return np.take(h, order), np.take(seg, order, axis=0)


def edges_not_in(
    h: np.ndarray, seg: np.ndarray, other_h: np.ndarray, other_seg: np.ndarray
) -> np.ndarray:
    """Return the edges `seg` (hashed `h`) that `other_seg` does not have, in their order.

    `other_h` are the `segment_hashes` of `other_seg`, sorted, the edges in
    the same order.  A hash found is confirmed on the coordinates: a
    collision counts as a change, never the reverse.
    """
    import numpy as np

    if len(other_h) == 0 or len(h) == 0:
        return seg
    i = np.searchsorted(other_h, h)
    i[i >= len(other_h)] = 0
    (k,) = np.nonzero(np.take(other_h, i) == h)
    # (column by column: `.all(axis=1)` on four columns costs four times more)
    a, b = np.take(other_seg, np.take(i, k), axis=0), np.take(seg, k, axis=0)
    same = (
        (a[:, 0] == b[:, 0])
        & (a[:, 1] == b[:, 1])
        & (a[:, 2] == b[:, 2])
        & (a[:, 3] == b[:, 3])
    )
    changed = np.ones(len(h), dtype=bool)
    changed[k[same]] = False
    return np.take(seg, np.flatnonzero(changed), axis=0)


def merged_boxes(
    boxes: list[tuple[float, float, float, float]], margin: float = 0.0
) -> list[tuple[float, float, float, float]]:
    """Return `boxes` (minx, miny, maxx, maxy) merged where they meet, until none do.

    Two boxes meet when they overlap or touch once each is grown by `margin`
    (degrees); a merged box is the bounds of the two, ungrown.
    """
    boxes = list(boxes)
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        out: list[tuple[float, float, float, float]] = []
        for b in boxes:
            for k, o in enumerate(out):
                if (
                    b[0] - margin <= o[2] + margin
                    and o[0] - margin <= b[2] + margin
                    and b[1] - margin <= o[3] + margin
                    and o[1] - margin <= b[3] + margin
                ):
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
