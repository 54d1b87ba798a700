"""The partition of a map patched from the partition of a nearby map.

`territory.control.partition_land` takes about 2 s for the country; two
consecutive maps differ by a few km² along the front.  `patch_partition`
computes the partition again only in windows around what changed and keeps
the rest of the earlier map's partition: about 0.13 s a map.  The result
equals a fresh partition: every area (by region and holder, removed and
given land, each country layer) to 1e-9 relative and each side's contact
line to 1e-9 in length (tests/test_partition_patch.py: toy maps where each
rule's decision changes, consecutive maps and maps weeks apart; checked on
every map of 2025-02 … 2026-01).

- **What changed.**  The edges of DeepState's polygons (occupied and grey)
  in one map and not the other, compared exactly (hashed, then coordinate by
  coordinate).  The land that changed side lies within the bounds of the
  changed edges around it, so each cluster of `CELL_DEG` cells they cross,
  grown by `PATCH_MARGIN_DEG` (more than the slivers' reach), is a patch box.
- **A window.**  Around the box, the core (the box grown by
  `CORE_MARGIN_DEG`) and the input box (the core grown by more than the
  partition's reach, `INPUT_MARGIN_DEG`): the partition's own steps
  (`first_layers`, `_slivers`, `given_to`, `last_layers`) run on the inputs
  cut to the input box.  Their overlays are snap-rounded, so around each
  point they give what they give for the whole country: the window's layers
  are the country's in the core.  A piece of held land wholly inside the
  core is a piece of the country's and is decided as `partition_land`
  decides it; the box grows to hold every such piece it meets.  A piece that
  leaves the core must be the main held land, known by its overlap with the
  earlier map's main held land in the core outside the box (nothing changed
  there); any other widens the window (twice), then the map is partitioned
  afresh.
- **Far decisions.**  Only cut-off pieces by the sea are decided by
  distances (nearer the occupied land than the main held land: water); a
  change farther from one than the nearer of the two distances cannot change
  its decision, so each such piece carries that reach (`Coastal`), and a
  change within it brings the piece into a window.
- **The patch.**  In each box the window's layers (each side's land, the
  land, given and removed land, by region too) are compared with the earlier
  ones; a layer that changed, country-wide and in each region's row, takes
  one overlay: the symmetric difference with what changed in the boxes
  (`_swapped`), checked by its outline, else the layer is cut out of the
  earlier geometry by the box and the new one glued in (both cut by the same
  box from the same edges: they meet where they did).  The land (the country's less
  the removed land) is compared only in a box where the removed land
  changed: elsewhere it is the same.  Everything else stays as it was, object for
  object, so what was measured of it is kept (`Control.inherit`); the areas
  a partition keeps are patched alike.  Differences narrower than
  `NOISE_WIDTH_DEG` (float noise) are no change.

When the change is large (a redrawn polygon, a grey zone appearing or
going), `patch_partition` returns None and the caller partitions afresh.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import (
    ENCLAVE_MAX_KM2,
    GIVEN_REASONS,
    GREY,
    RU,
    SLIVER,
    SLIVER_TOLERANCE_M,
    TOUCH_M,
    UA,
    WATER,
    Decisions,
    LazyLayers,
    Partition,
    _metric_static,
    _slivers,
    edges_not_in,
    first_layers,
    given_to,
    in_border_band,
    last_layers,
    merged_boxes,
    nowhere_wide,
    polygon_edges,
    segment_hashes,
    sorted_edges,
    static_layers,
    static_metric_buffer,
    touching_groups,
)
from territory.crs import STORAGE_CRS, metric_crs_for, transform, transform_many
from territory.geodesy import area_km2, polygonal, polygonal_in_box

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

Box = tuple[float, float, float, float]

#: Side (degrees) of the grid cells the changed edges are grouped by.
CELL_DEG = 0.05
#: The patch box: the changed cells grown by this (degrees), more than twice
#: the sliver tolerance (the reach of the slivers' opening) at these latitudes.
PATCH_MARGIN_DEG = 0.05
#: The core: the patch box grown by this (degrees) at first, doubled at each
#: widening; the main held land is recognised in the core outside the box.
CORE_MARGIN_DEG = 0.05
#: The input box: the core grown by this (degrees), more than three times the
#: sliver tolerance (what the partition reads around a point).
INPUT_MARGIN_DEG = 0.07
#: How many times a window is widened before the map is partitioned afresh.
WIDEN_TRIES = 3
#: Above this many square degrees of patch boxes, a fresh partition costs less.
MAX_PATCH_DEG2 = 4.0
#: Differences narrower than this (degrees, ~10 µm; their area over their
#: half perimeter) are float noise between two overlays, not a change.
NOISE_WIDTH_DEG = 1e-10
#: How far (degrees, in the plane) a country layer swapped by its changes
#: (`_swapped`) may be from the outline it should have: float noise only.
OUTLINE_CHECK_DEG = 1e-9
#: Fewest and most metres a degree spans in the country in any direction
#: (a degree of longitude at 52.4°N, one of latitude; with the metric CRS's
#: scale error, ~0.2%, and a margin).
M_PER_DEG_MIN = 66_000.0
M_PER_DEG_MAX = 113_000.0
#: The layers the patch keeps: the keys of `Partition.country`, and the
#: removed land (by reason).
LAYERS = (RU, GREY, UA, "land", *GIVEN_REASONS, SLIVER, WATER)
#: The order the patch compares them in: the land after the removed land it
#: is made from (`_apply`); each is glued on its own.
_PATCH_ORDER = (RU, GREY, UA, *GIVEN_REASONS, SLIVER, WATER, "land")

_EMPTY = shapely.Polygon()


@dataclass(frozen=True, slots=True)
class Coastal:
    """A cut-off piece by the sea whose decision rests on distances (water or held).

    A change of the map farther than `reach_deg` (degrees) from its bounds
    cannot change the decision: the decision compares the distances to the
    occupied land and to the main held land, and only a change nearer than
    the smaller of the two (and the slivers' reach) moves either past it.
    """

    bounds: Box
    reach_deg: float


@dataclass(frozen=True, slots=True)
class PatchBase:
    """A map the next one is patched from: its polygons and its partition.

    `coastal` is None until first needed (`coastal_pieces`).
    """

    by_status: dict[str, BaseGeometry]
    partition: Partition
    coastal: tuple[Coastal, ...] | None = None


class _Widen(Exception):  # noqa: N818 (a signal to widen the window, not an error)
    """A window too small to decide a piece it meets."""


@dataclass(frozen=True)
class _Statics:
    """The static layers as `partition_land` uses them, with their metric forms."""

    country: BaseGeometry
    land_in: BaseGeometry
    sea: BaseGeometry
    border: BaseGeometry
    metric_crs: CRS
    metric: str  # its WKT (a string: no conversion per call)
    sea_m: BaseGeometry
    border_m: BaseGeometry
    #: The border's band by width (m), looked up once (`border_band`).
    bands: dict[float, BaseGeometry] = field(default_factory=dict, compare=False)

    def border_band(self, width_m: float) -> BaseGeometry:
        """Return `static_metric_buffer` of the border (no hash of it per call)."""
        band = self.bands.get(width_m)
        if band is None:
            band = static_metric_buffer(self.border, self.metric, width_m)
            self.bands[width_m] = band
        return band


#: The last statics `_statics_of` gave, with the objects they are of.
_last_statics: list[tuple[tuple[BaseGeometry, ...], _Statics]] = []


def _statics_of(regions: gpd.GeoDataFrame, land: BaseGeometry) -> _Statics:
    """Return `_statics` of a region layer and land mask.

    Those of the last ones are found by identity: `_statics`'s cache hashes
    the regions' geometries, which costs about 8 ms a call.
    """
    key = (*regions.geometry.values, land)
    for kept, s in _last_statics:
        if len(kept) == len(key) and all(
            a is b for a, b in zip(kept, key, strict=True)
        ):
            return s
    s = _statics(tuple(regions.geometry.values), land)
    _last_statics[:] = [(key, s)]
    return s


@lru_cache(maxsize=2)
def _statics(regions: tuple[BaseGeometry, ...], land: BaseGeometry) -> _Statics:
    country, land_in, sea = static_layers(regions, land)
    border = country.boundary
    metric = metric_crs_for(border)  # the partition's: the country's
    wkt = metric.to_wkt()
    for g in (country, land_in, sea):
        shapely.prepare(g)
    return _Statics(
        country=country,
        land_in=land_in,
        sea=sea,
        border=border,
        metric_crs=metric,
        metric=wkt,
        sea_m=_metric_static(sea, wkt),
        border_m=_metric_static(border, wkt),
    )


# ------------------------------------------------------------------ what changed
def _only_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the edges of `a` that `b` does not have (`edges_not_in`)."""
    if not len(a) or not len(b):
        return a
    return edges_not_in(segment_hashes(a), a, *sorted_edges(b))


def changed_edges(old: dict, new: dict) -> np.ndarray:
    """Return the edges of DeepState's polygons in one map and not the other, (n, 4)."""
    out = []
    for status in ("occupied", "grey_zone"):
        a, b = polygon_edges(old.get(status)), polygon_edges(new.get(status))
        out += [_only_in(a, b), _only_in(b, a)]
    return np.vstack(out)


def _grow(box: Box, d: float) -> Box:
    return (box[0] - d, box[1] - d, box[2] + d, box[3] + d)


def _meets(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _union_box(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def change_boxes(changed: np.ndarray) -> list[Box]:
    """Return the boxes the changed edges cross, by cluster of `CELL_DEG` cells, grown.

    Each connected stretch of changed edges (a ring of the land that changed
    side, or part of one) crosses a connected set of cells, so the land it
    bounds lies in the bounds of one cluster.
    """
    if not len(changed):
        return []
    c = CELL_DEG
    lo_i = np.floor(np.minimum(changed[:, 0], changed[:, 2]) / c).astype(int)
    hi_i = np.floor(np.maximum(changed[:, 0], changed[:, 2]) / c).astype(int)
    lo_j = np.floor(np.minimum(changed[:, 1], changed[:, 3]) / c).astype(int)
    hi_j = np.floor(np.maximum(changed[:, 1], changed[:, 3]) / c).astype(int)
    boxes = [
        (a * c, b * c, (cc + 1) * c, (d + 1) * c)
        for a, b, cc, d in set(zip(lo_i, lo_j, hi_i, hi_j, strict=True))
    ]
    # cells of one stretch touch (their edges share ends): merged when they meet
    return [_grow(b, PATCH_MARGIN_DEG) for b in merged_boxes(boxes, 1e-9)]


# ------------------------------------------------------------ coastal decisions
def main_piece(partition: Partition) -> BaseGeometry:
    """Return the main held land of a partition: its largest Ukrainian-held polygon."""
    parts = shapely.get_parts(partition.country[UA])
    if not len(parts):
        return _EMPTY
    out = parts[int(np.argmax(shapely.area(parts)))]
    shapely.prepare(out)
    return out


def coastal_pieces(base: PatchBase, regions, land) -> tuple[Coastal, ...]:
    """Return the cut-off pieces by the sea of `base`'s map, with the reach of a change.

    Every piece of removed water, and every Ukrainian-held polygon but the
    main one that lies within the sliver tolerance (and the touch distance)
    of the sea: more than the pieces decided by distances, never fewer.
    """
    s = _statics_of(regions, land)
    p = base.partition
    water = np.asarray(p.removed.geometry[p.removed["reason"] == WATER])
    pieces = list(shapely.get_parts(shapely.union_all(water))) if len(water) else []
    held = shapely.get_parts(p.country[UA])
    main = _EMPTY
    if len(held):
        i_main = int(np.argmax(shapely.area(held)))
        main = held[i_main]
        shapely.prepare(main)
        near_deg = (SLIVER_TOLERANCE_M + TOUCH_M) / M_PER_DEG_MIN
        by_sea = shapely.dwithin(s.sea, held, near_deg)
        pieces += [held[k] for k in np.nonzero(by_sea)[0] if k != i_main]
    occupied = base.by_status["occupied"]
    return tuple(_coastal(piece, occupied, main, s) for piece in pieces)


def _coastal(
    piece: BaseGeometry, occupied: BaseGeometry, main: BaseGeometry, s: _Statics
) -> Coastal:
    """Return a piece's `Coastal` from the map's occupied polygon and main held land (degrees).

    The reach is an upper bound: the distances are measured to land that is
    occupied (DeepState's polygon in the country) and to the main held land,
    in degrees, and turned into metres and back by the extreme scales.
    """
    d_occ = math.inf
    if not occupied.is_empty:
        d_raw = shapely.distance(piece, occupied)
        box = _grow(piece.bounds, d_raw + 0.1)
        near = shapely.intersection(
            polygonal(shapely.clip_by_rect(occupied, *box)),
            polygonal(shapely.clip_by_rect(s.country, *box)),
        )
        if not near.is_empty:
            d_occ = shapely.distance(piece, near)
    d = d_occ
    if not main.is_empty and (math.isinf(d_occ) or shapely.dwithin(main, piece, d_occ)):
        d = min(d, shapely.distance(piece, main))
    reach = d * M_PER_DEG_MAX / M_PER_DEG_MIN + PATCH_MARGIN_DEG
    return Coastal(bounds=piece.bounds, reach_deg=reach)


# ------------------------------------------------------------------- a window
@dataclass
class _Part:
    """A piece of held land in a window (lon/lat), what it is and its metric form."""

    geom: BaseGeometry
    complete: bool  # wholly inside the core: a piece of the whole country's
    main: bool = False  # leaves the core as the earlier main held land did
    kind: str = ""  # crumb, coast or inland (complete pieces)
    pm: BaseGeometry | None = None


class _Window:
    """The partition's layers inside one patch box, from the inputs around it."""

    def __init__(
        self,
        box: Box,
        core_margin: float,
        by_status: dict[str, BaseGeometry],
        base_main: BaseGeometry,
        s: _Statics,
        *,
        t: float,
        enclave_max_km2: float,
    ) -> None:
        self.box = box
        self.core = _grow(box, core_margin)
        self.inputs = _grow(self.core, INPUT_MARGIN_DEG)
        self.s, self.t, self.enclave_max_km2 = s, t, enclave_max_km2
        self.base_main = base_main
        self.has_occupied = not by_status["occupied"].is_empty
        self.coastal: list[Coastal] = []
        self._cut(by_status)

    def _clip(self, geom: BaseGeometry | None) -> BaseGeometry:
        if geom is None or geom.is_empty:
            return _EMPTY
        return polygonal(shapely.clip_by_rect(geom, *self.inputs))

    def _cut(self, by_status: dict[str, BaseGeometry]) -> None:
        """Return the partition's first steps (`first_layers`) on the inputs cut."""
        cut = {
            k: self._clip(g)
            for k, g in by_status.items()
            if k in ("occupied", "grey_zone")
        }
        sides = first_layers(
            cut, self._clip(self.s.country), self._clip(self.s.land_in)
        )
        self.sides = sides
        self.occupied, self.grey, self.others = sides.occupied, sides.grey, sides.others
        self.held = sides.held

    # ------------------------------------------------------------- decisions
    def decide(self) -> None:
        """Decide the held land in the box (growing it to hold each piece it meets)."""
        s, t = self.s, self.t
        metric = s.metric
        # slivers lie within the sliver tolerance of the sea: none in a
        # window farther from it
        near_sea = t > 0 and shapely.dwithin(
            s.sea, shapely.box(*self.inputs), 2 * t / M_PER_DEG_MIN
        )
        self.slivers = (
            _slivers(self.held, self.others, s.sea, s.metric_crs, t)
            if near_sea and not self.others.is_empty
            else _EMPTY
        )
        parts = [
            _Part(g, _inside(g.bounds, self.core))
            for g in shapely.get_parts(
                polygonal(shapely.difference(self.held, self.slivers))
            )
        ]
        self.parts = parts
        m = LazyLayers(
            {
                "occupied": transform(self.occupied, STORAGE_CRS, metric),
                "grey": transform(self.grey, STORAGE_CRS, metric),
                "border": s.border_m,
            },
            # (made only if a piece by the border needs it: `in_border_band`)
            {"border_band": lambda: s.border_band(t)} if t > 0 else None,
        )
        sl_m = transform(self.slivers, STORAGE_CRS, metric)
        self.films = sl_m.buffer(TOUCH_M) if not sl_m.is_empty else _EMPTY
        for g in (*m.values(), self.films):
            shapely.prepare(g)
        self.m = m
        ring = shapely.difference(shapely.box(*self.core), shapely.box(*self.box))
        main_core = shapely.clip_by_rect(self.base_main, *self.core)
        for p in parts:
            if not p.complete:
                overlap = shapely.intersection(
                    shapely.intersection(p.geom, ring), main_core
                )
                p.main = not overlap.is_empty and overlap.area > 0
        complete = [k for k, p in enumerate(parts) if p.complete]
        pms = transform_many([parts[k].geom for k in complete], STORAGE_CRS, metric)
        for k, pm in zip(complete, pms, strict=True):
            parts[k].pm = pm
            parts[k].kind = self._kind(pm)
        self._grow_box()
        self._decide_parts()

    def _kind(self, pm: BaseGeometry) -> str:
        if not self.films.is_empty and shapely.covered_by(pm, self.films):
            return "crumb"
        if self.t > 0 and shapely.dwithin(pm, self.s.sea_m, self.t + TOUCH_M):
            return "coast"
        return "inland"

    def _groups(self, start: list[int]) -> list[list[int]]:
        inland = [
            k for k, p in enumerate(self.parts) if p.complete and p.kind == "inland"
        ]
        seeds = [k for k in start if k in set(inland)]
        if not seeds:
            return []
        return touching_groups([p.geom for p in self.parts], inland, seeds)

    def _grow_box(self) -> None:
        """Grow the box until it holds every complete piece (and group) it meets.

        A piece leaving the core that the box meets, or that a group the box
        meets touches, must be the main held land: else `_Widen`.
        """
        parts = self.parts
        geoms = [p.geom for p in parts]
        tree = shapely.STRtree(geoms)
        while True:
            hits = [
                int(k)
                for k in tree.query(shapely.box(*self.box), predicate="intersects")
            ]
            box = self.box
            # the pieces hit, then every piece of their groups
            for k in itertools.chain(hits, *self._groups(hits)):
                if not parts[k].complete:
                    if not parts[k].main:
                        raise _Widen
                    continue
                box = _union_box(box, parts[k].geom.bounds)
            if box == self.box:
                break
            self.box = box
        self.hits = hits

    def _decide_parts(self) -> None:
        parts = self.parts
        mains = [p for p in parts if p.main]
        if len(mains) > 1 and not all(self._held_whatever(p) for p in mains):
            raise _Widen  # the main held land may have been cut in two
        self.crumbs: list[BaseGeometry] = []
        self.water: list[BaseGeometry] = []
        self.given: dict[str, dict[str, list[BaseGeometry]]] = {
            r: {RU: [], GREY: []} for r in GIVEN_REASONS
        }
        hits = [k for k in self.hits if parts[k].complete]
        for k in hits:
            p = parts[k]
            if p.kind == "crumb":
                self.crumbs.append(p.geom)
            elif p.kind == "coast" and self._water(p, mains):
                self.water.append(p.geom)
        for group in self._groups(hits):
            if not all(parts[k].complete and parts[k].kind == "inland" for k in group):
                continue  # it touches the main held land or the coast's pieces
            piece = (
                parts[group[0]].geom
                if len(group) == 1
                else shapely.union_all([parts[k].geom for k in group])
            )
            decided = given_to(
                transform(piece, STORAGE_CRS, self.s.metric),
                self.m,
                sliver_tolerance_m=self.t,
            )
            if decided is not None:
                reason, holder = decided
                self.given[reason][holder].append(piece)

    def _held_whatever(self, p: _Part) -> bool:
        """Whether a piece leaving the core stays held whatever lies beyond it.

        At least `enclave_max_km2` in the core (no water), somewhere wider than
        a seam and not all along the border (no border gap).
        """
        part = polygonal(shapely.clip_by_rect(p.geom, *self.core))
        if area_km2(part) < self.enclave_max_km2:
            return False
        pm = transform(part, STORAGE_CRS, self.s.metric)
        if nowhere_wide(pm):
            return False
        return not (self.t > 0 and in_border_band([pm], self.m, self.t)[0])

    def _water(self, p: _Part, mains: list[_Part]) -> bool:
        """Decide a cut-off piece by the sea as `_removed_geometries` does.

        Water if small, nearer to occupied land than to the main held land, and
        touching no grey land.  Raises `_Widen` if the window is too small to tell.
        """
        assert p.pm is not None
        pm, m = p.pm, self.m
        grey_touch = not self.grey.is_empty and shapely.dwithin(pm, m["grey"], TOUCH_M)
        if (
            grey_touch
            or not self.has_occupied
            or area_km2(p.geom) >= self.enclave_max_km2
        ):
            return False
        # what lies within this of the piece lies in the core, where the
        # window's layers are the whole country's
        d_frame = _inner_distance_deg(p.geom.bounds, self.core) * M_PER_DEG_MIN
        d_occ = (
            shapely.distance(pm, m["occupied"])
            if not self.occupied.is_empty
            else math.inf
        )
        d_main = math.inf
        if mains:
            if len(mains) > 1:
                raise _Widen  # which is the main held land cannot be told here
            d_main = shapely.distance(pm, self._main_m(mains[0]))
        nearer = min(d_occ, d_main)
        if nearer >= d_frame:
            raise _Widen
        # a change farther than the nearer distance cannot change the decision
        reach = nearer / M_PER_DEG_MIN + PATCH_MARGIN_DEG
        self.coastal.append(Coastal(bounds=p.geom.bounds, reach_deg=reach))
        return d_occ < d_main

    def _main_m(self, p: _Part) -> BaseGeometry:
        if p.pm is None:
            p.pm = transform(p.geom, STORAGE_CRS, self.s.metric)
            shapely.prepare(p.pm)
        return p.pm

    # ---------------------------------------------------------------- layers
    def layers(self) -> dict[str, BaseGeometry]:
        """Return the partition's layers in the window (`last_layers`), lon/lat."""
        slivers = self.slivers
        if self.crumbs:
            slivers = shapely.union_all([slivers, *self.crumbs])
        dec = Decisions(
            slivers,
            shapely.union_all(self.water) if self.water else _EMPTY,
            {
                r: {h: shapely.union_all(g) for h, g in by.items() if g}
                for r, by in self.given.items()
            },
        )
        return last_layers(self.sides, dec)


def _inside(bounds: Box, box: Box) -> bool:
    return (
        bounds[0] > box[0]
        and bounds[1] > box[1]
        and bounds[2] < box[2]
        and bounds[3] < box[3]
    )


def _inner_distance_deg(bounds: Box, box: Box) -> float:
    """How far (degrees) `bounds` lie inside `box` on their nearest side."""
    return max(
        0.0,
        min(
            bounds[0] - box[0],
            bounds[1] - box[1],
            box[2] - bounds[2],
            box[3] - bounds[3],
        ),
    )


# ------------------------------------------------------------------ the patch
def patch_partition(
    regions: gpd.GeoDataFrame,
    land: BaseGeometry,
    by_status: dict[str, BaseGeometry],
    base: PatchBase,
    *,
    sliver_tolerance_m: float = SLIVER_TOLERANCE_M,
    enclave_max_km2: float = ENCLAVE_MAX_KM2,
) -> tuple[Partition, PatchBase] | None:
    """Return the partition of `by_status` patched from `base`, and the next base.

    Parameters are those of `territory.control.partition_land`; `base` holds
    a nearby map's polygons and partition, computed with the same regions,
    land and parameters.  Returns None when a fresh partition is the way
    (a large change, or a piece no window of `WIDEN_TRIES` sizes can
    decide).  The outline band is kept when the land did not change, else
    left to the caller (None).
    """
    s = _statics_of(regions, land)
    changed = changed_edges(base.by_status, by_status)
    coastal = base.coastal
    if not len(changed):  # the same polygons: the same partition
        return base.partition, PatchBase(by_status, base.partition, coastal)
    if ("grey_zone" in base.by_status) != ("grey_zone" in by_status):
        return None  # a grey zone appears or goes: the whole front changes
    boxes = change_boxes(changed)
    if sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes) > MAX_PATCH_DEG2:
        return None
    if coastal is None:
        coastal = coastal_pieces(base, regions, land)
    # a piece by the sea whose decision a change may reach is decided again
    if coastal:
        cb = np.array([c.bounds for c in coastal])
        reach = np.array([c.reach_deg for c in coastal])
        bb = np.array(boxes)
        dx = np.maximum(
            np.maximum(
                cb[:, None, 0] - bb[None, :, 2], bb[None, :, 0] - cb[:, None, 2]
            ),
            0,
        )
        dy = np.maximum(
            np.maximum(
                cb[:, None, 1] - bb[None, :, 3], bb[None, :, 1] - cb[:, None, 3]
            ),
            0,
        )
        near = (np.hypot(dx, dy) <= reach[:, None]).any(axis=1)
        boxes += [coastal[k].bounds for k in np.nonzero(near)[0]]
    main = main_piece(base.partition)
    windows = _windows(
        merged_boxes(boxes, CORE_MARGIN_DEG),
        by_status,
        main,
        s,
        t=sliver_tolerance_m,
        enclave_max_km2=enclave_max_km2,
    )
    if windows is None:
        return None
    kept = [c for c in coastal if not any(_meets(c.bounds, w.box) for w in windows)]
    kept += [c for w in windows for c in w.coastal]
    partition = _apply(base.partition, windows, regions)
    return partition, PatchBase(by_status, partition, tuple(kept))


def _windows(
    boxes: list[Box], by_status, main, s: _Statics, *, t: float, enclave_max_km2: float
) -> list[_Window] | None:
    """Decide each box's window, widening it as needed; None if one cannot be.

    Windows whose boxes reach another's core are merged and decided again:
    each window's core must hold no other window's change.
    """
    for _ in range(4):
        windows: list[_Window] = []
        for box in boxes:
            for attempt in range(WIDEN_TRIES):
                w = _Window(
                    box,
                    CORE_MARGIN_DEG * 2**attempt,
                    by_status,
                    main,
                    s,
                    t=t,
                    enclave_max_km2=enclave_max_km2,
                )
                try:
                    w.decide()
                except _Widen:
                    continue
                windows.append(w)
                break
            else:
                return None
        clash = [
            (a, b)
            for a in range(len(windows))
            for b in range(a + 1, len(windows))
            if _meets(windows[a].box, windows[b].core)
            or _meets(windows[b].box, windows[a].core)
        ]
        if not clash:
            return windows
        a, b = clash[0]
        joined = _union_box(windows[a].box, windows[b].box)
        boxes = merged_boxes(
            [w.box for k, w in enumerate(windows) if k not in (a, b)] + [joined],
            CORE_MARGIN_DEG,
        )
    return None


def _widths(polygons: np.ndarray) -> np.ndarray:
    """Mean width (degrees) of each polygon: its area over half its perimeter."""
    return 2 * shapely.area(polygons) / np.maximum(shapely.length(polygons), 1e-300)


def _denoised(geom: BaseGeometry) -> BaseGeometry:
    """`geom` less its polygons and holes of no width (float noise).

    Two overlays that meet along an edge one of them split at a computed
    point (a hair off the edge) can leave a sliver between the two copies of
    the edge, 1e-15° wide; as a polygon or a hole of its own its outline
    would count twice as contact line.  A polygon or a hole narrower than
    `NOISE_WIDTH_DEG` on average is dropped.
    """
    geom = polygonal(geom)
    if geom.is_empty:
        return geom
    parts = np.asarray(shapely.get_parts(geom))
    wide = _widths(parts) >= NOISE_WIDTH_DEG
    changed = not wide.all()
    parts = parts[wide]
    holed = np.nonzero(shapely.get_num_interior_rings(parts) > 0)[0]
    for k in holed:
        holes = list(parts[k].interiors)
        ok = _widths(np.asarray(shapely.polygons(np.array(holes, dtype=object))))
        ok = ok >= NOISE_WIDTH_DEG
        if not ok.all():
            kept = [h for h, keep in zip(holes, ok, strict=True) if keep]
            parts[k] = shapely.Polygon(parts[k].exterior, kept)
            changed = True
    if not changed:
        return geom
    if not len(parts):
        return _EMPTY
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(list(parts))


def _glued(
    old: BaseGeometry, boxes: list[Box], news: list[BaseGeometry]
) -> BaseGeometry:
    """`old` outside the `boxes`, and `news` (each inside its box)."""
    cut = (
        shapely.box(*boxes[0])
        if len(boxes) == 1
        else shapely.MultiPolygon([shapely.box(*b) for b in boxes])
    )
    outside = polygonal(shapely.difference(old, cut)) if not old.is_empty else old
    news = [n for n in news if not n.is_empty]
    if not news:
        return outside
    new = news[0] if len(news) == 1 else shapely.union_all(news)
    return polygonal(shapely.union(outside, new)) if not outside.is_empty else new


def _swapped(old: BaseGeometry, found: list) -> BaseGeometry:
    """`old` with each box's new layer in place of its old one (`_Rows.glue`'s `found`).

    ``old XOR delta``, each delta the symmetric difference of the new layer
    and the old one in its box (less float noise: that land stays as it
    was): inside the boxes the new layer, outside them `old`, edge for edge;
    one overlay of the country-wide layer where cutting it by the boxes and
    gluing the new land in (`_glued`) takes two.  Where an edge of a delta
    meets one of `old` a float apart, the overlay can leave a crack or a
    sliver no fresh partition has (and it cannot be denoised: a country
    layer may hold polygons as narrow as float noise that a fresh partition
    holds too); the outline would then be longer than the old one's plus
    each box's change.  Then, or when the boxes' outlines do not add up,
    the layer is glued (`_glued`).
    """
    deltas = [f[3] for f in found]
    delta = deltas[0] if len(deltas) == 1 else shapely.union_all(deltas)
    out = polygonal(shapely.symmetric_difference(old, delta))
    # a box's new and old layers share their cuts along the box: its change
    # of outline is theirs, measured in the plane, degrees
    want = shapely.length(old) + sum(
        shapely.length(new) - shapely.length(was) for _, new, was, _ in found
    )
    if abs(shapely.length(out) - want) <= OUTLINE_CHECK_DEG:
        return out
    return _glued(old, [f[0] for f in found], [f[1] for f in found])


def _apply(base: Partition, windows: list[_Window], regions) -> Partition:
    """Return `base` with each window's layers inside its box (see the module notes).

    The areas `base` keeps are patched alike: less the land cut out of each
    box, plus the land glued in (measured on those small pieces).
    """
    rows = _Rows(base, regions)
    new_layers = [w.layers() for w in windows]
    changed: set[str] = set()
    # the windows where the removed land changed: the land (the country's
    # less the removed land, `last_layers`) changed in no other
    removed_moved: set[int] = set()
    for layer in _PATCH_ORDER:
        # the windows where the layer changed: the box, the new layer in it,
        # the earlier one, and what changed (less float noise: the same
        # land, kept as it was)
        found = []
        for k, (w, layers) in enumerate(zip(windows, new_layers, strict=True)):
            if layer == "land" and k not in removed_moved:
                continue
            new = polygonal(shapely.intersection(layers[layer], shapely.box(*w.box)))
            old = rows.layer_in(layer, w.box)
            delta = _denoised(shapely.symmetric_difference(new, old))
            if not delta.is_empty:
                found.append((w.box, new, old, delta))
                if layer in (SLIVER, WATER):
                    removed_moved.add(k)
        if found:
            changed.add(layer)
            rows.glue(layer, found)
    pieces, removed = rows.ordered()
    kept = _same_frame(base.removed, removed, "reason")
    return Partition(
        pieces=_frame(pieces, "holder", base.pieces.crs),
        removed=kept
        if kept is not None
        else _frame(removed, "reason", base.pieces.crs),
        country=rows.country,
        outline_band=base.outline_band if "land" not in changed else None,
        piece_km2=tuple(r[3] for r in pieces),
        country_km2=rows.country_km2,
    )


class _Rows:
    """A partition's geometries (and kept areas) by layer, country-wide and by region.

    As the patch changes them (`_apply`).
    """

    def __init__(self, base: Partition, regions: gpd.GeoDataFrame) -> None:
        from territory.regions import layer_ids

        self.ids = layer_ids(regions)
        self.geoms = regions.geometry.values
        self.tree = shapely.STRtree(self.geoms)
        index = {rid: i for i, rid in enumerate(self.ids)}
        self.rows: dict[tuple[int, str], BaseGeometry] = {}
        self.km2: dict[tuple[int, str], float] = {}
        piece_km2 = base.piece_km2
        if piece_km2 is None:
            piece_km2 = tuple(area_km2(g) for g in base.pieces.geometry.values)
        pieces = base.pieces
        for rid, holder, g, a in zip(
            pieces["region_id"],
            pieces["holder"],
            pieces.geometry.values,
            piece_km2,
            strict=True,
        ):
            self.rows[(index[rid], holder)] = g
            self.km2[(index[rid], holder)] = a
        removed = base.removed
        for rid, reason, g in zip(
            removed["region_id"],
            removed["reason"],
            removed.geometry.values,
            strict=True,
        ):
            self.rows[(index[rid], reason)] = g
        self.country = dict(base.country)
        self.country_km2 = {
            k: (base.country_km2 or {}).get(k, math.nan) for k in self.country
        }
        for k, g in self.country.items():
            if math.isnan(self.country_km2[k]):
                self.country_km2[k] = area_km2(g)

    def layer_in(self, layer: str, box: Box) -> BaseGeometry:
        """Return the layer inside `box` (a removed layer: its regions' rows)."""
        if layer in self.country:
            return polygonal_in_box(self.country[layer], box)
        olds = [
            shapely.intersection(g, shapely.box(*box))
            for (_, name), g in self.rows.items()
            if name == layer and _meets(g.bounds, box)
        ]
        return polygonal(shapely.union_all(olds)) if olds else _EMPTY

    def glue(self, layer: str, found: list) -> None:
        """Put the layer's new land in each box of `found` in place of the old.

        The country-wide layer and each region's row a change meets are
        swapped by their change (`_swapped`: one overlay, or cut by the
        boxes and glued where it would leave an outline no change explains);
        a row whose land in the boxes is the same, to float noise, stays as
        it was.  Given land is kept country-wide only: a partition's rows
        are the holders' and the removed land's.
        """
        if layer in self.country:
            self.country[layer] = _swapped(self.country[layer], found)
            for _, new, old, _ in found:
                self.country_km2[layer] += area_km2(new) - area_km2(old)
        if layer == "land" or layer in GIVEN_REASONS:
            return  # (kept country-wide only)
        by_region: dict[int, list[tuple[Box, BaseGeometry]]] = {}
        for box, new, _, delta in found:
            for idx in self.tree.query(delta, predicate="intersects"):
                region = polygonal(
                    shapely.clip_by_rect(self.geoms[int(idx)], *_grow(box, 1e-3))
                )
                part = polygonal(shapely.intersection(region, new))
                by_region.setdefault(int(idx), []).append((box, part))
        for idx, cuts in by_region.items():
            key = (idx, layer)
            old = self.rows.get(key, _EMPTY)
            # the row's own change in each box: swapped as a country layer is
            changes = []
            for box, part in cuts:
                was = polygonal_in_box(old, box)
                change = _denoised(shapely.symmetric_difference(part, was))
                if not change.is_empty:
                    changes.append((box, part, was, change))
            if not changes:
                continue  # (the same land, to float noise: the row as it was)
            self.rows[key] = _swapped(old, changes)
            if layer in (RU, GREY, UA):
                km2 = self.km2.get(key, 0.0)
                for _, part, was, _ in changes:
                    km2 += area_km2(part) - area_km2(was)
                self.km2[key] = km2

    def ordered(self) -> tuple[list, list]:
        """Return the pieces' and the removed land's rows, in `partition_land`'s order.

        By layer, then as the regions' tree meets the layer's bounds.
        """
        pieces: list[tuple[str, str, BaseGeometry, float]] = []
        removed: list[tuple[str, str, BaseGeometry, float]] = []
        for layer in (RU, GREY, UA, SLIVER, WATER):
            have = {
                i: g
                for (i, name), g in self.rows.items()
                if name == layer and not g.is_empty
            }
            if not have:
                continue
            env = self.country.get(layer)
            if env is None:
                env = shapely.box(*shapely.total_bounds(list(have.values())))
            order = [int(i) for i in self.tree.query(env) if int(i) in have]
            order += [i for i in have if i not in order]  # (none: all in its bounds)
            out = removed if layer in (SLIVER, WATER) else pieces
            out += [
                (self.ids[i], layer, have[i], self.km2.get((i, layer), math.nan))
                for i in order
            ]
        return pieces, removed


def _same_frame(
    frame: gpd.GeoDataFrame,
    rows: list[tuple[str, str, BaseGeometry, float]],
    column: str,
) -> gpd.GeoDataFrame | None:
    """`frame` if it holds `rows` (the same geometries, objects, in order), else None.

    The removed land changes on few maps: the base's frame is shared (a
    partition's frames are never changed, `Partition.copy`), not built again.
    """
    if len(frame) != len(rows):
        return None
    same = all(
        g is r[2] and rid == r[0] and name == r[1]
        for rid, name, g, r in zip(
            frame["region_id"], frame[column], frame.geometry.values, rows, strict=True
        )
    )
    return frame if same else None


def _frame(rows: list[tuple[str, str, BaseGeometry, float]], column: str, crs):
    """Return a frame of `rows` in `crs` (the base partition's: not parsed again)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"region_id": [r[0] for r in rows], column: [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=crs if crs is not None else STORAGE_CRS,
    )


def shared(partition: Partition, earlier: Partition) -> tuple[Partition, bool]:
    """`partition` with each geometry equal to `earlier`'s (exactly) replaced by it.

    A partition read from the derived cache shares no object with the map
    before it; made to, what was computed of the shared geometries is reused
    (`territory.control.Control.inherit`).  Returns the partition and whether
    anything is shared.
    """
    import geopandas as gpd

    found = False

    def swap(frame: gpd.GeoDataFrame, was: gpd.GeoDataFrame, column: str):
        nonlocal found
        before = dict(
            zip(
                zip(was["region_id"], was[column], strict=True),
                was.geometry.values,
                strict=True,
            )
        )
        geoms = list(frame.geometry.values)
        keys = zip(frame["region_id"], frame[column], strict=True)
        swapped = False
        for i, key in enumerate(keys):
            o = before.get(key)
            if o is not None and shapely.equals_exact(geoms[i], o, 0):
                geoms[i] = o
                swapped = True
        if not swapped:
            return frame
        found = True
        return gpd.GeoDataFrame(
            frame.drop(columns="geometry"), geometry=geoms, crs=frame.crs
        )

    pieces = swap(partition.pieces, earlier.pieces, "holder")
    removed = swap(partition.removed, earlier.removed, "reason")
    country = dict(partition.country)
    for k, g in country.items():
        o = earlier.country.get(k)
        if o is not None and shapely.equals_exact(g, o, 0):
            country[k] = o
            found = True
    band = partition.outline_band
    if country["land"] is earlier.country["land"] and earlier.outline_band is not None:
        band = earlier.outline_band
    if not found:
        return partition, False
    return (
        replace(
            partition,
            pieces=pieces,
            removed=removed,
            country=country,
            outline_band=band,
        ),
        True,
    )
