"""Evaluate a scenario's selection rules into geometry (lon/lat, EPSG:4326).

Every rule is evaluated on the control map of the as-of date, against the
land the giving party holds there; the result never reaches outside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import contact_line, land_border
from territory.crs import buffer_m
from territory.geodesy import area_km2, polygonal

if TYPE_CHECKING:
    from territory.control import Control
    from territory.scenario import Rule

log = logging.getLogger(__name__)

#: A component of the giver's holdings counts as connected to its holdings
#: elsewhere when more than this lies outside the named regions; smaller
#: overlaps are boundary noise between the region layer and the control map.
CONNECTED_MIN_KM2 = 1.0


@dataclass
class SelectionContext:
    """What rules are evaluated against: the control map of the as-of date."""

    control: Control
    _cache: dict = field(default_factory=dict)

    @cached_property
    def region_geoms(self) -> dict[str, BaseGeometry]:
        regs = self.control.regions
        return dict(zip(regs["region_id"], regs.geometry, strict=True))

    def regions_union(self, region_ids: tuple[str, ...]) -> BaseGeometry:
        key = ("regions", region_ids)
        if key not in self._cache:
            self._cache[key] = shapely.union_all(
                [self.region_geoms[r] for r in region_ids]
            )
        return self._cache[key]

    @cached_property
    def land(self) -> BaseGeometry:
        return self.control.partition.country["land"]

    @cached_property
    def front(self) -> BaseGeometry:
        """The contact line on the as-of date: where Russian-held land meets other land."""
        return contact_line(self.control.holding("RU"), self.land)

    @cached_property
    def border(self) -> BaseGeometry:
        """The state land border."""
        return land_border(
            shapely.union_all(list(self.region_geoms.values())), self.land
        )

    def near(self, which: str, distance_km: float) -> BaseGeometry:
        key = (which, distance_km)
        if key not in self._cache:
            line = self.front if which == "front" else self.border
            self._cache[key] = buffer_m(line, distance_km * 1000.0)
        return self._cache[key]

    def components(self, holder: str) -> list[BaseGeometry]:
        key = ("parts", holder)
        if key not in self._cache:
            self._cache[key] = list(shapely.get_parts(self.control.holding(holder)))
        return self._cache[key]


def _read_polygons(rule: Rule) -> BaseGeometry:
    from shapely.geometry import shape

    from territory.io import read_vector

    geoms = [shape(g) for g in rule.geometries]
    for path in rule.polygons:
        gdf = read_vector(path, what="scenario polygon file")
        geoms.extend(gdf.geometry.values)
    return shapely.union_all(geoms)


def select(
    rule: Rule, giver: str, ctx: SelectionContext
) -> tuple[BaseGeometry, list[str]]:
    """Return the land `giver` holds that `rule` selects, and warnings.

    Every criterion of the rule narrows the selection (they combine with AND);
    ``exclude`` removes the land its own rule selects.
    """
    warnings: list[str] = []
    held = ctx.control.holding(giver) if giver in ("UA", "RU") else shapely.Polygon()
    geom = held
    if rule.regions:
        area = ctx.regions_union(rule.regions)
        if rule.connected is None:
            geom = shapely.intersection(geom, area)
        else:
            keep = []
            prepared = shapely.prepared.prep(area)
            for part in ctx.components(giver):
                if not prepared.intersects(part):
                    continue
                outside_km2 = area_km2(shapely.difference(part, area))
                if (outside_km2 > CONNECTED_MIN_KM2) == rule.connected:
                    keep.append(shapely.intersection(part, area))
            geom = shapely.union_all(keep) if keep else shapely.Polygon()
    if rule.within_km_of_front is not None:
        geom = shapely.intersection(geom, ctx.near("front", rule.within_km_of_front))
    if rule.within_km_of_border is not None:
        geom = shapely.intersection(geom, ctx.near("border", rule.within_km_of_border))
    if rule.polygons or rule.geometries:
        polys = _read_polygons(rule)
        geom = shapely.intersection(geom, polys)
        on_land = shapely.intersection(polys, ctx.land)
        not_held_km2 = area_km2(on_land) - area_km2(shapely.intersection(on_land, held))
        if not_held_km2 > 0.01:
            warnings.append(
                f"{not_held_km2:,.1f} km² of the polygons is land {giver} does not hold "
                "on the as-of date; it does not move"
            )
    if rule.exclude is not None:
        excluded, more = select(rule.exclude, giver, ctx)
        warnings.extend(more)
        geom = shapely.difference(geom, excluded)
    return polygonal(geom), warnings
