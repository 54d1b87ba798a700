"""Evaluate a scenario's selection rules into geometry (lon/lat, EPSG:4326).

Every rule is evaluated on the control map of the as-of date, against the
land the giving party holds there; the result never reaches outside it.

Distance rules (``within_km_of_front``, ``within_km_of_border``) and zone
bands select the land within a true distance of a line, built by
`territory.buffers.buffer_line_m` (accuracy: ``buffer_tolerance_m``, 0.115 m at
15 km).  A width at least the country's extent (the largest geodesic distance
within its bounding box, ~1,600 km) selects everything the other criteria
select; widths under 1 m, or beyond the widest buffer built (2,000 km) but
short of the extent (possible only for a larger country), are refused.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry

from territory.borders import max_distance_m, neighbour_borders
from territory.buffers import BUFFER_MAX_M, BUFFER_MIN_M, buffer_line_m
from territory.errors import ScenarioError
from territory.frozen import ContentDigests
from territory.geodesy import (
    area_km2,
    coverage_union,
    linear,
    overlay_polygonal,
    polygonal,
    polygonal_in_box,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from territory.control import Control
    from territory.scenario import Rule

T = TypeVar("T")

#: How far (degrees, ~0.1 mm) the land mask is grown so that the country
#: outline counts as on land where the land's snap-rounded edges run along it
#: (`SelectionContext.land_mask`).  It lengthens a border line at the coast
#: by as much: nothing at the precision reported.
LAND_MASK_GROW_DEG = 1e-9

log = logging.getLogger(__name__)

#: A component of the giver's holdings counts as connected to its holdings
#: elsewhere when more than this lies outside the named regions; smaller
#: overlaps are boundary noise between the region layer and the control map.
CONNECTED_MIN_KM2 = 1.0

#: How many figures of components (`_by_content`) this process keeps.
KEPT_PARTS = 4096
_kept_parts: OrderedDict[tuple, object] = OrderedDict()
_kept_lock = threading.Lock()
#: The content digest of the last few geometries (kept by identity).
_digest = ContentDigests(kept=64, digest_size=20)


def _by_content(
    what: str, geoms: tuple[BaseGeometry, ...], compute: Callable[[], T]
) -> T:
    """Return `compute()`, kept in this process by `what` and the content of `geoms`.

    A component of a side's land that no change of the map reached is the
    same from one map to the next (a pocket far from the front): what was
    computed of it is the same too, whatever map, order or process computed
    it.  The geometries computed are immutable; they are shared.
    """
    key = (what, *(_digest(g) for g in geoms))
    hit = _kept_parts.get(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    value = compute()
    with _kept_lock:
        _kept_parts[key] = value
        while len(_kept_parts) > KEPT_PARTS:
            _kept_parts.popitem(last=False)
    return value


def _part_km2(part: BaseGeometry) -> float:
    """Return `area_km2` of `part`, kept by its content (`_by_content`)."""
    return _by_content("km2", (part,), lambda: area_km2(part))


def _part_in(part: BaseGeometry, area: BaseGeometry) -> BaseGeometry:
    """Return `part` cut to `area`, kept by their content (`_by_content`)."""
    return _by_content("in", (part, area), lambda: shapely.intersection(part, area))


@dataclass
class SelectionContext:
    """What rules are evaluated against: the control map of the as-of date.

    What depends on the map alone (unions of regions, each side's edge, the
    borders, the land a side holds in named regions, ...) is kept with the
    map (`Control.derived`), so a second evaluation on it reuses it; bands of
    a scenario's widths are kept here, for one evaluation.
    """

    control: Control
    _cache: dict = field(default_factory=dict)
    #: By ``id``, each geometry taken from the map's cache, with: its key
    #: there (`kept_key`); ``(giver, region ids)`` if it is all the giver's
    #: land in those regions (`whole_regions`); its polygonal part, kept too
    #: (`polygonal`).  Each entry holds the geometry, so its id stays its own.
    _kept: dict[int, tuple[BaseGeometry, tuple]] = field(default_factory=dict)
    _whole: dict[int, tuple[BaseGeometry, tuple[str, tuple[str, ...]]]] = field(
        default_factory=dict
    )
    _polygonal: dict[int, tuple[BaseGeometry, BaseGeometry]] = field(
        default_factory=dict
    )

    def _derived(self, key: tuple, compute: Callable[[], T]) -> T:
        return self.control.derived(("selection", *key), compute)

    def _keep(self, key: tuple, compute: Callable[[], BaseGeometry]) -> BaseGeometry:
        """Return (kept with the map) the geometry `compute` builds, noting its key."""
        geom = self._derived(key, compute)
        self._kept.setdefault(id(geom), (geom, ("selection", *key)))
        return geom

    @staticmethod
    def _noted(
        notes: dict[int, tuple[BaseGeometry, T]], geom: BaseGeometry
    ) -> T | None:
        entry = notes.get(id(geom))
        return entry[1] if entry is not None and entry[0] is geom else None

    def kept_key(self, geom: BaseGeometry) -> tuple | None:
        """Return the key under which `geom` is kept with the map, or None.

        A selection by regions from a whole holding (`in_regions`) depends
        on the map alone: what is measured of it can be kept with the map
        under this key.  None for any geometry this context did not take
        from the map's cache.
        """
        return self._noted(self._kept, geom)

    def whole_regions(self, geom: BaseGeometry) -> tuple[str, tuple[str, ...]] | None:
        """Return ``(giver, region_ids)`` if `geom` is all the giver's land there.

        True of a selection by regions alone (no other criterion, no
        ``connected``) from the giver's whole holdings, and of those holdings
        (in every region): it is the union of the partition's pieces of the
        giver in those regions, and meets none of its pieces elsewhere.  None
        for any other geometry.
        """
        return self._noted(self._whole, geom)

    def in_regions(
        self,
        giver: str,
        holding: BaseGeometry,
        region_ids: tuple[str, ...],
        connected: bool | None,
    ) -> BaseGeometry:
        """Return the land of `holding` in the regions `region_ids` (the first step of `select`).

        With `connected`, the pieces of the giver's holdings (not) joined to
        its holdings outside the regions (`Rule.connected`), cut to them.
        Kept with the map when `holding` is the giver's whole holding or the
        whole land: it depends on nothing else.
        """
        if holding is self.control._partition.country.get(giver):
            whose = "holding"
        elif holding is self.land:
            whose = "land"
        else:
            whose = None

        def compute() -> BaseGeometry:
            if connected is None:
                # all the giver's land there: the partition's pieces of it in
                # those regions, where they are its whole land, joined
                # (`geodesy.coverage_union`: where they meet along the
                # regions' borders vertex for vertex, by dropping the edges
                # they share, 1.7 ms against 7.4 for the overlay below on
                # Donbas; else by an overlay); the same land, to 1e-13
                pieces = (
                    self.control._whole_pieces(giver) if whose == "holding" else None
                )
                if pieces is not None:
                    wanted = set(region_ids)
                    rows = [g for r, g, _ in pieces if r in wanted]
                    return coverage_union(rows) if rows else shapely.Polygon()
                # (the holding cut to the regions' bounds first: the overlay
                # of a country-wide layer costs a fifth more than of its part
                # near them; the same land, to 6e-14 of its area)
                area = self.regions_union(region_ids)
                return shapely.intersection(
                    polygonal_in_box(holding, area.bounds), area
                )
            keep = _parts_by_connection(self, giver, region_ids, connected)
            return shapely.union_all(keep) if keep else shapely.Polygon()

        if whose is None:
            return compute()
        key = ("in regions", giver, whose, region_ids, connected)
        geom = self._keep(key, compute)
        # (the result of one overlay: an intersection, or a union)
        out = self._keep((*key, "polygonal"), lambda: overlay_polygonal(geom))
        self._polygonal[id(geom)] = (geom, out)
        if whose == "holding" and connected is None:
            self._whole.setdefault(id(out), (out, (giver, region_ids)))
        return geom

    def holding(self, giver: str) -> BaseGeometry:
        """Return all the land `giver` holds (empty for a party holding none).

        Noted as kept with the map (`kept_key`) and as all the giver's land
        in every region (`whole_regions`).
        """
        if giver not in ("UA", "RU"):
            return shapely.Polygon()
        geom = self.control.holding(giver)
        self._kept.setdefault(id(geom), (geom, ("selection", "holding", giver)))
        ids = tuple(self.control.region_ids())
        self._whole.setdefault(id(geom), (geom, (giver, ids)))
        return geom

    def polygonal(self, geom: BaseGeometry) -> BaseGeometry:
        """Return the polygonal part of `geom` (`territory.geodesy.polygonal`).

        That of a geometry kept with the map (`in_regions`) is kept there too.
        """
        out = self._noted(self._polygonal, geom)
        return polygonal(geom) if out is None else out

    @cached_property
    def region_geoms(self) -> dict[str, BaseGeometry]:
        """Each region's geometry, by region id."""
        regs = self.control.regions
        return dict(zip(regs.index, regs.geometry, strict=True))

    def regions_union(self, region_ids: tuple[str, ...]) -> BaseGeometry:
        """Return the union of the regions `region_ids` (prepared)."""

        def union() -> BaseGeometry:
            geom = shapely.union_all([self.region_geoms[r] for r in region_ids])
            shapely.prepare(geom)
            return geom

        return self._derived(("regions", *region_ids), union)

    def regions_union_km2(self, region_ids: tuple[str, ...]) -> float:
        """Return the area (km²) of `regions_union`."""
        return self._derived(
            ("regions km2", *region_ids),
            lambda: area_km2(self.regions_union(region_ids)),
        )

    @cached_property
    def land(self) -> BaseGeometry:
        """The country's land (the partition's ``land`` layer)."""
        return self.control._partition.country["land"]

    @cached_property
    def front(self) -> BaseGeometry:
        """The contact line on the as-of date: where Russian-held land meets other land."""
        return self.edge("RU")

    def edge(self, party: str) -> BaseGeometry:
        """Return `party`'s own edge of the line: where its land meets other land.

        With a grey zone between the sides, each side's edge is its own
        boundary with the grey zone (and with the other side where they
        touch), so a distance from "the front" is measured from the edge of
        the land the party holds, for either party.
        """
        return self.control.edge(party)

    @cached_property
    def country(self) -> BaseGeometry:
        """Union of the region polygons (with the territorial sea)."""
        return self._derived(
            ("country",),
            lambda: coverage_union(self.region_geoms.values()),
        )

    @cached_property
    def land_mask(self) -> BaseGeometry:
        """The land before the partition removed its artefacts (slivers, water).

        The land border is cut from the outline with this, so that a coastal
        artefact removed from `land` never cuts the border into pieces.  It is
        grown by `LAND_MASK_GROW_DEG`: the partition snap-rounds its layers
        (`territory.control.LAYER_GRID_DEG`), so the land's edges along the
        outline lie up to half that grid off it, and a line along an edge
        that close is not reliably inside the polygon.
        (Border gaps, where DeepState's occupied edge stops short of the
        region outline along the Russian border, are land given to the
        occupier, not removed.)
        """
        removed = self.control._partition.removed

        def grown() -> BaseGeometry:
            whole = (
                self.land
                if removed.empty
                else shapely.union(
                    self.land, shapely.union_all(removed.geometry.values)
                )
            )
            return shapely.buffer(whole, LAND_MASK_GROW_DEG, quad_segs=1)

        return self._derived(("land mask",), grown)

    @cached_property
    def borders(self) -> dict[str, BaseGeometry]:
        """The land border with each neighbour (see `territory.borders`)."""
        items = self._derived(
            ("borders",),
            lambda: tuple(neighbour_borders(self.country, self.land_mask).items()),
        )
        return dict(items)

    def border_line(self, codes: tuple[str, ...] = ()) -> BaseGeometry:
        """Return the land border with the neighbours `codes` (all when empty)."""
        unknown = sorted(set(codes) - set(self.borders)) if codes else []
        if unknown:
            msg = (
                f"border_with names {', '.join(unknown)}, not a land neighbour; "
                f"use {', '.join(sorted(self.borders))}"
            )
            raise ScenarioError(msg)

        def line() -> BaseGeometry:
            if codes:
                merged = shapely.union_all([self.borders[c] for c in codes])
            else:  # the whole land border: the outline on land (what the stretches cover)
                merged = shapely.intersection(self.country.boundary, self.land_mask)
            return linear(merged)

        return self._derived(("border", *codes), line)

    @cached_property
    def border(self) -> BaseGeometry:
        """The state land border: the border with every neighbour."""
        return self.border_line(())

    @cached_property
    def extent_m(self) -> float:
        """The country's extent (m): no two of its points are farther apart."""
        return self._derived(("extent m",), lambda: max_distance_m(self.country.bounds))

    def near_line(
        self,
        line: BaseGeometry,
        width_km: float,
        *,
        what: str,
        near: BaseGeometry | None = None,
    ) -> BaseGeometry:
        """Return the land within `width_km` (true distance) of a lon/lat line.

        A width of at least `extent_m` returns a box around the whole country
        (everything); an empty line selects nothing.  With `near`, only the
        part of the line that can lie within the width of `near` is buffered
        (the rest is farther; the result is the same over `near`).

        Raises
        ------
        ScenarioError
            If the width is not a finite number of at least ``BUFFER_MIN_M``,
            or lies between ``BUFFER_MAX_M`` and the country's extent; the
            message starts with `what`.
        """
        # checked in km: a finite width above ~1.8e305 km overflows to inf in
        # metres, and is then beyond the extent (everything), not too narrow
        if not math.isfinite(width_km) or width_km < BUFFER_MIN_M / 1000.0:
            msg = (
                f"{what}: a distance of {width_km:g} km is below "
                f"{BUFFER_MIN_M / 1000:g} km, the narrowest band measured exactly; "
                f"use at least {BUFFER_MIN_M / 1000:g}"
            )
            raise ScenarioError(msg)
        width_m = width_km * 1000.0
        if line.is_empty:
            return shapely.Polygon()
        if width_m >= self.extent_m:
            return shapely.box(*shapely.buffer(self.country, 0.1).bounds)
        if width_m > BUFFER_MAX_M:
            msg = (
                f"{what}: a distance of {width_km:g} km is beyond "
                f"{BUFFER_MAX_M / 1000:g} km, the widest band built exactly, and "
                f"short of {self.extent_m / 1000:,.0f} km, the country's extent "
                f"(which selects everything); use at most {BUFFER_MAX_M / 1000:g} or "
                f"at least {math.ceil(self.extent_m / 1000)}"
            )
            raise ScenarioError(msg)
        if near is not None:
            if near.is_empty:
                return shapely.Polygon()
            line = _clip_to_reach(line, near.bounds, width_m)
            if line.is_empty:
                return shapely.Polygon()
        return buffer_line_m(line, width_m)

    def near(
        self,
        which: str,
        distance_km: float,
        *,
        codes: tuple[str, ...] = (),
        giver: str = "RU",
        what: str = "distance rule",
        near: BaseGeometry | None = None,
    ) -> BaseGeometry:
        """Return (cached) the land within `distance_km` of the front or the border.

        The front is `giver`'s own edge of it (see `edge`).
        """
        key = (which, giver, codes, distance_km, None if near is None else near.bounds)
        if key not in self._cache:
            line = self.edge(giver) if which == "front" else self.border_line(codes)
            self._cache[key] = self.near_line(line, distance_km, what=what, near=near)
        return self._cache[key]

    def components(self, holder: str) -> tuple[BaseGeometry, ...]:
        """Return the separate pieces of `holder`'s land."""
        return self._derived(
            ("parts", holder),
            lambda: tuple(shapely.get_parts(self.control.holding(holder))),
        )

    def components_km2(self, holder: str) -> tuple[float, ...]:
        """Return the area (km²) of each of `components`, to float rounding.

        Each is measured (kept by content: a pocket no change reached is
        measured once), except the one of most vertices, the side's main
        land, which every map changes: the holding's area, kept with the
        partition, less the others'.  The same to about 1e-13 relative;
        `_parts_by_connection` compares them only with margins far wider.
        """

        def measure() -> tuple[float, ...]:
            parts = self.components(holder)
            if len(parts) < 2:
                return tuple(_part_km2(p) for p in parts)
            sizes = [int(shapely.get_num_coordinates(p)) for p in parts]
            main = sizes.index(max(sizes))
            km2 = [0.0 if i == main else _part_km2(p) for i, p in enumerate(parts)]
            km2[main] = self.control.holding_km2(holder) - math.fsum(km2)
            return tuple(km2)

        return self._derived(("parts km2", holder), measure)


