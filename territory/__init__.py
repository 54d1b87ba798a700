"""territory: evaluate proposed territorial swaps in the Russia-Ukraine war.

Public API
----------
Record
    The cached record: regions, land, control snapshots; ``Record().control(date)``.
Control
    Who holds what, by region, on a date (``to_frame()``, ``holding()``).
fetch, status, verify
    Manifest-driven data cache.
area_km2, length_km
    Ellipsoidal (WGS84 geodesic) measures of lon/lat geometries.
load_region_table
    The 27 first-level units with codes, spellings and official areas.
"""

from territory.control import GREY, RU, UA, Control
from territory.datasets import fetch, status, verify
from territory.errors import (
    CRSError,
    DataError,
    DataNotFoundError,
    FetchError,
    ScenarioError,
    TerritoryError,
)
from territory.geodesy import area_km2, length_km
from territory.record import Record
from territory.regions import load_region_table

__version__ = "0.1.0"

__all__ = [
    "GREY",
    "RU",
    "UA",
    "CRSError",
    "Control",
    "DataError",
    "DataNotFoundError",
    "FetchError",
    "Record",
    "ScenarioError",
    "TerritoryError",
    "__version__",
    "area_km2",
    "fetch",
    "length_km",
    "load_region_table",
    "status",
    "verify",
]
