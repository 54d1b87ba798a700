"""A toy country for scenario tests, with areas computable by hand.

At Ukraine's latitudes: coordinates below are degrees east and north of the
origin (LON0, LAT0) = 30°E 48°N of tests/shapes.py.  Three regions side by
side, each 1°×1° (~74 km × 111 km, 8,217.73 km²): Alpha (0–1), Beta (1–2),
Gamma (2–3), all between 0 and 1 north.  All land (the land reaches −1..4 ×
−1..2).  Russia holds 1.5–3 (half of Beta and all of Gamma) and, optionally,
a pocket 0.1–0.2 × 0.1–0.2 inside Alpha.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import shapely

from territory.control import Control, Snapshot, partition_land
from territory.regions import Region, RegionTable
from tests.shapes import box_at, cell

if TYPE_CHECKING:
    import geopandas as gpd

NAMES = {"XA": "Alpha", "XB": "Beta", "XC": "Gamma"}
#: A rounded "official" area, as the real table has: each region is 8,217.73 km².
OFFICIAL_AREA_KM2 = 8_200.0


def _table(names: dict[str, str]) -> RegionTable:
    return RegionTable(
        [
            Region(
                region_id=rid,
                name=name,
                kind="oblast",
                source_name=name,
                official_area_km2=OFFICIAL_AREA_KM2,
                aliases=(),
            )
            for rid, name in names.items()
        ]
    )


def _regions(names: dict[str, str], boxes: list) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {
            "region_id": list(names),
            "name": list(names.values()),
            "kind": "oblast",
            "official_area_km2": OFFICIAL_AREA_KM2,
        },
        geometry=[cell(*box, 0.01) for box in boxes],
        crs="EPSG:4326",
    )


def table() -> RegionTable:
    return _table(NAMES)


def _control(regions, status: dict, key: str, label: str) -> Control:
    """A Control on the toy land (−1..4 × −1..2 from the origin), as of 2025-01-01."""
    land = cell(*box_at(-1, -1, 4, 2), 0.01)
    part = partition_land(regions, land, status)
    snap = Snapshot(
        key=key,
        label=label,
        as_of=dt.date(2025, 1, 1),
        published=None,
        grey_zone="grey_zone" in status,
    )
    return Control(
        as_of=snap.as_of, snapshot=snap, note=None, regions=regions, partition=part
    )


def control(*, pocket: bool = True) -> Control:
    regions = _regions(NAMES, [box_at(i, 0, i + 1, 1) for i in range(3)])
    occupied = cell(*box_at(1.5, 0, 3, 1), 0.01)
    if pocket:
        occupied = shapely.union(occupied, cell(*box_at(0.1, 0.1, 0.2, 0.2), 0.001))
    return _control(regions, {"occupied": occupied}, "toy", "toy map")


#: The grey world: the same land, cut into two regions stacked north–south,
#: South (0–3 × 0–0.5) and North (0–3 × 0.5–1), each 1.5°×0.5°.  Russia holds
#: 1.5–3; a grey band 1.4–1.5 (0.1° of longitude: 7.46 km at 48°N, 7.32 km at
#: 49°N, so it is anisotropic in degrees) lies between the sides; Ukraine holds
#: 0–1.4.  Ukraine's edge is the meridian +1.4°, Russia's the meridian +1.5°.
GREY_NAMES = {"XS": "South", "XN": "North"}


def grey_table() -> RegionTable:
    return _table(GREY_NAMES)


def grey_control() -> Control:
    regions = _regions(GREY_NAMES, [box_at(0, 0, 3, 0.5), box_at(0, 0.5, 3, 1)])
    status = {
        "occupied": cell(*box_at(1.5, 0, 3, 1), 0.01),
        "grey_zone": cell(*box_at(1.4, 0, 1.5, 1), 0.01),
    }
    return _control(regions, status, "toy-grey", "toy map with a grey band")