def _read_polygons(rule: Rule) -> BaseGeometry:
    from shapely.geometry import shape

    from territory.io import read_vector

    geoms = [shape(g) for g in rule.geometries]
    for path in rule.polygons:
        gdf = read_vector(path, what="scenario polygon file")
        geoms.extend(gdf.geometry.values)
    return shapely.union_all(geoms)


def select(
    rule: Rule,
    giver: str,
    ctx: SelectionContext,
    *,
    holding: BaseGeometry | None = None,
) -> tuple[BaseGeometry, list[str]]:
    """Return the land `giver` holds that `rule` selects, and warnings.

    Every criterion of the rule narrows the selection (they combine with AND);
    ``exclude`` removes the land its own rule selects.  ``within_km_of_front``
    is measured from the giver's own edge of the line (`SelectionContext.edge`).
    `holding` replaces the giver's holdings as the land to select from (zones
    pass the whole land to learn where they run; their rules use neither
    ``connected`` nor ``within_km_of_front``).
    """
    warnings: list[str] = []
    if holding is None:
        holding = ctx.holding(giver)
    geom = holding
    if rule.regions:
        geom = ctx.in_regions(giver, holding, rule.regions, rule.connected)
    what = f"rule {rule.describe(giver)!r}"
    if rule.within_km_of_front is not None:
        band = ctx.near(
            "front", rule.within_km_of_front, giver=giver, what=what, near=geom
        )
        geom = shapely.intersection(geom, band)
    if rule.within_km_of_border is not None:
        band = ctx.near(
            "border",
            rule.within_km_of_border,
            codes=rule.border_with,
            what=what,
            near=geom,
        )
        geom = shapely.intersection(geom, band)
    if rule.polygons or rule.geometries:
        polys = _read_polygons(rule)
        geom = shapely.intersection(geom, polys)
        on_land = shapely.intersection(polys, ctx.land)
        not_held_km2 = area_km2(on_land) - area_km2(
            shapely.intersection(on_land, holding)
        )
        if not_held_km2 > 0.01:
            warnings.append(
                f"{not_held_km2:,.1f} km² of the polygons is land {giver} does not hold "
                "on the as-of date; it does not move"
            )
    if rule.exclude is not None:
        excluded, more = select(rule.exclude, giver, ctx, holding=holding)
        warnings.extend(more)
        geom = shapely.difference(geom, excluded)
    return ctx.polygonal(geom), warnings


