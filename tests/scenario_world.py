"""A toy country for scenario tests, with areas computable by hand.

Three regions side by side on the equator, each 1°×1°: Alpha (0–1°E), Beta
(1–2°E), Gamma (2–3°E).  All land.  Russia holds 1.5–3°E (half of Beta and
all of Gamma) and, optionally, a pocket 0.1–0.2°E × 0.1–0.2°N inside Alpha.
"""

from __future__ import annotations

import datetime as dt

import shapely

from territory.control import Control, Snapshot, partition_land
from territory.regions import Region, RegionTable
from tests.shapes import cell

NAMES = {"XA": "Alpha", "XB": "Beta", "XC": "Gamma"}


def table() -> RegionTable:
    return RegionTable(
        [
            Region(
                region_id=rid,
                name=name,
                kind="oblast",
                source_name=name,
                official_area_km2=12_000.0,
                aliases=(),
            )
            for rid, name in NAMES.items()
        ]
    )


def control(*, pocket: bool = True) -> Control:
    import geopandas as gpd

    regions = gpd.GeoDataFrame(
        {
            "region_id": list(NAMES),
            "name": list(NAMES.values()),
            "kind": "oblast",
            "official_area_km2": 12_000.0,
        },
        geometry=[cell(i, 0, i + 1, 1, 0.01) for i in range(3)],
        crs="EPSG:4326",
    )
    land = cell(-1, -1, 4, 2, 0.01)
    occupied = cell(1.5, 0, 3, 1, 0.01)
    if pocket:
        occupied = shapely.union(occupied, cell(0.1, 0.1, 0.2, 0.2, 0.001))
    part = partition_land(regions, land, {"occupied": occupied})
    snap = Snapshot(
        key="toy",
        label="toy map",
        as_of=dt.date(2025, 1, 1),
        published=None,
        grey_zone=False,
    )
    return Control(
        as_of=snap.as_of, snapshot=snap, note=None, regions=regions, partition=part
    )
