"""Shared fixtures: a CLI runner, synthetic layers with hand-computable areas,
and the real record (the cache that `make data` fills)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def record():
    """The real record from the default cache; `make test` fetches it first.

    Missing data fails loudly (a silent skip would let CI pass without the
    checks against DeepState's published figures); set TERRITORY_SKIP_DATA=1
    to skip these tests deliberately on a machine with no data.
    """
    from territory.datasets import Cache
    from territory.record import Record

    cache = Cache.open()
    if not cache.has("boundaries") or not cache.snapshots():
        if os.environ.get("TERRITORY_SKIP_DATA") == "1":
            pytest.skip("no data cache and TERRITORY_SKIP_DATA=1")
        pytest.fail(
            f"no data in {cache.root}; run 'make data' first (or set TERRITORY_SKIP_DATA=1)"
        )
    return Record()


@pytest.fixture(scope="session")
def synthetic_world():
    """A toy country in lon/lat at Ukraine's latitudes: two regions and a sea.

    Coordinates are degrees east and north of the origin (LON0, LAT0) = 30°E
    48°N of tests/shapes.py.  Region A is the cell 0..1 × 0..1, region B the
    cell 1..2 × 0..1.  Land is everything west of +1.8 (the strip 1.8..2 is
    sea).  The occupied area is the cell 1.5..2 × 0..1 (it reaches into the
    sea, as DeepState's finer coastline can).  All edges are densified.
    """
    import geopandas as gpd

    from tests.shapes import box_at, cell

    seg = 0.01
    regions = gpd.GeoDataFrame(
        {"region_id": ["XA", "XB"], "name": ["Alpha", "Beta"]},
        geometry=[cell(*box_at(0, 0, 1, 1), seg), cell(*box_at(1, 0, 2, 1), seg)],
        crs="EPSG:4326",
    )
    land = cell(*box_at(-1, -1, 1.8, 2), seg)
    occupied = cell(*box_at(1.5, 0, 2, 1), seg)
    return regions, land, {"occupied": occupied}