#: Margin of the shortcuts of `_parts_by_connection` over the float error of
#: the areas they compare (about 1e-12 relative, 1e-12 km² at edges): they
#: decide only the clear cases, and the difference is built for the others.
_BOUND_REL = 1e-6
_BOUND_ABS_KM2 = 1e-6


def _parts_by_connection(
    ctx: SelectionContext, giver: str, region_ids: tuple[str, ...], connected: bool
) -> list[BaseGeometry]:
    """Return the pieces of `giver`'s land (not) joined to its land outside the regions.

    Each piece is cut to the regions.  A piece is joined when more than `CONNECTED_MIN_KM2` of it lies outside
    the regions.  That share is measured as the piece less the regions only
    when two cheaper figures leave it unclear: it is at least the piece's
    area less the regions' (a piece larger than the regions is joined), and
    it is the piece's area less its part inside, which a kept piece needs
    anyway.
    """
    area = ctx.regions_union(region_ids)
    area_km2_ = ctx.regions_union_km2(region_ids)
    keep = []
    for part, part_km2 in zip(
        ctx.components(giver), ctx.components_km2(giver), strict=True
    ):
        if not shapely.intersects(area, part):
            continue
        margin_km2 = _BOUND_REL * (part_km2 + area_km2_) + _BOUND_ABS_KM2
        inside = None
        if part_km2 - area_km2_ > CONNECTED_MIN_KM2 + margin_km2:
            outside = True  # area(P − A) ≥ area(P) − area(A)
        else:
            inside = _part_in(part, area)
            rest_km2 = part_km2 - _part_km2(inside)  # area(P − A), to float error
            if abs(rest_km2 - CONNECTED_MIN_KM2) > margin_km2:
                outside = rest_km2 > CONNECTED_MIN_KM2
            else:
                outside = area_km2(shapely.difference(part, area)) > CONNECTED_MIN_KM2
        if outside == connected:
            keep.append(inside if inside is not None else _part_in(part, area))
    return keep


#: Shortest length of a degree of latitude (m) and the equatorial radius (m):
#: a point within d of another is within d / 110,574 m of its latitude, and,
#: at latitudes up to φ, within d / (a cos φ) radians of its longitude.
_M_PER_DEG_LAT_MIN = 110_574.0
_A_M = 6_378_137.0


def _clip_to_reach(
    line: BaseGeometry, bounds: tuple[float, float, float, float], width_m: float
) -> BaseGeometry:
    """Return the part of `line` that can lie within `width_m` of the box `bounds`."""
    minx, miny, maxx, maxy = bounds
    dlat = width_m / _M_PER_DEG_LAT_MIN
    lat_far = max(abs(miny), abs(maxy)) + dlat
    if lat_far >= 89.0:
        return line
    dlon = math.degrees(width_m / (_A_M * math.cos(math.radians(lat_far))))
    return shapely.clip_by_rect(
        line, minx - dlon, miny - dlat, maxx + dlon, maxy + dlat
    )
